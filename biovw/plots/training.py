"""Training curves of a run: the logged loss and the feedback alignment angles."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns

from biovw.plots.figure import save_figure


def loss_curve(metrics: list[dict], path: Path, key: str = "loss",
               ylabel: str = "negative bound (nats/example)", xlabel: str = "iteration") -> Path:
    """A logged training quantity (by default the negative bound) against iteration."""
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    steps = [m["step"] for m in metrics]
    ax.plot(steps, [m[key] for m in metrics], lw=1.2)
    ax.set(xlabel=xlabel, ylabel=ylabel, title="training")
    return save_figure(fig, path)


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
    return save_figure(fig, path)


def training_figures(metrics: list[dict], figures: Path, key: str = "loss",
                     ylabel: str = "negative bound (nats/example)",
                     xlabel: str = "iteration") -> None:
    """``loss_curve.png`` of the logged quantity ``key`` and, when alignment angles were
    logged, ``alignment.png``; nothing without metrics."""
    if not metrics:
        return
    loss_curve(metrics, figures / "loss_curve.png", key=key, ylabel=ylabel, xlabel=xlabel)
    if "alignment_angle" in metrics[-1]:
        alignment_curves(metrics, figures / "alignment.png")
