"""How closely the Brian2 backend follows the torch sampler on the same trained circuit.

Shared by the tests (``tests/test_brian.py``) and the Brian2 page's tables
(``biovw/reports/brian.py``): small trained circuits of each kind (:data:`AGREEMENT_CIRCUITS`), the
noise-off trajectories of both backends from the same initial states
(:func:`noise_off_pair`), and, with noise, the stationary mean, covariance and kernel-exact
entropy production of both, each with an interval from the spread over independent groups of
chains (:func:`compare_with_noise`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from biovw.analysis import entropy_production_recorded
from biovw.config import load_config
from biovw.runs.build import build_run
from biovw.runs.rundir import RunDir
from biovw.runs.simulate import simulate_spec
from biovw.runs.train import train
from biovw.spec import RateSpec
from biovw.walkback import StationaryKernel, WalkbackModel

SMALL = ("train.steps=20", "train.batch_size=64", "circuit.hidden=16", "walkback.num_steps=4",
         "data.n_samples=400", "train.log_every=10")
"""Overrides that make a run train in about a second."""

AGREEMENT_CIRCUITS: dict[str, tuple[str, tuple[str, ...]]] = {
    "dale": ("circuits/rate_net.yaml", ()),
    "sparse": ("circuits/rate_net.yaml", ("circuit.density=0.3",)),
    "tied": ("circuits/rate_net_symmetric.yaml", ()),
    "bernoulli": ("circuits/digits_rate_fa.yaml", ()),
}
"""Circuit name -> (config, relative to the repository root; overrides on top of
:data:`SMALL`): Dale signs, a sparse mask, tied (symmetric) weights, a Bernoulli operator."""


def train_small(folder: str | Path, config: str | Path, overrides: tuple[str, ...] = ()) -> Path:
    """Train a small run (:data:`SMALL` plus ``overrides``) into ``folder``, without the
    evaluation; return ``folder``."""
    cfg = load_config(str(config), [*SMALL, *overrides])
    data, model = build_run(cfg, torch.device("cpu"))
    train(cfg, RunDir(folder), model, data, progress=False)
    return Path(folder)


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """``max |a - b| / max |b|``."""
    return float(np.abs(a - b).max() / np.abs(b).max())


def noise_off_pair(spec: RateSpec, target: str = "numpy", recurrence: str = "synapses",
                   n_chains: int = 8, n_steps: int = 200,
                   seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Noise-off states of the Brian2 network and of the torch sampler from the same initial
    states, over the cool-down and ``n_steps`` transitions.

    Returns
    -------
    brian2, torch : ndarray
        States ``[n_chains, n_steps + 1, D]`` (float64) of each backend.
    """
    reference = simulate_spec(spec, "torch", n_chains, n_steps, noise=False, seed=seed)
    states = simulate_spec(spec, "brian2", n_chains, n_steps, noise=False, target=target,
                           recurrence=recurrence, seed=seed)
    return states, reference


Statistic = Callable[[np.ndarray], np.ndarray]
"""A statistic of a group of chains ``[chains, T, D]``."""


def group_interval(states: np.ndarray, statistic: Statistic, n_groups: int = 25,
                   confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Estimate of ``statistic`` over all chains and the half-width of its interval, from the
    spread of its values on ``n_groups`` independent groups of chains (Student t).

    Parameters
    ----------
    states : ndarray
        Chains ``[chains, T, D]``.
    statistic : callable
        Maps chains ``[c, T, D]`` to an array (or a float).
    """
    values = np.stack([np.asarray(statistic(g)) for g in np.array_split(states, n_groups)])
    half = stats.t.ppf(0.5 + confidence / 2, n_groups - 1) * values.std(0, ddof=1)
    return np.asarray(statistic(states)), half / np.sqrt(n_groups)


def state_mean(chains: np.ndarray) -> np.ndarray:
    """Mean state over chains and times, ``[D]``."""
    return chains.reshape(-1, chains.shape[-1]).mean(0)


def state_covariance(chains: np.ndarray) -> np.ndarray:
    """Covariance of the states over chains and times, ``[D, D]``."""
    return np.cov(chains.reshape(-1, chains.shape[-1]).T)


def entropy_production(spec: RateSpec) -> Statistic:
    """Kernel-exact entropy production (nats/transition) of recorded chains, each transition
    scored by the torch model's ``log p(s' | s)`` of the circuit ``spec`` describes."""
    kernel = StationaryKernel(WalkbackModel.from_spec(spec).double())

    def statistic(chains: np.ndarray) -> float:
        with torch.no_grad():
            return entropy_production_recorded(kernel, torch.from_numpy(chains)).value

    return statistic


@dataclass(frozen=True)
class NoiseComparison:
    """Stationary statistics of the torch and Brian2 chains of one circuit, with noise.

    Attributes
    ----------
    states : dict
        Backend (``torch``, ``brian2``) -> all recorded states ``[chains, steps + 1, D]``.
    statistics : dict
        ``mean``, ``covariance``, ``entropy_production`` -> backend -> (estimate, half-width
        of its interval), over the states after the burn-in.
    n_chains, n_steps, burn_in, n_groups : int
    confidence : float
    """

    states: dict[str, np.ndarray]
    statistics: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]
    n_chains: int
    n_steps: int
    burn_in: int
    n_groups: int
    confidence: float

    def gap(self, name: str) -> np.ndarray:
        """``|torch - brian2|`` minus the sum of the half-widths: <= 0 where the intervals
        of statistic ``name`` overlap."""
        (a, half_a), (b, half_b) = (self.statistics[name][k] for k in ("torch", "brian2"))
        return np.abs(a - b) - (half_a + half_b)


def compare_with_noise(spec: RateSpec, n_chains: int = 600, n_steps: int = 250,
                       burn_in: int = 50, n_groups: int = 25, confidence: float = 0.95,
                       seed: int = 11) -> NoiseComparison:
    """Run ``n_chains`` chains of ``spec`` with noise on both backends (same initial states,
    independent noise) and estimate their stationary statistics after ``burn_in``
    transitions, each with a ``confidence`` interval from ``n_groups`` groups of chains."""
    states = {backend: simulate_spec(spec, backend, n_chains, n_steps, seed=seed)
              for backend in ("torch", "brian2")}
    measures = {"mean": state_mean, "covariance": state_covariance,
                "entropy_production": entropy_production(spec)}
    statistics = {name: {backend: group_interval(x[:, burn_in:], f, n_groups, confidence)
                         for backend, x in states.items()}
                  for name, f in measures.items()}
    return NoiseComparison(states, statistics, n_chains, n_steps, burn_in, n_groups, confidence)


__all__ = ["AGREEMENT_CIRCUITS", "SMALL", "NoiseComparison", "compare_with_noise",
           "entropy_production",
           "group_interval", "noise_off_pair", "relative_difference", "state_covariance",
           "state_mean", "train_small"]
