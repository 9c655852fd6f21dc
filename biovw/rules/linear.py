"""Learning rules for linear maps ``y = x W^T`` with ``W[post, pre]``.

Every rule shares one autograd function, :class:`FeedbackMatmul`. Its forward pass is the
ordinary matrix product; its backward pass returns

* ``grad_x = grad_y @ B``: the error sent to the presynaptic side travels through the rule's
  feedback matrix ``B`` (same shape as ``W``) instead of through ``W`` itself;
* ``grad_W = grad_y^T x``: the local outer product of postsynaptic error and presynaptic
  activity, summed over the batch, identical for every rule;
* for Kolen-Pollack only, ``grad_B = grad_W``, so that an optimiser that updates ``W`` applies
  the same update to ``B``.

The rules differ only in ``B``:

``backprop``
    ``B = W`` (exact gradient).
``fa``
    Feedback alignment (Lillicrap et al., 2016): a fixed random ``B`` drawn once at
    construction and stored as a buffer.
``sign_symmetry``
    Sign symmetry (Liao, Leibo & Poggio, 2016): ``B = c sign(W)``, recomputed from the current
    effective weight at every call.
``kp``
    Kolen-Pollack (Kolen & Pollack, 1994; Akrout et al., 2019): ``B`` is a learnable parameter
    that receives the same gradient as ``W``; with the same weight decay on both, ``W - B``
    shrinks geometrically and the two converge.

The weight passed to a rule is the *effective* weight, with every constraint (Dale's law,
masks) already applied, so gradients reach the free parameters through those constraints by
ordinary autograd.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn
from torch.autograd.function import FunctionCtx

from biovw.rules.recurrence import EXACT, Recurrence


class FeedbackMatmul(torch.autograd.Function):
    """``y = x @ weight.T`` whose backward pass sends the error through ``feedback``.

    Forward arguments are ``(x, weight, feedback, mirror)``:

    x : Tensor
        Presynaptic activity, [..., in].
    weight : Tensor
        Effective weight, [out, in].
    feedback : Tensor or None
        Feedback matrix ``B``, [out, in]. ``None`` sends no error to ``x`` at all.
    mirror : bool
        Return ``grad_W`` as the gradient of ``feedback`` too (Kolen-Pollack).

    Backward returns ``grad_x = grad_y @ B``, ``grad_W = grad_y^T x`` (summed over all leading
    dimensions) and, when ``mirror`` is set, ``grad_B = grad_W``.
    """

    @staticmethod
    def forward(
        ctx: FunctionCtx, x: Tensor, weight: Tensor, feedback: Tensor | None, mirror: bool
    ) -> Tensor:
        ctx.save_for_backward(x, feedback)
        ctx.mirror = mirror
        return x @ weight.T

    @staticmethod
    def backward(ctx: FunctionCtx, grad_y: Tensor):
        x, feedback = ctx.saved_tensors
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0] and feedback is not None:
            grad_x = grad_y @ feedback
        want_b = ctx.mirror and ctx.needs_input_grad[2]
        if ctx.needs_input_grad[1] or want_b:
            outer = grad_y.reshape(-1, grad_y.shape[-1]).T @ x.reshape(-1, x.shape[-1])
            grad_w = outer if ctx.needs_input_grad[1] else None
            grad_b = outer if want_b else None
        return grad_x, grad_w, grad_b, None


def feedback_linear(
    x: Tensor, weight: Tensor, feedback: Tensor | None, mirror: bool = False
) -> Tensor:
    """``x @ weight.T`` with the error sent backwards through ``feedback``.

    Parameters
    ----------
    x : Tensor
        Presynaptic activity, [..., in].
    weight : Tensor
        Effective weight ``W[post, pre]``, [out, in].
    feedback : Tensor or None
        Feedback matrix ``B`` ([out, in]); ``None`` sends no error to ``x``.
    mirror : bool
        Give ``feedback`` the same gradient as ``weight`` (Kolen-Pollack).

    Returns
    -------
    Tensor
        ``x @ weight.T``, [..., out].
    """
    return FeedbackMatmul.apply(x, weight, feedback, mirror)


def random_feedback(
    shape: tuple[int, int], generator: torch.Generator | None = None, scale: float = 1.0
) -> Tensor:
    """Gaussian matrix of the given ``[out, in]`` shape with standard deviation
    ``scale / sqrt(in)``, the scale of the circuits' feed-forward weight initialisation."""
    rows, cols = shape
    return torch.randn(rows, cols, generator=generator) * (scale / cols**0.5)


def initial_feedback(
    shape: tuple[int, int], generator: torch.Generator | None, scale: float, init: Tensor | None
) -> Tensor:
    """``init`` (a detached copy, shape-checked) or, if None, :func:`random_feedback`."""
    if init is None:
        return random_feedback(shape, generator, scale)
    if tuple(init.shape) != tuple(shape):
        raise ValueError(f"init has shape {tuple(init.shape)}, expected {tuple(shape)}")
    return init.detach().clone()


def _checked_mask(mask: Tensor, shape: tuple[int, int]) -> Tensor:
    """A detached copy of a connectivity mask, shape-checked against the weight's."""
    if tuple(mask.shape) != tuple(shape):
        raise ValueError(f"mask has shape {tuple(mask.shape)}, expected {tuple(shape)}")
    return mask.detach().clone()


class FeedbackRule(nn.Module):
    """Base class: a learning rule for one weight matrix of shape ``[out, in]``.

    Calling the rule, ``rule(x, weight)``, computes ``x @ weight.T`` with the rule's backward
    pass. One rule instance belongs to one weight matrix.

    Parameters
    ----------
    shape : tuple of int
        ``(out, in)`` shape of the effective weight.
    generator : torch.Generator, optional
        Source of the random feedback matrix, where the rule has one.

    Notes
    -----
    Class attributes describe the rule to the code that builds and trains a circuit, so that
    no caller needs to test a rule's name:

    ``name``
        Registry key (the config's ``rule.name``).
    ``options``
        Keyword options of the constructor that a run configuration sets (``rule.<option>``).
    ``exact``
        The rule computes the exact gradient (``backprop``).
    ``masked``
        The feedback matrix lives on the synapses of ``W`` (pass the connectivity ``mask``).
    ``direct``
        The error reaches the units directly from the output (``dfa``): the rule is built for
        the shape ``(n_outputs, n_units)``.
    ``mirror``
        The feedback matrix is a parameter trained with ``W`` (``kp``).
    """

    name: ClassVar[str] = ""
    options: ClassVar[tuple[str, ...]] = ("scale",)
    exact: ClassVar[bool] = False
    masked: ClassVar[bool] = False
    direct: ClassVar[bool] = False
    mirror: ClassVar[bool] = False

    def __init__(self, shape: tuple[int, int], generator: torch.Generator | None = None):
        super().__init__()
        self.shape = (int(shape[0]), int(shape[1]))

    @classmethod
    def for_recurrent_weight(cls, n_visible: int, mask: Tensor,
                             generator: torch.Generator | None = None,
                             **options) -> FeedbackRule:
        """The rule for the recurrent weight ``[n, n]`` of a population whose first
        ``n_visible`` units are its output, with connectivity ``mask`` ([n, n]).

        Parameters
        ----------
        n_visible : int
            Number of output (visible) units.
        mask : Tensor
            Fixed 0/1 connectivity of ``W``; masked rules keep their feedback on it.
        generator : torch.Generator, optional
            Source of the random feedback matrix, where the rule has one.
        **options
            Keyword options of the rule's class (see ``options``).
        """
        n = mask.shape[0]
        if cls.masked:
            options = {"mask": mask, **options}
        return cls((n, n), generator, **options)

    def recurrence(self) -> Recurrence:
        """The rule's part in one forward pass of an unrolled circuit: its matrix product,
        described by its feedback matrix (so that a settle can fuse its micro-steps)."""
        return Recurrence(self, feedback=self.feedback_for, mirror=self.mirror)

    def feedback(self, weight: Tensor) -> Tensor | None:
        """Feedback matrix ``B`` used with the effective weight ``weight``."""
        raise NotImplementedError

    def feedback_for(self, weight: Tensor) -> Tensor | None:
        """:meth:`feedback` for ``weight`` (shape-checked), on its dtype and device."""
        if tuple(weight.shape) != self.shape:
            raise ValueError(
                f"{type(self).__name__} was built for shape {self.shape}, "
                f"got weight of shape {tuple(weight.shape)}"
            )
        feedback = self.feedback(weight)
        if feedback is not None and (
            feedback.dtype != weight.dtype or feedback.device != weight.device
        ):
            feedback = feedback.to(weight)
        return feedback

    def forward(self, x: Tensor, weight: Tensor) -> Tensor:
        """``x @ weight.T`` whose error reaches ``x`` through :meth:`feedback`.

        Parameters
        ----------
        x : Tensor
            Presynaptic activity, [..., in].
        weight : Tensor
            Effective weight (constraints applied), [out, in].
        """
        return feedback_linear(x, weight, self.feedback_for(weight), self.mirror)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class BackpropRule(FeedbackRule):
    """Exact gradient: ``B = W``."""

    name = "backprop"
    options = ()
    exact = True

    def feedback(self, weight: Tensor) -> Tensor:
        """The effective weight itself."""
        return weight

    def recurrence(self) -> Recurrence:
        """The plain matrix product: autograd's gradient is the exact one."""
        return EXACT


class FeedbackAlignmentRule(FeedbackRule):
    """Feedback alignment (Lillicrap et al., 2016): a fixed random ``B``.

    ``B`` is drawn once, with entries ``N(0, scale^2 / in)`` (the scale of a weight
    initialisation), and kept in the buffer ``feedback_matrix``: it is saved with the module's
    state but is not a parameter and is never updated.

    Parameters
    ----------
    shape : tuple of int
        ``(out, in)`` shape of the effective weight.
    generator : torch.Generator, optional
        Source of ``B``.
    scale : float
        Multiplies the standard deviation ``1 / sqrt(in)``.
    init : Tensor, optional
        Use this matrix as ``B`` instead of a random draw.
    mask : Tensor, optional
        Fixed 0/1 connectivity ([out, in]): feedback travels only along existing synapses
        (no autapses, no absent connections), ``B * mask``.
    """

    name = "fa"
    masked = True

    def __init__(
        self,
        shape: tuple[int, int],
        generator: torch.Generator | None = None,
        *,
        scale: float = 1.0,
        init: Tensor | None = None,
        mask: Tensor | None = None,
    ):
        super().__init__(shape, generator)
        matrix = initial_feedback(self.shape, generator, scale, init)
        if mask is not None:
            matrix = matrix * _checked_mask(mask, self.shape)
        self.register_buffer("feedback_matrix", matrix)

    def feedback(self, weight: Tensor) -> Tensor:
        """The fixed random matrix."""
        return self.feedback_matrix


class SignSymmetryRule(FeedbackRule):
    """Sign symmetry (Liao, Leibo & Poggio, 2016): ``B = c sign(W)``.

    The signs are taken from the effective weight at every call (no gradient flows through
    them). Under Dale's law ``sign(W)`` is the presynaptic unit's sign times the connectivity
    mask, which a synapse can know locally. The factor ``c`` is ``scale`` (default 1, as in
    Liao et al.); with ``match_norm`` it is ``scale * ||W||_F / ||sign(W)||_F``, so that ``B`` has
    the Frobenius norm of ``W`` and the error keeps the magnitude backprop would give it (a
    unit-magnitude ``B`` amplifies errors by roughly ``sqrt(in)`` relative to a weight of
    typical entry ``1 / sqrt(in)``).

    Parameters
    ----------
    shape : tuple of int
        ``(out, in)`` shape of the effective weight.
    generator : torch.Generator, optional
        Unused (accepted for a uniform constructor).
    scale : float
        Constant factor of ``B``.
    match_norm : bool
        Rescale ``B`` to the Frobenius norm of ``W`` (before applying ``scale``).
    """

    name = "sign_symmetry"
    options = ("scale", "match_norm")

    def __init__(
        self,
        shape: tuple[int, int],
        generator: torch.Generator | None = None,
        *,
        scale: float = 1.0,
        match_norm: bool = False,
    ):
        super().__init__(shape, generator)
        self.scale = float(scale)
        self.match_norm = match_norm

    def feedback(self, weight: Tensor) -> Tensor:
        """``c sign(W)`` from the current effective weight."""
        w = weight.detach()
        signs = torch.sign(w)
        if self.match_norm:
            norm = signs.norm()
            factor = w.norm() / norm if norm > 0 else w.new_zeros(())
            return signs * (factor * self.scale)
        return signs * self.scale

    def extra_repr(self) -> str:
        return f"shape={self.shape}, scale={self.scale}, match_norm={self.match_norm}"


class KolenPollackRule(FeedbackRule):
    """Kolen-Pollack (Kolen & Pollack, 1994; Akrout et al., 2019): ``B`` learns like ``W``.

    ``B`` is the parameter ``feedback_matrix`` (initialised like :class:`FeedbackAlignmentRule`).
    In the backward pass it receives ``grad_B = grad_W = grad_y^T x``, the same local gradient
    as the effective weight, so any optimiser that holds ``W``'s parameter and ``B`` in one
    parameter group gives them the same update. With weight decay ``lambda`` on both,

    ``W <- W - lr (G + lambda W)`` and ``B <- B - lr (G + lambda B)``,

    hence ``W - B <- (1 - lr lambda) (W - B)``: the difference decays geometrically while the
    common gradient drives both, and ``B`` converges to ``W`` (Akrout et al., 2019).

    Exact mirroring needs (i) the same learning rate and decay for ``W``'s parameter and ``B``;
    (ii) an optimiser whose update is a function of the gradient alone plus a decay proportional
    to the parameter: ``SGD(weight_decay=...)`` or ``AdamW`` (decoupled decay). ``Adam``'s
    ``weight_decay`` adds ``lambda W`` and ``lambda B`` to the gradients before the adaptive
    normalisation, which breaks the mirror; (iii) an elementwise constraint on ``W``. Dale's
    law ``|raw| sign mask`` is fine (the sign flips cancel in the effective weight, including
    Adam's moments) as long as no raw entry crosses zero; give the same ``mask`` here so that
    ``B`` lives on the same connections. A symmetric tie ``(raw + raw^T) / 2`` is not
    elementwise and breaks the mirror. Gradient clipping by global norm scales both equally.

    Parameters
    ----------
    shape : tuple of int
        ``(out, in)`` shape of the effective weight.
    generator : torch.Generator, optional
        Source of the initial ``B``.
    scale : float
        Multiplies the standard deviation ``1 / sqrt(in)`` of the initial ``B``.
    init : Tensor, optional
        Initial ``B`` instead of a random draw.
    mask : Tensor, optional
        Fixed 0/1 connectivity ([out, in]); the feedback used is ``feedback_matrix * mask``.
    """

    name = "kp"
    masked = True
    mirror = True

    def __init__(
        self,
        shape: tuple[int, int],
        generator: torch.Generator | None = None,
        *,
        scale: float = 1.0,
        init: Tensor | None = None,
        mask: Tensor | None = None,
    ):
        super().__init__(shape, generator)
        self.feedback_matrix = nn.Parameter(initial_feedback(self.shape, generator, scale, init))
        self.register_buffer("mask", None if mask is None else _checked_mask(mask, self.shape))

    def feedback(self, weight: Tensor) -> Tensor:
        """The learned matrix (masked where a mask was given)."""
        if self.mask is None:
            return self.feedback_matrix
        return self.feedback_matrix * self.mask
