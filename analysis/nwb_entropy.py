"""Spikes in an NWB file -> entropy production per condition, with intervals, and the
probability current of each condition on the top-2 PCA plane.

Usage::

    python analysis/nwb_entropy.py SESSION.nwb --bin-ms 10 [--trials trials]
        [--condition stimulus] [--units 3,7,12] [--rates]
        [--methods plugin,tur,var,hkmeans] [--out nwb_ep]

Every interval of the ``--trials`` table (``trials`` by default) becomes one chain: its spikes
are binned at ``--bin-ms`` from its start, and the chains of each value of ``--condition`` are
analysed together (the intervals resample whole trials when a condition has ten or more).
Writes, into ``--out``:

* ``entropy_production.csv`` -- one row per condition and estimator: value and 95% interval
  in nats per bin and per second, lower bound or not, p-value of detailed balance, trials,
  bins, and the recording length needed to detect the value at 80% power;
* ``summary.json`` -- the same with every setting used;
* ``entropy_production.png`` -- the estimates with their intervals, by condition;
* ``currents_<condition>.png`` -- stationary density and probability current of each
  condition on one shared top-2 PCA plane (binned counts, not smoothed).

Copy it and change what you need: it is the library calls of ``biovw analyze --trajectory``
(:func:`biovw.data.recordings.read_recording`, :func:`biovw.analysis.report.analyze_recording`)
plus two figures.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from biovw import plots  # noqa: E402
from biovw.analysis.report import analyze_recording  # noqa: E402
from biovw.data.recordings import read_recording  # noqa: E402


def estimates_figure(rows: list[dict], path: Path) -> None:
    """Estimates with 95% intervals, one panel per estimator, conditions side by side."""
    methods = list(dict.fromkeys(r["estimator"] for r in rows))
    conditions = list(dict.fromkeys(r["condition"] for r in rows))
    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, len(methods), figsize=(3.2 * len(methods), 3.2), squeeze=False)
    for ax, method in zip(axes[0], methods, strict=True):
        sel = [r for r in rows if r["estimator"] == method]
        for i, cond in enumerate(conditions):
            for r in (r for r in sel if r["condition"] == cond):
                ax.errorbar(i, r["value"], yerr=[[r["value"] - r["ci_low"]],
                                                 [r["ci_high"] - r["value"]]],
                            fmt="o", capsize=4, color=sns.color_palette()[i % 10])
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xticks(range(len(conditions)), conditions, rotation=30)
        bound = " (lower bound)" if sel and sel[0]["lower_bound"] else ""
        ax.set_title(f"{method}{bound}", fontsize=9)
    axes[0][0].set_ylabel("entropy production (nats/bin)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("nwb", type=Path)
    parser.add_argument("--bin-ms", type=float, required=True)
    parser.add_argument("--trials", default="trials", help="intervals table (chains)")
    parser.add_argument("--condition", default=None, help="column of the intervals table")
    parser.add_argument("--units", default=None, help="comma-separated unit ids")
    parser.add_argument("--rates", action="store_true", help="spikes/s instead of counts")
    parser.add_argument("--methods", default="plugin,tur,var")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("nwb_ep"))
    args = parser.parse_args(argv)

    units = None if args.units is None else [int(u) for u in args.units.split(",")]
    recording = read_recording(args.nwb, bin_ms=args.bin_ms, rates=args.rates,
                               trials=args.trials, condition=args.condition, units=units)
    report = analyze_recording(recording.chains, dt=recording.dt,
                               conditions=recording.conditions,
                               methods=args.methods.split(","), power=True, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for cond, by_method in report.estimates.items():
        sizes = report.result["conditions"][cond]["power"]
        for method, records in by_method.items():
            for r in records:
                rate = r.per_second()
                level = f" k={r.settings['n_states']}" if method == "hkmeans" else ""
                rows.append({
                    "condition": cond, "estimator": method + level, "value": r.value,
                    "ci_low": r.ci_low, "ci_high": r.ci_high,
                    "value_per_s": rate[0], "ci_low_per_s": rate[1], "ci_high_per_s": rate[2],
                    "lower_bound": r.lower_bound, "p_value": r.p_value, "trials": r.n_chains,
                    "bins": r.n_transitions, "bins_for_80pct_power": sizes[method]["transitions"],
                })
    with open(args.out / "entropy_production.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary = {**report.result, "source": recording.source, "units": recording.units}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    estimates_figure(rows, args.out / "entropy_production.png")
    scale = plots.arrow_scale(report.fields.values())  # one key across the conditions
    for cond, field in report.fields.items():
        plots.current_field(field, args.out / f"currents_{cond}.png",
                            f"probability current, {cond} ({report.result['plane']})",
                            scale=scale)
    for row in rows:
        print(f"{row['condition']:>12} {row['estimator']:<12} {row['value']:.4g} "
              f"[{row['ci_low']:.4g}, {row['ci_high']:.4g}] nats/bin, p = {row['p_value']}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
