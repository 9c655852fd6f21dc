"""Connectivity constraints of a rate circuit: Dale's law signs, sparsity masks, initialisation.

Weights follow the convention ``W[post, pre]``. All constraints are fixed tensors applied in the
forward pass (:func:`constrained_weight`), never by editing parameters in place.
"""

from __future__ import annotations

import torch
from torch import Tensor


def dale_signs(n_visible: int, n_hidden: int, ei_ratio: float) -> Tensor:
    """Sign of each presynaptic unit: visible units and the first ``ei_ratio`` of the hidden
    population are excitatory (+1), the remaining hidden units inhibitory (-1).

    Returns
    -------
    Tensor
        Float tensor of shape [n_visible + n_hidden].
    """
    n_exc_hidden = int(round(ei_ratio * n_hidden))
    signs = torch.ones(n_visible + n_hidden)
    signs[n_visible + n_exc_hidden :] = -1.0
    return signs


def connection_mask(n: int, density: float, generator: torch.Generator) -> Tensor:
    """Fixed random connectivity with the given density and no autapses (zero diagonal)."""
    mask = (torch.rand(n, n, generator=generator) < density).float()
    mask.fill_diagonal_(0.0)
    return mask


def constrained_weight(raw: Tensor, mask: Tensor, signs: Tensor | None, symmetric: bool) -> Tensor:
    """Effective recurrent weight ``W[post, pre]`` from its free parameter.

    Parameters
    ----------
    raw : Tensor
        Free parameter, [n, n].
    mask : Tensor
        Fixed 0/1 connectivity mask, [n, n] (zero diagonal).
    signs : Tensor or None
        Per-presynaptic-unit sign for Dale's law ([n]); None leaves signs free.
    symmetric : bool
        Tie the weights, ``W = (raw + raw^T) / 2`` (the Boltzmann-like control).
    """
    if symmetric:
        raw = 0.5 * (raw + raw.T)
        mask = mask * mask.T
    if signs is not None:
        return raw.abs() * signs[None, :] * mask
    return raw * mask


def balanced_init(
    mask: Tensor,
    signs: Tensor | None,
    spectral_radius: float,
    symmetric: bool,
    generator: torch.Generator,
) -> Tensor:
    """Initial free parameter whose effective weight has the requested spectral radius.

    With Dale's law the inhibitory columns are scaled by n_E / n_I so that each unit's expected
    recurrent input is zero; without it weights are zero-mean Gaussian.
    """
    n = mask.shape[0]
    raw = torch.randn(n, n, generator=generator) / n**0.5
    if signs is not None:
        n_exc = int((signs > 0).sum())
        n_inh = n - n_exc
        raw = raw.abs()
        if n_inh > 0:
            raw[:, signs < 0] *= n_exc / n_inh
    weight = constrained_weight(raw, mask, signs, symmetric)
    radius = torch.linalg.eigvals(weight.double()).abs().max().item()
    if radius > 0:
        raw = raw * (spectral_radius / radius)
    return raw
