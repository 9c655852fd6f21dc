"""Angles between forward weights and feedback matrices."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def alignment_angle(weight: Tensor, feedback: Tensor) -> float:
    """Angle in degrees between the flattened ``weight`` and ``feedback``.

    0 means ``feedback`` is a positive multiple of ``weight``, 90 orthogonal, 180 opposite.

    Raises
    ------
    ValueError
        If the shapes differ or either matrix is zero.
    """
    if weight.shape != feedback.shape:
        raise ValueError(f"shapes differ: {tuple(weight.shape)} vs {tuple(feedback.shape)}")
    w = weight.detach().reshape(-1).double()
    b = feedback.detach().reshape(-1).double().to(w.device)
    nw, nb = w.norm(), b.norm()
    if nw == 0 or nb == 0:
        raise ValueError("the angle to a zero matrix is undefined")
    cos = (w @ b / (nw * nb)).clamp(-1.0, 1.0)
    return math.degrees(math.acos(cos.item()))


def sign_constrained_projection(sign_pattern: Tensor, matrix: Tensor) -> Tensor:
    """Euclidean projection of ``matrix`` onto the matrices with the given sign pattern.

    The feasible set is the convex cone ``C = {M : M_ij s_ij >= 0, M_ij = 0 where s_ij = 0}``
    (``s = sign_pattern``, entries in {-1, 0, +1}). The projection keeps the entries of
    ``matrix`` whose sign agrees with the allowed sign and zeroes the others.
    """
    if sign_pattern.shape != matrix.shape:
        raise ValueError(
            f"shapes differ: {tuple(sign_pattern.shape)} vs {tuple(matrix.shape)}"
        )
    s = torch.sign(sign_pattern.detach()).to(matrix)
    return torch.where(matrix * s > 0, matrix, torch.zeros_like(matrix))


def best_sign_constrained_alignment(sign_pattern: Tensor, feedback: Tensor) -> float:
    """Smallest angle (degrees) between ``feedback`` and any non-zero matrix with the fixed
    sign pattern ``sign_pattern`` (for a Dale-constrained weight: ``sign(W)``, i.e. the
    presynaptic signs times the connectivity mask).

    With ``P`` the projection of ``B = feedback`` onto the cone ``C`` of sign-feasible matrices
    (:func:`sign_constrained_projection`), every ``M`` in ``C`` satisfies
    ``<B, M> <= <P, M> <= |P| |M|``: entries where ``B`` disagrees with the allowed sign add a
    non-positive term, the others equal ``P``'s, then Cauchy-Schwarz. ``M = P`` attains it, and
    ``<B, P> = |P|^2``, so the minimum angle is ``arccos(|P| / |B|)``.

    If ``P = 0`` the best cosine is ``max_ij -|B_ij| / |B|`` over allowed entries (a matrix
    supported on the allowed entry where ``B`` is smallest): 90 degrees if ``B`` vanishes on an
    allowed entry, more otherwise.

    Raises
    ------
    ValueError
        If the shapes differ, ``feedback`` is zero or no entry is allowed to be non-zero.
    """
    b = feedback.detach().double()
    s = torch.sign(sign_pattern.detach()).double().to(b.device)
    if s.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(s.shape)} vs {tuple(b.shape)}")
    nb = b.norm()
    if nb == 0:
        raise ValueError("the angle to a zero matrix is undefined")
    allowed = s != 0
    if not allowed.any():
        raise ValueError("the sign pattern allows no non-zero entry")
    p = sign_constrained_projection(s, b)
    npn = p.norm()
    if npn > 0:
        cos = (npn / nb).clamp(-1.0, 1.0)
    else:
        cos = -b.abs()[allowed].min() / nb
    return math.degrees(math.acos(cos.item()))
