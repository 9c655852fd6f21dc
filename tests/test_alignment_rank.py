"""The Krylov-space measurements of analysis/alignment_rank.py on constructed matrices."""


import torch
from cli_support import load_script


def _module():
    return load_script("alignment_rank")


def test_krylov_space_holds_every_error_the_hidden_units_can_receive():
    ar = _module()
    dim, hidden, settle = 2, 30, 4
    g = torch.Generator().manual_seed(0)
    b = torch.randn(dim + hidden, dim + hidden, generator=g, dtype=torch.float64)
    basis = ar.krylov_basis(b, dim, settle)
    assert basis.shape == (hidden, dim * settle)
    assert torch.allclose(basis.T @ basis, torch.eye(dim * settle, dtype=b.dtype), atol=1e-10)
    # errors sent back through 1..settle micro-steps of linear feedback (no leak, no slopes)
    e = torch.randn(dim, generator=g, dtype=torch.float64)
    error = b[:dim, dim:].T @ e
    outer = torch.zeros(hidden, hidden, dtype=b.dtype)
    for _ in range(settle):
        outer += torch.outer(error, torch.randn(hidden, generator=g, dtype=b.dtype))
        error = b[dim:, dim:].T @ error
    # the last error went one step beyond the space and is not used above
    assert abs(ar.energy_in(basis, outer) - 1.0) < 1e-10
    random = torch.randn(hidden, hidden, generator=g, dtype=b.dtype)
    assert ar.energy_in(basis, random) < 0.6
