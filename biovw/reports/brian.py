"""The Brian2 page's tables: agreement, noise statistics and speed.

Usage::

    python -m biovw.reports.brian                      # print the three tables
    python -m biovw.reports.brian --page docs/brian2.md   # and write them into that page
    python -m biovw.reports.brian --quick              # a small smoke version (seconds)

Three tables, each between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->`` with
``--readme`` (:func:`results.splice`):

``brian_agreement``
    Each circuit of :data:`biovw.reports.agreement.AGREEMENT_CIRCUITS`, trained small as
    ``tests/test_brian.py`` trains it, run without noise by the torch sampler and by the Brian2
    network on every target that works here and with each recurrence, from the same initial
    states over the cool-down and 200 transitions of 8 chains (float64): ``max |brian2 -
    torch| / max |torch|``.
``brian_noise``
    The Dale circuit with noise, 600 chains, 250 transitions, the first 50 left out: mean
    state, covariance and kernel-exact entropy production of each backend, with 95% intervals
    from 25 groups of chains (:func:`biovw.reports.agreement.compare_with_noise`).
``brian_bench``
    :func:`biovw.runs.bench.bench_brian2`: chain steps per second of the torch sampler
    (float32, float64) and of the Brian2 network per target and recurrence, and the ratio of
    each to torch float32, with the machine's load average before and after.

torch runs with one thread, like Brian2. The first caption says when, at which commit and on
what machine the tables were made.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from biovw import brian
from biovw.reports.agreement import (
    AGREEMENT_CIRCUITS,
    SMALL,
    NoiseComparison,
    compare_with_noise,
    noise_off_pair,
    relative_difference,
    train_small,
)
from biovw.reports.pages import REPO, environment, splice
from biovw.runs import open_run
from biovw.runs.bench import BRIAN_SIZES, bench_brian2
from biovw.runs.simulate import run_spec
from biovw.spec import RateSpec

COMMAND = "python -m biovw.reports.brian --page docs/brian2.md"
TABLES = ("brian_agreement", "brian_noise", "brian_bench")


@dataclass(frozen=True)
class Plan:
    """The sizes of the three tables."""

    circuits: tuple[str, ...] = tuple(AGREEMENT_CIRCUITS)
    targets: tuple[str, ...] = brian.TARGETS
    agreement_chains: int = 8
    agreement_steps: int = 200
    noise_chains: int = 600
    noise_steps: int = 250
    burn_in: int = 50
    n_groups: int = 25
    bench_sizes: tuple[tuple[int, int, int], ...] = BRIAN_SIZES
    bench_targets: tuple[str, ...] = brian.TARGETS


FULL = Plan()
QUICK = Plan(targets=("numpy",), agreement_steps=20, noise_chains=60, noise_steps=40,
             burn_in=10, n_groups=5, bench_sizes=((40, 10, 20),), bench_targets=("numpy",))
"""A smoke version: every circuit on numpy only, few chains and steps."""


# ----------------------------------------------------------------------------- computing


def train_circuits(root: Path, names: Sequence[str]) -> dict[str, RateSpec]:
    """Train each named circuit of :data:`AGREEMENT_CIRCUITS` small into ``root / name``; their
    descriptions."""
    specs = {}
    for name in names:
        config, overrides = AGREEMENT_CIRCUITS[name]
        torch.manual_seed(0)
        folder = train_small(root / name, REPO / config, overrides)
        specs[name] = run_spec(open_run(folder))
    return specs


def agreement(specs: dict[str, RateSpec], plan: Plan) -> dict:
    """Noise-off ``max |brian2 - torch| / max |torch|`` per circuit, target and recurrence.

    Returns
    -------
    dict
        ``differences``: circuit -> ``"target, recurrence"`` -> relative difference;
        ``circuits``: circuit -> D, hidden units, recurrent synapses; ``seconds``: per target,
        the wall time of its runs (building and compiling included); ``unavailable``.
    """
    unavailable = brian.unavailable_targets()
    targets = [t for t in plan.targets if t not in unavailable]
    differences: dict[str, dict[str, float]] = {}
    seconds = dict.fromkeys(targets, 0.0)
    for name, spec in specs.items():
        differences[name] = {}
        for target in targets:
            for recurrence in brian.RECURRENCES:
                started = time.perf_counter()
                states, reference = noise_off_pair(spec, target, recurrence,
                                                   plan.agreement_chains, plan.agreement_steps)
                seconds[target] += time.perf_counter() - started
                differences[name][f"{target}, {recurrence}"] = relative_difference(states,
                                                                                   reference)
    circuits = {name: {"n_visible": s.circuit.n_visible, "n_hidden": s.circuit.n_hidden,
                       "synapses": int(np.asarray(s.circuit.mask).sum()),
                       "operator": s.operator.kind}
                for name, s in specs.items()}
    return {"differences": differences, "circuits": circuits,
            "seconds": {k: round(v, 1) for k, v in seconds.items()},
            "unavailable": {t: unavailable[t] for t in plan.targets if t in unavailable}}


def bench(plan: Plan) -> dict:
    """:func:`bench_brian2` with the load average (1 minute) before and after."""
    before = os.getloadavg()[0]
    result = bench_brian2(plan.bench_sizes, plan.bench_targets)
    result["load_average"] = [round(before, 2), round(os.getloadavg()[0], 2)]
    return result


# ----------------------------------------------------------------------------- Markdown


def made(env: dict, today: str, command: str = COMMAND) -> str:
    """The sentence that says how, when, at which commit and on what machine the tables were
    made."""
    load = os.getloadavg()[0]
    shared = " shared with other jobs" if load > 1 else ""
    return (f"These three tables are written by `{command}`; this run: {today}, commit "
            f"{env['commit']}, {env['machine']} with {env['cpu_count']} CPU cores{shared} "
            f"(load average {load:.1f} at the start), torch {env['torch']} on "
            f"{env['torch_threads']} thread, brian2 {brian_version()}.")


def brian_version() -> str:
    import brian2

    return brian2.__version__


def agreement_markdown(record: dict, plan: Plan, made: str) -> str:
    """The agreement table: one row per circuit, one column per target and recurrence."""
    columns = list(next(iter(record["differences"].values())))
    lines = ["| circuit | " + " | ".join(f"{c}" for c in columns) + " |",
             "| --- |" + " --- |" * len(columns)]
    for name, row in record["differences"].items():
        c = record["circuits"][name]
        label = (f"{name} ({c['operator']}, D = {c['n_visible']}, {c['n_hidden']} hidden, "
                 f"{c['synapses']} synapses)")
        lines.append(f"| {label} | " + " | ".join(f"{row[k]:.1e}" for k in columns) + " |")
    skipped = "".join(f" Not run here: {t} ({why})." for t, why in record["unavailable"].items())
    lines += ["", f"Noise off, cool-down and {plan.agreement_steps} transitions, "
              f"{plan.agreement_chains} chains, float64: `max |brian2 - torch| / max |torch|` "
              f"per target and recurrence (columns), on circuits trained as "
              f"`tests/test_brian.py` trains them (`{' '.join(SMALL)}`). Wall time per target, "
              "building and compiling included: "
              + ", ".join(f"{t} {s:g} s" for t, s in record["seconds"].items())
              + f".{skipped} {made}"]
    return "\n".join(lines) + "\n"


def _digits(half: float) -> int:
    """Decimals that show two significant digits of ``half``."""
    if not math.isfinite(half) or half <= 0:
        return 4
    return max(0, 1 - math.floor(math.log10(half)))


def _pm(value: float, half: float, digits: int) -> str:
    return f"{value:.{digits}f} ± {half:.{digits}f}"


def noise_rows(result: NoiseComparison) -> list[tuple[str, list[tuple[float, float]], bool]]:
    """(label, [(estimate, half-width) of torch, of brian2], intervals overlap) per entry of
    the mean, the upper triangle of the covariance and the entropy production."""
    rows = []
    stats = result.statistics
    gaps = {name: result.gap(name) for name in stats}
    dim = np.asarray(stats["mean"]["torch"][0]).shape[0]

    def pair(name, index):
        return [(float(np.asarray(stats[name][b][0])[index]),
                 float(np.asarray(stats[name][b][1])[index])) for b in ("torch", "brian2")]

    for i in range(dim):
        rows.append((f"mean s{i + 1}", pair("mean", (i,)), bool(gaps["mean"][i] <= 0)))
    for i in range(dim):
        for j in range(i, dim):
            rows.append((f"cov(s{i + 1}, s{j + 1})", pair("covariance", (i, j)),
                         bool(gaps["covariance"][i, j] <= 0)))
    rows.append(("entropy production (nats/transition)", pair("entropy_production", ()),
                 bool(gaps["entropy_production"] <= 0)))
    return rows


def noise_markdown(result: NoiseComparison) -> str:
    """The noise table: torch and Brian2 estimates with their intervals, and whether they
    overlap."""
    lines = ["| statistic | torch | Brian2 | intervals overlap |", "| --- | --- | --- | --- |"]
    for label, values, overlap in noise_rows(result):
        digits = _digits(min(h for _, h in values))
        cells = [_pm(v, h, digits) for v, h in values]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} | {'yes' if overlap else 'no'} |")
    lines += ["", f"The Dale circuit with noise, {result.n_chains} chains from the same initial "
              f"states with independent noise, {result.n_steps} transitions, the first "
              f"{result.burn_in} left out; estimate over all chains ± the half-width of its "
              f"{result.confidence:.0%} Student-t interval from {result.n_groups} groups of "
              f"{result.n_chains // result.n_groups} chains."]
    return "\n".join(lines) + "\n"


def _rate(value: float, ratio: float | None = None) -> str:
    text = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    return text if ratio is None else f"{text} ({ratio:.3g})"


def bench_markdown(record: dict) -> str:
    """The speed table: one row per backend, one column per size; chain steps per second
    and, in brackets, the ratio to torch float32."""
    sizes = record["sizes"]
    header = [f"{s['n_units']} units, {s['n_chains']} chains, {s['n_steps']} transitions"
              for s in sizes]
    lines = ["| chain steps/s (ratio to torch float32) | " + " | ".join(header) + " |",
             "| --- |" + " --- |" * len(sizes)]
    for dtype in ("float32", "float64"):
        key = f"torch_{dtype}"
        lines.append(f"| torch {dtype} | " + " | ".join(
            _rate(s[key], s[key] / s["torch_float32"]) for s in sizes) + " |")
    for target in sizes[0]["brian2"]:
        for recurrence in brian.RECURRENCES:
            lines.append(f"| Brian2 {target}, {recurrence} | " + " | ".join(
                _rate(s["brian2"][target][recurrence],
                      s["ratio_to_torch_float32"][target][recurrence]) for s in sizes) + " |")
    synapses = ", ".join(f"{s['synapses']:,}" for s in sizes)
    skipped = "".join(f" Not run here: {t} ({why})." for t, why in record["unavailable"].items())
    before, after = record["load_average"]
    lines += ["", f"`bench_brian2` of `biovw bench` ({record['circuit']}; {synapses} recurrent "
              f"synapses per chain). Brian2's time leaves out building and compiling; torch's "
              f"is the fastest of three runs. Load average {before:.1f} before and {after:.1f} "
              f"after the measurements.{skipped}"]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- command line


def make_tables(plan: Plan, root: Path, today: str | None = None,
                command: str = COMMAND) -> tuple[dict[str, str], dict]:
    """Compute the three tables.

    Parameters
    ----------
    plan : Plan
        Their sizes (:data:`FULL` or :data:`QUICK`).
    root : Path
        Folder for the small trained runs.
    today : str or None
        Date written into the captions [default: today].
    command : str
        The command named as the tables' maker.

    Returns
    -------
    markdown : dict
        Table name (:data:`TABLES`) -> Markdown (table and caption).
    record : dict
        The numbers behind them and the seconds each took.
    """
    today = today or datetime.date.today().isoformat()
    env = environment()
    sentence = made(env, today, command)
    seconds = {}
    started = time.perf_counter()
    specs = train_circuits(root, plan.circuits)
    seconds["train"] = time.perf_counter() - started

    started = time.perf_counter()
    agreed = agreement(specs, plan)
    seconds["brian_agreement"] = time.perf_counter() - started
    markdown = {"brian_agreement": agreement_markdown(agreed, plan, sentence)}

    started = time.perf_counter()
    noisy = compare_with_noise(specs["dale"], plan.noise_chains, plan.noise_steps, plan.burn_in,
                               plan.n_groups)
    seconds["brian_noise"] = time.perf_counter() - started
    markdown["brian_noise"] = noise_markdown(noisy)

    started = time.perf_counter()
    speed = bench(plan)
    seconds["brian_bench"] = time.perf_counter() - started
    markdown["brian_bench"] = bench_markdown(speed)

    record = {"agreement": agreed, "bench": speed, "environment": env, "date": today,
              "noise": [{"statistic": label, "torch": values[0], "brian2": values[1],
                         "overlap": overlap} for label, values, overlap in noise_rows(noisy)],
              "seconds": {k: round(v, 1) for k, v in seconds.items()}}
    return markdown, record


def main(argv: Sequence[str] | None = None) -> dict[str, str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", "--readme", dest="readme", type=Path, default=None,
                        help="Replace the three tables' marked sections in this file.")
    parser.add_argument("--quick", action="store_true",
                        help="A small smoke version (numpy target, few chains and steps).")
    parser.add_argument("--json", type=Path, default=None,
                        help="Also write the numbers behind the tables here.")
    parser.add_argument("--root", type=Path, default=None,
                        help="Folder for the small trained runs [default: a temporary one].")
    args = parser.parse_args(argv)
    if args.readme is not None:
        text = args.readme.read_text()
        missing = [n for n in TABLES if f"<!-- results:{n} -->" not in text]
        if missing:  # before the work, not after it
            parser.error(f"{args.readme}: no <!-- results:{missing[0]} --> markers")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # like Brian2
    try:
        with tempfile.TemporaryDirectory(prefix="brian-tables-") as scratch:
            markdown, record = make_tables(QUICK if args.quick else FULL,
                                           args.root or Path(scratch),
                                           command=f"{COMMAND} --quick" if args.quick
                                           else COMMAND)
    finally:
        torch.set_num_threads(threads)
    for name in TABLES:
        print(markdown[name])
        if args.readme is not None:
            splice(args.readme, name, markdown[name])
    print(f"seconds: {json.dumps(record['seconds'])}")
    if args.json is not None:
        args.json.write_text(json.dumps(record, indent=2) + "\n")
    return markdown


if __name__ == "__main__":
    main()
