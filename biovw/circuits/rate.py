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
from biovw.rules import RULES, build_rule


def _rows(n: int, rows: slice) -> Tensor:
    keep = torch.zeros(n, dtype=torch.bool)
    keep[rows] = True
    return keep


# freeze option -> (dim, n) -> boolean mask of the postsynaptic rows of W held at their
# initial value
FREEZE_ROWS = {
    "none": lambda dim, n: torch.zeros(n, dtype=torch.bool),
    "all": lambda dim, n: torch.ones(n, dtype=torch.bool),
    "hidden_rows": lambda dim, n: _rows(n, slice(dim, n)),
    "readout": lambda dim, n: _rows(n, slice(0, dim)),
}

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
    recurrent=None,
    between_steps=None,
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
    recurrent : callable or None
        ``recurrent(rate, weight)`` computes ``rate @ weight.T`` under a learning rule (its
        backward pass decides which error reaches the presynaptic units); None is a plain
        product (exact gradients).
    between_steps : callable or None
        Applied to the activity after every micro-step but the last (used by direct
        feedback alignment to inject the output error).

    Returns
    -------
    Tensor
        Activity after settling, [batch, n].
    """
    h = state
    for step in range(n_steps):
        rate = torch.cat([h[:, :n_visible], phi(h[:, n_visible:])], dim=1)
        product = rate @ weight.T if recurrent is None else recurrent(rate, weight)
        h = h + alpha * (-h + product + drive)
        if between_steps is not None and step < n_steps - 1:
            h = between_steps(h)
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
    rule : str
        Learning rule of the recurrent weights (a key of :data:`biovw.rules.RULES`): which
        error the recurrent matrix sends back to its presynaptic units through the unrolled
        micro-steps. The afferent weights ``W_in`` send no error backwards (their input, the
        chain state, is a sample that carries no gradient), so only ``W`` needs feedback.
    rule_options : dict or None
        Keyword arguments of the rule (e.g. ``scale``, ``match_norm``).
    freeze : str
        Which part of ``W`` keeps its initial value (a key of :data:`FREEZE_ROWS`): ``none``;
        ``all`` (every recurrent weight); ``hidden_rows`` (the synapses onto hidden units, so
        the recurrence among hidden units and their input from the visible units stay fixed
        while the readout onto the visible units learns); ``readout`` (the synapses onto the
        visible units). Controls for how much learning each block of ``W`` matters.
    seed : int
        Seed for the mask, initial weights and feedback matrices.
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
        rule: str = "backprop",
        rule_options: dict | None = None,
        freeze: str = "none",
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
        if freeze not in FREEZE_ROWS:
            raise ValueError(f"freeze must be one of {', '.join(FREEZE_ROWS)}; got {freeze!r}")
        self.freeze = freeze
        initial = balanced_init(self.mask, signs, spectral_radius, symmetric, gen)
        self.w_raw = nn.Parameter(initial, requires_grad=freeze != "all")
        frozen = FREEZE_ROWS[freeze](dim, n)
        # Frozen rows read from a copy of the initial weight, so no optimiser (weight decay,
        # momentum) can move them; None when nothing or everything is frozen.
        self.register_buffer("frozen_rows", frozen if freeze not in ("none", "all") else None)
        self.register_buffer("w_initial", initial.clone() if self.frozen_rows is not None
                             else None)
        self.w_in = nn.Parameter(torch.randn(hidden, dim, generator=gen) / dim**0.5)
        self.b_in = nn.Parameter(torch.zeros(hidden))
        self.drive_norm = StepNorm(num_steps, hidden, normalize=step_norm)
        self.visible_bias = nn.Parameter(torch.zeros(num_steps, dim))
        options = dict(rule_options or {})
        if RULES[rule].direct:
            self.rule = build_rule(rule, (dim, n), gen, **options)
        else:
            if rule in ("kp", "fa"):
                options.setdefault("mask", self.mask)
            self.rule = build_rule(rule, (n, n), gen, **options)

    def weight(self) -> Tensor:
        """Effective recurrent weight ``W[post, pre]`` with all constraints applied."""
        raw = self.w_raw
        if self.frozen_rows is not None:
            raw = torch.where(self.frozen_rows[:, None], self.w_initial, raw)
        return constrained_weight(raw, self.mask, self.signs, self.symmetric)

    def forward(self, s: Tensor, step: int) -> Tensor:
        """Visible activity after settling from state ``s`` ([batch, dim]) at step ``step``."""
        hidden_drive = self.drive_norm(s @ self.w_in.T + self.b_in, step)
        drive = torch.cat([self.visible_bias[step].expand(s.shape[0], -1), hidden_drive], dim=1)
        state = torch.cat([s, s.new_zeros(s.shape[0], self.hidden)], dim=1)
        weight = self.weight()
        if self.rule.name == "backprop" or not torch.is_grad_enabled():
            h = settle(state, drive, weight, self.alpha, self.settle_steps, self.phi, self.dim)
            return h[:, : self.dim]
        if self.rule.direct:
            context = self.rule.context()
            h = settle(state, drive, weight, self.alpha, self.settle_steps, self.phi, self.dim,
                       recurrent=self.rule, between_steps=lambda x: self.rule.hidden(x, context))
            return context.output(h[:, : self.dim])
        h = settle(state, drive, weight, self.alpha, self.settle_steps, self.phi, self.dim,
                   recurrent=self.rule)
        return h[:, : self.dim]

    def feedback_matrix(self) -> Tensor | None:
        """The matrix that replaces ``W`` in the backward pass (None for direct feedback)."""
        if self.rule.direct:
            return None
        return self.rule.feedback(self.weight().detach())
