"""Does a probability current buy mixing? Samplers of the same learned energy, with and
without detailed balance: the circulation table.

Usage::

    python -m biovw.reports.circulation [--root results] [--seeds 0 1 2]
        [--circulations 0 0.5 1 2 3] [--step 0.5]

For every seed, the equilibrium circuit trained by the ``equilibrium_mog`` results table
(``ROOT/equilibrium_mog/ROW/seedS``, made first if missing) is sampled by block Gibbs, by MALA
(its tuned step, and the step of the Langevin rows) and by unadjusted Langevin at a fixed
``--step`` (in units of sigma) with each circulation ``a``
(:func:`biovw.baselines.equilibrium.langevin_drift`: the drift gains the antisymmetric part
``a S J S``). Per sampler: the kernel-exact entropy production with its 95%
interval (1,000 chains from exact samples, 500 transitions after 200 of burn-in), the mixing of
200 recorded chains (IAT of the top principal component, effective samples per step and per
second, mode switches per step), how many chains started all in one mode have left it after
``--far`` steps, and the quality of 2,000 samples after ``--far`` steps (against the test
split). Writes ``docs/results/circulation.{md,json}``, the figure of within-mode IAT against
entropy production (``docs/figures/circulation.png``) and rewrites the page of every table.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from biovw.analysis.mixing import integrated_autocorrelation_time
from biovw.baselines.equilibrium import run_sampler
from biovw.quality import nearest_mode, sample_quality
from biovw.reports.pages import REPO, TABLES, mean_sd_text
from biovw.reports.results import TABLES as RESULT_TABLES
from biovw.reports.results import publish_table, run_row
from biovw.runs.analyze import analyze_equilibrium
from biovw.runs.build import open_run
from biovw.runs.labels import state_labels

COMMAND = "python -m biovw.reports.circulation"
NAME = "circulation"
TABLE = "equilibrium_mog"
FIGURE = REPO / "docs" / "figures" / "circulation.png"


def settings(circulations: Sequence[float], step: float) -> list[dict]:
    """The samplers compared: Gibbs, MALA (tuned and at ``step``), then unadjusted Langevin
    at ``step`` with each circulation."""
    return [{"label": "block Gibbs", "sampler": "gibbs", "step": None, "a": 0.0},
            {"label": "MALA (tuned step)", "sampler": "mala", "step": None, "a": 0.0},
            {"label": "MALA (the Langevin rows' step)", "sampler": "mala", "step": step,
             "a": 0.0},
            *({"label": f"unadjusted Langevin, a = {a:g}", "sampler": "langevin",
               "step": step, "a": float(a)} for a in circulations)]


def _run_dir(root: Path, seed: int) -> Path:
    table = RESULT_TABLES[TABLE]
    return run_row(table, table.rows[0], seed, root / TABLE, ())


def _left_start(model, sampler: str, mode: torch.Tensor, modes: torch.Tensor, radius: float,
                steps: int, gen: torch.Generator) -> float:
    """Share of 1,000 chains started at ``mode`` that are near another mode after ``steps``."""
    start = mode.expand(1000, -1) + model.sigma.detach() * torch.randn(1000, len(mode),
                                                                      generator=gen)
    end, _ = run_sampler(model, sampler, start, steps, gen)
    label = nearest_mode(end, modes, radius=radius)
    home = nearest_mode(mode[None], modes, radius=radius)[0]
    return float(((label >= 0) & (label != home)).float().mean())


def within_mode_iat(model, sampler: str, modes: torch.Tensor, steps: int,
                    gen: torch.Generator) -> float:
    """Largest IAT over coordinates of the displacement from the nearest mode centre, from 200
    chains of ``steps`` steps started at exact samples: how fast a chain forgets where it is
    inside its mode."""
    traj, _ = run_sampler(model, sampler, model.sample(200, gen), steps, gen, record=True)
    centre = modes[torch.cdist(traj, modes.expand(len(traj), -1, -1)).argmin(2)]
    return float(integrated_autocorrelation_time((traj - centre).numpy()).max())


def measure_seed(run: Path, setting: dict, seed: int, far: int) -> dict:
    """One sampler on one seed's run."""
    opened = open_run(run)
    model, cfg, data = opened.model, opened.cfg, opened.data
    if setting["step"] is not None:
        model.step_size.fill_(setting["step"])
    model.circulation = setting["a"]
    analysis = analyze_equilibrium(model, setting["sampler"], n_chains=1000, n_steps=500,
                                   burn_in=200, seed=seed, labels=state_labels(cfg, data))
    gen = torch.Generator().manual_seed(seed)
    started = time.perf_counter()
    samples, acceptance = run_sampler(model, setting["sampler"], model.sample(2000, gen), far,
                                      gen)
    seconds = time.perf_counter() - started
    quality = sample_quality(samples, data.test, modes=data.modes,
                             mode_radius=cfg.eval.mode_radius, seed=seed).to_dict()
    local = within_mode_iat(model, setting["sampler"], data.modes, 500, gen)
    left = _left_start(model, setting["sampler"], data.modes[0], data.modes,
                       cfg.eval.mode_radius, far, gen)
    result = analysis.result
    mixing = result["mixing"]
    return {"ep": result["entropy_production"]["kernel"],
            "ep_coarse": result["entropy_production"]["coarse_grained"],
            "iat": mixing["iat_summary"], "iat_within": local,
            "ess_per_step": mixing["ess_per_step"],
            "ess_per_second": mixing["ess_per_second"],
            "switches": (mixing.get("switching") or {}).get("rate"),
            "acceptance": acceptance, "step": float(model.step_size),
            "left_start": left, "near_mode": quality["near_mode_fraction"],
            "min_share": min(quality["mode_shares"]),
            "sliced_w2": quality["sliced_wasserstein"], "sampling_seconds": seconds}


def figure(record: dict, path: Path) -> Path:
    """Within-mode IAT against entropy production, one point per sampler and seed (log-log
    axes; entropy production 0 is drawn at the axis floor)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    floor = 1e-4
    fig, ax = plt.subplots(figsize=(6, 4))
    for row in record["rows"]:
        ep = [max(s["ep"]["value"], floor) for s in row["per_seed"]]
        ax.plot(ep, [s["iat_within"] for s in row["per_seed"]], "o", alpha=0.8,
                label=row["label"])
    ax.set(xscale="log", yscale="log", xlabel=f"entropy production (nats/step; 0 drawn at "
           f"{floor:g})", ylabel="IAT within a mode (steps)",
           title="the same learned energy, sampled with and without detailed balance")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _ep_cell(per_seed: list[dict]) -> str:
    values = [s["ep"]["value"] for s in per_seed]
    nonzero = sum(s["ep"]["ci_low"] > 0 or s["ep"]["ci_high"] < 0 for s in per_seed)
    return f"{mean_sd_text(values, 4)} ({nonzero}/{len(per_seed)} excl. 0)"


COLUMNS = (("acceptance", "acceptance", 3), ("iat", "IAT (steps)", 1),
           ("iat_within", "IAT within a mode (steps)", 2),
           ("ess_per_step", "eff. samples / step", 4), ("ess_per_second", "eff. samples / s", 0),
           ("switches", "mode switches / step", 5), ("left_start", "left a one-mode start", 3),
           ("near_mode", "near a mode", 3), ("min_share", "smallest mode share", 3),
           ("sliced_w2", "sliced W2", 3))


def markdown(record: dict) -> str:
    """The table and its caption."""
    head = ["sampler", "step (sigma)", "entropy production (nats/step)",
            *(title for _, title, _ in COLUMNS)]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in record["rows"]:
        seeds = row["per_seed"]
        cells = [row["label"], mean_sd_text([s["step"] for s in seeds], 2), _ep_cell(seeds)]
        cells += [mean_sd_text([s[k] if s[k] is not None else 0.0 for s in seeds], d)
                  for k, _, d in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    env = record["environment"]
    lines += ["", (
        f"Samplers of the same learned energy: the equilibrium circuit of the `{TABLE}` results "
        f"table (runs reused from it, trained at the commit its table names), seeds "
        f"{', '.join(map(str, record['seeds']))}, mean ± sd over seeds. Entropy production: "
        f"kernel-exact, 1,000 chains from exact samples, 500 transitions after 200 of burn-in "
        f"(k/n excl. 0: seeds whose 95% interval excludes 0). IAT of the top principal "
        f"component of 200 recorded chains of 500 steps (a lower bound where the chains are "
        f"shorter than 50 IATs), effective samples per step and per second (one torch thread), "
        f"IAT within a mode: largest over coordinates of the displacement from the nearest "
        f"mode centre (200 chains of 500 steps), "
        f"mode switches per step (0: none seen). Left a one-mode start: share of 1,000 chains "
        f"started at the mode (-1, -1) that sit near another mode after {record['far']:,} "
        f"steps (the data's 0.889). Sample quality of 2,000 chains {record['far']:,} steps "
        f"past exact samples against the test split (data floor sliced W2 "
        f"{record['floor_w2']:.3f}). Unadjusted Langevin: step {record['step']:g} sigma, drift "
        f"-(sigma^2 + a S J S) dF/dv. Made by `{COMMAND}` at commit {env['commit']} (torch "
        f"{env['torch']}, {env['torch_threads']} torch threads) in {record['wall_seconds']} s.")]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO / "results")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--circulations", type=float, nargs="+", default=[0, 0.5, 1, 2, 3])
    parser.add_argument("--step", type=float, default=0.5,
                        help="Unadjusted Langevin step in units of sigma.")
    parser.add_argument("--far", type=int, default=1000, help="Steps before sample quality.")
    parser.add_argument("--tables", type=Path, default=TABLES)
    parser.add_argument("--figure", type=Path, default=FIGURE)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    started = time.perf_counter()
    runs = {seed: _run_dir(args.root, seed) for seed in args.seeds}
    rows = [{**s, "per_seed": [measure_seed(runs[seed], s, seed, args.far)
                               for seed in args.seeds]}
            for s in settings(args.circulations, args.step)]
    opened = open_run(runs[args.seeds[0]])
    n = 2000
    floor = sample_quality(opened.data.train[:n], opened.data.test, seed=args.seeds[0])
    record = {"table": NAME, "command": COMMAND, "seeds": args.seeds, "rows": rows,
              "far": args.far,
              "step": args.step, "floor_w2": floor.sliced_wasserstein,
              "runs": [str(r) for r in runs.values()],
              "wall_seconds": round(time.perf_counter() - started)}
    figure(record, args.figure)
    publish_table(args.tables, NAME, record, markdown)


if __name__ == "__main__":
    main()
