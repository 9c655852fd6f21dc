"""The performance page's training-speed table: ``biovw bench``'s training entry, as Markdown.

Usage::

    python -m biovw.reports.speed                      # print the table
    python -m biovw.reports.speed --page docs/performance.md   # and write it into that page
    python -m biovw.reports.speed --quick              # a small smoke version (seconds)

The table ``training_speed`` (between ``<!-- results:training_speed -->`` markers with
``--readme``) holds, per hidden size and rule, what :func:`biovw.runs.bench.bench_training`
measures (the same function ``biovw bench`` runs for ``training.{hidden}.{rule}`` of its
JSON): iterations per second of the default job's training step at batch 256 with 5 settle
steps, the FLOP rate that torch's ``FlopCounterMode`` counts for an iteration divided by its
time, and the ratio of that to a plain ``[256, N] @ [N, N]`` product timed right after it in
the same process. The caption names the date, commit, machine, torch threads and the load
average before and after, so that a ratio can be read against what shared the machine.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from biovw.reports.pages import TABLES, environment, splice
from biovw.runs.bench import (
    TRAINING_RULES,
    TRAINING_SIZES,
    bench_likelihood,
    bench_sampling,
    bench_training,
)

COMMAND = "python -m biovw.reports.speed --page docs/performance.md"
TABLE = "training_speed"


def measure(sizes: Sequence[int], rules: Sequence[str], budget: float,
            quick: bool = False) -> dict:
    """:func:`bench_training`, :func:`bench_sampling` and :func:`bench_likelihood` with the
    1-minute load average before and after."""
    before = os.getloadavg()[0]
    result = bench_training(tuple(sizes), tuple(rules), budget=budget)
    sampling = bench_sampling(budget=budget, quick=quick)
    likelihood = bench_likelihood(budget=budget, quick=quick)
    return {"training": result, "sampling": sampling, "likelihood": likelihood,
            "load_average": [round(before, 2), round(os.getloadavg()[0], 2)]}


def _chain_lines(record: dict) -> list[str]:
    """The table of the T = 1 sampler and the IS evaluation (records that have them)."""
    if "sampling" not in record:
        return []
    lines = ["", "| what | units (N) | rows per call | per second | achieved GFLOP/s | "
             "matmul GFLOP/s | ratio to matmul |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in record["sampling"].items():
        lines.append(f"| T = 1 sampler, {name} circuit (`{r['config']}`) | {r['n_units']} | "
                     f"{r['chains']} chains | {r['chain_steps_per_second']:,.0f} chain steps | "
                     f"{r['achieved_gflops']:.3g} | {r['matmul_gflops']:.3g} | "
                     f"{r['ratio_to_matmul']:.2f} |")
    r = record["likelihood"]
    lines.append(f"| IS evaluation, default circuit | {r['n_units']} | {r['n_examples']} "
                 f"examples x {r['n_trajectories']} trajectories | "
                 f"{r['trajectories_per_second']:,.0f} trajectories | "
                 f"{r['achieved_gflops']:.3g} | {r['matmul_gflops']:.3g} | "
                 f"{r['ratio_to_matmul']:.2f} |")
    return lines


def markdown(record: dict, command: str = COMMAND) -> str:
    """The table and its caption."""
    env = record["environment"]
    lines = ["| hidden units (N) | rule | iterations/s | counted GFLOP/iteration | "
             "achieved GFLOP/s | matmul GFLOP/s | ratio to matmul |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for hidden, by_rule in record["training"].items():
        for rule, r in by_rule.items():
            lines.append(f"| {hidden} ({r['n_units']}) | {rule} | "
                         f"{r['iterations_per_second']:.3g} | "
                         f"{r['flops_per_iteration'] / 1e9:.3g} | {r['achieved_gflops']:.3g} | "
                         f"{r['matmul_gflops']:.3g} | {r['ratio_to_matmul']:.2f} |")
    before, after = record["load_average"]
    first = next(iter(next(iter(record["training"].values())).values()))
    lines += ["", f"Training step of the default job's circuit (Dale rate circuit, tanh, "
                  f"online walk-back updates, {first['num_steps']} temperature steps per "
                  f"iteration) at batch {first['batch']} with {first['settle_steps']} settle "
                  f"steps. Written by `{command}` on {record['date']}, commit "
                  f"{env['commit']}, {env['machine']} with {env['cpu_count']} CPU cores, "
                  f"torch {env['torch']} on {env['torch_threads']} thread"
                  f"{'s' * (env['torch_threads'] != 1)}; load average {before:.1f} before and "
                  f"{after:.1f} after (other jobs shared the machine when it is above "
                  f"{env['cpu_count'] - 1}: read the ratios, not the rates)."]
    lines += _chain_lines(record)
    if "sampling" in record:
        lines += ["", "The T = 1 sampler (`biovw bench`'s `sampling.{circuit}`) and the "
                      "importance-sampled log-likelihood (`likelihood`) of untrained circuits of "
                      "the shipped shapes (speed depends on shapes only), in the same process and "
                      "against a matmul of the settle loop's shape for their rows."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", "--readme", dest="readme", type=Path, default=None,
                        help="Replace the table's marked section in this file.")
    parser.add_argument("--json", type=Path, default=TABLES / f"{TABLE}.json",
                        help="Where the numbers behind the table go.")
    parser.add_argument("--quick", action="store_true",
                        help="Hidden 32 and 64 with a 0.2 s budget (a smoke test).")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads [default: 1, so that a shared machine's load "
                             "slows the training step and the matmul alike].")
    args = parser.parse_args(argv)
    if args.readme is not None and f"<!-- results:{TABLE} -->" not in args.readme.read_text():
        parser.error(f"{args.readme}: no <!-- results:{TABLE} --> markers")  # before the work
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        sizes, budget = ((32, 64), 0.2) if args.quick else (TRAINING_SIZES, 5.0)
        record = measure(sizes, TRAINING_RULES, budget, quick=args.quick)
        record.update(environment=environment(), date=datetime.date.today().isoformat())
    finally:
        torch.set_num_threads(threads)
    text = markdown(record, f"{COMMAND} --quick" if args.quick else COMMAND)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(record, indent=2) + "\n")
    print(text)
    if args.readme is not None:
        splice(args.readme, TABLE, text)
    return text


if __name__ == "__main__":
    main()
