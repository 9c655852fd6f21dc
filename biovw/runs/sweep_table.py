"""A sweep's table: the ``biovw compare`` rows of its finished trials averaged over seeds,
one row per grid point (sweep.md, sweep.csv)."""

from __future__ import annotations

import csv
import io
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biovw.runs.compare import NA, compare_runs
from biovw.runs.rundir import write_text_atomic
from biovw.runs.sweep_plan import SweepPlan

METRICS: dict[str, str] = {
    "loglik": "held-out log-lik",
    "bound": "bound",
    "sliced_w2": "sliced W2",
    "mmd": "MMD",
    "ep": "EP (nats/step)",
    "steps_to_mix": "steps to mix",
    "train_seconds": "train (s)",
}
"""Columns of the ``biovw compare`` rows averaged over seeds -> their heading in sweep.md."""

_DIGITS = {"mmd": 4, "steps_to_mix": 0, "train_seconds": 1}
"""Decimals shown in sweep.md where not 3."""


@dataclass(frozen=True)
class SweepTable:
    """Mean ± sd over seeds of every grid point, and where it was written.

    Attributes
    ----------
    rows : list of dict
        One per grid point: ``point`` (grid key -> value), ``label``, ``n_seeds``,
        ``n_finished``, ``failed`` (names of its trials that did not finish), ``values``
        (metric -> per-seed values of its finished trials), ``<metric>_mean`` and
        ``<metric>_sd`` for each of :data:`METRICS` (None when no value; sd None below two).
    markdown : str
    markdown_path, csv_path : Path
    per_trial : dict of str to dict
        The ``biovw compare`` row of each finished trial, by trial name.
    """

    rows: list[dict[str, Any]]
    markdown: str
    markdown_path: Path
    csv_path: Path
    per_trial: dict[str, dict[str, Any]] = field(default_factory=dict)


def _mean_sd(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _cell(mean: float | None, sd: float | None, digits: int = 3) -> str:
    if mean is None:
        return NA

    def fmt(v: float) -> str:
        if v != 0 and (abs(v) < 10 ** -digits or abs(v) >= 10**5):
            return f"{v:.2e}"
        return f"{v:.{digits}f}"
    return fmt(mean) if sd is None else f"{fmt(mean)} ± {fmt(sd)}"


def sweep_table(plan: SweepPlan, root: Path, manifest: dict[str, Any]) -> SweepTable:
    """The per-trial ``biovw compare`` rows of the finished trials (comparison.md and .csv
    in ``root``, scored on different held-out data when seeds differ) averaged over seeds per
    grid point into sweep.md and sweep.csv."""
    status = {e["name"]: e["status"] for e in manifest["trials"]}
    finished = [t for t in plan.trials if status[t.name] == "finished"]
    per_trial: dict[str, dict[str, Any]] = {}
    if finished:
        compared = compare_runs([root / t.name for t in finished], root, allow_mixed=True)
        per_trial = {t.name: row for t, row in zip(finished, compared.rows, strict=True)}
    rows = []
    for values in itertools.product(*plan.grid.values()):
        point = dict(zip(plan.grid, values, strict=True))
        trials = [t for t in plan.trials if t.point == point]
        done = [t for t in trials if t.name in per_trial]
        row: dict[str, Any] = {
            "point": point, "label": trials[0].label, "n_seeds": len(trials),
            "n_finished": len(done), "failed": [t.name for t in trials if t.name not in per_trial],
            "values": {},
        }
        for metric in METRICS:
            series = [per_trial[t.name][metric] for t in done
                      if per_trial[t.name][metric] is not None]
            row["values"][metric] = [float(v) for v in series]
            row[f"{metric}_mean"], row[f"{metric}_sd"] = _mean_sd(row["values"][metric])
        rows.append(row)
    markdown = _markdown(plan, rows)
    markdown_path, csv_path = root / "sweep.md", root / "sweep.csv"
    write_text_atomic(markdown_path, markdown)
    write_text_atomic(csv_path, _csv(plan, rows))
    return SweepTable(rows, markdown, markdown_path, csv_path, per_trial)


def _markdown(plan: SweepPlan, rows: list[dict[str, Any]]) -> str:
    header = [*plan.grid, "seeds finished", *METRICS.values()]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        done = f"{row['n_finished']}/{row['n_seeds']}"
        if row["failed"]:
            done += f" ({len(row['failed'])} failed)"
        cells = [*row["point"].values(), done]
        cells += [_cell(row[f"{m}_mean"], row[f"{m}_sd"], _DIGITS.get(m, 3)) for m in METRICS]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    seeds = ", ".join(str(s) for s in plan.seeds)
    notes = [
        "",
        f"Mean ± sample standard deviation over the finished seeds ({seeds}) of each grid "
        "point's runs, as `biovw compare` reports them one by one (comparison.md beside this "
        "file); no ± with a single finished seed, n/a without any. Log-likelihoods and bounds "
        "in nats per held-out example (each seed is scored on its own held-out split); sample "
        "quality at the last snapshot; EP only for runs analysed with `biovw analyze`.",
    ]
    failed = [name for row in rows for name in row["failed"]]
    if failed:
        notes.append(f"Not finished (see sweep.json): {', '.join(failed)}.")
    return "\n".join(lines + notes) + "\n"


def _csv(plan: SweepPlan, rows: list[dict[str, Any]]) -> str:
    columns = [*plan.grid, "n_seeds", "n_finished", "n_failed"]
    columns += [f"{m}_{s}" for m in METRICS for s in ("mean", "sd")]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        out = {**row["point"], "n_seeds": row["n_seeds"], "n_finished": row["n_finished"],
               "n_failed": len(row["failed"])}
        for m in METRICS:
            for s in ("mean", "sd"):
                value = row[f"{m}_{s}"]
                out[f"{m}_{s}"] = NA if value is None else value
        writer.writerow(out)
    return buffer.getvalue()
