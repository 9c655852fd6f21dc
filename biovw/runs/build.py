"""A run's device, data and model from its configuration, or from its directory."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from biovw.config import Config, ConfigError, config_from_dict, load_config
from biovw.data import DataError, DataSplits, load_data
from biovw.runs.checkpoint import CheckpointError, load_run_checkpoint
from biovw.runs.kinds import MODEL_KINDS, ModelKind
from biovw.runs.rundir import RunDir


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` or ``cuda:N``; a clear error if CUDA is asked for and missing."""
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"--device: unknown device {name!r}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: CUDA is not available on this machine")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"--device must be cpu or cuda[:N], got {name!r}")
    return device


def load_run_data(cfg: Config) -> DataSplits:
    """Load and split the data set named by ``cfg.data`` and check it suits the model."""
    d = cfg.data
    try:
        data = load_data(
            d.name, seed=cfg.seed, n_samples=d.n_samples, noise=d.noise, binarize=d.binarize,
            threshold=d.threshold, path=d.path, key=d.key, valid_fraction=d.valid_fraction,
            test_fraction=d.test_fraction, patch_size=d.patch_size,
        )
    except DataError as exc:
        raise ConfigError(str(exc)) from exc
    MODEL_KINDS[cfg.model].check_data(cfg, data)
    check_split_sizes(cfg, data)
    return data


MIN_SPLIT = 2
"""Fewest examples in the training split and in a held-out split that evaluation scores: sample
quality compares samples with at least two held-out examples."""


def check_split_sizes(cfg: Config, data: DataSplits) -> None:
    """Raise :class:`ConfigError` when the training split, the evaluation split
    (``eval.split``) or the test split (``biovw evaluate --split test``) holds fewer than
    :data:`MIN_SPLIT` examples, before any work is done."""
    total = len(data.train) + len(data.valid) + len(data.test)
    for name in dict.fromkeys(("train", cfg.eval.split, "test")):
        n = len(getattr(data, name))
        if n < MIN_SPLIT:
            fix = ("data.valid_fraction + data.test_fraction" if name == "train" else
                   f"data.{name}_fraction")
            raise ConfigError(
                f"data: the {name} split holds {n} of {total} examples; training and evaluation "
                f"need at least {MIN_SPLIT}: use more data (data.n_samples for a generated set) "
                f"or adjust {fix}"
            )


def physical_memory() -> int:
    """Bytes of physical memory of this machine (0 when it cannot be read)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def check_fits(n_bytes: float, what: str, option: str) -> None:
    """Raise :class:`ConfigError` naming ``option`` when ``n_bytes`` exceed this machine's
    physical memory."""
    total = physical_memory()
    if total and n_bytes > total:
        raise ConfigError(f"{option}: {what} would need {n_bytes / 2**30:,.1f} GiB, more than "
                          f"this machine's {total / 2**30:,.1f} GiB; make it smaller")


def build_run(cfg: Config, device: torch.device) -> tuple[DataSplits, nn.Module]:
    """Data splits and a freshly initialised model on ``device``, of the kind ``cfg.model``
    names (a :class:`biovw.walkback.WalkbackModel` or an RBM)."""
    data = load_run_data(cfg)
    kind = MODEL_KINDS[cfg.model]
    # weights, their gradients and the optimiser's two moments, in float32
    check_fits(4 * 4 * kind.size(cfg, data.dim), "the model's weights and their training state",
               "circuit.hidden, circuit.layers or rbm.hidden")
    try:
        return data, kind.build(cfg, data).to(device)
    except (MemoryError, RuntimeError) as exc:
        text = str(exc)
        if not isinstance(exc, MemoryError) and "allocate" not in text:
            raise
        raise ConfigError(f"the model does not fit in memory ({' '.join(text.split())[:160]}): "
                          f"make it smaller (circuit.hidden, circuit.layers or rbm.hidden)"
                          ) from exc


RESUMABLE_EDITS = ("name", "eval.", "train.log_every", "train.checkpoint_every",
                   "train.divergence_threshold", "train.tensorboard", "train.ep_every",
                   "train.ep_chains", "train.ep_steps", "equilibrium.sampler",
                   "equilibrium.circulation", "equilibrium.chain_steps")
"""Keys (or section prefixes) in which a run's config.yaml may differ from its checkpoint's
configuration: they change only how a run is logged, checkpointed and evaluated, and are
applied when the run is opened. The number of iterations (``train.steps``, ``rbm.epochs``) may
also grow, as with ``biovw resume --steps``. Any other difference is refused."""


@dataclass
class OpenedRun:
    """A run rebuilt from its directory: its latest checkpoint loaded into a fresh model.

    Attributes
    ----------
    run : RunDir
    cfg : Config
        The configuration the run continues with: its checkpoint's, with the edits of
        config.yaml that :data:`RESUMABLE_EDITS` allows.
    payload : dict or None
        The checkpoint's contents (step, states); None for a run that never wrote one (only
        with ``open_run(..., allow_fresh=True)``: it then starts from iteration 0).
    data : DataSplits
    model : nn.Module
        The trained model on the requested device.
    edits : list of str
        The config.yaml edits applied, as ``key: old -> new``.
    fallback : str or None
        One line when the latest checkpoint could not be read and the previous one was loaded
        (only with ``open_run(..., fallback=True)``).
    """

    run: RunDir
    cfg: Config
    payload: dict[str, Any] | None
    data: DataSplits
    model: nn.Module
    edits: list[str] = field(default_factory=list)
    fallback: str | None = None

    @property
    def kind(self) -> ModelKind:
        """The registry entry of the run's model kind."""
        return MODEL_KINDS[self.cfg.model]

    @property
    def step(self) -> int:
        """The iteration (epoch for an RBM) the checkpoint holds (0 without one)."""
        return 0 if self.payload is None else int(self.payload["step"])

    @property
    def finished(self) -> bool:
        """Whether training ran to its end (older checkpoints: whether the step reached the
        configured number of iterations)."""
        if self.payload is None:
            return False
        return bool(self.payload.get("finished",
                                     self.step >= self.kind.iterations(self.cfg)))

    def unfinished_warning(self) -> str | None:
        """One line for a user about to sample, evaluate or analyse an unfinished run."""
        if self.finished:
            return None
        return (f"warning: {self.run.root} is unfinished: its checkpoint holds iteration "
                f"{self.step} of {self.kind.iterations(self.cfg)}; continue it with "
                f"biovw resume {self.run.root}")


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _apply_edits(run: RunDir, cfg: Config, step: int) -> tuple[Config, list[str]]:
    """``cfg`` (the checkpoint's) with the allowed edits of ``run``'s config.yaml, and those
    edits; a :class:`CheckpointError` naming the first other difference."""
    if not run.config.is_file():
        return cfg, []
    saved = load_config(run.config)
    old, new = _flat(cfg.to_dict()), _flat(saved.to_dict())
    changed = [k for k in old if old[k] != new[k]]
    if not changed:
        return cfg, []
    iterations = MODEL_KINDS[cfg.model].iterations_key

    def allowed(key: str) -> bool:
        if key == iterations:
            return new[key] >= step
        return any(key == e or (e.endswith(".") and key.startswith(e)) for e in RESUMABLE_EDITS)

    refused = [k for k in changed if not allowed(k)]
    if refused:
        key = refused[0]
        more = f" (and {len(refused) - 1} more keys)" if len(refused) > 1 else ""
        raise CheckpointError(
            f"{run.config} does not match {run.checkpoint}: {key} is {new[key]!r} in "
            f"config.yaml but {old[key]!r} in the checkpoint{more}; a checkpoint continues only "
            f"under its own configuration: if config.yaml was edited, undo the edit; if the "
            f"checkpoint came from another run, put this run's back; or start a new run with "
            f"biovw train {run.config} --out NEW_DIR"
        )
    return saved, [f"{k}: {old[k]!r} -> {new[k]!r}" for k in changed]


def open_run(run_dir: str | Path, device: str | torch.device = "cpu", *,
             allow_fresh: bool = False, fallback: bool = False) -> OpenedRun:
    """Rebuild a run's data and trained model from ``run_dir``'s latest checkpoint.

    The checkpoint's configuration is compared with the run's config.yaml: the edits
    :data:`RESUMABLE_EDITS` allows are applied (and listed in :attr:`OpenedRun.edits`), any
    other difference is refused, as is a checkpoint whose weights do not fit its configuration.

    Parameters
    ----------
    run_dir : str or Path
    device : str or torch.device
    allow_fresh : bool
        Accept a run that never reached its first checkpoint but has its config.yaml (a start
        that was killed): it is rebuilt untrained from config.yaml, with ``payload`` None.
    fallback : bool
        Load the previous checkpoint when the latest cannot be read (what ``resume`` does),
        saying so in :attr:`OpenedRun.fallback`.

    Raises
    ------
    ConfigError
        If ``run_dir`` is not a directory (or a saved configuration is no longer valid).
    CheckpointError
        If the checkpoint is missing, not a biovw checkpoint, does not fit the run's
        config.yaml, or its weights do not fit its configuration.
    """
    run = RunDir(run_dir)
    if not run.root.is_dir():
        raise ConfigError(f"RUN_DIR: not a directory: {run_dir}")
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    saved = run.checkpoint.is_file() or run.previous_checkpoint.is_file()
    if not saved and run.config.is_file():
        if allow_fresh:
            cfg = load_config(run.config)
            data, model = build_run(cfg, dev)
            return OpenedRun(run, cfg, None, data, model)
        raise CheckpointError(f"{run.root} has no checkpoint yet (its training stopped before "
                              f"the first one); start it again with biovw resume {run.root}")
    payload, path, warning = load_run_checkpoint(run, dev, fallback=fallback)
    cfg, edits = _apply_edits(run, config_from_dict(payload["config"]), int(payload["step"]))
    data, model = build_run(cfg, dev)
    try:
        model.load_state_dict(payload["model"])
    except (RuntimeError, KeyError, TypeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[-1].strip() if str(exc).strip() else ""
        raise CheckpointError(f"{path}: its weights do not fit its configuration "
                              f"({reason[:160]}); refused") from exc
    return OpenedRun(run, cfg, payload, data, model, edits, warning)
