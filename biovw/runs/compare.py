"""Side-by-side comparison of finished run directories.

:func:`compare_runs` reads ``config.yaml``, ``summary.json`` and, where present, ``eval.json``
and ``analysis.json`` of each run and writes one table (Markdown and CSV) with
a row per run: model, data set, held-out log-likelihood, bound, independent baseline, sample
quality at the last snapshot, entropy production per step, steps to mix and training time.

Runs are only compared when they were evaluated on the same held-out examples (same data set,
preprocessing, seed, split fractions, evaluation split and number of examples); otherwise the
log-likelihoods would not be comparable and :func:`compare_runs` raises :class:`ValueError`
unless ``allow_mixed=True``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from biovw.config import DataConfig, EvalConfig
from biovw.data import DATASETS
from biovw.data.toys import TOY_NOISE
from biovw.runs.kinds import MODEL_KINDS, ModelKind
from biovw.runs.rundir import read_npz

__all__ = ["NA", "ComparisonTable", "compare_runs", "paired_differences", "read_run",
           "steps_to_mix"]

NA = "n/a"
"""How a missing value is written in the Markdown and CSV outputs."""

MIX_REL_TOL = 0.1
"""Default relative tolerance of :func:`steps_to_mix`."""

COLUMNS: tuple[str, ...] = (
    "run",
    "model",
    "data",
    "n_heldout",
    "loglik",
    "loglik_se",
    "loglik_method",
    "bound",
    "bound_se",
    "baseline_loglik",
    "baseline_se",
    "snapshot_step",
    "sliced_w2",
    "mmd",
    "floor_sliced_w2",
    "floor_mmd",
    "ep",
    "ep_ci_low",
    "ep_ci_high",
    "ep_estimator",
    "ep_lower_bound",
    "iat",
    "ess_per_step",
    "switches_per_step",
    "steps_to_mix",
    "steps_to_mix_censored",
    "train_seconds",
    "n_parameters",
)
"""Keys of every row, in the order of the CSV header."""

_EP_ORDER = ("kernel", "exact", "coarse_grained")


@dataclass(frozen=True)
class ComparisonTable:
    """The comparison of several runs and the files it was written to.

    Attributes
    ----------
    rows : list of dict
        One dict per run with the keys :data:`COLUMNS`; a missing value is ``None``.
    paired : list of dict
        For every run after the first: the mean per-example difference of its held-out
        log-likelihood (and bound) from the first run's on the same examples, with the
        standard error of that paired difference (see :func:`paired_differences`).
    markdown : str
        The Markdown table with its notes (the contents of ``comparison.md``).
    csv_path, markdown_path : Path
        ``comparison.csv`` and ``comparison.md``.
    """

    rows: list[dict[str, Any]]
    paired: list[dict[str, Any]]
    markdown: str
    csv_path: Path
    markdown_path: Path

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serialisable form (paths as strings)."""
        return {
            "rows": [dict(r) for r in self.rows],
            "paired": [dict(r) for r in self.paired],
            "markdown": self.markdown,
            "csv_path": str(self.csv_path),
            "markdown_path": str(self.markdown_path),
        }


# ----------------------------------------------------------------------------- reading a run


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        msg = " ".join(str(exc).split())
        raise ValueError(f"{path}: cannot read YAML ({msg})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a YAML mapping")
    return data


def _section(config: Mapping[str, Any], name: str, defaults: Any) -> dict[str, Any]:
    merged = dataclasses.asdict(defaults)
    given = config.get(name)
    if isinstance(given, Mapping):
        merged.update(given)
    return merged


def read_run(run_dir: str | Path) -> dict[str, Any]:
    """Read the files of one run directory.

    Parameters
    ----------
    run_dir : str or Path
        A run directory written by ``biovw train``.

    Returns
    -------
    dict
        ``name``, ``path``, ``config``, ``summary``, ``eval`` (``{}`` when absent) and
        ``analysis`` (``None`` when absent).

    Raises
    ------
    ValueError
        If the directory does not exist or lacks ``summary.json`` or ``config.yaml``, or a
        file cannot be parsed.
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise ValueError(f"{path}: not a run directory (does not exist or is not a directory)")
    missing = [f for f in ("config.yaml", "summary.json") if not (path / f).is_file()]
    if missing:
        raise ValueError(f"{path}: not a finished run directory (missing {', '.join(missing)})")
    analysis_path = path / "analysis.json"
    eval_path = path / "eval.json"
    return {
        "name": path.resolve().name,
        "path": path,
        "config": _read_config(path / "config.yaml"),
        "summary": _read_json(path / "summary.json"),
        "eval": _read_json(eval_path) if eval_path.is_file() else {},
        "analysis": _read_json(analysis_path) if analysis_path.is_file() else None,
    }


# ----------------------------------------------------------------------------- labels and keys


def _model_kind(run: Mapping[str, Any]) -> ModelKind:
    name = str(run["config"].get("model") or run["summary"].get("model") or "walkback")
    if name not in MODEL_KINDS:
        raise ValueError(f"{run['path']}: unknown model kind {name!r}")
    return MODEL_KINDS[name]


def _data_label(data: Mapping[str, Any]) -> str:
    name = str(data["name"])
    if name == "file" and data.get("path"):
        name = f"file {Path(str(data['path'])).name}"
        if data.get("key"):
            name += f"[{data['key']}]"
    if data.get("binarize"):
        name += " (binarized)"
    return name


def _heldout_count(run: Mapping[str, Any], split: str) -> int | None:
    held = (run["eval"].get("loglik") or {}).get(split) or {}
    n = held.get("n_examples", held.get("n"))
    return int(n) if n is not None else None


def _heldout_key(run: Mapping[str, Any]) -> dict[str, Any]:
    """What determines the held-out examples a run was scored on."""
    config = run["config"]
    data = _section(config, "data", DataConfig())
    evaluation = _section(config, "eval", EvalConfig())
    name = data["name"]
    key: dict[str, Any] = {
        "data.name": name,
        "seed": config.get("seed", 0),
        "data.valid_fraction": float(data["valid_fraction"]),
        "data.test_fraction": float(data["test_fraction"]),
        "data.binarize": bool(data["binarize"]),
        "eval.split": (run["eval"].get("loglik") or {}).get("split", evaluation["split"]),
    }
    if data["binarize"]:
        key["data.threshold"] = float(data["threshold"])
    dataset = DATASETS.get(name)
    if dataset is not None and dataset.sample is not None:
        key["data.n_samples"] = int(data["n_samples"])
        key["data.noise"] = float(TOY_NOISE if data["noise"] is None else data["noise"])
    if dataset is not None and dataset.user_file:
        key["data.path"] = data["path"]
        key["data.key"] = data["key"]
    n = _heldout_count(run, evaluation["split"])
    key["held-out examples"] = n if n is not None else evaluation["n_examples"]
    return key


class MixedHeldOut(ValueError):
    """Runs scored on different held-out data were compared without ``allow_mixed``."""


def _check_same_heldout(runs: Sequence[Mapping[str, Any]]) -> None:
    keys = [_heldout_key(r) for r in runs]
    reference = keys[0]
    for run, key in zip(runs[1:], keys[1:], strict=True):
        fields = sorted(set(reference) | set(key))
        differ = [f for f in fields if reference.get(f) != key.get(f)]
        if differ:
            detail = ", ".join(
                f"{f} {reference.get(f)!r} vs {key.get(f)!r}" for f in differ
            )
            raise MixedHeldOut(
                f"runs {runs[0]['name']!r} ({runs[0]['path']}) and {run['name']!r} "
                f"({run['path']}) were scored on different held-out data ({detail}); their "
                "numbers are not comparable"
            )


# ----------------------------------------------------------------------------- row quantities


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _snapshots(sample_quality: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    out = []
    for key, value in sample_quality.items():
        try:
            step = int(key)
        except (TypeError, ValueError):
            continue
        if isinstance(value, Mapping):
            out.append((step, value))
    return sorted(out, key=lambda kv: kv[0])


def steps_to_mix(sample_quality: Mapping[str, Any], rel_tol: float = MIX_REL_TOL,
                 metric: str = "sliced_wasserstein") -> int | None:
    """Smallest snapshot step from which a sample-quality metric has settled.

    With snapshots at steps ``s_1 < ... < s_K`` and metric values ``m_1, ..., m_K`` (by
    default the sliced Wasserstein-2 distance to held-out data), the result is the smallest
    ``s_i`` such that ``|m_j - m_K| <= rel_tol * |m_K|`` for every ``j >= i``: from that
    snapshot on the chain's samples are as close to the data as they will get within the
    recorded horizon. The resolution is that of the snapshot grid, and the step unit is that
    of the run (extra operator steps past the cool-down for VW, Gibbs steps for an RBM). When
    the result is ``s_K`` the metric was still moving at ``s_{K-1}``.

    Parameters
    ----------
    sample_quality : mapping
        ``summary.json['sample_quality']``: step (as a string or int) to a dict holding
        ``metric``; non-integer keys such as ``data_floor`` are ignored.
    rel_tol : float, default 0.1
        Relative tolerance around the value at the last snapshot.
    metric : str, default "sliced_wasserstein"
        Which entry of each snapshot to use.

    Returns
    -------
    int or None
        The step, or ``None`` when fewer than two snapshots carry a finite value.
    """
    if rel_tol < 0:
        raise ValueError(f"rel_tol must be non-negative, got {rel_tol}")
    series = [(s, _num(q.get(metric))) for s, q in _snapshots(sample_quality)]
    series = [(s, v) for s, v in series if v is not None]
    if len(series) < 2:
        return None
    final = series[-1][1]
    tol = rel_tol * abs(final)
    answer = series[-1][0]
    for step, value in reversed(series):
        if abs(value - final) > tol:
            break
        answer = step
    return answer


def _loglik(run: Mapping[str, Any]) -> tuple[float | None, float | None, str | None]:
    summary = run["summary"]
    value = summary.get("heldout_loglik", summary.get("heldout_is_loglik"))
    se = summary.get("heldout_loglik_se", summary.get("heldout_is_se"))
    loglik = run["eval"].get("loglik") or {}
    method = summary.get("loglik_method") or loglik.get("method")
    if method is None:
        method = _model_kind(run).default_loglik_method
    if method is not None:
        method = str(method)
        if method.startswith("importance sampling"):
            held = loglik.get(loglik.get("split", "test")) or {}
            match = re.search(r"(\d+) trajectories", method)
            k = match.group(1) if match else held.get("n_trajectories")
            method = f"IS ({k} traj.)" if k is not None else "IS"
    return _num(value), _num(se), method


def _baseline(run: Mapping[str, Any]) -> tuple[float | None, float | None]:
    base = run["summary"].get("independent_baseline")
    if not isinstance(base, Mapping):
        base = (run["eval"].get("loglik") or {}).get("independent_baseline")
    if not isinstance(base, Mapping):
        return None, None
    return _num(base.get("loglik")), _num(base.get("se"))


def _entropy_production(analysis: Mapping[str, Any] | None) -> dict[str, Any]:
    empty = {"ep": None, "ep_ci_low": None, "ep_ci_high": None, "ep_estimator": None,
             "ep_lower_bound": None}
    estimates = (analysis or {}).get("entropy_production") or {}
    for name in _EP_ORDER:
        entry = estimates.get(name)
        if not isinstance(entry, Mapping) or _num(entry.get("value")) is None:
            continue
        value = _num(entry["value"])
        lower = name == "coarse_grained" and bool(entry.get("lower_bound", True))
        return {
            "ep": value,
            "ep_ci_low": _num(entry.get("ci_low", value)),
            "ep_ci_high": _num(entry.get("ci_high", value)),
            "ep_estimator": name.replace("_", "-"),
            "ep_lower_bound": lower,
        }
    return empty


def _mixing(analysis: Mapping[str, Any] | None) -> dict[str, Any]:
    """IAT, effective samples per step and switches between modes or classes per step of
    the analysed chain (analysis.json ``mixing``)."""
    mixing = (analysis or {}).get("mixing") or {}
    switching = mixing.get("switching") or {}
    return {"iat": _num(mixing.get("iat_summary")),
            "ess_per_step": _num(mixing.get("ess_per_step")),
            "switches_per_step": _num(switching.get("rate"))}


def _row(run: Mapping[str, Any], rel_tol: float) -> dict[str, Any]:
    summary = run["summary"]
    config = run["config"]
    data = _section(config, "data", DataConfig())
    evaluation = _section(config, "eval", EvalConfig())
    loglik, loglik_se, method = _loglik(run)
    base, base_se = _baseline(run)
    quality = summary.get("sample_quality") or {}
    snaps = _snapshots(quality)
    last_step, last = snaps[-1] if snaps else (None, {})
    floor = quality.get("data_floor") or {}
    mix = steps_to_mix(quality, rel_tol)
    finite_steps = [s for s, q in snaps if _num(q.get("sliced_wasserstein")) is not None]
    n = _heldout_count(run, evaluation["split"])
    row: dict[str, Any] = {
        "run": run["name"],
        "model": _model_kind(run).label(run["config"]),
        "data": _data_label(data),
        "n_heldout": n if n is not None else evaluation["n_examples"],
        "loglik": loglik,
        "loglik_se": loglik_se,
        "loglik_method": method,
        "bound": _num(summary.get("heldout_bound")),
        "bound_se": _num(summary.get("heldout_bound_se")),
        "baseline_loglik": base,
        "baseline_se": base_se,
        "snapshot_step": last_step,
        "sliced_w2": _num(last.get("sliced_wasserstein")),
        "mmd": _num(last.get("mmd")),
        "floor_sliced_w2": _num(floor.get("sliced_wasserstein")),
        "floor_mmd": _num(floor.get("mmd")),
        **_entropy_production(run["analysis"]),
        **_mixing(run["analysis"]),
        "steps_to_mix": mix,
        "steps_to_mix_censored": (None if mix is None else mix == finite_steps[-1]),
        "train_seconds": _num(summary.get("train_seconds")),
        "n_parameters": summary.get("n_parameters"),
    }
    return {c: row[c] for c in COLUMNS}


# ----------------------------------------------------------------------------- rendering


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return NA
    if value != 0 and (abs(value) < 10 ** -digits or abs(value) >= 10**5):
        return f"{value:.2e}"
    return f"{value:.{digits}f}"


def _pm(value: float | None, se: float | None) -> str:
    if value is None:
        return NA
    return _fmt(value) if se is None else f"{_fmt(value)} ± {_fmt(se)}"


def _ep_cell(row: Mapping[str, Any]) -> str:
    if row["ep"] is None:
        return NA
    cell = f"{'≥ ' if row['ep_lower_bound'] else ''}{row['ep']:.2e}"
    if row["ep_ci_low"] is not None and row["ep_ci_high"] is not None:
        if row["ep_ci_low"] != row["ep_ci_high"]:
            cell += f" [{row['ep_ci_low']:.2e}, {row['ep_ci_high']:.2e}]"
    return f"{cell} ({row['ep_estimator']})"


def _mix_cell(row: Mapping[str, Any], quality_steps: Sequence[int]) -> str:
    mix = row["steps_to_mix"]
    if mix is None:
        return NA
    if row["steps_to_mix_censored"] and len(quality_steps) >= 2:
        return f"> {quality_steps[-2]}"
    return str(mix)


def _markdown(rows: Sequence[Mapping[str, Any]], runs: Sequence[Mapping[str, Any]],
              rel_tol: float, mixed: bool) -> str:
    header = [
        "run", "model", "data", "held-out log-lik", "method", "bound", "indep. baseline",
        "sliced W2 (step)", "MMD", "data floor W2 / MMD", "EP (nats/step) [95% CI]",
        "IAT (steps)", "eff. samples / step", "switches / step", "steps to mix", "train (s)",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row, run in zip(rows, runs, strict=True):
        steps = [s for s, q in _snapshots(run["summary"].get("sample_quality") or {})
                 if _num(q.get("sliced_wasserstein")) is not None]
        w2 = _fmt(row["sliced_w2"])
        if row["sliced_w2"] is not None:
            w2 += f" ({row['snapshot_step']})"
        cells = [
            row["run"], row["model"], row["data"], _pm(row["loglik"], row["loglik_se"]),
            row["loglik_method"] or NA, _pm(row["bound"], row["bound_se"]),
            _pm(row["baseline_loglik"], row["baseline_se"]), w2, _fmt(row["mmd"], 4),
            f"{_fmt(row['floor_sliced_w2'])} / {_fmt(row['floor_mmd'], 4)}", _ep_cell(row),
            _fmt(row["iat"], 1), _fmt(row["ess_per_step"], 4),
            _fmt(row["switches_per_step"], 4), _mix_cell(row, steps),
            _fmt(row["train_seconds"], 1),
        ]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    notes = [
        "",
        "Log-likelihoods and bounds are in nats per held-out example (± one standard error); "
        "IS: importance sampling over reverse trajectories (VW), AIS / exact log Z: "
        "annealed importance sampling or the enumerated partition function (RBM), exact: the "
        "equilibrium circuit's enumerated log Z. The bound is the variational walk-back lower "
        "bound (VW only).",
        "Sample quality is measured at the last snapshot (step in parentheses: extra operator "
        "steps past the cool-down for VW, Gibbs steps for an RBM); the data floor is the same "
        "metric between as many training examples and the held-out split.",
        "EP: entropy production per step from analysis.json (kernel estimate if present, "
        "else exact, else coarse-grained; ≥ marks a coarse-grained lower bound); n/a when the "
        "run has no analysis.json. IAT (integrated autocorrelation time of the top principal "
        "component), effective samples per step and switches between modes or classes per "
        "step: the mixing of the same analysed chain (analysis.json).",
        f"Steps to mix: the smallest snapshot step from which the sliced W2 stays within "
        f"{100 * rel_tol:g}% of its value at the last snapshot; '> s' means it was still "
        "outside at snapshot s, the one before the last; n/a with fewer than two snapshots.",
    ]
    if mixed:
        notes.append("Warning: these runs were scored on different held-out data; their "
                     "log-likelihoods are not directly comparable.")
    return "\n".join(lines + notes) + "\n"


def _write_csv(rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: NA if row[k] is None else row[k] for k in COLUMNS})
    path.write_text(buffer.getvalue())


# ----------------------------------------------------------------------------- paired differences


def _per_example(run: Mapping[str, Any], split: str) -> tuple[dict[str, np.ndarray], str | None]:
    path = Path(run["path"]) / "loglik_examples.npz"
    held = (run["eval"].get("loglik") or {}).get(split) or {}
    if not path.is_file():
        return {}, None
    return read_npz(path), held.get("examples_sha256")


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    se = float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else float("nan")
    return float(d.mean()), se


def paired_differences(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per-example differences of every run from the first, on the same held-out examples.

    A difference of means between two runs scored on the same examples has the standard error
    of the per-example differences, usually far below the two runs' standard errors combined
    (the examples' own difficulty cancels). The pairing needs each run's
    ``loglik_examples.npz`` and identical example fingerprints (``examples_sha256`` in
    eval.json); otherwise the row says why it is not paired.

    Parameters
    ----------
    runs : sequence of dict
        Runs as returned by :func:`read_run`; the first is the reference.

    Returns
    -------
    list of dict
        One per run after the first: ``run``, ``reference``, ``n``, ``loglik_diff``,
        ``loglik_diff_se``, ``unpaired_se`` (the two standard errors combined, for contrast),
        ``bound_diff``, ``bound_diff_se`` (VW runs only, else None) and ``note`` (None when
        paired, else the reason).
    """
    if len(runs) < 2:
        return []
    ref = runs[0]
    split = str((ref["eval"].get("loglik") or {}).get("split", "test"))
    ref_arrays, ref_hash = _per_example(ref, split)
    out = []
    for run in runs[1:]:
        arrays, digest = _per_example(run, split)
        row: dict[str, Any] = {"run": run["name"], "reference": ref["name"], "n": None,
                               "loglik_diff": None, "loglik_diff_se": None, "unpaired_se": None,
                               "bound_diff": None, "bound_diff_se": None, "note": None}
        key = f"{split}_loglik"
        if key not in arrays or key not in ref_arrays:
            row["note"] = "no per-example log-likelihoods (loglik_examples.npz)"
        elif digest is None or digest != ref_hash:
            row["note"] = "scored on different examples"
        else:
            row["n"] = int(arrays[key].size)
            row["loglik_diff"], row["loglik_diff_se"] = _paired(ref_arrays[key], arrays[key])
            se_a, se_b = (_loglik(r)[1] for r in (ref, run))
            if se_a is not None and se_b is not None:
                row["unpaired_se"] = math.hypot(se_a, se_b)
            bound = f"{split}_bound"
            if bound in arrays and bound in ref_arrays:
                row["bound_diff"], row["bound_diff_se"] = _paired(ref_arrays[bound],
                                                                  arrays[bound])
        out.append(row)
    return out


def _paired_markdown(paired: Sequence[Mapping[str, Any]]) -> str:
    if not paired:
        return ""
    header = ["run", "minus", "examples", "Δ held-out log-lik (paired s.e.)", "unpaired s.e.",
              "Δ bound (paired s.e.)"]
    lines = ["", "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in paired:
        if row["note"]:
            cells = [row["run"], row["reference"], NA, row["note"], NA, NA]
        else:
            cells = [row["run"], row["reference"], row["n"],
                     _pm(row["loglik_diff"], row["loglik_diff_se"]), _fmt(row["unpaired_se"]),
                     _pm(row["bound_diff"], row["bound_diff_se"])]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    lines += ["", "Paired differences: mean over the same held-out examples of (run − first "
              "run), nats/example, ± the standard error of the per-example differences; the "
              "unpaired s.e. combines the two runs' own standard errors."]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- entry point


def compare_runs(run_dirs: list[str | Path], out: str | Path, *, allow_mixed: bool = False,
                 rel_tol: float = MIX_REL_TOL) -> ComparisonTable:
    """Compare finished runs in one table (:func:`biovw.plots.comparison_figure` draws its
    figure).

    Parameters
    ----------
    run_dirs : list of str or Path
        Run directories, each holding at least ``config.yaml`` and ``summary.json``
        (``eval.json`` and ``analysis.json`` are used when present). Older runs without
        ``model`` are treated as VW runs, and ``heldout_is_loglik`` / ``heldout_is_se`` are
        read when ``heldout_loglik`` / ``heldout_loglik_se`` are absent.
    out : str or Path
        Folder (created if needed) that receives ``comparison.md`` and ``comparison.csv``.
    allow_mixed : bool, default False
        Compare runs even when they were scored on different held-out data.
    rel_tol : float, default 0.1
        Relative tolerance of the steps-to-mix criterion (see :func:`steps_to_mix`).

    Returns
    -------
    ComparisonTable
        One row per run, in the order given (keys :data:`COLUMNS`; missing values are
        ``None`` and are written as ``n/a``).

    Raises
    ------
    ValueError
        If ``run_dirs`` is empty, a directory lacks ``summary.json`` or ``config.yaml`` (the
        message names it), or the runs were scored on different held-out data (different
        data set, preprocessing, seed, split fractions, evaluation split or number of
        examples) and ``allow_mixed`` is false (then a :class:`MixedHeldOut`).
    """
    if not run_dirs:
        raise ValueError("compare_runs needs at least one run directory")
    runs = [read_run(d) for d in run_dirs]
    mixed = False
    if not allow_mixed:
        _check_same_heldout(runs)
    else:
        keys = [_heldout_key(r) for r in runs]
        mixed = any(k != keys[0] for k in keys[1:])
    rows = [_row(r, rel_tol) for r in runs]
    paired = paired_differences(runs)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = _markdown(rows, runs, rel_tol, mixed) + _paired_markdown(paired)
    markdown_path = out_dir / "comparison.md"
    markdown_path.write_text(markdown)
    csv_path = out_dir / "comparison.csv"
    _write_csv(rows, csv_path)
    return ComparisonTable(rows=rows, paired=paired, markdown=markdown, csv_path=csv_path,
                           markdown_path=markdown_path)
