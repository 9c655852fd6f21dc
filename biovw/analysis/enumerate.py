"""Exact transition matrices of factorised binary kernels by enumeration of all states."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

MAX_UNITS = 14


def binary_states(dim: int, device: torch.device | str = "cpu") -> Tensor:
    """All ``2**dim`` binary vectors, [2**dim, dim], ordered as the binary digits of the index
    (most significant unit first)."""
    if dim > MAX_UNITS:
        raise ValueError(f"enumeration needs dim <= {MAX_UNITS}, got {dim}")
    index = torch.arange(2**dim, device=device)
    shifts = torch.arange(dim - 1, -1, -1, device=device)
    return ((index[:, None] >> shifts) & 1).float()


@torch.no_grad()
def transition_matrix_binary(
    unit_log_probs: Callable[[Tensor], tuple[Tensor, Tensor]], dim: int,
    device: torch.device | str = "cpu", chunk: int = 1024,
) -> Tensor:
    """Full transition matrix ``P[s, s']`` (float64) of a factorised binary kernel.

    Parameters
    ----------
    unit_log_probs : callable
        Maps states [n, dim] to ``(log p(s'_i = 1 | s), log p(s'_i = 0 | s))``, each [n, dim].
    dim : int
        Number of units (<= 14).
    device : torch device
    chunk : int
        States processed at once.

    Returns
    -------
    Tensor
        [2**dim, 2**dim], rows sum to one.
    """
    states = binary_states(dim, device)
    rows = []
    for start in range(0, states.shape[0], chunk):
        log_one, log_zero = unit_log_probs(states[start:start + chunk])
        log_one, log_zero = log_one.double(), log_zero.double()
        log_p = log_zero.sum(1, keepdim=True) + (log_one - log_zero) @ states.double().T
        rows.append(log_p.exp())
    return torch.cat(rows).cpu()
