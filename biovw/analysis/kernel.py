"""Kernel-exact entropy production of a Markov operator whose transition density is known.

For a stationary chain, ``sigma = E[ln p(s' | s) - ln p(s | s')]`` (nats/step). Given the
kernel, each transition contributes its exact log-ratio, so the only error is Monte Carlo
error, estimated here by batch means over time of the chain-averaged series (independent
chains run side by side).

A kernel is any object with three methods (structural protocol :class:`MarkovKernel`):
``params(s)`` computes whatever the density at ``s`` needs (e.g. a circuit's output, once per
state), ``sample(s, params, generator)`` draws ``s'``, and ``log_prob(s_next, s, params)``
returns ``ln p(s_next | s)`` per chain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from scipy import stats
from torch import Tensor


class MarkovKernel(Protocol):
    """A transition kernel with a tractable log-density."""

    def params(self, s: Tensor) -> Any: ...

    def sample(self, s: Tensor, params: Any, generator: torch.Generator | None) -> Tensor: ...

    def log_prob(self, s_next: Tensor, s: Tensor, params: Any) -> Tensor: ...


@dataclass(frozen=True)
class KernelEntropyProduction:
    """Result of :func:`entropy_production_kernel`.

    Attributes
    ----------
    value : float
        Mean log-ratio per transition (nats/step).
    se : float
        Batch-means standard error (over blocks of time of the chain-averaged series).
    ci_low, ci_high : float
        Student-t confidence interval from the batch means.
    se_chains : float
        Standard error across chains (ignores time correlation within a chain; a check).
    n_chains, n_steps, burn_in : int
    confidence : float
    """

    value: float
    se: float
    ci_low: float
    ci_high: float
    se_chains: float
    n_chains: int
    n_steps: int
    burn_in: int
    confidence: float

    @property
    def n_transitions(self) -> int:
        """Number of transitions averaged."""
        return self.n_chains * self.n_steps

    def to_dict(self) -> dict:
        """Plain-dict form with the unit."""
        return {
            "value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high,
            "se": self.se, "se_chains": self.se_chains, "unit": "nats/step",
            "n_chains": self.n_chains, "n_steps": self.n_steps, "burn_in": self.burn_in,
            "n_transitions": self.n_transitions, "confidence": self.confidence,
            "method": "kernel-exact log-ratio, batch-means CI",
        }


def batch_means(series: Tensor, n_batches: int, confidence: float) -> tuple[float, float, float]:
    """Mean, standard error and t-interval half-width of a correlated series by batch means."""
    n_batches = max(2, min(n_batches, series.numel()))
    usable = (series.numel() // n_batches) * n_batches
    blocks = series[series.numel() - usable:].double().view(n_batches, -1).mean(1)
    se = blocks.std(unbiased=True).item() / math.sqrt(n_batches)
    half = float(stats.t.ppf(0.5 + confidence / 2, n_batches - 1)) * se
    return series.double().mean().item(), se, half


@torch.no_grad()
def entropy_production_kernel(
    kernel: MarkovKernel,
    initial: Tensor,
    n_steps: int,
    *,
    burn_in: int = 0,
    n_batches: int = 20,
    confidence: float = 0.95,
    generator: torch.Generator | None = None,
) -> KernelEntropyProduction:
    """Estimate entropy production per step from parallel chains of a known kernel.

    Parameters
    ----------
    kernel : MarkovKernel
        The operator.
    initial : Tensor
        Initial states, [n_chains, dim]; they should be (close to) stationary or followed by
        ``burn_in`` steps.
    n_steps : int
        Transitions per chain that are averaged.
    burn_in : int
        Transitions discarded first.
    n_batches : int
        Number of time blocks for the batch-means error.
    confidence : float
        Level of the interval.
    generator : torch.Generator or None

    Returns
    -------
    KernelEntropyProduction
    """
    if n_steps < 2:
        raise ValueError("n_steps must be >= 2")
    s = initial
    params = kernel.params(s)
    for _ in range(burn_in):
        s = kernel.sample(s, params, generator)
        params = kernel.params(s)
    series = torch.empty(n_steps, s.shape[0], dtype=torch.float64, device=s.device)
    for t in range(n_steps):
        s_next = kernel.sample(s, params, generator)
        params_next = kernel.params(s_next)
        series[t] = kernel.log_prob(s_next, s, params) - kernel.log_prob(s, s_next, params_next)
        s, params = s_next, params_next
    return _from_series(series, burn_in, n_batches, confidence)


@torch.no_grad()
def entropy_production_recorded(
    kernel: MarkovKernel,
    states: Tensor,
    *,
    burn_in: int = 0,
    n_batches: int = 20,
    confidence: float = 0.95,
) -> KernelEntropyProduction:
    """Kernel-exact entropy production of chains recorded elsewhere (e.g. by a Brian2 network
    of the same circuit), scored with ``kernel``'s log-density.

    Parameters
    ----------
    kernel : MarkovKernel
        The operator the chains ran (only ``params`` and ``log_prob`` are used).
    states : Tensor
        Recorded states, [n_chains, n_times, dim].
    burn_in : int
        Leading transitions of each chain left out.
    n_batches : int
        Number of time blocks for the batch-means error.
    confidence : float
        Level of the interval.

    Returns
    -------
    KernelEntropyProduction
    """
    n_steps = states.shape[1] - 1 - burn_in
    if n_steps < 2:
        raise ValueError("states must hold at least 2 transitions after the burn-in")
    s = states[:, burn_in]
    params = kernel.params(s)
    series = torch.empty(n_steps, s.shape[0], dtype=torch.float64, device=s.device)
    for t in range(n_steps):
        s_next = states[:, burn_in + t + 1]
        params_next = kernel.params(s_next)
        series[t] = kernel.log_prob(s_next, s, params) - kernel.log_prob(s, s_next, params_next)
        s, params = s_next, params_next
    return _from_series(series, burn_in, n_batches, confidence)


def _from_series(series: Tensor, burn_in: int, n_batches: int,
                 confidence: float) -> KernelEntropyProduction:
    """The estimate from the log-ratios of every transition, [n_steps, n_chains]."""
    value, se, half = batch_means(series.mean(1), n_batches, confidence)
    per_chain = series.mean(0)
    n_chains = per_chain.numel()
    se_chains = per_chain.std().item() / math.sqrt(n_chains) if n_chains > 1 else math.nan
    return KernelEntropyProduction(value, se, value - half, value + half, se_chains,
                                   n_chains, series.shape[0], burn_in, confidence)


@torch.no_grad()
def simulate(kernel: MarkovKernel, initial: Tensor, n_steps: int,
             generator: torch.Generator | None = None) -> Tensor:
    """Run parallel chains and keep every state: [n_chains, n_steps + 1, dim] on the CPU."""
    s = initial
    states = [s.cpu()]
    for _ in range(n_steps):
        s = kernel.sample(s, kernel.params(s), generator)
        states.append(s.cpu())
    return torch.stack(states, 1)
