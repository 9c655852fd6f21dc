"""Sampling: draw from p*, cool down through the temperature schedule, then run at T_1."""

from __future__ import annotations

import torch
from torch import Tensor

from biovw.walkback.model import WalkbackModel


def sample_chain(
    model: WalkbackModel,
    n: int,
    snapshots: list[int],
    generator: torch.Generator | None,
    batch_size: int = 5000,
    progress=None,
) -> dict[int, Tensor]:
    """Draw ``n`` samples and keep them at chosen numbers of extra steps past the cool-down.

    Parameters
    ----------
    model : WalkbackModel
    n : int
        Number of independent chains.
    snapshots : list of int
        Extra T_1 steps after the cool-down at which to record the states (0 = right after it).
    generator : torch.Generator or None
        Source of randomness.
    batch_size : int
        Chains run together.
    progress : callable or None
        Called with the number of transitions done after each chunk of chains.

    Returns
    -------
    dict
        ``{extra_steps: Tensor[n, dim]}`` on the CPU.
    """
    keep = sorted(set(int(s) for s in snapshots))
    last = keep[-1] if keep else 0
    out: dict[int, list[Tensor]] = {k: [] for k in keep}
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        s = cool_down(model, model.prior.sample(m, generator), generator)
        for extra in range(last + 1):
            if extra in out:
                out[extra].append(s.cpu())
            if extra < last:
                s = model.transition(s, 0, generator)
        if progress is not None:
            progress(m)
    return {k: torch.cat(v) for k, v in out.items()}


def cool_down(model: WalkbackModel, s: Tensor, generator: torch.Generator | None,
              noise: bool = True) -> Tensor:
    """Run states ``s`` (draws from p*) through ``T_K, ..., T_1``.

    Parameters
    ----------
    model : WalkbackModel
    s : Tensor
        States at the last temperature step, [n, dim].
    generator : torch.Generator or None
    noise : bool
        Draw each transition; otherwise follow the kernel's mean (deterministic).
    """
    for step in reversed(range(model.num_steps)):
        s = model.transition(s, step, generator, noise)
    return s


def trajectories(model: WalkbackModel, initial: Tensor, n_steps: int,
                 generator: torch.Generator | None, noise: bool = True) -> Tensor:
    """Cool chains down from ``initial`` (draws from p*) and keep every state at ``T_1``.

    Parameters
    ----------
    model : WalkbackModel
    initial : Tensor
        States at the last temperature step, [n, dim].
    n_steps : int
        Transitions at ``T_1`` after the cool-down.
    generator : torch.Generator or None
    noise : bool
        Draw each transition; otherwise follow the kernel's mean (deterministic).

    Returns
    -------
    Tensor
        ``[n, n_steps + 1, dim]`` on the CPU: the cooled-down state, then one per transition.
    """
    s = cool_down(model, initial, generator, noise)
    states = [s.cpu()]
    for _ in range(n_steps):
        s = model.transition(s, 0, generator, noise)
        states.append(s.cpu())
    return torch.stack(states, 1)


def cooling_path(model: WalkbackModel, s: Tensor, generator: torch.Generator | None) -> Tensor:
    """States ``s`` (draws from p*) and every state of their cool-down through
    ``T_K, ..., T_1``: ``[K + 1, n, dim]`` on the CPU, the last at ``T_1``."""
    states = [s.cpu()]
    for step in reversed(range(model.num_steps)):
        s = model.transition(s, step, generator)
        states.append(s.cpu())
    return torch.stack(states)
