"""How fast each sampler mixes, over seeds: the mixing table.

Usage::

    python -m biovw.reports.mixing --settings default --samplers chain cycle:15 cycle \\
        --chains 200 --steps 1000

For every setting of :mod:`biovw.reports.stationarity`, every sampler and every seed, runs
``biovw mixing RUN --chains C --steps S --start START --sampler SAMPLER --cycle-steps K`` on
the finished run of a :mod:`biovw.reports.results` table (``ROOT/TABLE/ROW/seedS``) unless
the run holds that report, and writes, per row, the mean ± sd over seeds of: the integrated
autocorrelation time of the top principal component (in sampler steps), effective samples per
step, per operator transition and per second, split-R-hat, and switches between modes or classes per
step (with the largest 95% upper bound over seeds when none was seen), and in how many seeds
the chains were long enough for Sokal's check (50 IATs). Writes ``TABLES/NAME.{md,json}``
(``--name``, default ``mixing``), rewrites the results page and, with ``--readme``, the text
between ``<!-- results:NAME -->`` markers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from biovw.reports.pages import REPO, TABLES, environment, mean_sd_text
from biovw.reports.stationarity import (
    SETTINGS,
    START_LABELS,
    _sampler,
    finished_runs,
    publish,
    sampler_label,
    samplers_arg,
)

COLUMNS = (("iat_summary", "IAT (steps)", 3), ("ess_per_step", "eff. samples / step", 4),
           ("ess_per_transition", "eff. samples / transition", 5),
           ("ess_per_second", "eff. samples / s", 0), ("rhat_summary", "split R-hat", 3))


def run_mixing(run: Path, chains: int, steps: int, start: str, sampler: str, depth: int) -> dict:
    """The run's mixing report for this start and sampler, made by ``biovw mixing`` unless the
    run holds one with these chains and steps."""
    name = "mixing" + ("" if start == "cooldown" else f"_{start}") + (
        "" if sampler == "chain" else f"_{sampler}{depth or ''}")
    path = run / f"{name}.json"
    if path.is_file():
        old = json.loads(path.read_text())
        if old["n_chains"] == chains and old["n_steps"] == steps + 1:
            return old
    cmd = [sys.executable, "-m", "biovw", "mixing", str(run), "--chains", str(chains),
           "--steps", str(steps), "--start", start, "--sampler", sampler, "--cycle-steps",
           str(depth), "--name", name, "--threads", "1"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}: {' '.join(tail)}")
    return json.loads(path.read_text())


def _switching(runs: list[dict]) -> str:
    rates = [r["switching"] for r in runs if r.get("switching")]
    if not rates:
        return "-"
    if all(s["n_switches"] == 0 for s in rates):
        return f"0 (< {max(s['upper'] for s in rates):.1e})"
    return mean_sd_text([s["rate"] for s in rates], 4)


def aggregate(reports: dict[str, list[dict]], seeds: Sequence[int]) -> tuple[str, dict]:
    """Markdown table and JSON record from each row's per-seed mixing reports."""
    head = ["setting", *[title for _, title, _ in COLUMNS], "switches / step",
            "Sokal's check (seeds)"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    record: dict = {"seeds": list(seeds), "rows": []}
    for label, runs in reports.items():
        cells = [mean_sd_text([r[key] for r in runs], digits) for key, _, digits in COLUMNS]
        reliable = sum(bool(r["reliable"]) for r in runs)
        lines.append("| " + " | ".join([label, *cells, _switching(runs),
                                        f"{reliable} of {len(runs)}"]) + " |")
        record["rows"].append({"label": label, "runs": runs})
    first = next(iter(reports.values()))[0]
    env = {**environment(), "torch_threads": 1}  # every report ran with --threads 1
    caption = (f"Mixing of each sampler, {first['n_chains']} chains of {first['n_steps'] - 1:,} "
               f"recorded steps per run, started as the row says: mean ± sd over seeds "
               f"{', '.join(map(str, seeds))}. IAT: integrated autocorrelation time of the "
               f"states' top principal component in sampler steps (Sokal's window); effective "
               f"samples per step, per operator transition (a cycle of k heating and k cooling "
               f"steps is 2k transitions) and per second of wall time (one torch thread); "
               f"split-R-hat of the same summary (rank-normalised); switches between modes "
               f"per sampler step (0: none seen, with the largest 95% upper bound over seeds). "
               f"Sokal's check: seeds whose chains were at least 50 IATs long (else the IAT is "
               f"a lower bound). Made by `python -m biovw.reports.mixing` at commit "
               f"{env['commit']} (torch {env['torch']}).")
    all_runs = [r for rs in reports.values() for r in rs]
    record.update(environment=env, date=datetime.date.today().isoformat(), caption=caption,
                  seconds=sum(r["seconds"] or 0 for r in all_runs), n_runs=len(all_runs))
    return "\n".join(lines) + "\n\n" + caption + "\n", record


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO / "results")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--chains", type=int, default=200)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--settings", nargs="+", default=["default"])
    parser.add_argument("--starts", nargs="+", default=["cooldown"], choices=list(START_LABELS))
    parser.add_argument("--samplers", nargs="+", default=["chain"], type=_sampler)
    parser.add_argument("--name", default="mixing")
    parser.add_argument("--tables", type=Path, default=TABLES)
    parser.add_argument("--readme", type=Path, default=None)
    args = parser.parse_args(argv)
    reports: dict[str, list[dict]] = {}
    for setting in [s for s in SETTINGS if s.table in args.settings]:
        runs = finished_runs(setting, args.root, args.seeds)
        for start in args.starts:
            for sampler, depth in args.samplers:
                label = ", ".join([setting.label, sampler_label(sampler, depth)]
                                  + ([START_LABELS[start]] if args.starts != ["cooldown"]
                                     else []))
                reports[label] = [run_mixing(r, args.chains, args.steps, start, sampler, depth)
                                  for r in runs]
    markdown, record = aggregate(reports, args.seeds)
    record["command"] = (f"python -m biovw.reports.mixing --seeds "
                         f"{' '.join(map(str, args.seeds))} --chains {args.chains} --steps "
                         f"{args.steps} --settings {' '.join(args.settings)} --starts "
                         f"{' '.join(args.starts)} --samplers {samplers_arg(args.samplers)} "
                         f"--name {args.name}")
    publish(args.tables, args.name, markdown, record, args.readme)


if __name__ == "__main__":
    main()
