"""Probability currents of learned circuits on the 2-D toys, side by side.

Usage::

    biovw train circuits/rate_net.yaml --out runs/mog
    biovw train circuits/rate_net.yaml --set data.name=circle --out runs/circle
    python analysis/currents_toys.py runs/mog runs/circle --out currents

For each run, parallel chains start after the cool-down and run at T=1; the stationary density
(grey) and the coarse-grained probability flux (arrows, midpoint estimator) are drawn in the
data plane, with the circulation of the current about the mean (positive: counter-clockwise)
and the kernel-exact entropy production in each panel's title. Writes ``OUT/currents.png``
and ``OUT/currents.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from biovw.analysis import entropy_production_kernel, probability_current_grid, simulate  # noqa: E402,E501
from biovw.plots import reliable_arrows  # noqa: E402
from biovw.runs import open_run  # noqa: E402
from biovw.walkback import StationaryKernel, sample_chain  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("currents"))
    parser.add_argument("--chains", type=int, default=500)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--bins", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(args.runs), figsize=(4.5 * len(args.runs), 4.4),
                             squeeze=False)
    rows = []
    for ax, run_dir in zip(axes[0], args.runs, strict=True):
        opened = open_run(run_dir)
        cfg, data, model = opened.cfg, opened.data, opened.model
        if data.dim != 2:
            raise SystemExit(f"{run_dir}: currents are drawn for 2-D data, got {data.dim}-D")
        model.eval()
        gen = torch.Generator().manual_seed(args.seed)
        kernel = StationaryKernel(model)
        with torch.no_grad():
            start = sample_chain(model, args.chains, [100], gen)[100]
            ep = entropy_production_kernel(kernel, start, args.steps, generator=gen)
            traj = simulate(kernel, start, args.steps, gen).numpy()
        field = probability_current_grid(traj, bins=args.bins)
        extent = (field.x_edges[0], field.x_edges[-1], field.y_edges[0], field.y_edges[-1])
        ax.imshow(field.density.T, origin="lower", extent=extent, cmap="Greys")
        gx, gy, jx, jy = reliable_arrows(field)
        ax.quiver(gx, gy, jx, jy, color="tab:red", angles="xy", pivot="mid")
        ax.set_title(f"{run_dir.name}: sigma {ep.value:.2g} nats/step\n"
                     f"circulation {field.circulation():.2g}", fontsize=9)
        rows.append({"run": str(run_dir), "data": cfg.data.name,
                     "entropy_production": ep.to_dict(), "currents": field.to_dict()})
        print(f"{run_dir}: sigma {ep.value:.4g} [{ep.ci_low:.4g}, {ep.ci_high:.4g}] nats/step, "
              f"circulation {field.circulation():.4g}")
    fig.tight_layout()
    fig.savefig(args.out / "currents.png", dpi=110)
    (args.out / "currents.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {args.out / 'currents.png'} and {args.out / 'currents.json'}")


if __name__ == "__main__":
    main()
