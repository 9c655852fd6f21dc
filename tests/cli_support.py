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
    """``analysis/NAME.py`` imported as the module ``NAME`` (registered in ``sys.modules``, where
    dataclasses look their module up)."""
    path = Path(__file__).resolve().parents[1] / "analysis" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
