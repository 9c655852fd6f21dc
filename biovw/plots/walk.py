"""The walk-back: a data point heated to noise, and a draw of p* cooled down to a sample."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from biovw.plots.figure import save_figure
from biovw.plots.samples import AXES, _show_tiles, _tile

MAX_COLUMNS = 11
"""Images shown per row; longer schedules show evenly spaced steps, always the first and
last."""


def _columns(n: int) -> list[int]:
    if n <= MAX_COLUMNS:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, MAX_COLUMNS).round().astype(int).tolist()))


def _image_rows(heating: np.ndarray, cooling: np.ndarray, temperatures: Sequence[float],
                shape: tuple[int, ...], path: Path) -> Path:
    k = len(temperatures)
    cols = _columns(k + 1)
    heat_labels = ["$s_0$ = data"] + [f"$s_{{{t}}}$\nT={temperatures[t - 1]:.3g}"
                                      for t in range(1, k + 1)]
    cool_labels = [f"$s_{{{k}}}$ ~ p*"] + [f"$s_{{{t - 1}}}$\nT={temperatures[t - 1]:.3g}"
                                          for t in range(k, 0, -1)]
    fig, axes = plt.subplots(2, len(cols), figsize=(1.25 * len(cols) + 0.6, 3.9),
                             squeeze=False, constrained_layout=True)
    rows = (("heating", heating, heat_labels), ("cooling", cooling, cool_labels))
    for r, (title, states, labels) in enumerate(rows):
        for ax, c in zip(axes[r], cols, strict=True):
            pixels = _show_tiles(ax, _tile(states[c, :1], shape, 1), shape)
            ax.set_xlabel("")
            ax.set_title(labels[c], fontsize="small")
        axes[r][0].set_ylabel(title, fontsize="small")
    fig.suptitle(f"walk-back, K = {k}: top, a held-out example heated ($s_t$ drawn at "
                 f"temperature $T_t$); bottom, a draw of p* cooled ($s_{{t-1}}$ drawn at "
                 f"$T_t$)\n{pixels}", fontsize="small")
    return save_figure(fig, path)


def _plane(heating: np.ndarray, cooling: np.ndarray, temperatures: Sequence[float],
           reference: np.ndarray | None, path: Path) -> Path:
    sns.set_theme(style="white")
    fig, ax = plt.subplots(figsize=(6.4, 7.0), layout="constrained")
    clouds = [heating.reshape(-1, heating.shape[-1]), cooling.reshape(-1, cooling.shape[-1])]
    lim = _span(*clouds, *([] if reference is None else [reference]))
    if reference is not None:
        ax.scatter(reference[:, 0], reference[:, 1], s=3, color="0.75", linewidths=0,
                   rasterized=True, label=f"held-out data (n = {len(reference):,})")
    for i in range(heating.shape[1]):
        ax.plot(heating[:, i, 0], heating[:, i, 1], "-", color="tab:red", lw=0.9, alpha=0.8,
                label="heating: data -> noise" if i == 0 else None)
        ax.plot(cooling[:, i, 0], cooling[:, i, 1], "-", color="tab:blue", lw=0.9, alpha=0.8,
                label="cooling: p* -> sample" if i == 0 else None)
    ax.scatter(heating[0, :, 0], heating[0, :, 1], marker="o", s=40, color="tab:red",
               edgecolor="k", zorder=3, label="start of heating (data point)")
    ax.scatter(cooling[0, :, 0], cooling[0, :, 1], marker="X", s=50, color="tab:blue",
               edgecolor="k", zorder=3, label="start of cooling (draw of p*)")
    ax.scatter(cooling[-1, :, 0], cooling[-1, :, 1], marker="*", s=110, color="gold",
               edgecolor="k", zorder=3, label="sample at $T_1$")
    first = f" (first two of {heating.shape[-1]} dimensions)" if heating.shape[-1] > 2 else ""
    ax.set(xlim=lim, ylim=lim, aspect="equal", xlabel=AXES[0] + first, ylabel=AXES[1],
           title=f"walk-back paths, $K$ = {len(temperatures)} steps, "
                 f"$T_1$ = {temperatures[0]:.3g} .. $T_K$ = {temperatures[-1]:.3g}")
    fig.legend(loc="outside lower center", ncol=2, fontsize="small", frameon=False)
    return save_figure(fig, path)


def _span(*clouds: np.ndarray) -> tuple[float, float]:
    """Limits that hold every finite point of the paths and the data (a common square)."""
    values = np.concatenate([c[:, :2].ravel() for c in clouds])
    values = values[np.isfinite(values)]
    lo, hi = (values.min(), values.max()) if values.size else (-1.0, 1.0)
    pad = 0.05 * (hi - lo + 1e-9)
    return float(lo - pad), float(hi + pad)


def _timeline(heating: np.ndarray, cooling: np.ndarray, temperatures: Sequence[float],
              reference: np.ndarray | None, path: Path) -> Path:
    """One-dimensional data: the state against the temperature step (heating left to right
    from the data, cooling right to left from p*), the held-out data's histogram beside it."""
    sns.set_theme(style="white")
    fig, (ax, side) = plt.subplots(1, 2, figsize=(7.4, 4.6), sharey=True, width_ratios=(4, 1),
                                   constrained_layout=True)
    k = len(temperatures)
    steps = np.arange(k + 1)
    for i in range(heating.shape[1]):
        ax.plot(steps, heating[:, i, 0], "-o", ms=3, color="tab:red", lw=0.9, alpha=0.8,
                label="heating: data -> noise" if i == 0 else None)
        ax.plot(steps[::-1], cooling[:, i, 0], "-s", ms=3, color="tab:blue", lw=0.9,
                alpha=0.8, label="cooling: p* -> sample" if i == 0 else None)
    ax.set(xlabel="temperature step $t$ ($T_t$ grows with $t$)", ylabel=AXES[0],
           title=f"walk-back paths, $K$ = {k} steps, $T_1$ = {temperatures[0]:.3g} .. "
                 f"$T_K$ = {temperatures[-1]:.3g}")
    ax.legend(loc="best", fontsize="small", framealpha=0.9)
    if reference is not None:
        finite = reference[np.isfinite(reference[:, 0]), 0]
        side.hist(finite, bins=40, orientation="horizontal", density=True, color="0.6")
        side.set(xlabel="density", title=f"held-out (n = {len(reference):,})")
    else:
        side.set_axis_off()
    return save_figure(fig, path)


def walk_figure(heating: np.ndarray, cooling: np.ndarray, temperatures: Sequence[float],
                image_shape: tuple[int, ...] | None, path: Path, *,
                reference: np.ndarray | None = None) -> Path:
    """The heating trajectory of held-out examples and the cool-down of draws of p*.

    Images: two rows of images (the first example heated, the first draw cooled), each titled
    with its step and temperature. One-dimensional data: the paths against the step. Other
    data: the paths in the plane of the first two coordinates over the ``reference`` data.

    Parameters
    ----------
    heating, cooling : ndarray
        ``[K + 1, n, dim]`` states (see :class:`biovw.runs.evaluation.WalkPath`).
    temperatures : sequence of float
        ``T_1, ..., T_K``.
    image_shape : tuple of int or None
    path : Path
    reference : ndarray, optional
        Held-out data drawn behind the paths.
    """
    if image_shape is not None:
        return _image_rows(heating, cooling, temperatures, image_shape, path)
    if heating.shape[-1] == 1:
        return _timeline(heating, cooling, temperatures, reference, path)
    return _plane(heating, cooling, temperatures, reference, path)
