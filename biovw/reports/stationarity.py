"""Sample quality far past K, over seeds: the stationarity tables.

Usage::

    python -m biovw.reports.stationarity --root results
    python -m biovw.reports.stationarity --settings default --starts one_mode \\
        --samplers chain cycle:10 cycle:15 cycle --split valid --name cycle_depth

For every setting below, every start, every sampler and every seed, runs ``biovw stationarity
RUN --n N --steps 0,10,100,1000,10000 --groups G --start START --sampler SAMPLER --cycle-steps K
--split SPLIT`` on the finished run of a :mod:`biovw.reports.results` table (``ROOT/TABLE/ROW/
seedS``; train it with that script first) unless the run already holds that report. The table
gives, per row and metric, the metric at each step count (mean over seeds of each run's mean
over its groups of chains, ± sd over seeds), the data floor (as many training examples scored
the same way), the paired change from the first to the last step count (its mean over seeds and
in how many seeds its 95% interval lies entirely on the worse side), for the mode or class share
distance the first step count within the data's own spread per seed, for a start in one mode or
class the fraction of chains out of it, and how many seeds' verdict is "no worse beyond noise".
Writes ``TABLES/NAME.{md,json}`` (``--name``, default ``stationarity``), rewrites the results
page beside ``TABLES`` and, with ``--readme``, the text between ``<!-- results:NAME -->``
markers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biovw.reports.pages import REPO, TABLES, environment, mean_sd_text, splice
from biovw.reports.results import write_page
from biovw.runs.stationarity import report_name


@dataclass(frozen=True)
class Setting:
    """One trained row of a results table whose chains are followed far past K."""

    label: str
    table: str
    row: str


SETTINGS = (
    Setting("Dale rate circuit, fa (the default job)", "default", "fa_dale_default_job"),
    Setting("the paper's MLP on the mixture", "rules",
            "the_paper_s_mlp_its_k_30_factor_1_1_600_iterations"),
    Setting("the paper's MLP on binarized MNIST, 300 iterations", "mnist",
            "vw_the_paper_s_mlp_300_iterations_chosen_on_validation"),
    Setting("the paper's MLP on binarized MNIST, 150 iterations", "mnist",
            "vw_the_paper_s_mlp_150_iterations"),
    Setting("the paper's MLP on binarized MNIST, 4,000 iterations", "mnist",
            "vw_the_paper_s_mlp_4_000_iterations"),
)
METRICS = (("sliced_wasserstein", "sliced W2"), ("mmd", "MMD"),
           ("energy_distance", "energy distance"), ("near_mode_fraction", "near a mode"),
           ("min_mode_share", "smallest mode share"), ("mode_tv", "mode shares, TV"),
           ("class_tv", "class shares, TV"), ("min_class_share", "smallest class share"))
START_LABELS = {"cooldown": "after the cool-down", "one_mode": "every chain in one mode or class",
                "heldout": "on held-out data"}


def _sampler(text: str) -> tuple[str, int]:
    """``chain``, ``cycle`` or ``cycle:K`` -> (kind, heating steps; 0: all)."""
    kind, _, depth = text.partition(":")
    if kind not in ("chain", "cycle") or (depth and (kind == "chain" or not depth.isdigit())):
        raise argparse.ArgumentTypeError(f"expected chain, cycle or cycle:K, got {text!r}")
    return kind, int(depth or 0)


def sampler_label(kind: str, depth: int) -> str:
    """A sampler in words, for row labels."""
    if kind == "chain":
        return "the T = 1 chain"
    return f"cycles of {depth} steps" if depth else "cycles through all K steps"


def samplers_arg(samplers: Sequence[tuple[str, int]]) -> str:
    """``--samplers`` as given on the command line."""
    return " ".join(s if s == "chain" else f"{s}:{k}" if k else s for s, k in samplers)


def finished_runs(setting: Setting, root: Path, seeds: Sequence[int]) -> list[Path]:
    """The setting's run per seed; exits naming the first that has not finished."""
    runs = [root / setting.table / setting.row / f"seed{s}" for s in seeds]
    missing = [str(r) for r in runs if not (r / "summary.json").is_file()]
    if missing:
        raise SystemExit(f"error: no finished run at {missing[0]} (train it with "
                         f"python -m biovw.reports.results {setting.table} --root {root})")
    return runs


def publish(tables: Path, name: str, markdown: str, record: dict, readme: Path | None) -> None:
    """Write ``TABLES/NAME.{md,json}``, the results page and, with ``readme``, its block."""
    tables.mkdir(parents=True, exist_ok=True)
    (tables / f"{name}.md").write_text(markdown)
    (tables / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(markdown)
    write_page(tables, tables.parent / "tables.md")
    if readme is not None and not splice(readme, name, markdown):
        raise SystemExit(f"error: {readme} has no <!-- results:{name} --> markers")


def run_stationarity(run: Path, n: int, steps: Sequence[int], groups: int,
                     start: str = "cooldown", sampler: str = "chain",
                     cycle_steps: int = 0, split: str = "test") -> dict:
    """The run's stationarity report for this start and sampler, made by ``biovw
    stationarity`` unless the run holds one with these chains, step counts and groups."""
    suffix = "" if split == "test" else f"_{split}"
    if sampler == "cycle" and cycle_steps:
        suffix = f"_k{cycle_steps}{suffix}"
    path = run / f"{report_name(start, sampler)}{suffix}.json"
    if path.is_file():
        old = json.loads(path.read_text())
        if (old["n_chains"] == n and old["n_groups"] == groups and old.get("split") == split
                and old["steps"] == sorted(set(steps))
                and old.get("start", "cooldown") == start):
            return old
    cmd = [sys.executable, "-m", "biovw", "stationarity", str(run), "--n", str(n),
           "--groups", str(groups), "--steps", ",".join(map(str, steps)), "--split", split,
           "--start", start, "--sampler", sampler, "--cycle-steps", str(cycle_steps),
           "--threads", "1", "--name", path.stem]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}: {' '.join(tail)}")
    return json.loads(path.read_text())


def _reached(runs: list[dict], key: str) -> str:
    """Per seed, the first step count whose share distance was within the data's spread."""
    found = [r.get("steps_to_data", {}).get(key, "-") for r in runs]
    return ", ".join("never" if v is None else f"{v:,}" if isinstance(v, int) else "-"
                     for v in found)


def aggregate(reports: dict[str, list[dict]], seeds: Sequence[int],
              sampler: str = "the T = 1 chain", split: str = "test") -> tuple[str, dict]:
    """Markdown table and JSON record from each setting's per-seed stationarity reports."""
    first = next(r for rs in reports.values() for r in rs)
    steps = first["steps"]
    head = (["setting", "metric"] + [f"{s:,} steps" for s in steps]
            + ["data floor", f"change {steps[0]:,} → {steps[-1]:,} (worse in)",
               "within the data's spread at (per seed)", "no worse (seeds)"])
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    record: dict = {"seeds": list(seeds), "steps": steps, "settings": []}
    for label, runs in reports.items():
        entry = {"label": label, "runs": runs, "metrics": {}}
        names = [(k, t) for k, t in METRICS if k in runs[0]["groups"][str(steps[0])]]
        stationary = sum(bool(r["stationary"]) for r in runs)
        for i, (key, title) in enumerate(names):
            per_step = [[r["groups"][str(s)][key]["mean"] for r in runs] for s in steps]
            floor = [r["floor"][key]["mean"] for r in runs if key in r.get("floor", {})]
            diffs = [r["change"][key]["diff"] for r in runs]
            worse = sum(bool(r["change"][key]["worse"]) for r in runs)
            cells = [mean_sd_text(v, 4) for v in per_step]
            change = f"{np.mean(diffs):+.4f} ({worse} of {len(runs)})"
            reached = _reached(runs, key) if key in ("mode_tv", "class_tv") else ""
            lines.append("| " + " | ".join(
                [label if i == 0 else "", title, *cells, mean_sd_text(floor, 4) if floor else "-",
                 change, reached, f"{stationary} of {len(runs)}" if i == 0 else ""]) + " |")
            entry["metrics"][key] = {"per_step": dict(zip(map(str, steps), per_step, strict=True)),
                                     "floor": floor, "diff": diffs, "worse": worse}
        moved = [[r["moved"].get(str(s)) for r in runs] for s in steps] \
            if runs[0].get("moved") else None
        if moved and all(v is not None for vs in moved for v in vs):
            lines.append("| " + " | ".join(["", "chains out of their start mode or class",
                                            *[mean_sd_text(v, 4) for v in moved], "-", "-", "", ""])
                         + " |")
            entry["moved"] = dict(zip(map(str, steps), moved, strict=True))
        entry["stationary"] = stationary
        record["settings"].append(entry)
    env = {**environment(), "torch_threads": 1}  # every report ran with --threads 1
    n, g = first["n_chains"], first["n_groups"]
    other = "validation" if split == "test" else "test"
    caption = (f"Sample quality at each number of steps of {sampler} from each start, scored "
               f"against the {'test' if split == 'test' else 'validation'} split (starts from "
               f"held-out data use the {other} split): "
               f"mean over seeds {', '.join(map(str, seeds))} of each "
               f"run's mean over {g} disjoint groups of {n // g} chains, ± sd over seeds; data "
               f"floor: groups of as many training examples. Change: mean over seeds of the "
               f"paired change over groups (positive is worse for a distance, negative for a "
               f"mode or class share), and in how many seeds its 95% interval lies entirely on the "
               f"worse side. Within the data's spread: the first step count whose mean share "
               f"distance is at most the floor's mean + 2 sd. Made by "
               f"`python -m biovw.reports.stationarity` at commit "
               f"{env['commit']} (torch {env['torch']}, {env['torch_threads']} torch thread).")
    all_runs = [r for rs in reports.values() for r in rs]
    record.update(environment=env, date=datetime.date.today().isoformat(), caption=caption,
                  seconds=sum(r["seconds"] for r in all_runs), n_runs=len(all_runs))
    return "\n".join(lines) + "\n\n" + caption + "\n", record


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO / "results")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n", type=int, default=1000, help="chains per run")
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--steps", type=int, nargs="+", default=[0, 10, 100, 1000, 10000])
    parser.add_argument("--settings", nargs="+", default=None,
                        help="tables whose settings to include (default: all)")
    parser.add_argument("--starts", nargs="+", default=["cooldown"],
                        choices=list(START_LABELS), help="where the chains start")
    parser.add_argument("--samplers", nargs="+", default=["chain"], type=_sampler,
                        help="chain, cycle (all K) or cycle:K (K heating steps); one row each")
    parser.add_argument("--split", choices=["valid", "test"], default="test",
                        help="held-out split scored (valid for a selection table)")
    parser.add_argument("--name", default="stationarity",
                        help="table name (docs/results/NAME.md, included into the pages)")
    parser.add_argument("--tables", type=Path, default=TABLES)
    parser.add_argument("--readme", type=Path, default=None)
    args = parser.parse_args(argv)
    chosen = [s for s in SETTINGS if args.settings is None or s.table in args.settings]
    reports: dict[str, list[dict]] = {}
    for setting in chosen:
        runs = finished_runs(setting, args.root, args.seeds)
        for start in args.starts:
            for sampler, depth in args.samplers:
                label = ", ".join([setting.label]
                                  + ([START_LABELS[start]] if args.starts != ["cooldown"] else [])
                                  + ([sampler_label(sampler, depth)]
                                     if args.samplers != [("chain", 0)] else []))
                reports[label] = [run_stationarity(r, args.n, args.steps, args.groups, start,
                                                   sampler, depth, args.split) for r in runs]
    samplers = ("each row's sampler" if len(args.samplers) > 1
                else sampler_label(*args.samplers[0]))
    markdown, record = aggregate(reports, args.seeds, samplers, args.split)
    record["command"] = ("python -m biovw.reports.stationarity --seeds "
                         f"{' '.join(map(str, args.seeds))} --n {args.n} --groups {args.groups} "
                         f"--steps {' '.join(map(str, args.steps))}"
                         + (f" --settings {' '.join(args.settings)}" if args.settings else "")
                         + f" --starts {' '.join(args.starts)} --samplers "
                         + samplers_arg(args.samplers)
                         + f" --split {args.split} --name {args.name}")
    publish(args.tables, args.name, markdown, record, args.readme)


if __name__ == "__main__":
    main()
