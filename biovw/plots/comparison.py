"""The figure of a comparison of runs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from biovw.plots.figure import save_figure

_NA = "n/a"


def _symlog_threshold(values: Sequence[float]) -> float:
    nonzero = [abs(v) for v in values if v != 0]
    if not nonzero:
        return 1e-3
    return float(10 ** math.floor(math.log10(min(nonzero))))


def _legend_above(ax: plt.Axes) -> None:
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False,
              fontsize="small")


def comparison_figure(rows: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Held-out log-likelihood (with bound and independent baseline) and entropy production
    per step of every row of :func:`biovw.runs.compare_runs`'s table, side by side."""
    sns.set_theme(style="whitegrid")
    n = len(rows)
    fig, (ax_ll, ax_ep) = plt.subplots(1, 2, figsize=(11, 1.6 + 0.55 * n), sharey=True)
    ys = np.arange(n)[::-1]
    labels = [f"{r['run']}\n{r['model']}" for r in rows]
    colors = sns.color_palette("colorblind", 3)

    shown = {"ll": False, "bound": False, "base": False}
    for y, row in zip(ys, rows, strict=True):
        if row["loglik"] is None:
            ax_ll.text(0.02, y, _NA, va="center", transform=ax_ll.get_yaxis_transform())
        else:
            ax_ll.errorbar(row["loglik"], y, xerr=row["loglik_se"] or 0.0, fmt="o",
                           color=colors[0], capsize=3,
                           label=None if shown["ll"] else "log-likelihood ± s.e.")
            shown["ll"] = True
        if row["bound"] is not None:
            ax_ll.errorbar(row["bound"], y, xerr=row["bound_se"] or 0.0, fmt="s",
                           mfc="none", color=colors[1], capsize=3,
                           label=None if shown["bound"] else "VW bound ± s.e.")
            shown["bound"] = True
        if row["baseline_loglik"] is not None:
            ax_ll.plot(row["baseline_loglik"], y, marker="|", ms=14, mew=2, ls="none",
                       color="0.4", label=None if shown["base"] else "independent baseline")
            shown["base"] = True
    ax_ll.set(xlabel="held-out log-likelihood (nats/example)")
    ax_ll.set_yticks(ys, labels)
    if any(shown.values()):
        _legend_above(ax_ll)

    values = [v for r in rows for v in (r["ep"], r["ep_ci_low"], r["ep_ci_high"])
              if v is not None]
    shown_lb = shown_pt = False
    for y, row in zip(ys, rows, strict=True):
        if row["ep"] is None:
            ax_ep.text(0.02, y, f"{_NA} (no estimate)", va="center",
                       transform=ax_ep.get_yaxis_transform())
            continue
        lo = row["ep_ci_low"] if row["ep_ci_low"] is not None else row["ep"]
        hi = row["ep_ci_high"] if row["ep_ci_high"] is not None else row["ep"]
        xerr = [[max(row["ep"] - lo, 0.0)], [max(hi - row["ep"], 0.0)]]
        if row["ep_lower_bound"]:
            ax_ep.errorbar(row["ep"], y, xerr=xerr, fmt=">", color=colors[2], capsize=3,
                           label=None if shown_lb else "coarse-grained lower bound, 95% CI")
            shown_lb = True
        else:
            ax_ep.errorbar(row["ep"], y, xerr=xerr, fmt="o", color=colors[0], capsize=3,
                           label=None if shown_pt else "estimate, 95% CI")
            shown_pt = True
        ax_ep.annotate(row["ep_estimator"], (row["ep"], y), textcoords="offset points",
                       xytext=(0, 7), ha="center", fontsize="x-small")
    ax_ep.axvline(0.0, color="0.5", lw=0.8)
    ax_ep.set_xscale("symlog", linthresh=_symlog_threshold(values))
    ax_ep.set(xlabel="entropy production per step (nats/step, symlog)")
    ax_ep.margins(x=0.08)
    if shown_lb or shown_pt:
        _legend_above(ax_ep)
    ax_ll.set_ylim(-0.7, n - 0.3)
    return save_figure(fig, path)
