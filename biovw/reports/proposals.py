"""Does a wider IS proposal make the likelihood ladder converge? The proposals table.

Usage::

    python -m biovw.reports.proposals [--table default] [--seeds 0 1 2] [--examples 200]
                                      [--trajectories 200] [--temperatures 1 1.25 1.5 2]

For every seed's finished run of a :mod:`biovw.reports.results` table (``ROOT/TABLE/ROW/seedS``,
the runs are not retrained) this scores the test split twice with the trajectory ladder
``k, 4k``: proposing from the heating path (temperature multiple 1) and from the proposal that
:func:`biovw.runs.evaluation.choose_proposal` picks among ``--temperatures`` on 100 validation
examples. Per run and proposal it gives the IS estimate at ``4k``, the increase from ``k`` to
``4k`` with its standard error (paired over examples), the convergence verdict (increase plus
two standard errors at most ``eval.converged_tol``) and the median effective sample size.
Writes ``docs/results/NAME.{md,json}`` (``--name``, default ``proposals``), which the method
page includes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from biovw.reports.pages import REPO, TABLES
from biovw.reports.results import TABLES as RESULT_TABLES
from biovw.reports.results import publish_table
from biovw.runs.build import open_run
from biovw.runs.evaluation import choose_proposal
from biovw.walkback import estimate_log_likelihood

COMMAND = "python -m biovw.reports.proposals"
NAME = "proposals"


def score_run(run: Path, seed: int, examples: int, trajectories: int,
              temperatures: Sequence[float], pilot_trajectories: int | None = None) -> dict:
    """The heating path's and the chosen proposal's ladders on a run's test split."""
    opened = open_run(run, "cpu")
    model, data = opened.model.eval(), opened.data
    cfg = dataclasses.replace(opened.cfg, eval=dataclasses.replace(
        opened.cfg.eval, proposal_temperatures=list(temperatures)))
    rungs = [trajectories, 4 * trajectories]
    pilot = pilot_trajectories or trajectories
    chosen = choose_proposal(cfg, model, data.valid, [pilot, 4 * pilot], seed)
    out = {"run": str(run.relative_to(REPO) if run.is_relative_to(REPO) else run),
           "seed": seed, "pilot": chosen.get("pilot", {}), "chosen": chosen["temperature"]}
    x = data.test[:examples]
    for label, temperature in (("heating", 1.0), ("chosen", chosen["temperature"])):
        started = time.perf_counter()
        est = estimate_log_likelihood(model, x, rungs, torch.Generator().manual_seed(seed),
                                      cfg.eval.batch_size, cfg.eval.converged_tol,
                                      proposal_temperature=temperature)
        out[label] = {"temperature": temperature, "is_loglik": est.is_loglik,
                      "is_se": est.is_se, "increase": est.increase,
                      "increase_se": est.increase_se, "converged": est.converged,
                      "ess_median": est.ess_median, "tolerance": est.tolerance,
                      "seconds": round(time.perf_counter() - started, 1)}
    out["examples"], out["rungs"], out["pilot_rungs"] = len(x), rungs, [pilot, 4 * pilot]
    return out


def markdown(record: dict) -> str:
    """The table and its caption."""
    lines = ["| seed | proposal | IS at 4k (nats/example) | increase k -> 4k (SE) | converged | "
             "median ESS of 4k |", "| --- | --- | --- | --- | --- | --- |"]
    for r in record["rows"]:
        for label in ("heating", "chosen"):
            e = r[label]
            name = ("heating path (1 T)" if label == "heating"
                    else f"chosen on validation ({e['temperature']:g} T)")
            lines.append(f"| {r['seed']} | {name} | {e['is_loglik']:.4f} ± {e['is_se']:.3f} | "
                         f"{e['increase']:.4f} ({e['increase_se']:.4f}) | "
                         f"{'yes' if e['converged'] else 'no'} | {e['ess_median']:.1f} |")
    first = record["rows"][0]
    k, k4 = first["rungs"]
    converged = {label: sum(r[label]["converged"] for r in record["rows"])
                 for label in ("heating", "chosen")}
    pilots = "; ".join(f"seed {r['seed']}: " + ", ".join(f"{t} T {v:.3f}"
                                                         for t, v in r["pilot"].items())
                       for r in record["rows"])
    env = record["environment"]
    lines += ["", f"The default job's runs of the `{record['table']}` results table (trained at "
              f"commit {record['trained_commit']}, not retrained here), {first['examples']} test "
              f"examples, k = {k} and 4k = {k4} trajectories per example; converged: the "
              f"increase plus two standard errors is at most {first['heating']['tolerance']:g} "
              f"nats/example ({converged['heating']} of {len(record['rows'])} runs with the "
              f"heating path, {converged['chosen']} with the chosen proposal). The proposal is "
              f"the heating kernel at a multiple of each step's temperature, chosen among "
              f"{', '.join(f'{t:g}' for t in record['temperatures'])} by the highest IS estimate "
              f"on 100 validation examples with {first['pilot_rungs'][1]} trajectories each "
              f"(pilot IS: {pilots}). Made by `{record['command']} {record['arguments']}` on "
              f"{record['date']} at commit {env['commit']}."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> str:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO / "results_v2")
    parser.add_argument("--table", default="default", choices=sorted(RESULT_TABLES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--trajectories", type=int, default=200)
    parser.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 1.25, 1.5, 2.0])
    parser.add_argument("--pilot-trajectories", type=int, default=None,
                        help="k of the pilot's ladder [default: --trajectories]")
    parser.add_argument("--name", default=NAME, help="File stem of the table")
    parser.add_argument("--tables", type=Path, default=TABLES)
    args = parser.parse_args(argv)
    row = RESULT_TABLES[args.table].rows[0]
    made = TABLES / f"{args.table}.json"  # the table whose runs are scored names their commit
    trained = (json.loads(made.read_text())["environment"]["commit"] if made.is_file()
               else "not recorded")
    rows = [score_run(args.root / args.table / row.slug / f"seed{s}", s, args.examples,
                      args.trajectories, args.temperatures, args.pilot_trajectories)
            for s in args.seeds]
    record = {"table": args.table, "command": COMMAND, "arguments": " ".join(argv or []),
              "temperatures": args.temperatures,
              "trained_commit": trained, "rows": rows}
    return publish_table(args.tables, args.name, record, markdown)


if __name__ == "__main__":
    main()
