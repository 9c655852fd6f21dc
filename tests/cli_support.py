"""What the command-line tests share: a tiny run's overrides, ways to pass and invoke them, and
the loading of a script of ``analysis/`` as a module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import torch
from click.testing import CliRunner

from biovw.cli import main
from biovw.config import config_from_dict
from biovw.runs import build_model

TINY_RUN = [
    "train.steps=6", "train.log_every=2", "train.checkpoint_every=3", "train.batch_size=32",
    "circuit.hidden=8", "walkback.num_steps=3", "data.n_samples=300", "eval.n_examples=10",
    "eval.n_trajectories=2", "eval.n_samples=20", "eval.snapshots=[0, 2]",
]
"""Overrides of circuits/rate_net.yaml for a run of a few seconds that checkpoints and logs."""


def set_args(overrides) -> list[str]:
    """``--set`` before every override."""
    return [a for o in overrides for a in ("--set", o)]


def invoke(args):
    """Run ``biovw ARGS`` in this process (arguments as strings); torch's thread count is
    restored afterwards (``--threads`` changes it for the process)."""
    threads = torch.get_num_threads()
    try:
        return CliRunner().invoke(main, [str(a) for a in args])
    finally:
        torch.set_num_threads(threads)


def load_script(name: str) -> ModuleType:
    """The exploratory script ``analysis/NAME.py`` imported as the module ``NAME``
    (registered in ``sys.modules``, where dataclasses look their module up)."""
    path = Path(__file__).resolve().parents[1] / "analysis" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def linear_walkback_model(dim=2, num_steps=4, seed=0):
    """A linear-Gaussian walk-back model with random maps, offsets and prior (its marginal and
    its samplers' stationary laws are known in closed form)."""
    cfg = config_from_dict({
        "circuit": {"kind": "linear"},
        "walkback": {"num_steps": num_steps, "kappa": 0.5, "sigma": 0.4,
                     "temperature_factor": 1.5},
    })
    model = build_model(cfg, dim)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        model.circuit.matrix.copy_(0.3 * torch.randn(num_steps, dim, dim, generator=gen))
        model.circuit.offset.copy_(0.5 * torch.randn(num_steps, dim, generator=gen))
        model.prior.mean.copy_(torch.randn(dim, generator=gen))
        model.prior.var.copy_(1.0 + torch.rand(dim, generator=gen))
    return model
