"""Heating trajectories and the variational walk-back bound.

For data x, the heating trajectory ``s_0 = x, s_t ~ p_{T_t}(. | s_{t-1})`` is the variational
distribution q; the bound is

``log p(x) >= E_q[log p*(s_K) + sum_t log p_{T_t}(s_{t-1} | s_t)
- sum_t log p_{T_t}(s_t | s_{t-1})]``

and its parameter-dependent part ``sum_t log p_{T_t}(s_{t-1} | s_t)`` is what training
increases ("walking back" each step). Sampled states never carry gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from biovw.walkback.model import BatchShard, WalkbackModel


@dataclass
class Trajectory:
    """A heating trajectory: ``states[t]`` is s_t (t = 0..K) and ``log_q`` its log-density
    ``sum_t log p_{T_t}(s_t | s_{t-1})`` per example."""

    states: list[Tensor]
    log_q: Tensor


def heat(model: WalkbackModel, x: Tensor, num_steps: int,
         generator: torch.Generator | None, shard: BatchShard | None = None,
         temperature_scale: float = 1.0) -> Trajectory:
    """Run the heating trajectory from ``x`` for ``num_steps`` steps (no gradients).

    Parameters
    ----------
    model : WalkbackModel
    x : Tensor
        Data, [batch, dim].
    num_steps : int
        Number of steps (<= model.num_steps).
    generator : torch.Generator or None
        Source of randomness.
    shard : BatchShard or None
        ``x`` is this shard of a global batch (data-parallel training): the noise is the
        shard's slice of the global batch's.
    temperature_scale : float
        Each step runs at ``temperature_scale`` times its temperature (``log_q`` is then the
        density of that wider path).
    """
    states = [x]
    log_q = x.new_zeros(x.shape[0])
    for step in range(num_steps):
        s_next, log_p = model.transition_with_log_prob(states[-1], step, generator, shard,
                                                       temperature_scale)
        log_q += log_p
        states.append(s_next)
    return Trajectory(states, log_q)


def walkback_log_prob(model: WalkbackModel, states: list[Tensor]) -> Tensor:
    """``sum_t log p_{T_t}(s_{t-1} | s_t)`` per example (differentiable in the parameters)."""
    total = states[0].new_zeros(states[0].shape[0])
    for step in range(len(states) - 1):
        total = total + model.log_prob(states[step], states[step + 1], step)
    return total


def log_weights(model: WalkbackModel, x: Tensor, generator: torch.Generator | None,
                num_steps: int | None = None, proposal_temperature: float = 1.0) -> Tensor:
    """One importance log-weight per example: the bound's integrand for one trajectory.

    ``log w = log p*(s_K) + sum_t log p(s_{t-1} | s_t) - sum_t log r(s_t | s_{t-1})``, with
    the proposal ``r`` the heating kernel at ``proposal_temperature`` times each step's
    temperature. At 1 (``r = q``) its mean is the variational bound; for any proposal
    ``log mean exp`` over trajectories is the importance-sampled log-likelihood, and a wider
    proposal (above 1) can give the weights the finite variance that ``q`` does not.
    """
    num_steps = model.num_steps if num_steps is None else num_steps
    traj = heat(model, x, num_steps, generator, temperature_scale=proposal_temperature)
    with torch.no_grad():
        log_p = model.prior.log_prob(traj.states[-1]) + walkback_log_prob(model, traj.states)
    return log_p - traj.log_q
