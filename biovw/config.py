"""Typed, validated run configuration.

A run is described by a hierarchical YAML file with the sections ``data``, ``circuit``,
``walkback``, ``train`` and ``eval``. Every default lives in the dataclasses below; a YAML
file only states what differs. :func:`load_config` reads a file with ``yaml.safe_load``,
applies ``section.key=value`` overrides and validates every field, raising
:class:`ConfigError` with a one-line message that names the offending field.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from biovw.spec import RATE_DEFAULTS as _RATE


class ConfigError(ValueError):
    """A configuration file or override is invalid; the message names the field."""


MAX_SEED = 2**31 - 1
"""Largest accepted seed: every generator a run seeds (torch, numpy, scikit-learn's 32-bit
``random_state``) takes it and the offsets added to it."""

MAX_TEMPERATURE = 1e12
"""Largest accepted last temperature ``initial_temperature * temperature_factor**(num_steps -
1)``: the heated noise ``sqrt(T) * sigma`` then stays within float32's reach of the data. The
paper's largest schedule (images: K = 30, factor 2) ends at 2**29, about 5e8."""


@dataclass
class DataConfig:
    """Which data set to learn and how it is split (see :func:`biovw.data.load_data`)."""

    name: str = "mog_grid"
    n_samples: int = 10000
    noise: float | None = None
    binarize: bool = False
    threshold: float = 0.5
    path: str | None = None
    key: str | None = None
    valid_fraction: float = 0.1
    test_fraction: float = 0.1
    patch_size: int = 8


@dataclass
class CircuitConfig:
    """The network that maps the chain state to the operator's mean or logits.

    ``kind`` is ``rate`` (recurrent rate circuit), ``mlp`` (the reference paper's operator)
    or ``linear`` (an affine map per temperature step, whose model density is analytic).
    """

    kind: str = "rate"
    hidden: int = 256
    # rate circuit: the fields of biovw.spec.RateSettings, with its defaults
    nonlinearity: str = _RATE.nonlinearity
    settle_steps: int = _RATE.settle_steps
    dt: float = _RATE.dt
    tau: float = _RATE.tau
    dale: bool = _RATE.dale
    ei_ratio: float = _RATE.ei_ratio
    density: float = _RATE.density
    symmetric: bool = _RATE.symmetric
    spectral_radius: float = _RATE.spectral_radius
    freeze: str = _RATE.freeze
    # mlp
    layers: int = 2
    # both
    step_norm: bool = _RATE.step_norm


@dataclass
class RuleConfig:
    """Learning rule of a rate circuit's recurrent weights (see :mod:`biovw.rules`).

    ``name``: ``backprop``, ``fa`` (fixed random feedback), ``sign_symmetry``, ``kp``
    (Kolen-Pollack) or ``dfa`` (direct feedback alignment). ``kp_decay`` is the decoupled
    weight decay of ``W`` and its feedback matrix under ``kp``.
    """

    name: str = "backprop"
    scale: float = 1.0
    match_norm: bool = True
    kp_decay: float = 0.2


@dataclass
class WalkbackConfig:
    """The transition operator, its temperature schedule and the walk-back objective."""

    operator: str = "gaussian"
    kappa: float = 0.5
    sigma: float = 0.05
    learn_sigma: bool = False
    num_steps: int = 30
    initial_temperature: float = 1.0
    temperature_factor: float = 1.1
    anneal_steps: bool = False
    anneal_start: int = 1
    anneal_fraction: float = 0.5
    online_updates: bool = True
    prior_momentum: float = 0.9


@dataclass
class TrainConfig:
    """Optimisation, logging and checkpointing.

    ``matmul_precision`` is torch's float32 matrix-product precision during training:
    ``highest`` (full float32) or ``high`` (TF32 on CUDA GPUs that have it; no effect on the
    CPU). Likelihoods are evaluated at full precision whatever it is. ``tensorboard`` also
    writes the logged quantities (and the evaluation's figures) as TensorBoard event files in
    ``RUN_DIR/tensorboard``. Every ``ep_every`` iterations (at the first logged iteration at or
    after each multiple of ``ep_every``; 0: never) and at the last one, the entropy production
    of the circuit's T = 1 chain as it is at that iteration is estimated and logged:
    ``ep_chains`` chains started from validation examples, ``ep_steps // 2`` transitions of
    burn-in, then ``ep_steps`` transitions averaged (kernel-exact log-ratio with a
    batch-means interval), on random streams of its own, so training is the same with or
    without it.
    """

    steps: int = 500
    batch_size: int = 256
    lr: float = 1e-3
    lr_schedule: str = "constant"
    lr_min_factor: float = 0.1
    grad_clip: float = 0.0
    log_every: int = 10
    checkpoint_every: int = 100
    divergence_threshold: float = 1e6
    matmul_precision: str = "highest"
    tensorboard: bool = False
    ep_every: int = 0
    ep_chains: int = 256
    ep_steps: int = 200


@dataclass
class EvalConfig:
    """Held-out evaluation: bound, importance-sampled likelihood and sample quality.

    ``split`` is ``valid`` by default: a training run's own evaluation is what settings are
    chosen by. Final numbers come from ``biovw evaluate RUN --split test``, once per run.
    IS runs on the ladder ``n_trajectories * m`` for ``m`` in ``ladder``; ``converged_tol`` is
    the largest increase from the second-largest rung to the largest (nats/example, upper
    95% bound) accepted as converged. ``sampler`` is the Markov chain run after the cool-down
    wherever samples are drawn (evaluation, ``biovw sample``, stationarity): ``chain`` (the
    operator at T = 1) or ``cycle`` (heat ``cycle_steps`` temperature steps and cool them
    back per step; 0: all ``walkback.num_steps``); see :mod:`biovw.walkback.sampling`.
    ``proposal_temperatures`` are the IS proposals tried: the heating kernel at that multiple
    of each step's temperature (1: the heating path itself); with more than one, the one whose
    IS estimate is highest on up to 100 validation examples (a pilot with trajectories of its
    own) scores the evaluation split.
    """

    split: str = "valid"
    n_examples: int = 500
    n_trajectories: int = 50
    ladder: list[int] = field(default_factory=lambda: [1, 4])
    converged_tol: float = 0.02
    n_samples: int = 2000
    snapshots: list[int] = field(default_factory=lambda: [0, 10, 100, 1000])
    mode_radius: float = 0.2
    batch_size: int = 5000
    sampler: str = "chain"
    cycle_steps: int = 0
    proposal_temperatures: list[float] = field(default_factory=lambda: [1.0])


@dataclass
class RBMConfig:
    """A restricted Boltzmann machine baseline (used when ``model: rbm``)."""

    visible: str = "bernoulli"
    hidden: int = 64
    sigma: float = 1.0
    learn_sigma: bool = False
    method: str = "pcd"
    k: int = 1
    lr: float = 0.05
    epochs: int = 20
    batch_size: int = 100
    momentum: float = 0.5
    weight_decay: float = 0.0
    ais_betas: int = 14500
    ais_runs: int = 100
    raise_betas: int = 1000
    raise_runs: int = 10
    gibbs_steps: list[int] = field(default_factory=lambda: [10, 100, 1000])


@dataclass
class EquilibriumConfig:
    """The equilibrium circuit (used when ``model: equilibrium``): visible units coupled
    symmetrically to ``groups`` winner-take-all groups of ``group_size`` hidden units
    (:class:`biovw.baselines.equilibrium.EquilibriumCircuit`).

    ``sigma`` (Gaussian visible units) starts at the data's mean standard deviation when
    null. ``method`` ``exact`` trains by exact maximum likelihood, ``pcd`` by persistent
    contrastive divergence with ``pcd_chains`` chains advanced ``k`` steps of ``sampler``.
    ``sampler`` (``gibbs``, ``mala`` or the unadjusted ``langevin``) is the chain that
    ``sample`` and ``analyze`` run; ``step_size`` (in units of ``sigma``) is tuned to MALA's
    acceptance rate 0.574 after training when null; ``circulation`` adds an antisymmetric part
    to the Langevin drift (a non-equilibrium current under ``langevin``). ``sampler``,
    ``circulation`` and ``chain_steps`` may be edited in a run's config.yaml afterwards.
    """

    visible: str = "gaussian"
    groups: int = 1
    group_size: int = 16
    sigma: float | None = None
    learn_sigma: bool = True
    method: str = "exact"
    pcd_chains: int = 1000
    k: int = 1
    sampler: str = "mala"
    step_size: float | None = None
    circulation: float = 0.0
    lr: float = 0.01
    epochs: int = 50
    batch_size: int = 256
    chain_steps: list[int] = field(default_factory=lambda: [10, 100, 1000])


@dataclass
class Config:
    """A complete run configuration.

    ``model`` is ``walkback`` (a circuit trained with Variational Walkback: sections
    ``circuit`` and ``walkback``), ``rbm`` (a Boltzmann baseline: section ``rbm``) or
    ``equilibrium`` (a symmetric circuit with exact detailed balance: section
    ``equilibrium``).
    """

    name: str = "run"
    seed: int = 0
    model: str = "walkback"
    data: DataConfig = field(default_factory=DataConfig)
    circuit: CircuitConfig = field(default_factory=CircuitConfig)
    rule: RuleConfig = field(default_factory=RuleConfig)
    walkback: WalkbackConfig = field(default_factory=WalkbackConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    rbm: RBMConfig = field(default_factory=RBMConfig)
    equilibrium: EquilibriumConfig = field(default_factory=EquilibriumConfig)

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as plain nested dicts (YAML- and checkpoint-safe)."""
        return dataclasses.asdict(self)


_SECTIONS = frozenset(name for name, tp in typing.get_type_hints(Config).items()
                      if dataclasses.is_dataclass(tp))

CHOICES: dict[str, tuple[str, ...]] = {
    "data.name": ("mog_grid", "spiral", "circle", "moons", "digits", "mnist", "fashion_mnist",
                  "patches", "file"),
    "circuit.kind": ("rate", "mlp", "linear"),
    "circuit.nonlinearity": ("tanh", "softplus", "relu", "sigmoid"),
    "circuit.freeze": ("none", "all", "hidden_rows", "readout"),
    "walkback.operator": ("gaussian", "bernoulli"),
    "eval.split": ("valid", "test"),
    "eval.sampler": ("chain", "cycle"),
    "train.lr_schedule": ("constant", "cosine"),
    "train.matmul_precision": ("highest", "high"),
    "model": ("walkback", "rbm", "equilibrium"),
    "rule.name": ("backprop", "fa", "sign_symmetry", "kp", "dfa"),
    "rbm.visible": ("bernoulli", "gaussian"),
    "rbm.method": ("cd", "pcd"),
    "equilibrium.visible": ("gaussian", "bernoulli"),
    "equilibrium.method": ("exact", "pcd"),
    "equilibrium.sampler": ("gibbs", "mala", "langevin"),
}
"""Allowed values of the fields that name a choice. Those that name a registry entry (model
kinds, data sets, circuits, rules, operators, rate functions, freeze options) list exactly that
registry's keys, in its order (checked by the tests); this module imports none of them."""

# Range rules: field path -> (predicate, description used in the error message).
_RANGES: dict[str, tuple[Any, str]] = {
    "seed": (lambda v: 0 <= v <= MAX_SEED, f"an integer in [0, {MAX_SEED}]"),
    "name": (lambda v: bool(v.strip()) and not set(v) & set("/\\\0"),
             "a non-empty name without '/', '\\' or NUL (it names the run directory)"),
    "data.n_samples": (lambda v: v >= 10, ">= 10"),
    "data.noise": (lambda v: v is None or v >= 0, ">= 0"),
    "data.threshold": (lambda v: 0 < v < 1, "in (0, 1)"),
    "data.valid_fraction": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "data.test_fraction": (lambda v: 0 < v < 1, "in (0, 1)"),
    "data.patch_size": (lambda v: v in (8, 16), "8 or 16"),
    "circuit.hidden": (lambda v: v >= 1, ">= 1"),
    "circuit.settle_steps": (lambda v: v >= 1, ">= 1"),
    "circuit.dt": (lambda v: v > 0, "> 0"),
    "circuit.tau": (lambda v: v > 0, "> 0"),
    "circuit.ei_ratio": (lambda v: 0 < v < 1, "in (0, 1)"),
    "circuit.density": (lambda v: 0 < v <= 1, "in (0, 1]"),
    "circuit.spectral_radius": (lambda v: v > 0, "> 0"),
    "circuit.layers": (lambda v: v >= 1, ">= 1"),
    "walkback.kappa": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "walkback.sigma": (lambda v: v > 0, "> 0"),
    "walkback.num_steps": (lambda v: v >= 1, ">= 1"),
    "walkback.initial_temperature": (lambda v: v > 0, "> 0"),
    "walkback.temperature_factor": (lambda v: v >= 1, ">= 1"),
    "walkback.anneal_start": (lambda v: v >= 1, ">= 1"),
    "walkback.anneal_fraction": (lambda v: 0 < v <= 1, "in (0, 1]"),
    "walkback.prior_momentum": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "train.steps": (lambda v: v >= 1, ">= 1"),
    "train.batch_size": (lambda v: v >= 1, ">= 1"),
    "train.lr": (lambda v: v > 0, "> 0"),
    "train.lr_min_factor": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "train.grad_clip": (lambda v: v >= 0, ">= 0 (0 disables clipping)"),
    "train.log_every": (lambda v: v >= 1, ">= 1"),
    "train.checkpoint_every": (lambda v: v >= 1, ">= 1"),
    "train.divergence_threshold": (lambda v: v > 0, "> 0"),
    "train.ep_every": (lambda v: v >= 0, ">= 0 (0: never)"),
    "train.ep_chains": (lambda v: v >= 1, ">= 1"),
    "train.ep_steps": (lambda v: v >= 20, ">= 20 (the interval uses 20 blocks of time)"),
    "eval.n_examples": (lambda v: v >= 1, ">= 1"),
    "eval.n_trajectories": (lambda v: v >= 1, ">= 1"),
    "eval.ladder": (lambda v: len(v) > 0 and min(v) >= 1 and all(max(v) % m == 0 for m in v),
                    "a non-empty list of multipliers >= 1 of eval.n_trajectories, each dividing "
                    "the largest"),
    "eval.converged_tol": (lambda v: v > 0, "> 0"),
    "eval.n_samples": (lambda v: v >= 2, ">= 2"),
    "eval.snapshots": (lambda v: len(v) > 0 and all(s >= 0 for s in v),
                       "a non-empty list of step counts >= 0"),
    "eval.mode_radius": (lambda v: v > 0, "> 0"),
    "eval.batch_size": (lambda v: v >= 1, ">= 1"),
    "eval.cycle_steps": (lambda v: v >= 0, ">= 0 (0: all walkback.num_steps)"),
    "eval.proposal_temperatures": (lambda v: len(v) > 0 and min(v) > 0,
                                   "a non-empty list of numbers > 0"),
    "rule.scale": (lambda v: v > 0, "> 0"),
    "rule.kp_decay": (lambda v: v >= 0, ">= 0"),
    "rbm.hidden": (lambda v: v >= 1, ">= 1"),
    "rbm.sigma": (lambda v: v > 0, "> 0"),
    "rbm.k": (lambda v: v >= 1, ">= 1"),
    "rbm.lr": (lambda v: v > 0, "> 0"),
    "rbm.epochs": (lambda v: v >= 1, ">= 1"),
    "rbm.batch_size": (lambda v: v >= 1, ">= 1"),
    "rbm.momentum": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "rbm.weight_decay": (lambda v: v >= 0, ">= 0"),
    "rbm.ais_betas": (lambda v: v >= 10, ">= 10"),
    "rbm.ais_runs": (lambda v: v >= 2, ">= 2"),
    "rbm.raise_betas": (lambda v: v >= 1, ">= 1"),
    "rbm.raise_runs": (lambda v: v >= 1, ">= 1"),
    "equilibrium.groups": (lambda v: v >= 1, ">= 1"),
    "equilibrium.group_size": (lambda v: v >= 2, ">= 2"),
    "equilibrium.sigma": (lambda v: v is None or v > 0, "> 0 (or null: the data's)"),
    "equilibrium.pcd_chains": (lambda v: v >= 1, ">= 1"),
    "equilibrium.k": (lambda v: v >= 1, ">= 1"),
    "equilibrium.step_size": (lambda v: v is None or v > 0, "> 0 (or null: tuned)"),
    "equilibrium.lr": (lambda v: v > 0, "> 0"),
    "equilibrium.epochs": (lambda v: v >= 1, ">= 1"),
    "equilibrium.batch_size": (lambda v: v >= 1, ">= 1"),
    "equilibrium.chain_steps": (lambda v: len(v) > 0 and all(s >= 1 for s in v),
                                "a non-empty list of step counts >= 1"),
    "rbm.gibbs_steps": (lambda v: len(v) > 0 and all(s >= 1 for s in v),
                        "a non-empty list of step counts >= 1"),
}


# Keys of earlier versions -> what replaced them.
_RENAMED: dict[str, str] = {
    "circuit.freeze_recurrent": "use circuit.freeze: all (or none, hidden_rows, readout)",
}


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is list:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    return {type(None): "null"}.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``tp`` (ints are accepted for floats)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, where)
            except ConfigError:
                continue
    elif origin is list:
        if isinstance(value, list):
            (item,) = typing.get_args(tp)
            return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    elif tp is type(None):
        if value is None:
            return None
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) >= 2**63:
                raise ConfigError(f"{where} must be a 64-bit integer, got {value!r}")
            return value
    elif tp is float:
        if isinstance(value, str):
            # YAML 1.1 reads exponents without a dot (1e-3) as strings
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ConfigError(f"{where} must be a finite number, got {value!r}")
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    raise ConfigError(f"{where} must be {_type_name(tp)}, got {value!r}")


def _build(cls: type, raw: Any, prefix: str) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{prefix or 'config'} must be a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    for key in unknown:
        where = f"{prefix}.{key}" if prefix else str(key)
        if where in _RENAMED:
            raise ConfigError(f"config key {where!r} was replaced: {_RENAMED[where]}")
    if unknown:
        where = f"{prefix}.{unknown[0]}" if prefix else str(unknown[0])
        raise ConfigError(f"unknown config key {where!r}; allowed: {', '.join(sorted(names))}")
    kwargs = {}
    for name, value in raw.items():
        where = f"{prefix}.{name}" if prefix else name
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            kwargs[name] = _build(tp, value, where)
        else:
            kwargs[name] = _coerce(value, tp, where)
    return cls(**kwargs)


def _check(cfg: Config) -> None:
    flat = {"model": cfg.model, "seed": cfg.seed, "name": cfg.name}
    for section in ("data", "circuit", "rule", "walkback", "train", "eval", "rbm",
                    "equilibrium"):
        for key, value in dataclasses.asdict(getattr(cfg, section)).items():
            flat[f"{section}.{key}"] = value
    for where, allowed in CHOICES.items():
        if flat[where] not in allowed:
            raise ConfigError(f"{where} must be one of {', '.join(allowed)}; got {flat[where]!r}")
    for where, (ok, text) in _RANGES.items():
        if not ok(flat[where]):
            raise ConfigError(f"{where} must be {text}, got {flat[where]!r}")
    if cfg.data.valid_fraction + cfg.data.test_fraction >= 1:
        raise ConfigError("data.valid_fraction + data.test_fraction must be < 1")
    if cfg.data.name == "file" and not cfg.data.path:
        raise ConfigError("data.path is required when data.name is 'file'")
    if cfg.data.path and not Path(cfg.data.path).expanduser().exists():
        what = "file" if cfg.data.name == "file" else "file or folder"
        raise ConfigError(f"data.path: {what} not found: {cfg.data.path}")
    if cfg.circuit.symmetric and cfg.circuit.dale:
        raise ConfigError(
            "circuit.symmetric cannot be combined with circuit.dale (tied weights cannot keep "
            "one sign per presynaptic unit); set circuit.dale: false"
        )
    if cfg.walkback.anneal_start > cfg.walkback.num_steps:
        raise ConfigError("walkback.anneal_start must be <= walkback.num_steps")
    _check_temperatures(cfg.walkback)
    if cfg.eval.split == "valid" and cfg.data.valid_fraction == 0:
        raise ConfigError("eval.split is 'valid' but data.valid_fraction is 0")


def _check_temperatures(wb: WalkbackConfig) -> None:
    """The last temperature of the schedule must stay at most :data:`MAX_TEMPERATURE`."""
    try:
        last = wb.initial_temperature * wb.temperature_factor ** (wb.num_steps - 1)
    except OverflowError:
        last = math.inf
    if not last <= MAX_TEMPERATURE:
        raise ConfigError(
            f"walkback.temperature_factor: the last temperature initial_temperature * "
            f"temperature_factor**(num_steps - 1) = {wb.initial_temperature:g} * "
            f"{wb.temperature_factor:g}**{wb.num_steps - 1} = {last:.3g} exceeds "
            f"{MAX_TEMPERATURE:g}; lower walkback.temperature_factor or walkback.num_steps"
        )


def _parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like section.key=value")
    key, value = text.split("=", 1)
    path = key.strip().split(".")
    if not all(path):
        raise ConfigError(f"override {text!r} has an empty key")
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {key!r}: cannot parse value {value!r}") from exc
    return path, parsed


def _apply_override(raw: dict, text: str) -> None:
    """Set one ``section.key=value`` override in ``raw``."""
    path, value = _parse_override(text)
    node = raw
    for part in path[:-1]:
        if node.get(part) is None:
            node[part] = {}
        node = node[part]
        if not isinstance(node, dict):
            raise ConfigError(f"override {text!r}: {part!r} is not a section")
    if len(path) == 1 and path[0] in _SECTIONS and not isinstance(value, dict):
        raise ConfigError(f"override {text!r}: {path[0]} is a section; set its keys "
                          f"({path[0]}.KEY=VALUE) or give a mapping ({path[0]}={{KEY: VALUE}})")
    _merge(node, path[-1], value)


def _merge(node: dict, key: str, value: Any) -> None:
    """``node[key] = value``, except that a mapping given for a mapping (a section) is merged
    into it key by key, so ``--set 'train={steps: 3}'`` keeps the file's other train keys."""
    if isinstance(value, dict) and isinstance(node.get(key, {}), dict):
        merged = dict(node.get(key) or {})
        for name, item in value.items():
            _merge(merged, name, item)
        node[key] = merged
    else:
        node[key] = value


def config_from_dict(raw: Any, overrides: typing.Sequence[str] = ()) -> Config:
    """Validate a nested mapping (as read from YAML) into a :class:`Config`.

    Parameters
    ----------
    raw : mapping or None
        Sections and keys to set; anything missing takes its default.
    overrides : sequence of str
        ``section.key=value`` strings applied on top of ``raw``; values are parsed as YAML.

    Returns
    -------
    Config
        The validated configuration.

    Raises
    ------
    ConfigError
        With a one-line message naming the first invalid field.
    """
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError(f"config must be a mapping of sections, got {type(raw).__name__}")
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for text in overrides:
        _apply_override(raw, text)
    cfg = _build(Config, raw, "")
    _check(cfg)
    return cfg


def load_config(path: str | Path, overrides: typing.Sequence[str] = ()) -> Config:
    """Read, override and validate a YAML configuration file.

    Parameters
    ----------
    path : str or Path
        The YAML file.
    overrides : sequence of str
        ``section.key=value`` overrides, e.g. ``train.steps=200``.

    Returns
    -------
    Config
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text file (byte {exc.start} is not UTF-8)") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from exc
    if raw is None or raw == {}:
        raise ConfigError(f"{path}: the config file states no settings (empty); write at least "
                          "one section, e.g. 'train: {steps: 500}'")
    if isinstance(raw, dict) and "name" not in raw:
        raw["name"] = path.stem
    return config_from_dict(raw, overrides)


def config_yaml(cfg: Config) -> str:
    """The resolved configuration as YAML text (every key, in declaration order)."""
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)


def save_config(cfg: Config, path: str | Path) -> None:
    """Write the resolved configuration as YAML."""
    Path(path).write_text(config_yaml(cfg))
