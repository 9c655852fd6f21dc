"""Samples against held-out data, and the chain over extra steps."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from biovw.plots.figure import save_figure


def _image_grid(ax, images: np.ndarray, shape: tuple[int, int], n: int = 64) -> None:
    images = images[:n].reshape(-1, *shape)
    cols = int(np.ceil(np.sqrt(len(images))))
    rows = int(np.ceil(len(images) / cols))
    grid = np.ones((rows * (shape[0] + 1), cols * (shape[1] + 1)))
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        grid[r * (shape[0] + 1): r * (shape[0] + 1) + shape[0],
             c * (shape[1] + 1): c * (shape[1] + 1) + shape[1]] = img
    ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1)
    ax.axis("off")


def _scatter(ax, points: np.ndarray, color: str, title: str, limits) -> None:
    ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, color=color, rasterized=True)
    ax.set(title=title, xlim=limits, ylim=limits, aspect="equal")


def _limits(*clouds: np.ndarray) -> tuple[float, float]:
    values = np.concatenate([c[:, :2].ravel() for c in clouds])
    values = values[np.isfinite(values)]
    lo, hi = np.percentile(values, [0.5, 99.5]) if values.size else (-1.0, 1.0)
    pad = 0.1 * (hi - lo + 1e-9)
    return float(lo - pad), float(hi + pad)


def samples_vs_data(samples: np.ndarray, data: np.ndarray, image_shape, path: Path) -> Path:
    """Side-by-side model samples and held-out data (scatter for 2-D, image grids otherwise)."""
    sns.set_theme(style="white")
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
    if image_shape is not None:
        _image_grid(axes[0], data, image_shape)
        _image_grid(axes[1], samples, image_shape)
        axes[0].set_title("held-out data")
        axes[1].set_title("samples")
    else:
        lim = _limits(data, samples)
        _scatter(axes[0], data, "tab:gray", "held-out data", lim)
        _scatter(axes[1], samples, "tab:blue", "samples", lim)
    return save_figure(fig, path)


def chain_over_time(snapshots: dict[int, np.ndarray], image_shape, path: Path) -> Path:
    """Samples at several numbers of extra T=1 steps past the cool-down (stationarity check)."""
    sns.set_theme(style="white")
    keys = sorted(snapshots)
    fig, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 3.8), squeeze=False)
    lim = None if image_shape is not None else _limits(*snapshots.values())
    for ax, k in zip(axes[0], keys, strict=True):
        if image_shape is not None:
            _image_grid(ax, snapshots[k], image_shape, n=36)
            ax.set_title(f"{k} extra steps")
        else:
            _scatter(ax, snapshots[k], "tab:blue", f"{k} extra steps", lim)
    return save_figure(fig, path)


def evaluation_figures(samples: dict[int, np.ndarray], reference: np.ndarray, image_shape,
                       main_snapshot: int, figures: Path) -> None:
    """The figures of an evaluation: ``samples_vs_data.png`` from ``main_snapshot``, one more
    from the last snapshot if it differs, and ``chain_over_time.png``."""
    last = max(samples)
    samples_vs_data(samples[main_snapshot], reference, image_shape,
                    figures / "samples_vs_data.png")
    chain_over_time(samples, image_shape, figures / "chain_over_time.png")
    if last != main_snapshot:
        samples_vs_data(samples[last], reference, image_shape,
                        figures / f"samples_vs_data_step{last}.png")
