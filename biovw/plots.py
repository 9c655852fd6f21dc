"""Figures of a run (matplotlib/seaborn, written as PNG files)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def loss_curve(metrics: list[dict], path: Path, key: str = "loss",
               ylabel: str = "negative bound (nats/example)", xlabel: str = "iteration") -> Path:
    """A logged training quantity (by default the negative bound) against iteration."""
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    steps = [m["step"] for m in metrics]
    ax.plot(steps, [m[key] for m in metrics], lw=1.2)
    ax.set(xlabel=xlabel, ylabel=ylabel, title="training")
    return _save(fig, path)


def alignment_curves(metrics: list[dict], path: Path) -> Path:
    """Angle between each block of ``W`` and its feedback matrix against iteration, with the
    smallest angle Dale's sign pattern allows (dashed) where it was logged."""
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    steps = [m["step"] for m in metrics]
    for suffix, label in (("", "all of W"), ("_readout", "hidden -> visible"),
                          ("_hidden", "hidden -> hidden")):
        key = f"alignment_angle{suffix}"
        if key not in metrics[0]:
            continue
        line, = ax.plot(steps, [m[key] for m in metrics], lw=1.2, label=label)
        best = f"alignment_best_given_signs{suffix}"
        if best in metrics[0]:
            ax.plot(steps, [m[best] for m in metrics], ls="--", lw=1, color=line.get_color())
    ax.axhline(90, color="gray", lw=0.8)
    ax.set(xlabel="iteration", ylabel="angle between W and B (degrees)", ylim=(0, 100),
           title="feedback alignment (dashed: best given Dale signs)")
    ax.legend(fontsize=8)
    return _save(fig, path)


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
    return _save(fig, path)


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
    return _save(fig, path)


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
    return _save(fig, path)


def power_curves(rows: list[dict], path: Path) -> Path:
    """Detection rate against recording length, one panel per irreversible chain (settings
    as line styles), our estimators solid and the ``irreversibility`` package's tests dashed.

    ``rows`` are the rows of :func:`biovw.analysis.epbench.run_benchmark`."""
    cases = [c for c in dict.fromkeys(r["chain"] for r in rows)]
    names = list(dict.fromkeys(r["estimator"] for r in rows))
    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, len(cases), figsize=(3.4 * len(cases), 3.4), sharey=True,
                             squeeze=False)
    palette = dict(zip(names, sns.color_palette("tab10", len(names)), strict=True))
    for ax, chain in zip(axes[0], cases, strict=True):
        for name in names:
            sel = sorted((r["length"], r["reject_rate"]) for r in rows if r["chain"] == chain
                         and r["estimator"] == name and r["setting"] == "full"
                         and not r["control"])
            if sel:
                peer = next(r["peer"] for r in rows if r["estimator"] == name)
                ax.plot(*zip(*sel, strict=True), marker="o", color=palette[name],
                        linestyle="--" if peer else "-", label=name)
        ax.axhline(0.05, color="grey", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_title(chain)
        ax.set_xlabel("recording length (steps)")
    axes[0][0].set_ylabel("power at alpha = 0.05")
    axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
