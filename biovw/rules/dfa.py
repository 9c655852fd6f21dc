"""Direct feedback alignment (Nøkland, 2016).

Under DFA the error of the network's output, ``e = dL/dy``, reaches every unit directly
through a fixed random matrix instead of travelling back through the forward weights. Three
pieces implement it with ordinary autograd:

* a :class:`DFAContext`, one per forward pass, which holds ``e`` once it is known;
* :class:`DFAOutput` on the output ``y``: identity forward; in the backward pass it records the
  incoming gradient ``e`` in the context and passes it on unchanged (so the output layer's own
  weights get their ordinary local gradient);
* :class:`DFAHidden` on each hidden activity ``h``: identity forward; in the backward pass it
  discards whatever gradient arrives at ``h`` and returns ``e @ B`` instead, with ``B`` of shape
  ``[n_outputs, n_units]``.

Autograd runs a node's backward only after every node that depends on it, and ``y`` depends on
every hidden activity that influences it, so ``e`` is always recorded before any
:class:`DFAHidden` needs it.

The weights themselves are used through :class:`DirectFeedbackAlignment` (or
``feedback_linear(x, W, None)``), which sends no error through ``W^T`` at all: the only errors
are ``e`` at the output and ``e @ B`` at the wrapped activities. Each weight then gets the local
outer product of the error at its postsynaptic side and its presynaptic activity.

Two-layer MLP (``a1 = x W1^T + b1``, ``h1 = f(a1)`` wrapped with ``B1``, ``y = h1 W2^T + b2``
wrapped as output)::

    dW2 = e^T h1,    dW1 = ((e B1) * f'(a1))^T x.

Unrolled rate circuit (``h_t = h_{t-1} + alpha (-h_{t-1} + r_{t-1} W^T + u)`` with
``r = rate(h)``, states ``h_1 .. h_{T-1}`` wrapped with one shared ``B``, output
``y = h_T[:, :D]``): the error at ``h_T`` is ``g_T = [e, 0]``, at each wrapped state
``g_t = e B``, and::

    dW = alpha sum_{t=1..T} g_t^T r_{t-1},   du = alpha sum_{t=1..T} g_t,

with ``du`` continuing to the input weights through whatever computes ``u``.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx

from biovw.rules.linear import FeedbackRule, feedback_linear, initial_feedback
from biovw.rules.recurrence import Recurrence


class DFAContext:
    """Output error of one forward pass, shared by its :class:`DFAOutput` and
    :class:`DFAHidden` nodes. Create a fresh context for every forward pass."""

    def __init__(self):
        self.error: Tensor | None = None
        self._has_output = False

    def output(self, out: Tensor) -> Tensor:
        """Mark ``out`` as the network output whose gradient is the error ``e``."""
        if self._has_output:
            raise ValueError("a DFAContext records one output; create a new context per pass")
        self._has_output = True
        return DFAOutput.apply(out, self)

    def hidden(self, h: Tensor, feedback: Tensor) -> Tensor:
        """Replace the gradient arriving at ``h`` by ``e @ feedback`` in the backward pass."""
        return DFAHidden.apply(h, feedback, self)


class DFAOutput(torch.autograd.Function):
    """Identity that stores the gradient of its output in a :class:`DFAContext`.

    Forward arguments are ``(out, context)``.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, out: Tensor, context: DFAContext) -> Tensor:
        ctx.context = context
        return out.view_as(out)

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor):
        ctx.context.error = grad.detach()
        return grad, None


class DFAHidden(torch.autograd.Function):
    """Identity whose backward pass returns ``e @ feedback`` and ignores its incoming gradient.

    Forward arguments are ``(h, feedback, context)`` with ``h`` of shape [..., n_units],
    ``feedback`` of shape [n_outputs, n_units] and the output error ``e`` of shape
    [..., n_outputs] taken from ``context``.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, h: Tensor, feedback: Tensor, context: DFAContext) -> Tensor:
        ctx.save_for_backward(feedback)
        ctx.context = context
        return h.view_as(h)

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor):
        (feedback,) = ctx.saved_tensors
        error = ctx.context.error
        if error is None:
            raise RuntimeError(
                "DFA output error was not recorded: wrap the network output with "
                "context.output(...) in the same forward pass"
            )
        return (error @ feedback).to(grad.dtype), None, None


def dfa_output(out: Tensor, context: DFAContext) -> Tensor:
    """Functional form of :meth:`DFAContext.output`."""
    return context.output(out)


def dfa_hidden(h: Tensor, feedback: Tensor, context: DFAContext) -> Tensor:
    """Functional form of :meth:`DFAContext.hidden`."""
    return context.hidden(h, feedback)


class DirectFeedbackAlignment(FeedbackRule):
    """Direct feedback alignment with one fixed random matrix ``B`` [n_outputs, n_units].

    Unlike the per-weight rules, ``shape`` here is ``(n_outputs, n_units)``: the size of the
    output error and of the population that receives it. One instance serves every weight
    matrix of a population and every time step.

    * ``rule(x, weight)`` computes ``x @ weight.T`` with the local weight gradient and no error
      sent to ``x`` (shape of ``weight`` unrestricted);
    * ``rule.hidden(h, context)`` injects ``e @ B`` at ``h`` (see :class:`DFAHidden`);
    * ``rule.context()`` makes the per-pass :class:`DFAContext`, whose ``output`` marks ``y``.

    ``B`` has entries ``N(0, scale^2 / n_units)`` and is a buffer (saved, never trained).

    Parameters
    ----------
    shape : tuple of int
        ``(n_outputs, n_units)``.
    generator : torch.Generator, optional
        Source of ``B``.
    scale : float
        Multiplies the standard deviation ``1 / sqrt(n_units)``.
    init : Tensor, optional
        Use this matrix as ``B`` instead of a random draw.
    """

    name = "dfa"
    direct = True

    def __init__(
        self,
        shape: tuple[int, int],
        generator: torch.Generator | None = None,
        *,
        scale: float = 1.0,
        init: Tensor | None = None,
    ):
        super().__init__(shape, generator)
        matrix = initial_feedback(self.shape, generator, scale, init)
        self.register_buffer("feedback_matrix", matrix)

    @classmethod
    def for_recurrent_weight(cls, n_visible: int, mask: Tensor,
                             generator: torch.Generator | None = None,
                             **options) -> DirectFeedbackAlignment:
        """The rule for a population of ``mask.shape[0]`` units whose first ``n_visible`` units
        are its output: ``B`` has the shape ``(n_visible, n_units)``."""
        return cls((n_visible, mask.shape[0]), generator, **options)

    def recurrence(self) -> Recurrence:
        """The local-gradient product, the output error injected at every intermediate state
        and recorded at the output, with a fresh context for this forward pass."""
        context = self.context()
        return Recurrence(self, lambda h: self.hidden(h, context), context.output)

    def feedback(self, weight: Tensor) -> None:
        """No error travels through the weights under DFA."""
        return None

    def forward(self, x: Tensor, weight: Tensor) -> Tensor:
        """``x @ weight.T`` with the local weight gradient and no error sent to ``x``."""
        return feedback_linear(x, weight, None)

    @staticmethod
    def context() -> DFAContext:
        """A fresh context for one forward pass."""
        return DFAContext()

    def hidden(self, h: Tensor, context: DFAContext) -> Tensor:
        """Inject ``e @ B`` at ``h`` ([..., n_units]) in the backward pass."""
        feedback = self.feedback_matrix
        if feedback.dtype != h.dtype or feedback.device != h.device:
            feedback = feedback.to(h)
        return context.hidden(h, feedback)
