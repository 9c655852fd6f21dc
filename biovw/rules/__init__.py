"""Biologically plausible learning rules: what error a weight matrix sends backwards.

Per-weight rules (:mod:`biovw.rules.linear`) replace ``W`` by a feedback matrix ``B`` in the
error sent to the presynaptic side while keeping the local weight gradient ``grad_y^T x``;
direct feedback alignment (:mod:`biovw.rules.dfa`) sends the output error straight to every
unit; :mod:`biovw.rules.alignment` measures how far ``W`` and ``B`` are apart.
"""

from __future__ import annotations

import torch

from biovw.rules.alignment import (
    alignment_angle,
    best_sign_constrained_alignment,
    sign_constrained_projection,
)
from biovw.rules.dfa import (
    DFAContext,
    DFAHidden,
    DFAOutput,
    DirectFeedbackAlignment,
    dfa_hidden,
    dfa_output,
)
from biovw.rules.linear import (
    BackpropRule,
    FeedbackAlignmentRule,
    FeedbackMatmul,
    FeedbackRule,
    KolenPollackRule,
    SignSymmetryRule,
    feedback_linear,
    random_feedback,
)
from biovw.rules.recurrence import EXACT, Recurrence, matmul

RULES: dict[str, type[FeedbackRule]] = {
    rule.name: rule
    for rule in (
        BackpropRule,
        FeedbackAlignmentRule,
        SignSymmetryRule,
        KolenPollackRule,
        DirectFeedbackAlignment,
    )
}


def rule_class(name: str) -> type[FeedbackRule]:
    """The rule registered as ``name``.

    Raises
    ------
    ValueError
        If no rule has that name.
    """
    if name not in RULES:
        raise ValueError(f"learning rule {name!r} is not known; choose from {sorted(RULES)}")
    return RULES[name]


def build_rule(
    name: str,
    shape: tuple[int, int],
    generator: torch.Generator | None = None,
    **kw,
) -> FeedbackRule:
    """Build the rule registered as ``name``.

    Parameters
    ----------
    name : str
        ``backprop``, ``fa``, ``sign_symmetry``, ``kp`` or ``dfa``.
    shape : tuple of int
        ``(out, in)`` of the weight the rule serves; for ``dfa`` ``(n_outputs, n_units)``.
    generator : torch.Generator, optional
        Source of random feedback matrices.
    **kw
        Options of the rule's class (``scale``, ``init``, ``mask``, ``match_norm``).
    """
    return rule_class(name)(shape, generator, **kw)


__all__ = [
    "EXACT", "RULES", "BackpropRule", "DFAContext", "DFAHidden", "DFAOutput",
    "DirectFeedbackAlignment", "FeedbackAlignmentRule", "FeedbackMatmul", "FeedbackRule",
    "KolenPollackRule", "Recurrence", "SignSymmetryRule", "alignment_angle",
    "best_sign_constrained_alignment", "build_rule", "dfa_hidden", "dfa_output",
    "feedback_linear", "matmul", "random_feedback", "rule_class", "sign_constrained_projection",
]
