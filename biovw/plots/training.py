"""Training curves of a run: the logged loss (training and held-out batches), the feedback
alignment angles and the entropy production of the chain."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.lines import Line2D

from biovw.plots.figure import save_figure


def _series(metrics: list[dict], key: str) -> tuple[list, list]:
    rows = [m for m in metrics if m.get(key) is not None]
    return [m["step"] for m in rows], [m[key] for m in rows]


def loss_curve(metrics: list[dict], path: Path, key: str = "loss",
               ylabel: str = "negative bound (nats/example)", xlabel: str = "iteration") -> Path:
    """A logged training quantity (by default the negative bound) against iteration, on the
    training batch and, where it was logged as ``heldout_<key>``, on the fixed held-out batch
    (its gap to the training curve shows over-fitting)."""
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(6, 3.8), constrained_layout=True)
    steps, values = _series(metrics, key)
    ax.plot(steps, values, lw=1.2, color="tab:blue", label="training batch")
    held_steps, held = _series(metrics, f"heldout_{key}")
    if held:
        ax.plot(held_steps, held, lw=1.2, color="tab:orange", marker="o", ms=2.5,
                label="held-out batch (validation split)")
    _log_scale(ax, [*values, *held])
    ax.set(xlabel=xlabel, ylabel=ylabel,
           title=f"training: {ylabel.split(' (')[0]}, {len(steps)} logged points")
    ax.legend(fontsize="small", loc="upper right")
    return save_figure(fig, path)


def _log_scale(ax: plt.Axes, values: list[float]) -> None:
    """A log y axis, so that the late iterations are not flattened by the first ones; symlog
    (linear within 1 of zero) when some value is not positive."""
    finite = [v for v in values if v is not None and np.isfinite(v)]
    if not finite:
        return
    if min(finite) > 0:
        ax.set_yscale("log")
    else:
        ax.set_yscale("symlog", linthresh=1.0)


# A wide faint band for all of W (which the hidden block dominates, so the two often
# coincide) under thin lines with markers for the blocks.
_BLOCKS = (("", "all of W", {"lw": 3.4, "alpha": 0.4}),
           ("_readout", "hidden -> visible (readout)", {"lw": 1.3, "marker": "o"}),
           ("_hidden", "hidden -> hidden", {"lw": 1.3, "marker": "s"}))


def alignment_curves(metrics: list[dict], path: Path) -> Path:
    """Angle between each block of ``W`` (the readout and the hidden block where they were
    logged, else all of ``W``) and its feedback matrix ``B`` (the matrix that carries errors
    backwards in place of ``W^T``) against iteration, with the smallest angle Dale's sign
    pattern allows (dashed) where it was logged, and 90 degrees (unaligned)."""
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(7.5, 5.6), layout="constrained")
    steps = [m["step"] for m in metrics]
    every = max(1, len(steps) // 12)
    handles = []
    # with the blocks logged, all of W is the hidden block's curve again (it holds most of
    # the weights) and would only hide it
    blocks = [b for b in _BLOCKS if f"alignment_angle{b[0]}" in metrics[0]]
    if len(blocks) > 1:
        blocks = [b for b in blocks if b[0]]
    for suffix, label, style in blocks:
        key = f"alignment_angle{suffix}"
        line, = ax.plot(steps, [m[key] for m in metrics], label=label, ms=3.5,
                        markevery=every, **style)
        handles.append(line)
        best = f"alignment_best_given_signs{suffix}"
        if best in metrics[0]:
            dashed = {"ls": "--", "color": line.get_color(), "lw": style["lw"],
                      "alpha": style.get("alpha", 1.0)}
            ax.plot(steps, [m[best] for m in metrics], **dashed)
            handles.append(Line2D([], [], label=f"{label}: best angle given Dale's signs",
                                  **dashed))
    ax.axhline(90, color="0.3", lw=0.9, ls=":")
    handles.append(Line2D([], [], color="0.3", lw=0.9, ls=":",
                          label="90 degrees: B unrelated to W"))
    ax.set(xlabel="iteration", ylabel="angle between W and B (degrees)", ylim=(0, 100),
           title="feedback alignment: B is the feedback matrix that sends errors\n"
                 r"backwards in place of $W^\top$ (0 degrees: B = W, as in backprop)")
    fig.legend(handles=handles, fontsize="small", loc="outside lower center", ncol=2,
               frameon=False)
    return save_figure(fig, path)


def entropy_production_curve(metrics: list[dict], path: Path) -> Path:
    """Entropy production per transition of the T = 1 chain against iteration, with its
    interval as error bars and 0 (detailed balance) marked."""
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(6, 3.8), constrained_layout=True)
    rows = [m for m in metrics if m.get("ep") is not None]
    steps = [m["step"] for m in rows]
    value = [m["ep"] for m in rows]
    low = [max(0.0, m["ep"] - m["ep_ci_low"]) for m in rows]
    high = [max(0.0, m["ep_ci_high"] - m["ep"]) for m in rows]
    ax.errorbar(steps, value, yerr=[low, high], color="tab:purple", marker="o", ms=3.5,
                lw=1.2, capsize=2.5, label="estimate with 95% interval (batch means)")
    ax.axhline(0, color="0.3", lw=0.9, ls=":", label="0: detailed balance")
    ax.set(xlabel="iteration", ylabel="entropy production (nats/transition)",
           title=f"entropy production of the T = 1 chain during training\n"
                 f"({len(steps)} estimate{'s' if len(steps) != 1 else ''}, chains started from "
                 f"validation examples)")
    ax.legend(fontsize="small")
    return save_figure(fig, path)


def training_figures(metrics: list[dict], figures: Path, key: str = "loss",
                     ylabel: str = "negative bound (nats/example)",
                     xlabel: str = "iteration") -> None:
    """``loss_curve.png`` of the logged quantity ``key``; ``alignment.png`` when alignment
    angles were logged; ``entropy_production.png`` when entropy production was; nothing
    without metrics."""
    if not metrics:
        return
    loss_curve(metrics, figures / "loss_curve.png", key=key, ylabel=ylabel, xlabel=xlabel)
    if "alignment_angle" in metrics[-1]:
        alignment_curves(metrics, figures / "alignment.png")
    if any(m.get("ep") is not None for m in metrics):
        entropy_production_curve(metrics, figures / "entropy_production.png")
