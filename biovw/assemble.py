"""Build a run's data, model and device from its configuration."""

from __future__ import annotations

import torch
from torch import nn

from biovw.config import Config, ConfigError
from biovw.data import DataError, DataSplits, load_data
from biovw.walkback import WalkbackModel, build_model


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
    """Load and split the data set named by ``cfg.data`` and check it suits the operator."""
    d = cfg.data
    try:
        data = load_data(
            d.name, seed=cfg.seed, n_samples=d.n_samples, noise=d.noise, binarize=d.binarize,
            threshold=d.threshold, path=d.path, key=d.key, valid_fraction=d.valid_fraction,
            test_fraction=d.test_fraction,
        )
    except DataError as exc:
        raise ConfigError(str(exc)) from exc
    if cfg.model == "walkback" and cfg.walkback.operator == "bernoulli" and data.kind != "binary":
        raise ConfigError(
            "walkback.operator is 'bernoulli' but the data are continuous; "
            "set data.binarize: true or walkback.operator: gaussian"
        )
    if data.train.shape[0] < 2:
        raise ConfigError("data: the training split holds fewer than 2 examples")
    return data


def assemble(cfg: Config, device: torch.device) -> tuple[DataSplits, nn.Module]:
    """Data splits and a freshly initialised model on ``device``: a :class:`WalkbackModel`,
    or an RBM when ``cfg.model`` is ``rbm``."""
    data = load_run_data(cfg)
    if cfg.model == "rbm":
        from biovw.baselines.run import build_rbm

        return data, build_rbm(cfg, data).to(device)
    model: WalkbackModel = build_model(cfg, data.dim)
    return data, model.to(device)
