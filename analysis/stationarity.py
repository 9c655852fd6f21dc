"""Does a trained sampler stay put? Sample quality against the number of extra T=1 steps.

Usage::

    python analysis/stationarity.py RUN_DIR --n 5000 --steps 0 10 100 1000 3000

Draws N chains from the run's model, records them after each number of extra steps past the
cool-down, and writes ``RUN_DIR/figures/stationarity.png`` and ``RUN_DIR/stationarity.json``
(sliced W2, MMD, energy distance and, for the mixture toy, near-mode fraction and mode shares
per snapshot). A stationary sampler shows flat curves.
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from biovw.runs import open_run  # noqa: E402
from biovw.runs.evaluation import draw_samples, snapshot_quality  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--n", type=int, default=5000, help="number of chains")
    parser.add_argument("--steps", type=int, nargs="+", default=[0, 10, 100, 1000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    opened = open_run(args.run_dir)
    run, cfg, data, model = opened.run, opened.cfg, opened.data, opened.model
    model.eval()
    snaps = draw_samples(cfg, model, args.n, args.steps, args.seed)
    quality = snapshot_quality(cfg, data, snaps, args.seed)
    run.write_json(run.root / "stationarity.json", quality)

    steps = sorted(snaps)
    sns.set_theme(style="whitegrid")
    metrics = ["sliced_wasserstein", "mmd"]
    if quality[str(steps[0])]["near_mode_fraction"] is not None:
        metrics.append("near_mode_fraction")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.2))
    for ax, name in zip(axes, metrics, strict=True):
        x = [max(s, 0.5) for s in steps]
        ax.plot(x, [quality[str(s)][name] for s in steps], marker="o")
        ax.axhline(quality["data_floor"][name], color="gray", ls="--", label="data floor")
        ax.set(xscale="log", xlabel="extra T=1 steps (0 plotted at 0.5)", title=name)
    axes[0].legend()
    fig.tight_layout()
    path = run.figures / "stationarity.png"
    fig.savefig(path, dpi=110)
    for s in steps:
        q = quality[str(s)]
        print(f"{s:>6} extra steps: sliced W2 {q['sliced_wasserstein']:.3f}, MMD {q['mmd']:.4f}"
              + (f", near a mode {q['near_mode_fraction']:.3f}"
                 if q["near_mode_fraction"] is not None else ""))
    print(f"wrote {path} and {run.root / 'stationarity.json'}")


if __name__ == "__main__":
    main()
