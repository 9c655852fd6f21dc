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


# Rate functions whose derivative follows from the rate alone: (rate with ``out=``, the
# backward ``(grad, rate) -> grad * phi'``). A settle under one of them runs fused.
_FUSED_PHI = {
    torch.tanh: (torch.tanh, torch.ops.aten.tanh_backward.grad_input),
    torch.sigmoid: (torch.sigmoid, torch.ops.aten.sigmoid_backward.grad_input),
}


def _fused_forward(h: Tensor, drive: Tensor, weight: Tensor, alpha: float, n_visible: int,
                   n_steps: int, phi: Callable, rates_out: Tensor | None) -> Tensor:
    """``n_steps`` micro-steps ``(1 - alpha) h + alpha u + alpha r(h) W^T``: per micro-step
    one rate pass, one pass for the leak and drive and one ``addmm``; the rates are written
    to ``rates_out[t]`` ([n_steps, batch, n]) when given (for the backward pass)."""
    base = drive * alpha
    weight_t = weight.T
    for t in range(n_steps):
        r = h.new_empty(h.shape) if rates_out is None else rates_out[t]
        phi(h, out=r)
        r[:, :n_visible] = h[:, :n_visible]
        leak = torch.add(base, h, alpha=1.0 - alpha)
        # out= rather than addmm_: FlopCounterMode does not count the in-place variant
        h = torch.addmm(leak, r, weight_t, alpha=alpha, out=leak)
    return h


class _FusedSettle(torch.autograd.Function):
    """All micro-steps of a settle (rate function with a known derivative, a per-weight
    rule) as one autograd node, with the backward pass written out.

    Forward arguments ``(h0, drive, weight, feedback, alpha, n_visible, n_steps, phi, mirror)``.
    With ``g_t`` the error at ``h_t`` and ``r_t`` the rates, the backward pass computes
    ``g_t = (1 - alpha) g_{t+1} + phi'(h_t) * (alpha g_{t+1} @ B)`` (``phi' = 1`` on the
    visible units), ``grad_W = alpha sum_t g_{t+1}^T r_t`` as one product over all
    micro-steps, ``grad_u = alpha sum_t g_{t+1}`` and, under ``mirror``, ``grad_B = grad_W``:
    the gradients :func:`rate_step`'s autograd graph gives, up to the order of summation.
    """

    @staticmethod
    def forward(ctx, h0, drive, weight, feedback, alpha, n_visible, n_steps, phi, mirror):
        rates = h0.new_empty((n_steps, *h0.shape))
        h = _fused_forward(h0, drive, weight, alpha, n_visible, n_steps, _FUSED_PHI[phi][0],
                           rates)
        ctx.save_for_backward(rates, feedback)
        ctx.alpha, ctx.n_visible, ctx.phi, ctx.mirror = alpha, n_visible, phi, mirror
        return h

    @staticmethod
    def backward(ctx, grad_h):
        rates, feedback = ctx.saved_tensors
        alpha, nv = ctx.alpha, ctx.n_visible
        derivative = _FUSED_PHI[ctx.phi][1]
        n_steps = rates.shape[0]
        want_h0, want_u, want_w, _, *_ = ctx.needs_input_grad
        want_b = ctx.mirror and ctx.needs_input_grad[3]
        # errors[t] = g_{t+1}, the error at the state after micro-step t
        errors = grad_h.new_empty(rates.shape)
        errors[-1] = grad_h
        zero = grad_h.new_zeros(()).expand(grad_h.shape)
        last = 0 if want_h0 else 1
        grad_h0 = None
        for t in range(n_steps - 1, last - 1, -1):
            g = errors[t]
            into = errors[t - 1] if t > 0 else grad_h.new_empty(grad_h.shape)
            torch.addmm(zero, g, feedback, beta=0, alpha=alpha, out=into)
            hidden = into[:, nv:]
            derivative(hidden, rates[t][:, nv:], grad_input=hidden)
            into.add_(g, alpha=1.0 - alpha)
            if t == 0:
                grad_h0 = into
        flat = errors.reshape(-1, errors.shape[-1])
        grad_u = errors.sum(0).mul_(alpha) if want_u else None
        grad_w = None
        if want_w or want_b:
            grad_w = torch.addmm(zero[0, 0].expand(flat.shape[1], flat.shape[1]), flat.T,
                                 rates.reshape(flat.shape), beta=0, alpha=alpha)
        return (grad_h0, grad_u, grad_w if want_w else None, grad_w if want_b else None,
                None, None, None, None, None)


def _fused_settle(state: RateState, drive: Tensor, p: RateParameters, n_steps: int,
                  recurrence: Recurrence) -> RateState:
    feedback = recurrence.feedback(p.weight)
    inputs = (state.h, drive, p.weight, feedback)
    if torch.is_grad_enabled() and any(x.requires_grad for x in inputs):
        h = _FusedSettle.apply(*inputs, p.alpha, p.n_visible, n_steps, p.phi,
                               recurrence.mirror)
    else:
        h = _fused_forward(state.h, drive, p.weight, p.alpha, p.n_visible, n_steps,
                           _FUSED_PHI[p.phi][0], None)
    return RateState(h)


def fusable(p: RateParameters, recurrence: Recurrence) -> bool:
    """Whether :func:`settle` runs fused: a rate function of :data:`_FUSED_PHI`, a product
    described by its feedback matrix and no error injection between micro-steps."""
    return (p.phi in _FUSED_PHI and recurrence.feedback is not None
            and recurrence.inject is None)


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

    Notes
    -----
    Where :func:`fusable`, the micro-steps run as ``(1 - alpha) h + alpha u + alpha r W^T``
    in one autograd node (:class:`_FusedSettle`): a third of the memory passes of
    :func:`rate_step`'s graph and one weight-gradient product for all micro-steps. It agrees
    with :func:`rate_step` to float rounding (the order of the sums differs), not bit for bit.
    """
    if n_steps > 0 and fusable(p, recurrence):
        return _fused_settle(state, drive, p, n_steps, recurrence)
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
