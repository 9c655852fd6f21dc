"""Samples against natural image patches: the covariance spectrum and the learned fields.

Usage::

    python -m biovw.reports.patches [--root results] [--seeds 0 1 2]

For every seed and every model row of the ``patches`` results table (``ROOT/patches/ROW/
seedS``, made first if missing), compares the samples the run's evaluation kept (the last
snapshot) with the test patches through the median excess kurtosis of a pixel (heavy tails) and the
eigenvalues of their covariance matrices: the
largest eigenvalue, the share of the variance in the top eight principal components, and the
mean absolute log ratio of the sorted eigenvalues (0 for the same spectrum). Writes
``docs/results/patches_spectrum.{md,json}``, the figure of the spectra
``docs/figures/patches/spectrum.png`` and, for seed 0, each model's weights as images
(``docs/figures/patches/fields_ROW.png``, copied from the run's ``figures/weight_fields.png``).
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from biovw.reports.pages import REPO, TABLES, mean_sd_text  # noqa: E402
from biovw.reports.results import TABLES as RESULT_TABLES  # noqa: E402
from biovw.reports.results import publish_table, run_row  # noqa: E402

COMMAND = "python -m biovw.reports.patches"
NAME = "patches_spectrum"
TABLE = "patches"
FIGURES = REPO / "docs" / "figures" / "patches"
TOP = 8


def spectrum(x: np.ndarray) -> np.ndarray:
    """Eigenvalues of the covariance of ``x`` ``[n, D]``, largest first."""
    return np.sort(np.linalg.eigvalsh(np.cov(np.asarray(x, dtype=np.float64), rowvar=False)))[::-1]


def excess_kurtosis(x: np.ndarray) -> float:
    """Median over pixels of the excess kurtosis (0 for a Gaussian; heavy tails above)."""
    return float(np.median(stats.kurtosis(np.asarray(x, dtype=np.float64), axis=0)))


def compare_spectra(samples: np.ndarray, reference: np.ndarray) -> dict:
    """Median excess kurtosis, largest eigenvalue, top-``TOP`` variance share and mean
    absolute log ratio of the sorted eigenvalues, of the samples and of the reference."""
    s, r = spectrum(samples), spectrum(reference)
    floor = 1e-12
    return {"kurtosis": excess_kurtosis(samples), "kurtosis_data": excess_kurtosis(reference),
            "largest": float(s[0]), "largest_data": float(r[0]),
            "top_share": float(s[:TOP].sum() / s.sum()),
            "top_share_data": float(r[:TOP].sum() / r.sum()),
            "log_ratio": float(np.mean(np.abs(np.log(np.maximum(s, floor) /
                                                     np.maximum(r, floor))))),
            "eigenvalues": s.tolist(), "eigenvalues_data": r.tolist()}


def _last_samples(run: Path) -> np.ndarray:
    files = sorted((run / "samples").glob("samples_step*.npy"),
                   key=lambda p: int(p.stem.removeprefix("samples_step")))
    return np.load(files[-1])


def _test_patches(run: Path) -> np.ndarray:
    from biovw.runs.build import open_run

    return open_run(run).data.test.numpy()


def _figure(rows: list[dict], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    first = rows[0]["per_seed"][0]
    ax.semilogy(first["eigenvalues_data"], "k-", lw=2, label="test patches")
    for row in rows:
        ax.semilogy(row["per_seed"][0]["eigenvalues"], label=row["label"])
    ax.set(xlabel="principal component (largest first)", ylabel="covariance eigenvalue",
           title="covariance spectrum, seed 0 (whitened patches)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def markdown(record: dict) -> str:
    """The table and its caption."""
    head = ["model", "excess kurtosis (median pixel)", "largest eigenvalue",
            f"variance in top {TOP} PCs", "mean abs. log eigenvalue ratio"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    data = record["rows"][0]["per_seed"]
    lines.append(f"| test patches | {mean_sd_text([s['kurtosis_data'] for s in data], 2)} | "
                 f"{mean_sd_text([s['largest_data'] for s in data], 3)} | "
                 f"{mean_sd_text([s['top_share_data'] for s in data], 3)} | 0 |")
    for row in record["rows"]:
        s = row["per_seed"]
        lines.append(f"| {row['label']} | {mean_sd_text([x['kurtosis'] for x in s], 2)} | "
                     f"{mean_sd_text([x['largest'] for x in s], 3)} | "
                     f"{mean_sd_text([x['top_share'] for x in s], 3)} | "
                     f"{mean_sd_text([x['log_ratio'] for x in s], 3)} |")
    env = record["environment"]
    lines += ["", (
        f"Covariance spectra of each run's kept samples (its evaluation's last snapshot) against "
        f"the test patches, runs of the `{TABLE}` results table (reused, trained at the commit "
        f"that table names), seeds {', '.join(map(str, record['seeds']))}, mean ± sd over "
        f"seeds. Made by `{COMMAND}` at commit {env['commit']} (torch {env['torch']}) in "
        f"{record['wall_seconds']} s.")]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO / "results")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--tables", type=Path, default=TABLES)
    parser.add_argument("--figures", type=Path, default=FIGURES)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    table = RESULT_TABLES[TABLE]
    rows = []
    for row in (r for r in table.rows if not r.independent):
        runs = [run_row(table, row, seed, args.root / TABLE, ()) for seed in args.seeds]
        rows.append({"label": row.label, "per_seed": [
            compare_spectra(_last_samples(run), _test_patches(run)) for run in runs]})
        fields = runs[0] / "figures" / "weight_fields.png"
        if fields.is_file():
            args.figures.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fields, args.figures / f"fields_{row.slug}.png")
    _figure(rows, args.figures / "spectrum.png")
    record = {"table": NAME, "command": COMMAND, "seeds": args.seeds, "rows": rows,
              "wall_seconds": round(time.perf_counter() - started)}
    publish_table(args.tables, NAME, record, markdown)


if __name__ == "__main__":
    main()
