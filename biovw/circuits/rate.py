"""Recurrent rate circuit used as the mean (or logit) network of a transition operator.

The population holds ``D`` visible units followed by ``H`` hidden units and evolves as
``tau dh/dt = -h + W phi(h) + u`` with ``W[post, pre]``, discretised with ``alpha = dt / tau``
and run for ``settle_steps`` micro-steps per transition. The visible units start at the chain
state ``s`` and are linear; hidden units start at rest and receive the afferent drive
``u = StepNorm_t(W_in s + b)``. What the operator reads is the visible units' activity after
settling, so every output passes through the recurrent weights (hidden -> visible is a block of
``W``, constrained by Dale's law like the rest).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from biovw.circuits.connectivity import (
    balanced_init,
    connection_mask,
    constrained_weight,
    dale_signs,
)
from biovw.circuits.stepnorm import StepNorm

NONLINEARITIES = {
    "tanh": torch.tanh,
    "softplus": nn.functional.softplus,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
}


def settle(
    state: Tensor,
    drive: Tensor,
    weight: Tensor,
    alpha: float,
    n_steps: int,
    phi,
    n_visible: int,
) -> Tensor:
    """Run the rate dynamics for ``n_steps`` Euler micro-steps.

    Parameters
    ----------
    state : Tensor
        Initial activity h, [batch, n].
    drive : Tensor
        Constant external input u, [batch, n].
    weight : Tensor
        Effective recurrent weight W[post, pre], [n, n].
    alpha : float
        dt / tau.
    n_steps : int
        Number of micro-steps.
    phi : callable
        Rate nonlinearity of the hidden units (visible units are linear).
    n_visible : int
        Number of leading (linear) visible units.

    Returns
    -------
    Tensor
        Activity after settling, [batch, n].
    """
    h = state
    for _ in range(n_steps):
        rate = torch.cat([h[:, :n_visible], phi(h[:, n_visible:])], dim=1)
        h = h + alpha * (-h + rate @ weight.T + drive)
    return h


class RateCircuit(nn.Module):
    """Rate circuit with Dale's law, sparse connectivity and optional tied weights.

    Parameters
    ----------
    dim : int
        Number of visible units (the data dimension).
    hidden : int
        Number of hidden units.
    num_steps : int
        Number of temperature steps (for per-step normalisation).
    nonlinearity : str
        Hidden rate function: ``tanh``, ``softplus``, ``relu`` or ``sigmoid``.
    settle_steps : int
        Micro-steps per transition.
    dt, tau : float
        Integration step and membrane time constant (alpha = dt / tau).
    dale : bool
        Fix the sign of each presynaptic unit (visible units and ``ei_ratio`` of the hidden
        units excitatory).
    ei_ratio : float
        Fraction of excitatory hidden units.
    density : float
        Connection probability of the fixed sparsity mask (no autapses in any case).
    symmetric : bool
        Tie ``W = W^T``.
    spectral_radius : float
        Spectral radius of the initial recurrent weight.
    step_norm : bool
        Normalise the afferent drive across hidden units before the per-step gain and shift.
    seed : int
        Seed for the mask and initial weights.
    """

    def __init__(
        self,
        dim: int,
        hidden: int,
        num_steps: int,
        *,
        nonlinearity: str = "tanh",
        settle_steps: int = 5,
        dt: float = 1.0,
        tau: float = 2.0,
        dale: bool = True,
        ei_ratio: float = 0.8,
        density: float = 1.0,
        symmetric: bool = False,
        spectral_radius: float = 0.9,
        step_norm: bool = True,
        seed: int = 0,
    ):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        n = dim + hidden
        self.dim, self.hidden = dim, hidden
        self.alpha = dt / tau
        self.settle_steps = settle_steps
        self.symmetric = symmetric
        self.phi = NONLINEARITIES[nonlinearity]
        signs = dale_signs(dim, hidden, ei_ratio) if dale else None
        self.register_buffer("signs", signs)
        self.register_buffer("mask", connection_mask(n, density, gen))
        self.w_raw = nn.Parameter(balanced_init(self.mask, signs, spectral_radius, symmetric, gen))
        self.w_in = nn.Parameter(torch.randn(hidden, dim, generator=gen) / dim**0.5)
        self.b_in = nn.Parameter(torch.zeros(hidden))
        self.drive_norm = StepNorm(num_steps, hidden, normalize=step_norm)
        self.visible_bias = nn.Parameter(torch.zeros(num_steps, dim))

    def weight(self) -> Tensor:
        """Effective recurrent weight ``W[post, pre]`` with all constraints applied."""
        return constrained_weight(self.w_raw, self.mask, self.signs, self.symmetric)

    def forward(self, s: Tensor, step: int) -> Tensor:
        """Visible activity after settling from state ``s`` ([batch, dim]) at step ``step``."""
        hidden_drive = self.drive_norm(s @ self.w_in.T + self.b_in, step)
        drive = torch.cat([self.visible_bias[step].expand(s.shape[0], -1), hidden_drive], dim=1)
        state = torch.cat([s, s.new_zeros(s.shape[0], self.hidden)], dim=1)
        h = settle(state, drive, self.weight(), self.alpha, self.settle_steps, self.phi, self.dim)
        return h[:, : self.dim]
