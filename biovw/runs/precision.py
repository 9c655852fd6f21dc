"""torch's float32 matrix-product precision for a block of work (TF32 on CUDA)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def matmul_precision(name: str) -> Iterator[None]:
    """Within the block, float32 matrix products run at ``name`` precision (``highest``: full
    float32; ``high``: TF32 where the GPU has it); the previous setting is restored after."""
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(name)
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous)
