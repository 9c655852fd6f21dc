"""The entropy-production benchmark's power curves."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns

from biovw.plots.figure import save_figure


def power_curves(rows: list[dict], path: Path) -> Path:
    """Detection rate against recording length, one panel per irreversible chain, our
    estimators solid and the ``irreversibility`` package's tests dashed.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`biovw.analysis.epbench.run_benchmark` (chain, estimator, setting,
        control, length, reject_rate, peer); only the full-observation, non-control rows
        are drawn.
    path : Path
        PNG to write.
    """
    cases = list(dict.fromkeys(r["chain"] for r in rows))
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
        ax.axhline(0.05, color="grey", linewidth=0.8, label="alpha = 0.05")
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(chain)
        ax.set_xlabel("recording length (steps)")
    axes[0][0].set_ylabel("fraction of recordings rejected\n(power at alpha = 0.05)")
    axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5),
                       title="dashed: irreversibility pkg", title_fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)
