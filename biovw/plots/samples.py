"""Samples against held-out data, and the chain over extra steps."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from biovw.plots.figure import save_figure


def _tile(images: np.ndarray, shape: tuple[int, ...], cols: int) -> np.ndarray:
    """Images ``[n, prod(shape)]`` tiled ``cols`` to a row, one grey pixel between them."""
    images = images.reshape(-1, *shape)
    h, w = shape[:2]
    rows = int(np.ceil(len(images) / cols))
    grid = np.full((rows * (h + 1) + 1, cols * (w + 1) + 1, *shape[2:]), 0.3)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        grid[1 + r * (h + 1): 1 + r * (h + 1) + h, 1 + c * (w + 1): 1 + c * (w + 1) + w] = img
    return grid


def _show_tiles(ax, grid: np.ndarray, shape: tuple[int, ...]) -> str:
    """A tiled grid: grey images with 0 white and 1 black, signed images (beyond [0, 1]) on a
    symmetric grey scale, colour images as RGB in [0, 1]; returns the description of the
    pixels it sets as the x label."""
    if len(shape) == 3:
        ax.imshow(np.clip(grid, 0, 1), interpolation="nearest")
        what = f"{shape[0]} x {shape[1]} RGB pixels each, values in [0, 1]"
    elif grid.min() < -0.01 or grid.max() > 1.01:  # signed values (whitened patches)
        scale = float(np.percentile(np.abs(grid), 99)) or 1.0
        ax.imshow(grid, cmap="gray", vmin=-scale, vmax=scale, interpolation="nearest")
        what = (f"{shape[0]} x {shape[1]} pixels each; mid-grey = 0, white = {scale:.2g}, "
                f"black = -{scale:.2g}")
    else:
        ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        what = f"{shape[0]} x {shape[1]} pixels each; white = 0, black = 1"
    ax.set(xticks=[], yticks=[], xlabel=what)
    return what


def _image_grid(ax, images: np.ndarray, shape: tuple[int, ...], n: int = 64) -> None:
    """Up to ``n`` images in a square grid, separated by grey lines."""
    images = images[:n]
    cols = int(np.ceil(np.sqrt(len(images))))
    _show_tiles(ax, _tile(images, shape, cols), shape)


AXES = ("$x_1$ (data units)", "$x_2$ (data units)")


def _scatter(ax, points: np.ndarray, color: str, title: str, limits, label: str | None = None,
             size: float = 2, alpha: float = 0.4) -> None:
    """Points in the plane of their first two coordinates (a histogram of one-dimensional
    data)."""
    if points.shape[1] == 1:
        finite = points[np.isfinite(points[:, 0]), 0]
        ax.hist(finite, bins=40, range=limits, density=True, color=color, alpha=alpha + 0.2,
                label=label)
        ax.set(title=title, xlim=limits, xlabel=AXES[0], ylabel="density (per data unit)")
        return
    ax.scatter(points[:, 0], points[:, 1], s=size, alpha=alpha, color=color, rasterized=True,
               label=label, linewidths=0)
    first = f" (first two of {points.shape[1]} dimensions)" if points.shape[1] > 2 else ""
    ax.set(title=title, xlim=limits, ylim=limits, aspect="equal", xlabel=AXES[0] + first,
           ylabel=AXES[1])


def _limits(*clouds: np.ndarray) -> tuple[float, float]:
    values = np.concatenate([c[:, :2].ravel() for c in clouds])
    values = values[np.isfinite(values)]
    lo, hi = np.percentile(values, [0.5, 99.5]) if values.size else (-1.0, 1.0)
    pad = 0.1 * (hi - lo + 1e-9)
    return float(lo - pad), float(hi + pad)


def _count(n: int, shown: int | None = None) -> str:
    return f"{shown:,} of {n:,}" if shown is not None and shown < n else f"n = {n:,}"


def samples_vs_data(samples: np.ndarray, data: np.ndarray, image_shape, path: Path, *,
                    split: str = "held-out", steps: str = "0 extra steps") -> Path:
    """Side-by-side held-out data and model samples (scatter for 2-D, image grids otherwise),
    each titled with its count; ``split`` names the held-out split and ``steps`` how far past
    the sampler's start the samples were taken."""
    sns.set_theme(style="white")
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 5), constrained_layout=True)
    if image_shape is not None:
        _image_grid(axes[0], data, image_shape)
        _image_grid(axes[1], samples, image_shape)
        axes[0].set_title(f"{split} data ({_count(len(data), min(64, len(data)))} images)")
        axes[1].set_title(f"samples after {steps}\n"
                          f"({_count(len(samples), min(64, len(samples)))} images)")
    else:
        lim = _limits(data, samples)
        _scatter(axes[0], data, "tab:gray", f"{split} data ({_count(len(data))})", lim)
        _scatter(axes[1], samples, "tab:blue",
                 f"samples after {steps} ({_count(len(samples))})", lim)
    return save_figure(fig, path)


def chain_over_time(snapshots: dict[int, np.ndarray], image_shape, path: Path, *,
                    reference: np.ndarray | None = None, split: str = "held-out",
                    steps: str = "extra steps") -> Path:
    """Samples at several numbers of steps past the sampler's start (for a walk-back model:
    extra T=1 steps past the cool-down), a stationarity check; 2-D samples are drawn over the
    ``reference`` (held-out) data in grey."""
    sns.set_theme(style="white")
    keys = sorted(snapshots)
    fig, axes = plt.subplots(1, len(keys), figsize=(3.9 * len(keys), 5.0), squeeze=False,
                             layout="constrained")
    clouds = [*snapshots.values(), *([] if reference is None else [reference])]
    lim = None if image_shape is not None else _limits(*clouds)
    for ax, k in zip(axes[0], keys, strict=True):
        x = snapshots[k]
        if image_shape is not None:
            _image_grid(ax, x, image_shape, n=36)
            ax.set_title(f"after {k} {steps}\n({_count(len(x), min(36, len(x)))} images)")
            continue
        if reference is not None:
            _scatter(ax, reference, "0.65", "", lim, label=f"{split} data (n = {len(reference):,})",
                     size=3, alpha=0.5)
        _scatter(ax, x, "tab:blue", f"after {k} {steps}", lim,
                 label=f"samples (n = {len(x):,})")
        if ax is not axes[0][0]:
            ax.set_ylabel("")
    if image_shape is None:
        fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center", ncol=2,
                   fontsize="small", markerscale=4, frameon=False)
    return save_figure(fig, path)


def evaluation_figures(samples: dict[int, np.ndarray], reference: np.ndarray, image_shape,
                       main_snapshot: int, figures: Path, *, split: str = "held-out",
                       steps: str = "extra steps") -> None:
    """The figures of an evaluation: ``samples_vs_data.png`` from ``main_snapshot``, one more
    from the last snapshot if it differs, and ``chain_over_time.png``. ``split`` names the
    held-out split, ``steps`` what the sampler's steps are called (``extra steps`` past the
    cool-down, ``Gibbs steps``)."""
    last = max(samples)
    samples_vs_data(samples[main_snapshot], reference, image_shape,
                    figures / "samples_vs_data.png", split=split,
                    steps=f"{main_snapshot} {steps}")
    chain_over_time(samples, image_shape, figures / "chain_over_time.png", reference=reference,
                    split=split, steps=steps)
    if last != main_snapshot:
        samples_vs_data(samples[last], reference, image_shape,
                        figures / f"samples_vs_data_step{last}.png", split=split,
                        steps=f"{last} {steps}")
