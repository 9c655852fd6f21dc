"""Weights as images: the receptive (or projective) fields of a circuit trained on images."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from biovw.plots.figure import save_figure


def field_grid(rows: np.ndarray, shape: tuple[int, ...], n: int = 64) -> np.ndarray:
    """The ``n`` rows of largest norm, each scaled to [-1, 1] by its largest magnitude,
    tiled in a square grid with 0-valued lines between them."""
    order = np.argsort(-np.linalg.norm(rows, axis=1))[:n]
    picked = rows[order] / np.maximum(np.abs(rows[order]).max(1, keepdims=True), 1e-12)
    cols = int(np.ceil(np.sqrt(len(picked))))
    h, w = shape[:2]
    grid = np.zeros((cols * (h + 1) + 1, cols * (w + 1) + 1))
    for i, field in enumerate(picked):
        r, c = divmod(i, cols)
        grid[1 + r * (h + 1): 1 + r * (h + 1) + h,
             1 + c * (w + 1): 1 + c * (w + 1) + w] = field.reshape(h, w)
    return grid


def weight_fields(fields: Mapping[str, np.ndarray], shape: tuple[int, ...], path: Path,
                  n: int = 64) -> Path:
    """One panel per block of weights ``[units, pixels]``: the ``n`` units of largest weight
    norm, each on its own symmetric colour scale (red positive, blue negative)."""
    fig, axes = plt.subplots(1, len(fields), figsize=(4.2 * len(fields), 4.6), squeeze=False)
    for ax, (name, rows) in zip(axes[0], fields.items(), strict=True):
        ax.imshow(field_grid(np.asarray(rows, dtype=float), shape, n), cmap="RdBu_r",
                  vmin=-1, vmax=1, interpolation="nearest")
        ax.set(xticks=[], yticks=[], title=name,
               xlabel=f"{min(n, len(rows))} of {len(rows)} units, largest norm first")
    fig.suptitle("weights as images (each scaled to its largest magnitude)")
    return save_figure(fig, path)
