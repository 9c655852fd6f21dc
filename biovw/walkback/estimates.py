"""Held-out likelihood estimates of a walk-back model: the variational bound and the
importance-sampled log-likelihood, in nats per example with standard errors."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

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
        Mean over examples of ``log mean_k exp(log w_k)`` with the largest number of
        trajectories of the ladder, and its standard error over examples. A stochastic lower
        bound of log p(x) that tightens as the number of trajectories grows.
    n_examples, n_trajectories : int
        ``n_trajectories`` is the largest rung of the ladder.
    is_by_trajectories : dict
        ``{k: {"mean", "se"}}`` for every rung k of the ladder. The estimate at a smaller k is
        the average of the IS estimates of the disjoint blocks of k trajectories, so every rung
        uses the same trajectories.
    ess_median : float
        Median over examples of the effective sample size ``(sum w)^2 / sum w^2`` of the
        largest rung's weights (between 1 and ``n_trajectories``).
    converged : bool
        Whether more trajectories stopped moving the estimate: the mean paired increase from
        the second-largest rung to the largest one, plus two standard errors, is at most
        ``tolerance``. Always False with a single rung (nothing to compare).
    increase, increase_se, tolerance : float
        That mean paired increase (nats/example), its standard error, and the tolerance.
    per_example_is, per_example_bound : list of float
        Each example's IS estimate (largest rung) and bound, for paired comparisons.
    proposal_temperature : float
        The IS proposal: the heating kernel at this multiple of each step's temperature (1: the
        heating path q itself). The bound always comes from ``q``.
    """

    bound: float
    bound_se: float
    is_loglik: float
    is_se: float
    n_examples: int
    n_trajectories: int
    is_by_trajectories: dict[str, dict[str, float]]
    ess_median: float
    converged: bool
    increase: float
    increase_se: float
    tolerance: float
    per_example_is: list[float] = field(repr=False)
    per_example_bound: list[float] = field(repr=False)
    proposal_temperature: float = 1.0

    def to_dict(self, per_example: bool = False) -> dict:
        """Plain-dict form (without the per-example values unless asked)."""
        d = asdict(self)
        if not per_example:
            d.pop("per_example_is")
            d.pop("per_example_bound")
        d["unit"] = "nats/example"
        return d


def _mean_se(values: Tensor) -> tuple[float, float]:
    n = values.numel()
    se = values.std(unbiased=True).item() / math.sqrt(n) if n > 1 else float("nan")
    return values.mean().item(), se


def trajectory_ladder(base: int, multipliers: Sequence[int]) -> list[int]:
    """The rungs ``base * m`` in increasing order; each must divide the largest.

    Raises
    ------
    ValueError
        If a rung does not divide the largest one (its blocks would not tile the trajectories).
    """
    rungs = sorted({int(base) * int(m) for m in multipliers})
    if not rungs or rungs[0] < 1:
        raise ValueError(f"trajectory ladder needs positive rungs, got {rungs}")
    if any(rungs[-1] % r for r in rungs):
        raise ValueError(f"every rung of the trajectory ladder must divide the largest: {rungs}")
    return rungs


def importance_estimates(logw: Tensor, rungs: Sequence[int]) -> dict[int, Tensor]:
    """Per-example IS estimates at every rung from one matrix of log-weights.

    Parameters
    ----------
    logw : Tensor
        ``[n_examples, K]`` log importance weights, K the largest rung.
    rungs : sequence of int
        Numbers of trajectories; each divides K.

    Returns
    -------
    dict
        ``{k: [n_examples]}``: the mean over the ``K / k`` disjoint blocks of
        ``log mean exp`` of k weights.
    """
    n, total = logw.shape
    out = {}
    for k in rungs:
        blocks = logw.view(n, total // k, k)
        out[k] = (torch.logsumexp(blocks, 2) - math.log(k)).mean(1)
    return out


def effective_sample_size(logw: Tensor) -> Tensor:
    """``(sum w)^2 / sum w^2`` per row of log-weights (computed in log space)."""
    return torch.exp(2 * torch.logsumexp(logw, -1) - torch.logsumexp(2 * logw, -1))


def ladder_verdict(increases: Tensor, tolerance: float) -> tuple[float, float, bool]:
    """Whether more trajectories stopped moving an importance-sampled estimate.

    Parameters
    ----------
    increases : Tensor
        Per example, the estimate at the largest rung minus the estimate at the rung before.
    tolerance : float
        Largest accepted increase, nats/example.

    Returns
    -------
    increase, increase_se : float
        The mean increase and its standard error over examples.
    converged : bool
        True when the increase is within ``tolerance`` beyond its noise: ``increase + 2 se
        <= tolerance`` (a noisy small increase does not count).
    """
    increase, increase_se = _mean_se(increases)
    return increase, increase_se, bool(increase + 2 * increase_se <= tolerance)


def estimate_log_likelihood(
    model: WalkbackModel,
    x: Tensor,
    n_trajectories: int | Sequence[int],
    generator: torch.Generator | None,
    batch_size: int = 5000,
    tolerance: float = 0.02,
    progress: Callable[[int], None] | None = None,
    proposal_temperature: float = 1.0,
) -> LikelihoodEstimate:
    """Estimate the model's log-likelihood of each row of ``x``.

    Parameters
    ----------
    model : WalkbackModel
    x : Tensor
        Held-out examples, [n, dim], on the model's device.
    n_trajectories : int or sequence of int
        Heating trajectories per example: one number, or the rungs of a ladder (see
        :func:`trajectory_ladder`); the largest is run, the smaller ones reuse its blocks.
    generator : torch.Generator or None
    batch_size : int
        Trajectories processed together.
    tolerance : float
        Largest accepted increase (nats/example) from the second-largest rung to the largest
        one for the estimate to count as converged.
    progress : callable or None
        Called with the number of examples done after each chunk of examples.
    proposal_temperature : float
        Importance sampling proposes from the heating kernel at this multiple of each step's
        temperature (:func:`biovw.walkback.objective.log_weights`). Above 1 the proposal is
        wider than the heating path; the bound is then computed from the smallest rung's
        number of separate heating trajectories.

    Returns
    -------
    LikelihoodEstimate
    """
    rungs = sorted({int(n_trajectories)} if isinstance(n_trajectories, int)
                   else {int(k) for k in n_trajectories})
    trajectory_ladder(1, rungs)
    if not proposal_temperature > 0:
        raise ValueError(f"proposal_temperature must be positive, got {proposal_temperature}")
    k_max = rungs[-1]
    logw = _log_weights_by_example(model, x, k_max, generator, batch_size, progress,
                                   proposal_temperature)
    by_rung = importance_estimates(logw, rungs)
    if proposal_temperature == 1.0:
        bound = logw.mean(1)
    else:
        bound = _log_weights_by_example(model, x, rungs[0], generator, batch_size).mean(1)
    b, b_se = _mean_se(bound)
    i, i_se = _mean_se(by_rung[k_max])
    if len(rungs) > 1:
        increase, increase_se, converged = ladder_verdict(by_rung[k_max] - by_rung[rungs[-2]],
                                                          tolerance)
    else:
        increase = increase_se = float("nan")
        converged = False
    table = {str(k): dict(zip(("mean", "se"), _mean_se(v), strict=True))
             for k, v in by_rung.items()}
    ess = effective_sample_size(logw).median().item()
    return LikelihoodEstimate(b, b_se, i, i_se, x.shape[0], k_max, table, ess, converged,
                              increase, increase_se, tolerance, by_rung[k_max].tolist(),
                              bound.tolist(), float(proposal_temperature))


def _log_weights_by_example(model: WalkbackModel, x: Tensor, k: int,
                            generator: torch.Generator | None, batch_size: int,
                            progress: Callable[[int], None] | None = None,
                            proposal_temperature: float = 1.0) -> Tensor:
    """Log-weights ``[n, k]`` (float64, CPU) of ``k`` trajectories per row of ``x``, run in
    chunks of about ``batch_size`` trajectories."""
    per_chunk = max(1, batch_size // k)
    logws = []
    for start in range(0, x.shape[0], per_chunk):
        chunk = x[start : start + per_chunk]
        reps = chunk.repeat_interleave(k, dim=0)
        logws.append(log_weights(model, reps, generator, proposal_temperature=
                                 proposal_temperature).view(chunk.shape[0], k).double())
        if progress is not None:
            progress(chunk.shape[0])
    return torch.cat(logws).cpu()
