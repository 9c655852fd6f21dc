"""The figure of a sweep: each grid point's seeds and their mean ± sd."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from biovw.plots.figure import save_figure

PANELS = (("loglik", "held-out log-likelihood (nats/example)"),
          ("sliced_w2", "sliced W2 to held-out data (last snapshot)"))
"""The quantities shown, one panel each: row key and axis label."""


def sweep_figure(rows: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Held-out log-likelihood and sliced W2 of every grid point of
    :func:`biovw.runs.sweep.sweep_table`: one dot per finished seed, the mean with a bar of
    ± one sample standard deviation, ``n/a`` for a point without a finished seed."""
    sns.set_theme(style="whitegrid")
    n = len(rows)
    fig, axes = plt.subplots(1, len(PANELS), figsize=(11, 1.6 + 0.5 * n), sharey=True,
                             squeeze=False)
    ys = np.arange(n)[::-1]
    mean_color, seed_color = sns.color_palette("colorblind", 2)
    for ax, (key, label) in zip(axes[0], PANELS, strict=True):
        shown = False
        for y, row in zip(ys, rows, strict=True):
            values = row["values"][key]
            if not values:
                ax.text(0.02, y, "n/a", va="center", transform=ax.get_yaxis_transform())
                continue
            ax.plot(values, [y] * len(values), "o", ms=4, alpha=0.5, color=seed_color,
                    label=None if shown else "one seed")
            ax.errorbar(row[f"{key}_mean"], y, xerr=row[f"{key}_sd"] or 0.0, fmt="D", ms=6,
                        capsize=4, color=mean_color,
                        label=None if shown else "mean ± sd over seeds")
            shown = True
        ax.set(xlabel=label)
        ax.xaxis.set_major_locator(plt.MaxNLocator(5))
        ax.margins(x=0.1)
        if shown:
            ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False,
                      fontsize="small")
    labels = [f"{r['label']}\n{r['n_finished']}/{r['n_seeds']} seeds" for r in rows]
    axes[0][0].set_yticks(ys, labels)
    axes[0][0].set_ylim(-0.7, n - 0.3)
    return save_figure(fig, path)
