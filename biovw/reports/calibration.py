"""Are the tests of detailed balance calibrated? Their false-positive rates on reversible chains.

Usage::

    python -m biovw.reports.calibration [--lengths 1000 3000] [--repeats 100]

Every reversible control of the entropy-production benchmark (:func:`biovw.analysis.epbench.
default_cases`: the reversible twins of the ring and Ising chains, a symmetric AR(1) and an OU
twin, each fully observed, coarse-grained and subsampled, and independent draws from 6 states)
is recorded ``repeats`` times at each length; each of our estimators tests detailed balance on
every recording. The table gives the share of recordings rejected at p < 0.05 per kind of
control and length, and the verdict: calibrated where the pooled share is at most 0.05 plus two
binomial standard errors. Writes ``docs/results/calibration.{md,json}``, which the entropy
production page includes, and rewrites the page of every table.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from biovw.analysis.epbench import OURS, calibration, default_cases, run_benchmark
from biovw.reports.pages import TABLES
from biovw.reports.results import publish_table

COMMAND = "python -m biovw.reports.calibration"
NAME = "calibration"
ALPHA = 0.05


def measure(lengths: Sequence[int], repeats: int, seed: int) -> dict:
    """Rows of :func:`run_benchmark` on the controls, and the calibration per length and
    pooled."""
    cases = [c for c in default_cases() if c.control]
    started = time.perf_counter()
    rows = run_benchmark(cases, list(lengths), repeats, estimators=OURS, peers=(), seed=seed)
    by_length = {str(n): calibration([r for r in rows if r["length"] == n], ALPHA)
                 for n in lengths}
    return {"pooled": calibration(rows, ALPHA), "by_length": by_length,
            "cases": [c.name for c in cases],
            "wall_seconds": round(time.perf_counter() - started)}


def _cell(entry: dict | None) -> str:
    if entry is None:
        return "-"
    return f"{entry['rate']:.3f} (n = {entry['n']})"


def markdown(record: dict) -> str:
    """The table and its caption."""
    pooled = record["pooled"]
    kinds = list(dict.fromkeys(k for t in pooled.values() for k in t if k != "all"))
    lengths = list(record["by_length"])
    head = ["estimator", *kinds, *(f"all, {int(n):,} steps" for n in lengths), "all",
            "limit", "calibrated"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, by_kind in pooled.items():
        every = by_kind["all"]
        cells = [_cell(by_kind.get(k)) for k in kinds]
        cells += [_cell(record["by_length"][n].get(name, {}).get("all")) for n in lengths]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {_cell(every)} | "
                     f"{every['limit']:.3f} | {'yes' if every['calibrated'] else 'no'} |")
    env = record["environment"]
    lines += ["", f"Share of reversible recordings (exact entropy production 0) in which each "
              f"estimator rejects detailed balance at p < {ALPHA:g}, per kind of control "
              f"pooled over its settings (fully observed, coarse-grained, subsampled) and "
              f"lengths, per length pooled over the kinds, and over everything; calibrated "
              f"where the pooled share is at most the limit {ALPHA:g} + 2 binomial standard "
              f"errors. {record['repeats']} recordings per control and length "
              f"({', '.join(f'{int(n):,}' for n in lengths)} steps), seed {record['seed']}, "
              f"{record['wall_seconds']} s. Made by `{record['command']}` on {record['date']} at "
              f"commit {env['commit']}."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tables", type=Path, default=TABLES)
    args = parser.parse_args(argv)
    record = {"table": NAME, "command": COMMAND, "repeats": args.repeats, "seed": args.seed,
              **measure(args.lengths, args.repeats, args.seed)}
    return publish_table(args.tables, NAME, record, markdown)


if __name__ == "__main__":
    main()
