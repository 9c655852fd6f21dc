"""Does a trained sampler stay put? Sample quality against the number of extra T=1 steps.

Usage::

    python analysis/stationarity.py RUN_DIR --n 2000 --steps 0 10 100 1000 10000 [--split test]

Cools N chains down from p* and advances them once, recording them after each number of extra
steps on the way (one run of the chains, not one per step count). The chains are split into
``--groups`` disjoint groups; every metric (sliced W2, MMD, energy distance, and for the mixture
toy the near-mode fraction and the smallest mode share) is computed per group, so it comes with
its group-to-group spread, and the change from the first to the last snapshot is a paired
difference over the groups with a 95% t interval. The verdict reads "quality after 10,000 steps
no worse than after 0 beyond noise" when no metric's interval lies entirely on the worse side.

Writes ``RUN_DIR/stationarity.json`` (``quality``, ``groups``, ``change``, ``stationary``,
``verdict``), ``RUN_DIR/figures/stationarity.png`` (the curves with error bars) and
``RUN_DIR/figures/stationarity_samples.png`` (the samples at each step count: an image grid per
step count for image data, a scatter per step count in the plane).
"""

from __future__ import annotations

import argparse
import dataclasses

import torch

from biovw import plots
from biovw.runs import open_run
from biovw.runs.stationarity import check_stationarity


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--n", type=int, default=2000, help="number of chains")
    parser.add_argument("--steps", type=int, nargs="+", default=[0, 10, 100, 1000, 10000])
    parser.add_argument("--groups", type=int, default=10,
                        help="disjoint groups of chains whose spread is the metrics' noise")
    parser.add_argument("--split", choices=["valid", "test"], default=None,
                        help="held-out split the samples are scored against "
                             "[default: the run's eval.split]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    opened = open_run(args.run_dir)
    run = opened.run
    cfg = opened.cfg
    if args.split is not None:
        cfg = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, split=args.split))
    try:
        report = check_stationarity(cfg, opened.model, opened.data, args.n, args.steps,
                                    args.seed, args.groups)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    result = report.to_dict()
    run.write_json(run.root / "stationarity.json", result)
    curves = plots.stationarity_curves(result, run.figures / "stationarity.png")
    grids = plots.chain_over_time(report.samples, report.image_shape,
                                  run.figures / "stationarity_samples.png",
                                  reference=report.reference, split=report.split)
    for s in report.steps:
        g = report.groups[str(s)]
        print(f"{s:>6} extra steps: " + ", ".join(
            f"{name} {v['mean']:.4g} ± {v['sd']:.2g}" for name, v in g.items()))
    print(f"{report.verdict} ({report.n_chains} chains in {report.n_groups} groups, "
          f"{report.seconds:.0f} s)")
    print(f"wrote {curves}, {grids} and {run.root / 'stationarity.json'}")


if __name__ == "__main__":
    main()
