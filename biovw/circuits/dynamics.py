"""The rate dynamics as pure functions over typed parameter and state records.

One transition of a rate circuit, from chain state ``s`` at temperature step ``t``:

1. afferent drive ``u = [b_vis[t], StepNorm_t(W_in s + b)]`` (:func:`afferent_drive`): the
   visible units receive their per-step bias, the hidden units the normalised input;
2. initial activity ``h_0 = [s, 0]`` (:func:`initial_state`): visible units at the state,
   hidden units at rest;
3. ``settle_steps`` Euler micro-steps of ``tau dh/dt = -h + W r(h) + u`` with ``alpha = dt / tau``
   and rates ``r(h) = [h_vis, phi(h_hid)]`` (visible units are linear) (:func:`rate_step`,
   :func:`settle`);
4. the output is the visible units' activity (:func:`transition_output`).

A learning rule enters through a :class:`biovw.rules.Recurrence`: the matrix product
``r @ W^T`` of every micro-step (whose backward pass routes the rule's error) and, for direct
feedback alignment only, the hooks that inject and record the output error. Nothing here holds
state or parameters: :class:`biovw.circuits.RateCircuit` is a thin module that gathers its
parameters into these records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from biovw.circuits.stepnorm import step_normalize
from biovw.rules import EXACT, Recurrence


class RateParameters(NamedTuple):
    """Parameters of the settle dynamics.

    Attributes
    ----------
    weight : Tensor
        Effective recurrent weight ``W[post, pre]`` (masks and signs applied), [n, n].
    alpha : float
        ``dt / tau``.
    n_visible : int
        Number of leading, linear (visible) units.
    phi : callable
        Rate function of the hidden units.
    """

    weight: Tensor
    alpha: float
    n_visible: int
    phi: Callable[[Tensor], Tensor]


class DriveParameters(NamedTuple):
    """Parameters of the afferent drive, one gain, shift and visible bias per temperature step.

    Attributes
    ----------
    w_in : Tensor
        Afferent weight ``W_in[hidden, visible]``, [H, D].
    b_in : Tensor
        Afferent bias, [H].
    gain, shift : Tensor
        Per-step gain and shift of the normalised hidden drive, [K, H].
    visible_bias : Tensor
        Per-step drive of the visible units, [K, D].
    normalize : bool
        Standardise ``W_in s + b`` across hidden units (mean and biased variance of each
        example) before the gain and shift.
    eps : float
        Added to that variance.
    """

    w_in: Tensor
    b_in: Tensor
    gain: Tensor
    shift: Tensor
    visible_bias: Tensor
    normalize: bool
    eps: float


class RateState(NamedTuple):
    """Activity of every unit, ``h`` of shape [batch, n] (visible units first)."""

    h: Tensor


def initial_state(s: Tensor, n_hidden: int) -> RateState:
    """Visible units at the chain state ``s`` ([batch, D]), hidden units at rest."""
    return RateState(torch.cat([s, s.new_zeros(s.shape[0], n_hidden)], dim=1))


def afferent_drive(s: Tensor, step: int, p: DriveParameters) -> Tensor:
    """External input ``u`` ([batch, n]) of every unit at temperature step ``step``."""
    hidden = step_normalize(s @ p.w_in.T + p.b_in, p.gain[step], p.shift[step], p.normalize,
                            p.eps)
    return torch.cat([p.visible_bias[step].expand(s.shape[0], -1), hidden], dim=1)


def rates(h: Tensor, p: RateParameters) -> Tensor:
    """Firing rates: visible units linear, hidden units through ``phi``."""
    return torch.cat([h[:, : p.n_visible], p.phi(h[:, p.n_visible :])], dim=1)


def rate_step(state: RateState, drive: Tensor, p: RateParameters,
              product: Callable[[Tensor, Tensor], Tensor] = EXACT.product) -> RateState:
    """One Euler micro-step ``h + alpha (-h + product(r(h), W) + u)``.

    Parameters
    ----------
    state : RateState
    drive : Tensor
        External input ``u``, [batch, n].
    p : RateParameters
    product : callable
        ``product(rate, weight)``, ``rate @ weight.T`` under a learning rule.
    """
    h = state.h
    # The product is formed before the leak term: the order in which autograd nodes are made
    # fixes the order in which gradients reaching h are summed, down to the last bit.
    recurrent = product(rates(h, p), p.weight)
    return RateState(h + p.alpha * (-h + recurrent + drive))


def settle(state: RateState, drive: Tensor, p: RateParameters, n_steps: int,
           recurrence: Recurrence = EXACT) -> RateState:
    """Run ``n_steps`` micro-steps with a constant drive.

    Parameters
    ----------
    state : RateState
        Initial activity.
    drive : Tensor
        External input, [batch, n].
    p : RateParameters
    n_steps : int
        Number of micro-steps.
    recurrence : Recurrence
        The learning rule's matrix product (and error injection between micro-steps, if any).

    Returns
    -------
    RateState
        Activity after settling.
    """
    for step in range(n_steps):
        state = rate_step(state, drive, p, recurrence.product)
        if recurrence.inject is not None and step < n_steps - 1:
            state = RateState(recurrence.inject(state.h))
    return state


def transition_output(s: Tensor, step: int, p: RateParameters, drive: DriveParameters,
                      n_steps: int, recurrence: Recurrence = EXACT) -> Tensor:
    """Visible activity after settling from the chain state ``s`` at temperature step ``step``
    (the operator's mean proposal or logits), [batch, D]."""
    state = initial_state(s, p.weight.shape[0] - p.n_visible)
    h = settle(state, afferent_drive(s, step, drive), p, n_steps, recurrence).h
    out = h[:, : p.n_visible]
    return out if recurrence.readout is None else recurrence.readout(out)
