"""Does irreversibility buy mixing? The linear case, where the answer is exact.

Usage::

    python -m biovw.reports.irreversibility

The chain ``x' = (decay I + drive A) x + xi`` (:func:`biovw.analysis.exact_chains.
irreversible_family`) samples ``N(0, I)`` for every ``drive``; the antisymmetric part only adds
a probability current. For each drive the table gives the exact entropy production and the
exact integrated autocorrelation time of ``x_1`` beside their estimates from simulated chains
(the VAR(1) estimator with its interval, Sokal's windowed IAT), and how far the chains'
covariance is from ``I``. Writes ``docs/results/irreversibility.{md,json}``, which the
sampling page includes, and rewrites the page of every table.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from biovw.analysis import entropy_production_var
from biovw.analysis.exact_chains import irreversible_family
from biovw.analysis.mixing import exact_iat_linear, integrated_autocorrelation_time
from biovw.reports.pages import TABLES
from biovw.reports.results import publish_table

COMMAND = "python -m biovw.reports.irreversibility"
NAME = "irreversibility"


def measure(decay: float, drives: Sequence[float], steps: int, chains: int,
            seed: int) -> list[dict]:
    """Exact and estimated entropy production and IAT of ``x_1`` for each drive."""
    rng = np.random.default_rng(seed)
    rows = []
    for drive in drives:
        chain = irreversible_family(decay, drive)
        x = chain.simulate(steps, chains, rng)
        ep = entropy_production_var(x, seed=seed)
        iat = float(np.asarray(integrated_autocorrelation_time(x[..., :1])).ravel()[0])
        covariance = np.cov(x.reshape(-1, 2).T)
        rows.append({"drive": drive, "ep_exact": chain.entropy_production(),
                     "ep": ep.value, "ep_low": ep.ci_low, "ep_high": ep.ci_high,
                     "iat_exact": exact_iat_linear(chain.M, chain.Q, np.array([1.0, 0.0])),
                     "iat": iat,
                     "covariance_error": float(np.abs(covariance - np.eye(2)).max())})
    return rows


def markdown(record: dict) -> str:
    """The table and its caption."""
    lines = ["| drive a | entropy production, exact (nats/step) | estimated (VAR(1), 95%) | "
             "IAT of x_1, exact (steps) | estimated (Sokal) | effective samples / step | "
             "max abs(cov - I) |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in record["rows"]:
        lines.append(f"| {r['drive']:g} | {r['ep_exact']:.4g} | {r['ep']:.4g} "
                     f"[{r['ep_low']:.4g}, {r['ep_high']:.4g}] | {r['iat_exact']:.3g} | "
                     f"{r['iat']:.3g} | {1 / r['iat_exact']:.3g} | "
                     f"{r['covariance_error']:.3f} |")
    env = record["environment"]
    lines += ["", f"`x' = ({record['decay']:g} I + a A) x + xi`, `A` the rotation generator, "
              f"`xi ~ N(0, (1 - {record['decay']:g}^2 - a^2) I)`: the stationary law is "
              f"N(0, I) at every drive. {record['chains']} chains of {record['steps']:,} steps "
              f"per drive, seed {record['seed']}. Exact values in closed form "
              "(`tests/test_mixing.py` checks them against `4 a^2 / (1 - decay^2 - a^2)` "
              "and `1 + 2 Re(lambda / (1 - lambda))`, `lambda = decay + i a`). Made by "
              f"`{record['command']}` on {record['date']} at commit {env['commit']}."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decay", type=float, default=0.9)
    parser.add_argument("--drives", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.3, 0.4])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--chains", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tables", type=Path, default=TABLES)
    args = parser.parse_args(argv)
    record = {"table": NAME, "command": COMMAND, "decay": args.decay, "steps": args.steps,
              "chains": args.chains, "seed": args.seed,
              "rows": measure(args.decay, args.drives, args.steps, args.chains, args.seed)}
    return publish_table(args.tables, NAME, record, markdown)


if __name__ == "__main__":
    main()
