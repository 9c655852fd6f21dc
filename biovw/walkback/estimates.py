"""Held-out likelihood estimates of a walk-back model: the variational bound and the
importance-sampled log-likelihood, in nats per example with standard errors."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from biovw.walkback.model import WalkbackModel
from biovw.walkback.objective import log_weights


@dataclass(frozen=True)
class LikelihoodEstimate:
    """Per-example log-likelihood estimates on a data set (nats/example).

    Attributes
    ----------
    bound, bound_se : float
        Mean variational bound over examples and trajectories, and its standard error over
        examples.
    is_loglik, is_se : float
        Mean over examples of ``log mean_k exp(log w_k)`` with k trajectories, and its
        standard error over examples. A stochastic lower bound of log p(x) that tightens as
        ``n_trajectories`` grows.
    n_examples, n_trajectories : int
    per_example_is : list of float
        The IS estimate of each example (for paired comparisons).
    """

    bound: float
    bound_se: float
    is_loglik: float
    is_se: float
    n_examples: int
    n_trajectories: int
    per_example_is: list[float]

    def to_dict(self, per_example: bool = False) -> dict:
        """Plain-dict form (without the per-example values unless asked)."""
        d = asdict(self)
        if not per_example:
            d.pop("per_example_is")
        d["unit"] = "nats/example"
        return d


def _mean_se(values: Tensor) -> tuple[float, float]:
    n = values.numel()
    se = values.std(unbiased=True).item() / math.sqrt(n) if n > 1 else float("nan")
    return values.mean().item(), se


def estimate_log_likelihood(
    model: WalkbackModel,
    x: Tensor,
    n_trajectories: int,
    generator: torch.Generator | None,
    batch_size: int = 5000,
) -> LikelihoodEstimate:
    """Estimate the model's log-likelihood of each row of ``x``.

    Parameters
    ----------
    model : WalkbackModel
    x : Tensor
        Held-out examples, [n, dim], on the model's device.
    n_trajectories : int
        Heating trajectories per example (k).
    generator : torch.Generator or None
    batch_size : int
        Trajectories processed together.

    Returns
    -------
    LikelihoodEstimate
    """
    per_chunk = max(1, batch_size // n_trajectories)
    bounds, is_values = [], []
    for start in range(0, x.shape[0], per_chunk):
        chunk = x[start : start + per_chunk]
        reps = chunk.repeat_interleave(n_trajectories, dim=0)
        logw = log_weights(model, reps, generator).view(chunk.shape[0], n_trajectories).double()
        bounds.append(logw.mean(1))
        is_values.append(torch.logsumexp(logw, 1) - math.log(n_trajectories))
    bound = torch.cat(bounds).cpu()
    is_ll = torch.cat(is_values).cpu()
    b, b_se = _mean_se(bound)
    i, i_se = _mean_se(is_ll)
    return LikelihoodEstimate(b, b_se, i, i_se, x.shape[0], n_trajectories, is_ll.tolist())
