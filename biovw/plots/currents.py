"""Coarse-grained probability currents."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from biovw.plots.figure import save_figure

MIN_VISITS = 30
"""Bins visited fewer times get no arrow: their flux estimate is dominated by noise."""


def reliable_arrows(field, min_count: int = MIN_VISITS):
    """Bin centres and current components of the bins visited at least ``min_count`` times
    (the flux estimate of rarely visited bins is dominated by noise) whose current differs
    from zero (:meth:`CurrentField.significant`, when the field has standard errors)."""
    gx, gy = np.meshgrid(field.x_centers, field.y_centers, indexing="ij")
    keep = field.counts >= min_count
    if getattr(field, "current_se", None) is not None:
        keep &= field.significant()
    return gx[keep], gy[keep], field.current[..., 0][keep], field.current[..., 1][keep]


def _round_scale(value: float) -> float:
    """A round number (1, 2 or 5 times a power of ten) near ``value``, for the arrow key."""
    if not value > 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return max((m * power for m in (1, 2, 5) if m * power <= value), default=power)


def arrow_scale(fields) -> float:
    """One arrow key for several fields (the conditions of one recording): a round number
    near the largest current that any of them draws."""
    largest = [float(np.max(np.hypot(jx, jy))) for f in fields
               for _, _, jx, jy in [reliable_arrows(f)] if len(jx)]
    return _round_scale(max(largest, default=0.0))


def current_field(field, path: Path, title: str = "probability current",
                  axes_labels: tuple[str, str] = ("$x_1$", "$x_2$"),
                  scale: float | None = None) -> Path:
    """Stationary density (grey, with its colour bar) with the coarse-grained probability
    current (arrows where it differs from zero, with a scale key), and the current's curl
    (colour bar).

    ``field`` is a :class:`biovw.analysis.currents.CurrentField` (arrays indexed
    ``[x_bin, y_bin]``: the current is the density times the mean displacement per step);
    ``axes_labels`` name the plane's coordinates; ``scale`` is the current that the key shows
    and that an arrow one bin wide stands for (give the same one to the figures of several
    conditions, :func:`arrow_scale`, so that their arrows compare) [default: from this
    field].
    """
    sns.set_theme(style="white")
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.4), constrained_layout=True)
    extent = (field.x_edges[0], field.x_edges[-1], field.y_edges[0], field.y_edges[-1])
    density = axes[0].imshow(field.density.T, origin="lower", extent=extent, cmap="Greys",
                             aspect="auto")
    fig.colorbar(density, ax=axes[0], shrink=0.85,
                 label="stationary density (probability per unit area)")
    gx, gy, jx, jy = reliable_arrows(field)
    n_bins = field.counts.size
    axes[0].set_title(f"{title}\n{field.n_points:,} transitions; arrows in {len(gx)} of "
                      f"{n_bins} bins\n(visited >= {MIN_VISITS} times, current differs from 0 "
                      "at the 5% level)", pad=24)
    axes[0].set(xlabel=axes_labels[0], ylabel=axes_labels[1])
    if len(gx):
        scale = scale or _round_scale(float(np.max(np.hypot(jx, jy))))
        width = float(field.x_edges[1] - field.x_edges[0])
        arrows = axes[0].quiver(gx, gy, jx, jy, color="tab:red", angles="xy", pivot="mid",
                                scale_units="xy", scale=scale / width)
        axes[0].quiverkey(arrows, 0.08, 1.035, scale,
                          f"current |J| = {scale:g} (density x displacement per step)",
                          labelpos="E", coordinates="axes", fontproperties={"size": 8})
    else:
        axes[0].text(0.02, 1.035, "no bin's current differs from 0 at the 5% level",
                     transform=axes[0].transAxes, fontsize=8)
    lim = float(np.nanmax(np.abs(field.curl))) or 1.0
    curl = axes[1].imshow(field.curl.T, origin="lower", extent=extent, cmap="coolwarm",
                          vmin=-lim, vmax=lim, aspect="auto")
    fig.colorbar(curl, ax=axes[1], shrink=0.85,
                 label=r"curl $\partial J_y/\partial x - \partial J_x/\partial y$ "
                       "(|J| per data unit)\nred: counter-clockwise, blue: clockwise")
    axes[1].set_title("curl of the current", pad=24)
    axes[1].set(xlabel=axes_labels[0], ylabel=axes_labels[1])
    return save_figure(fig, path)
