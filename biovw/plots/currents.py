"""Coarse-grained probability currents."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from biovw.plots.figure import save_figure


def reliable_arrows(field, min_count: int = 30):
    """Bin centres and current components of the bins visited at least ``min_count`` times
    (the flux estimate of rarely visited bins is dominated by noise)."""
    gx, gy = np.meshgrid(field.x_centers, field.y_centers, indexing="ij")
    keep = field.counts >= min_count
    return gx[keep], gy[keep], field.current[..., 0][keep], field.current[..., 1][keep]


def current_field(field, path: Path, title: str = "probability current") -> Path:
    """Stationary density (colour) with the coarse-grained probability current (arrows) and
    its curl.

    ``field`` is a :class:`biovw.analysis.currents.CurrentField` (arrays indexed
    ``[x_bin, y_bin]``).
    """
    sns.set_theme(style="white")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
    extent = (field.x_edges[0], field.x_edges[-1], field.y_edges[0], field.y_edges[-1])
    axes[0].imshow(field.density.T, origin="lower", extent=extent, cmap="Greys", aspect="auto")
    gx, gy, jx, jy = reliable_arrows(field)
    axes[0].quiver(gx, gy, jx, jy, color="tab:red", angles="xy", pivot="mid")
    axes[0].set(title=title, xlabel="x", ylabel="y")
    lim = float(np.nanmax(np.abs(field.curl))) or 1.0
    im = axes[1].imshow(field.curl.T, origin="lower", extent=extent, cmap="coolwarm",
                        vmin=-lim, vmax=lim, aspect="auto")
    fig.colorbar(im, ax=axes[1], shrink=0.8)
    axes[1].set(title="curl of the current", xlabel="x", ylabel="y")
    return save_figure(fig, path)
