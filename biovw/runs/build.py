"""A run's device, data and model from its configuration, or from its directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from biovw.config import Config, ConfigError, config_from_dict
from biovw.data import DataError, DataSplits, load_data
from biovw.runs.checkpoint import load_checkpoint
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
            test_fraction=d.test_fraction,
        )
    except DataError as exc:
        raise ConfigError(str(exc)) from exc
    MODEL_KINDS[cfg.model].check_data(cfg, data)
    if data.train.shape[0] < 2:
        raise ConfigError("data: the training split holds fewer than 2 examples")
    return data


def build_run(cfg: Config, device: torch.device) -> tuple[DataSplits, nn.Module]:
    """Data splits and a freshly initialised model on ``device``, of the kind ``cfg.model``
    names (a :class:`biovw.walkback.WalkbackModel` or an RBM)."""
    data = load_run_data(cfg)
    return data, MODEL_KINDS[cfg.model].build(cfg, data).to(device)


@dataclass
class OpenedRun:
    """A run rebuilt from its directory: its latest checkpoint loaded into a fresh model.

    Attributes
    ----------
    run : RunDir
    cfg : Config
        The configuration saved in the checkpoint.
    payload : dict
        The checkpoint's contents (step, states).
    data : DataSplits
    model : nn.Module
        The trained model on the requested device.
    """

    run: RunDir
    cfg: Config
    payload: dict[str, Any]
    data: DataSplits
    model: nn.Module

    @property
    def kind(self) -> ModelKind:
        """The registry entry of the run's model kind."""
        return MODEL_KINDS[self.cfg.model]


def open_run(run_dir: str | Path, device: str | torch.device = "cpu") -> OpenedRun:
    """Rebuild a run's data and trained model from ``run_dir``'s latest checkpoint.

    Raises
    ------
    ConfigError
        If ``run_dir`` is not a directory (or the saved configuration is no longer valid).
    CheckpointError
        If the checkpoint is missing or not a biovw checkpoint.
    """
    run = RunDir(run_dir)
    if not run.root.is_dir():
        raise ConfigError(f"RUN_DIR: not a directory: {run_dir}")
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    payload = load_checkpoint(run.checkpoint, dev)
    cfg = config_from_dict(payload["config"])
    data, model = build_run(cfg, dev)
    model.load_state_dict(payload["model"])
    return OpenedRun(run, cfg, payload, data, model)
