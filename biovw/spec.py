"""A backend-neutral description of a trained rate circuit and its transition operator.

:class:`RateSpec` holds every number a simulator needs to reproduce the transition kernel
``p_T(s' | s)`` of a trained walk-back rate circuit: the effective recurrent weight with its
masks and Dale signs applied, the afferent weights and the per-step drive normalisation, the
time constants, the operator (kind, skip weight ``kappa``, noise scale ``sigma``), the
temperature schedule and the prior ``p*`` that sampling starts from. It is plain numpy and JSON:
reading it needs neither torch nor pickle.

The dynamics it describes, for a transition from chain state ``s`` at temperature step ``t``
(zero-based; ``T_t = temperatures[t]``; the stationary chain runs at ``t = 0``)::

    a      = W_in s + b_in                                        (hidden afferent input, [H])
    u_hid  = (a - mean(a)) / sqrt(var(a) + drive_eps) * drive_gain[t] + drive_shift[t]
             (mean and biased variance over the H hidden units of this example; without
             drive_normalize: u_hid = a * drive_gain[t] + drive_shift[t])
    u      = [visible_bias[t], u_hid]
    h      = [s, 0]                                               (visible at s, hidden at rest)
    repeat settle_steps times:
        r  = [h_vis, phi(h_hid)]                                  (visible units are linear)
        h  = h + (dt / tau) * (-h + W @ r + u)                     (W[post, pre])
    out    = h_vis
    gaussian:  s' ~ N(kappa s + (1 - kappa) out, T_t sigma^2)       (sigma per visible unit)
    bernoulli: p(s'_i = 1) = kappa s_i + (1 - kappa) sigmoid(out_i / T_t)

Sampling draws ``s_K`` from the prior (Gaussian: ``prior["mean"]``, ``prior["var"]``;
Bernoulli: ``prior["probs"]``), cools down through ``t = K-1, ..., 0`` and keeps running at
``t = 0``.

On disk a description is a folder with ``circuit.json`` (format tag, version, scalars, units
and a manifest of the arrays) and ``circuit.npz`` (the arrays, loaded with
``allow_pickle=False``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "biovw-rate-circuit"
VERSION = 1
JSON_NAME = "circuit.json"
ARRAYS_NAME = "circuit.npz"

NONLINEARITY_NAMES = ("tanh", "softplus", "relu", "sigmoid")
OPERATOR_KINDS = ("gaussian", "bernoulli")

UNITS = {
    "time": "ms",
    "activity": "dimensionless (the data's units for the visible units)",
    "weights": "dimensionless",
    "temperature": "dimensionless (multiplies the noise variance)",
}
"""Units of the quantities: the torch model is dimensionless; ``tau`` and ``dt`` are read in
``time`` units by simulators that need physical time."""


class SpecError(ValueError):
    """A file is not a readable circuit description; the message is one line naming it."""


@dataclass(frozen=True)
class RateSettings:
    """How a rate circuit is built: its design choices, with their defaults stated once.

    The ``circuit`` section of a config fills it (:meth:`of`) and
    :class:`biovw.circuits.RateCircuit` takes it; the trained circuit's description
    (:class:`RateCircuitSpec`) then records what the settings produced.

    Attributes
    ----------
    nonlinearity : str
        Rate function of the hidden units: ``tanh``, ``softplus``, ``relu`` or ``sigmoid``.
    settle_steps : int
        Euler micro-steps per transition.
    dt, tau : float
        Euler step and time constant (``alpha = dt / tau``).
    dale : bool
        Each unit's outgoing weights share one sign (visible and the first ``ei_ratio`` of
        the hidden units excitatory).
    ei_ratio : float
        Share of excitatory hidden units under Dale's law.
    density : float
        Probability of each connection (no autapses).
    symmetric : bool
        Tie ``W`` to its transpose.
    spectral_radius : float
        Spectral radius of the initial ``W``.
    step_norm : bool
        Standardise the hidden afferent drive across hidden units at every temperature step.
    freeze : str
        Rows of ``W`` held at their initial value: ``none``, ``all``, ``hidden_rows`` or
        ``readout``.
    """

    nonlinearity: str = "tanh"
    settle_steps: int = 5
    dt: float = 1.0
    tau: float = 2.0
    dale: bool = True
    ei_ratio: float = 0.8
    density: float = 1.0
    symmetric: bool = False
    spectral_radius: float = 0.9
    step_norm: bool = True
    freeze: str = "none"

    @classmethod
    def of(cls, source: object) -> RateSettings:
        """The settings read off any object with these attributes (a config section)."""
        return cls(**{f.name: getattr(source, f.name) for f in fields(cls)})


RATE_DEFAULTS = RateSettings()
"""The default rate circuit."""


@dataclass(frozen=True, eq=False)
class RateCircuitSpec:
    """The rate circuit: ``D`` visible units followed by ``H`` hidden units.

    Attributes
    ----------
    weight : ndarray
        Effective recurrent weight ``W[post, pre]`` with mask, Dale signs and tying applied,
        [n, n].
    mask : ndarray
        0/1 connectivity: the synapses present (zero diagonal; symmetric for a tied circuit),
        [n, n]. ``weight`` is zero wherever ``mask`` is.
    signs : ndarray or None
        Dale's law: the sign of each presynaptic unit (+1 excitatory, -1 inhibitory), [n];
        None when signs are free.
    symmetric : bool
        The weights are tied, ``W = W^T``.
    w_in : ndarray
        Afferent weight from the chain state to the hidden units, [H, D].
    b_in : ndarray
        Afferent bias of the hidden units, [H].
    drive_gain, drive_shift : ndarray
        Per-step gain and shift of the hidden drive, [K, H].
    drive_normalize : bool
        Standardise the hidden afferent input across hidden units before gain and shift.
    drive_eps : float
        Added to the variance in that standardisation.
    visible_bias : ndarray
        Per-step drive of the visible units, [K, D].
    tau, dt : float
        Time constant and Euler step (``alpha = dt / tau``), in :data:`UNITS` ``["time"]``.
    settle_steps : int
        Euler micro-steps per transition.
    nonlinearity : str
        Rate function of the hidden units: ``tanh``, ``softplus``, ``relu`` or ``sigmoid``.
    """

    weight: np.ndarray
    mask: np.ndarray
    signs: np.ndarray | None
    symmetric: bool
    w_in: np.ndarray
    b_in: np.ndarray
    drive_gain: np.ndarray
    drive_shift: np.ndarray
    drive_normalize: bool
    drive_eps: float
    visible_bias: np.ndarray
    tau: float
    dt: float
    settle_steps: int
    nonlinearity: str

    @property
    def n_visible(self) -> int:
        """D, the number of visible units (the chain's dimension)."""
        return int(self.w_in.shape[1])

    @property
    def n_hidden(self) -> int:
        """H, the number of hidden units."""
        return int(self.w_in.shape[0])

    @property
    def num_steps(self) -> int:
        """K, the number of temperature steps with their own drive parameters."""
        return int(self.drive_gain.shape[0])

    @property
    def alpha(self) -> float:
        """``dt / tau``."""
        return self.dt / self.tau


@dataclass(frozen=True, eq=False)
class OperatorSpec:
    """The transition operator over the circuit's output, its temperatures and prior.

    Attributes
    ----------
    kind : str
        ``gaussian`` or ``bernoulli``.
    kappa : float
        Skip weight of the current state.
    sigma : ndarray or None
        Gaussian noise scale at T = 1 per visible unit, [D]; None for Bernoulli.
    learn_sigma : bool
        Whether ``sigma`` was learned (otherwise every entry is the configured value).
    temperatures : ndarray
        ``T_t`` of each temperature step, [K] (float64).
    prior : dict of str to ndarray
        The prior p*: ``mean`` and ``var`` ([D]) for Gaussian, ``probs`` ([D]) for Bernoulli.
    """

    kind: str
    kappa: float
    sigma: np.ndarray | None
    learn_sigma: bool
    temperatures: np.ndarray
    prior: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class RateSpec:
    """A trained rate circuit with its transition operator (see the module docstring).

    Attributes
    ----------
    circuit : RateCircuitSpec
    operator : OperatorSpec
    units : dict of str to str
        Units of the quantities (:data:`UNITS`).
    """

    circuit: RateCircuitSpec
    operator: OperatorSpec
    units: dict[str, str] = field(default_factory=lambda: dict(UNITS))

    def __post_init__(self) -> None:
        _check(self)

    def save(self, folder: str | Path) -> Path:
        """Write ``circuit.json`` and ``circuit.npz`` into ``folder`` (created if needed).

        Returns
        -------
        Path
            The JSON file.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = _arrays(self)
        meta = _metadata(self, arrays)
        np.savez(folder / ARRAYS_NAME, **arrays)
        path = folder / JSON_NAME
        path.write_text(json.dumps(meta, indent=2) + "\n")
        return path

    @classmethod
    def load(cls, folder: str | Path) -> RateSpec:
        """Read a description written by :meth:`save`.

        Raises
        ------
        SpecError
            If the folder holds no description, a file is foreign or damaged, its version is
            not supported, or a field or array is missing or has the wrong shape.
        """
        folder = Path(folder)
        meta = _read_json(folder / JSON_NAME)
        arrays = _read_arrays(folder / ARRAYS_NAME, meta["arrays"])
        try:
            return _from_parts(meta, arrays)
        except (KeyError, TypeError) as exc:
            raise SpecError(f"{folder / JSON_NAME}: missing or malformed field {exc}") from exc
        except SpecError as exc:
            raise SpecError(f"{folder}: {exc}") from exc


# ----------------------------------------------------------------------------- checks


def _check(spec: RateSpec) -> None:
    """Shapes and choices agree; raises SpecError naming the first field that does not."""
    c, o = spec.circuit, spec.operator
    for name in ("w_in", "drive_gain"):
        if np.ndim(getattr(c, name)) != 2:
            raise SpecError(f"{name} must be a 2-D array, got shape "
                            f"{tuple(np.shape(getattr(c, name)))}")
    d, h, k = c.n_visible, c.n_hidden, c.num_steps
    n = d + h
    shapes = {"weight": (c.weight, (n, n)), "mask": (c.mask, (n, n)), "b_in": (c.b_in, (h,)),
              "drive_gain": (c.drive_gain, (k, h)), "drive_shift": (c.drive_shift, (k, h)),
              "visible_bias": (c.visible_bias, (k, d)), "temperatures": (o.temperatures, (k,))}
    if c.signs is not None:
        shapes["signs"] = (c.signs, (n,))
    if o.sigma is not None:
        shapes["sigma"] = (o.sigma, (d,))
    shapes.update({f"prior.{name}": (value, (d,)) for name, value in o.prior.items()})
    for name, (value, shape) in shapes.items():
        if tuple(np.shape(value)) != shape:
            raise SpecError(f"{name} has shape {tuple(np.shape(value))}, expected {shape}")
    if c.nonlinearity not in NONLINEARITY_NAMES:
        raise SpecError(f"nonlinearity must be one of {', '.join(NONLINEARITY_NAMES)}; "
                        f"got {c.nonlinearity!r}")
    if o.kind not in OPERATOR_KINDS:
        raise SpecError(f"operator kind must be one of {', '.join(OPERATOR_KINDS)}; "
                        f"got {o.kind!r}")
    if (o.kind == "gaussian") != (o.sigma is not None):
        raise SpecError("sigma is required for a gaussian operator and only for it")
    positive = {"tau": c.tau, "dt": c.dt, "settle_steps": c.settle_steps}
    for name, value in positive.items():
        if not (math.isfinite(value) and value > 0):
            raise SpecError(f"{name} must be a positive number, got {value!r}")


# ----------------------------------------------------------------------------- writing


_CIRCUIT_ARRAYS = ("weight", "mask", "w_in", "b_in", "drive_gain", "drive_shift",
                   "visible_bias")
_MEANING = {
    "weight": "effective recurrent weight W[post, pre], masks and signs applied",
    "mask": "0/1 synapses present, [post, pre]",
    "signs": "Dale sign of each presynaptic unit",
    "w_in": "afferent weight W_in[hidden, visible]",
    "b_in": "afferent bias of the hidden units",
    "drive_gain": "per-step gain of the normalised hidden drive [step, hidden]",
    "drive_shift": "per-step shift of the normalised hidden drive [step, hidden]",
    "visible_bias": "per-step drive of the visible units [step, visible]",
    "sigma": "Gaussian noise scale at T = 1 per visible unit",
    "temperatures": "temperature of each step (step 0 is the stationary chain's)",
}


def _arrays(spec: RateSpec) -> dict[str, np.ndarray]:
    c, o = spec.circuit, spec.operator
    arrays = {name: np.asarray(getattr(c, name)) for name in _CIRCUIT_ARRAYS}
    if c.signs is not None:
        arrays["signs"] = np.asarray(c.signs)
    if o.sigma is not None:
        arrays["sigma"] = np.asarray(o.sigma)
    arrays["temperatures"] = np.asarray(o.temperatures, dtype=np.float64)
    arrays.update({f"prior_{name}": np.asarray(value) for name, value in o.prior.items()})
    return arrays


def _metadata(spec: RateSpec, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    c, o = spec.circuit, spec.operator
    return {
        "format": FORMAT,
        "version": VERSION,
        "units": dict(spec.units),
        "circuit": {
            "n_visible": c.n_visible, "n_hidden": c.n_hidden, "num_steps": c.num_steps,
            "tau": c.tau, "dt": c.dt, "alpha": c.alpha, "settle_steps": c.settle_steps,
            "nonlinearity": c.nonlinearity, "nonlinearity_applies_to": "hidden units; "
            "visible units are linear", "dale": c.signs is not None, "symmetric": c.symmetric,
            "initial_state": "visible units at the chain state, hidden units at 0",
            "update": "h <- h + (dt / tau) * (-h + W @ r + u), r = [h_visible, phi(h_hidden)]",
            "output": "visible units' activity after settle_steps updates",
            "drive_normalization": {
                "normalizes": "a = W_in @ s + b_in, the hidden units' afferent input",
                "across": "hidden units, each example separately",
                "variance": "biased (divided by n_hidden)",
                "enabled": c.drive_normalize,
                "eps": c.drive_eps,
                "hidden_drive": "(a - mean(a)) / sqrt(var(a) + eps) * drive_gain[t] "
                                "+ drive_shift[t] (a * drive_gain[t] + drive_shift[t] when "
                                "not enabled)",
                "visible_drive": "visible_bias[t]",
            },
        },
        "operator": {
            "kind": o.kind, "kappa": o.kappa, "learn_sigma": o.learn_sigma,
            "prior": sorted(o.prior),
            "kernel": {"gaussian": "s' ~ N(kappa s + (1 - kappa) out, T_t sigma^2)",
                       "bernoulli": "p(s'_i = 1) = kappa s_i + (1 - kappa) "
                                    "sigmoid(out_i / T_t)"}[o.kind],
        },
        "arrays": {name: {"shape": list(a.shape), "dtype": str(a.dtype),
                          "meaning": _MEANING.get(name, "prior p* parameter")}
                   for name, a in arrays.items()},
    }


# ----------------------------------------------------------------------------- reading


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SpecError(f"{path}: no circuit description found")
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpecError(f"{path}: not a biovw circuit description (unreadable JSON)") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise SpecError(f"{path}: not a biovw circuit description (format {found!r})")
    if meta.get("version") != VERSION:
        raise SpecError(f"{path}: circuit description version {meta.get('version')!r} is not "
                        f"supported (this biovw reads version {VERSION})")
    if not isinstance(meta.get("arrays"), dict):
        raise SpecError(f"{path}: missing the array manifest")
    return meta


def _read_arrays(path: Path, manifest: dict[str, Any]) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError) as exc:
        reason = "not found" if not path.is_file() else "not an npz of plain arrays"
        raise SpecError(f"{path}: cannot read the circuit's arrays ({reason})") from exc
    missing = sorted(set(manifest) - set(arrays))
    if missing:
        raise SpecError(f"{path}: arrays missing: {', '.join(missing)}")
    return arrays


def _from_parts(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> RateSpec:
    c, o = meta["circuit"], meta["operator"]
    circuit = RateCircuitSpec(
        **{name: arrays[name] for name in _CIRCUIT_ARRAYS}, signs=arrays.get("signs"),
        symmetric=bool(c["symmetric"]), drive_normalize=bool(c["drive_normalization"]["enabled"]),
        drive_eps=float(c["drive_normalization"]["eps"]), tau=float(c["tau"]),
        dt=float(c["dt"]), settle_steps=int(c["settle_steps"]),
        nonlinearity=str(c["nonlinearity"]),
    )
    operator = OperatorSpec(
        kind=str(o["kind"]), kappa=float(o["kappa"]), sigma=arrays.get("sigma"),
        learn_sigma=bool(o["learn_sigma"]), temperatures=arrays["temperatures"],
        prior={name: arrays[f"prior_{name}"] for name in o["prior"]},
    )
    return RateSpec(circuit, operator, units=dict(meta["units"]))
