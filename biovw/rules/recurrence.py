"""How a learning rule takes part in one unrolled settle of a recurrent circuit."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from torch import Tensor


def matmul(rate: Tensor, weight: Tensor) -> Tensor:
    """``rate @ weight.T`` with ordinary autograd (exact gradients)."""
    return rate @ weight.T


def itself(weight: Tensor) -> Tensor:
    """The feedback matrix of the exact gradient: the weight itself."""
    return weight


class Recurrence(NamedTuple):
    """What a learning rule contributes to one forward pass of the settle dynamics.

    Attributes
    ----------
    product : callable
        ``product(rate, weight)`` computes ``rate @ weight.T`` (``weight`` is ``W[post, pre]``);
        its backward pass decides which error reaches the presynaptic units. This is where
        every per-weight rule enters.
    inject : callable or None
        Applied to the activity after every micro-step but the last. Direct feedback alignment
        uses it to replace the error arriving at each intermediate state by the projected
        output error; None for every other rule.
    readout : callable or None
        Applied to the circuit's output; direct feedback alignment records the output error
        there. None for every other rule.
    feedback : callable or None
        ``feedback(weight)``: the matrix ``B`` through which ``product``'s backward pass sends
        the error (``grad_rate = grad_y @ B``) while the weight receives ``grad_y^T rate``. Set
        only where ``product`` is exactly that (every per-weight rule): it lets the settle run
        all its micro-steps in one fused autograd node. None when the product is opaque.
    mirror : bool
        ``B`` receives the weight's gradient too (Kolen-Pollack).
    """

    product: Callable[[Tensor, Tensor], Tensor] = matmul
    inject: Callable[[Tensor], Tensor] | None = None
    readout: Callable[[Tensor], Tensor] | None = None
    feedback: Callable[[Tensor], Tensor] | None = None
    mirror: bool = False


EXACT = Recurrence(feedback=itself)
"""Plain matrix product, exact gradients: backprop, and every rule when no gradient is taken."""
