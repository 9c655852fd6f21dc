"""``biovw mixing``: how fast a run's sampler mixes, from a chosen start.

The chains start after the cool-down, every chain in one mode or class, or on held-out data
(:data:`biovw.runs.stationarity.STARTS`), run ``burn_in`` sampler steps unrecorded, then
``n_steps`` recorded ones; their states go to :func:`biovw.analysis.mixing.mixing_diagnostics`
with the mode or class of every state, so the report holds the integrated autocorrelation time,
effective samples per step, per operator transition and per second, split-R-hat and the
switching rate between modes or classes.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from biovw.analysis.mixing import mixing_diagnostics
from biovw.config import Config
from biovw.data import DataSplits
from biovw.runs.labels import state_labels
from biovw.runs.stationarity import start_states


def measure_mixing(kind, cfg: Config, model: nn.Module, data: DataSplits, *, n_chains: int,
                   n_steps: int, burn_in: int = 0, seed: int = 0, start: str = "cooldown",
                   start_label: int | None = None) -> dict:
    """Mixing diagnostics of ``n_chains`` chains of the run's sampler (``kind``:
    :data:`biovw.runs.kinds.MODEL_KINDS` entry of the run).

    Returns
    -------
    dict
        :meth:`biovw.analysis.mixing.Mixing.to_dict` plus ``sampler``, ``transitions_per_step``,
        ``ess_per_transition``, ``switches_per_transition``, ``start``, ``start_label`` and
        ``burn_in``.

    Raises
    ------
    ValueError
        A start the data cannot give, or fewer than 4 recorded steps.
    """
    if n_steps < 3:
        raise ValueError(f"--steps must be at least 3, got {n_steps}")
    labels = state_labels(cfg, data)
    initial, label = start_states(cfg, data, start, n_chains, seed, labels, start_label)
    model.eval()
    with torch.no_grad():
        if burn_in:
            initial = kind.sample(cfg, model, data, n_chains, burn_in, seed, initial)
        started = time.perf_counter()
        traj, per_step = kind.run_chains(cfg, model, data, n_chains, n_steps, seed + 1, initial)
        seconds = time.perf_counter() - started
    states = traj.double().numpy()
    found = None if labels is None else labels(states)
    m = mixing_diagnostics(states, labels=found, labelled=labels.name if labels else "",
                           seconds=seconds).to_dict()
    sw = m["switching"]
    return {**m, "sampler": kind.sampler_name(cfg), "transitions_per_step": per_step,
            "ess_per_transition": m["ess_per_step"] / per_step,
            "switches_per_transition": None if sw is None else sw["rate"] / per_step,
            "start": start, "start_label": label, "burn_in": burn_in}
