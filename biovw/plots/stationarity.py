"""Sample quality against the number of sampler steps from a start, with the estimators'
noise."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from biovw.plots.figure import save_figure

_STARTS = {"cooldown": "started after the cool-down",
           "one_mode": "every chain started in one mode or class",
           "heldout": "started on held-out data"}

_LABELS = {
    "sliced_wasserstein": "sliced W2 to held-out data",
    "mmd": "MMD$^2$ to held-out data",
    "energy_distance": "energy distance to held-out data",
    "near_mode_fraction": "fraction of samples near a mode",
    "min_mode_share": "smallest mode share",
    "mode_tv": "mode shares: TV distance to held-out data",
    "class_tv": "class shares: TV distance to held-out data",
    "min_class_share": "smallest class share",
}


def stationarity_curves(report: dict, path: Path) -> Path:
    """One panel per metric: its mean over the groups of chains (± one group-to-group sd)
    against the extra steps, the data floor at the same group size dashed (± sd shaded), and
    the paired change from the first to the last snapshot with its 95% interval in the title.

    Parameters
    ----------
    report : dict
        :meth:`biovw.runs.stationarity.Stationarity.to_dict`.
    path : Path
    """
    steps = report["steps"]
    groups = report["groups"]
    sampler = report.get("sampler", "the T = 1 chain")
    start = _STARTS.get(report.get("start", "cooldown"), report.get("start"))
    metrics = list(groups[str(steps[0])])
    sns.set_theme(style="whitegrid")
    cols = min(3, len(metrics))
    rows = -(-len(metrics) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.6 * rows), squeeze=False,
                             constrained_layout=True)
    x = np.array([max(s, 0.5) for s in steps])
    floor = report.get("floor", {})
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, metrics, strict=False):
        mean = np.array([groups[str(s)][name]["mean"] for s in steps])
        sd = np.array([groups[str(s)][name]["sd"] for s in steps])
        size = report["n_chains"] // report["n_groups"]
        ax.errorbar(x, mean, yerr=sd, marker="o", capsize=3,
                    label=f"mean of {report['n_groups']} groups of {size:,} chains ± sd")
        if name in floor:
            f = floor[name]
            ax.axhline(f["mean"], color="gray", ls="--",
                       label=f"data floor: groups of {size:,} training examples")
            ax.axhspan(f["mean"] - f["sd"], f["mean"] + f["sd"], color="gray", alpha=0.15,
                       lw=0)
        c = report["change"][name]
        mark = "worse" if c["worse"] else "no worse"
        ax.set(xscale="log", xlabel="sampler steps from the start (0 drawn at 0.5)",
               ylabel=_LABELS.get(name, name),
               title=f"{_LABELS.get(name, name)}\nchange {steps[0]}->{steps[-1]}: "
                     f"{c['diff']:+.3g} [{c['ci_low']:+.3g}, {c['ci_high']:+.3g}] ({mark})")
        ax.title.set_fontsize("small")
    axes[0][0].legend(fontsize="x-small", loc="best")
    fig.suptitle(f"{report['verdict']}\n({sampler}, {start})", fontsize="medium")
    return save_figure(fig, path)
