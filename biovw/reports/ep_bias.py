"""Bias and interval coverage of the plug-in entropy production estimators, by simulation over
number of states x recording length (the sparse regime: many states, few visits each).

    python -m biovw.reports.ep_bias [--quick] [--repeats R] [--out docs/results/ep_bias.json]
                               [--page docs/entropy-production.md] [--render]

For every chain (reversible controls whose entropy production is exactly zero, and
irreversible chains with exact values) and length, ``R`` independent recordings are estimated
with each bias correction; the table gives the mean estimate with its Monte Carlo standard
error, the true spread of the estimates (sd over repeats), the mean reported standard error,
and the share of 95% intervals that contain the exact value. ``--readme`` rewrites the table
between ``<!-- results:ep_bias -->`` markers; ``--render`` makes the table from ``--out``
without simulating again.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from biovw.analysis.discrete import entropy_production_coarse, entropy_production_discrete
from biovw.analysis.exact_chains import FiniteChain, metropolis_chain, ring_walk

VARIANTS = {
    "reversal (flip interval)": {"bias_correction": "reversal", "interval": "flip"},
    "reversal (bootstrap)": {"bias_correction": "reversal", "interval": "bootstrap"},
    "taylor (earlier default)": {"bias_correction": "taylor"},
}


def random_chain(n: int, strength: float, seed: int) -> FiniteChain:
    """Dense random chain with log-normal rates: irreversible, ``strength`` sets how much."""
    P = np.exp(strength * np.random.default_rng(seed).normal(size=(n, n)))
    return FiniteChain(P / P.sum(axis=1, keepdims=True), None, f"random{n}")


def cases(quick: bool) -> list[dict]:
    """Chain x length grid: ``name``, ``truth``, ``draw(rng) -> (labels or points, kind)``."""
    lengths = [1_000, 10_000] if quick else [1_000, 10_000, 100_000]
    out = []
    for n_states in ([20, 400] if quick else [20, 100, 400]):
        for n in lengths:
            out.append({"chain": f"uniform random states, {n_states} states", "length": n,
                        "truth": 0.0, "kind": "labels",
                        "draw": lambda rng, n=n, k=n_states: rng.integers(0, k, n)})
    for n in lengths:
        out.append({"chain": "independent Gaussian draws, 20x20 grid", "length": n,
                    "truth": 0.0, "kind": "points",
                    "draw": lambda rng, n=n: rng.normal(size=(n, 2))})
    chains = [
        (ring_walk(50, 0.3, 0.3), "symmetric ring walk, 50 states"),
        (metropolis_chain(np.random.default_rng(3).normal(size=100) * 1.5),
         "Metropolis chain, 100 states"),
        (ring_walk(8, 0.45, 0.15), "biased ring walk, 8 states"),
        (random_chain(30, 0.5, 7), "random irreversible chain, 30 states"),
    ]
    for chain, label in chains:
        truth = chain.entropy_production()
        truth = 0.0 if abs(truth) < 1e-12 else truth  # reversible: exactly zero
        for n in lengths:
            out.append({"chain": label, "length": n, "truth": truth, "kind": "labels",
                        "draw": lambda rng, n=n, c=chain: c.simulate(n, 1, rng)[0]})
    return out


def run(quick: bool, repeats: int, seed: int = 0, only: str | None = None) -> list[dict]:
    """Every case x variant over ``repeats`` recordings (cases whose chain contains ``only``,
    if given)."""
    rows = []
    rng = np.random.default_rng(seed)
    for case in cases(quick):
        if only is not None and only not in case["chain"]:
            continue
        data = [case["draw"](rng) for _ in range(repeats)]
        for variant, kwargs in VARIANTS.items():
            values, ses, covered = [], [], []
            started = time.perf_counter()
            for r, x in enumerate(data):
                if case["kind"] == "points":
                    res = entropy_production_coarse(x, bins=20, seed=r, n_boot=100, **kwargs)
                else:
                    res = entropy_production_discrete(x, seed=r, n_boot=100, **kwargs)
                values.append(res.value)
                ses.append(res.se)
                covered.append(res.ci_low <= case["truth"] <= res.ci_high)
            values = np.array(values)
            rows.append({
                "chain": case["chain"], "length": case["length"], "truth": case["truth"],
                "variant": variant, "repeats": repeats,
                "mean": float(values.mean()),
                "mc_se": float(values.std(ddof=1) / math.sqrt(repeats)),
                "sd": float(values.std(ddof=1)), "mean_se": float(np.mean(ses)),
                "coverage": float(np.mean(covered)),
                "seconds": (time.perf_counter() - started) / repeats,
            })
            print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def table(rows: list[dict], command: str) -> str:
    """Markdown table of the rows."""
    lines = ["| chain | length | exact | correction | mean ± MC se | sd over repeats | "
             "mean reported se | 95% CI coverage |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        truth = 0.0 if abs(r["truth"]) < 1e-12 else r["truth"]
        lines.append(
            f"| {r['chain']} | {r['length']:,} | {truth:.4g} | {r['variant']} | "
            f"{r['mean']:.4f} ± {r['mc_se']:.4f} | {r['sd']:.4f} | {r['mean_se']:.4f} | "
            f"{r['coverage']:.2f} |")
    repeats = rows[0]["repeats"] if rows else 0
    lines.append("")
    lines.append(f"Nats/step; {repeats} independent recordings per row (one chain each), "
                 f"nominal 95% intervals. Made by `{command}`.")
    return "\n".join(lines)


def write_readme(readme: Path, text: str) -> None:
    """Replace the block between the ``results:ep_bias`` markers."""
    content = readme.read_text()
    start, stop = "<!-- results:ep_bias -->", "<!-- /results:ep_bias -->"
    if start not in content:
        raise SystemExit(f"{readme} has no {start} marker")
    head, rest = content.split(start, 1)
    _, tail = rest.split(stop, 1)
    readme.write_text(f"{head}{start}\n{text}\n{stop}{tail}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer states and lengths")
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("docs/results/ep_bias.json"))
    parser.add_argument("--page", "--readme", dest="readme", type=Path, default=None)
    parser.add_argument("--render", action="store_true",
                        help="make the table from --out without simulating")
    parser.add_argument("--only", default=None,
                        help="simulate only the chains whose name contains this text and "
                             "replace their rows in --out")
    args = parser.parse_args(argv)
    if args.render:
        saved = json.loads(args.out.read_text())
        rows, command = saved["rows"], saved["command"]
    elif args.only is not None:
        saved = json.loads(args.out.read_text())
        fresh = run(args.quick, args.repeats, only=args.only)
        redone = {(r["chain"], r["length"], r["variant"]) for r in fresh}
        order = {(r["chain"], r["length"], r["variant"]): i for i, r in enumerate(saved["rows"])}
        rows = [r for r in saved["rows"] if (r["chain"], r["length"], r["variant"]) not in redone]
        rows = sorted(rows + fresh, key=lambda r: order.get(
            (r["chain"], r["length"], r["variant"]), len(order)))
        command = saved["command"]
        args.out.write_text(json.dumps({"command": command, "rows": rows}, indent=1) + "\n")
    else:
        rows = run(args.quick, args.repeats)
        command = "python -m biovw.reports.ep_bias" + (" --quick" if args.quick else "") + (
            f" --repeats {args.repeats}" if args.repeats != 100 else "")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"command": command, "rows": rows}, indent=1) + "\n")
    text = table(rows, command)
    print(text)
    if args.readme is not None:
        write_readme(args.readme, text)


if __name__ == "__main__":
    main()
