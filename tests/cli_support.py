"""What the command-line tests share: a tiny run's overrides and ways to pass and invoke them."""

from __future__ import annotations

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
