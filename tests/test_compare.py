"""Tests for :mod:`biovw.runs.compare` on hand-written run directories with known numbers."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from biovw.plots import comparison_figure
from biovw.runs.compare import (
    COLUMNS,
    NA,
    ComparisonTable,
    MixedHeldOut,
    compare_runs,
    steps_to_mix,
)

MOG = {"name": "mog_grid", "n_samples": 10000, "noise": 0.05, "binarize": False,
       "threshold": 0.5, "path": None, "key": None, "valid_fraction": 0.1,
       "test_fraction": 0.1}
DIGITS = {**MOG, "name": "digits", "noise": None, "binarize": True, "test_fraction": 0.15}


def _quality(series: dict[int, float], floor: float = 0.05) -> dict[str, Any]:
    out: dict[str, Any] = {
        str(step): {"sliced_wasserstein": w2, "mmd": w2 / 10, "energy_distance": w2 / 2,
                    "near_mode_fraction": None, "mode_shares": None, "n_samples": 100}
        for step, w2 in series.items()
    }
    out["data_floor"] = {"sliced_wasserstein": floor, "mmd": -1e-4, "energy_distance": 0.0,
                         "near_mode_fraction": None, "mode_shares": None, "n_samples": 100}
    return out


def _make_run(root: Path, name: str, *, model: str = "walkback", data: dict | None = None,
              seed: int = 0, circuit: dict | None = None, rbm: dict | None = None,
              quality: dict[int, float] | None = None, analysis: dict | None = None,
              legacy: bool = False, n_examples: int = 500, **summary_extra: Any) -> Path:
    run = root / name
    run.mkdir(parents=True)
    config: dict[str, Any] = {"name": name, "seed": seed, "data": data or MOG,
                              "circuit": circuit or {"kind": "rate", "dale": True,
                                                     "symmetric": False},
                              "eval": {"split": "test", "n_examples": n_examples}}
    if not legacy:
        config["model"] = model
    if rbm is not None:
        config["rbm"] = rbm
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    summary: dict[str, Any] = {"name": name, "iterations": 100, "train_seconds": 12.5,
                               "n_parameters": 1000, "unit": "nats/example",
                               "sample_quality": _quality(quality or {0: 0.3, 10: 0.2})}
    if model == "walkback":
        summary.update({"final_loss": 1.0, "heldout_bound": -1.5, "heldout_bound_se": 0.1})
        if legacy:
            summary.update({"heldout_is_loglik": -1.0, "heldout_is_se": 0.05})
        else:
            summary.update({"model": "walkback", "heldout_loglik": -1.0,
                            "heldout_loglik_se": 0.05,
                            "loglik_method": "importance sampling, 50 trajectories"})
    else:
        summary.update({"model": "rbm", "heldout_loglik": -1.25, "heldout_loglik_se": 0.07,
                        "loglik_method": "AIS"})
    if not legacy:
        summary["independent_baseline"] = {"model": "diagonal Gaussian", "loglik": -2.5,
                                           "se": 0.02, "unit": "nats/example"}
    summary.update(summary_extra)
    (run / "summary.json").write_text(json.dumps(summary))
    held = {"n_examples": n_examples, "n_trajectories": 50} if model == "walkback" else {
        "n": n_examples}
    (run / "eval.json").write_text(json.dumps({"seed": seed, "loglik": {"split": "test",
                                                                        "test": held}}))
    if analysis is not None:
        (run / "analysis.json").write_text(json.dumps({"entropy_production": analysis}))
    return run


KERNEL = {"value": 0.002, "ci_low": 0.001, "ci_high": 0.003, "unit": "nats/step"}
EXACT = {"value": 0.0025, "ci_low": 0.0025, "ci_high": 0.0025, "unit": "nats/step"}
COARSE = {"value": 0.0004, "ci_low": -0.0001, "ci_high": 0.0009, "unit": "nats/step",
          "coarse_grained": True, "lower_bound": True}

RBM = {"visible": "bernoulli", "hidden": 20, "method": "pcd", "k": 1}


@pytest.fixture()
def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    vw = _make_run(tmp_path, "vw_dale", quality={0: 0.5, 10: 0.22, 100: 0.21, 1000: 0.2},
                   analysis={"kernel": KERNEL, "exact": EXACT, "coarse_grained": COARSE})
    rbm = _make_run(tmp_path, "rbm20", model="rbm", rbm=RBM, quality={10: 0.4},
                    train_seconds=3.0)
    return vw, rbm


# --------------------------------------------------------------------------- table values


def test_table_values(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    table = compare_runs(list(two_runs), tmp_path / "out")
    assert isinstance(table, ComparisonTable)
    vw, rbm = table.rows
    assert list(vw) == list(COLUMNS)
    assert vw["run"] == "vw_dale" and rbm["run"] == "rbm20"
    assert vw["model"] == "VW rate circuit (Dale, backprop)"
    assert rbm["model"] == "RBM (PCD-1, 20 hidden)"
    assert vw["data"] == "mog_grid" and vw["n_heldout"] == 500
    assert (vw["loglik"], vw["loglik_se"], vw["loglik_method"]) == (-1.0, 0.05, "IS (50 traj.)")
    assert (rbm["loglik"], rbm["loglik_se"], rbm["loglik_method"]) == (-1.25, 0.07, "AIS")
    assert (vw["bound"], vw["bound_se"]) == (-1.5, 0.1)
    assert rbm["bound"] is None and rbm["bound_se"] is None
    assert (vw["baseline_loglik"], vw["baseline_se"]) == (-2.5, 0.02)
    assert vw["snapshot_step"] == 1000 and vw["sliced_w2"] == 0.2
    assert vw["mmd"] == pytest.approx(0.02)
    assert (vw["floor_sliced_w2"], vw["floor_mmd"]) == (0.05, -1e-4)
    assert rbm["snapshot_step"] == 10 and rbm["sliced_w2"] == 0.4
    assert (vw["ep"], vw["ep_ci_low"], vw["ep_ci_high"]) == (0.002, 0.001, 0.003)
    assert vw["ep_estimator"] == "kernel" and vw["ep_lower_bound"] is False
    assert vw["steps_to_mix"] == 10 and vw["steps_to_mix_censored"] is False
    assert (vw["train_seconds"], rbm["train_seconds"]) == (12.5, 3.0)
    assert vw["n_parameters"] == 1000

    md = table.markdown
    assert table.markdown_path.read_text() == md
    # the runs' table (header + 2 rows) and the paired table (header + 1 row, unpaired here)
    assert sum(ln.startswith("| ") for ln in md.splitlines()) == 5
    assert table.paired[0]["note"].startswith("no per-example")
    assert "| vw_dale | VW rate circuit (Dale, backprop) | mog_grid | -1.000 ± 0.050 |" in md
    assert "2.00e-03 [1.00e-03, 3.00e-03] (kernel)" in md
    assert "within 10% of its value at the last snapshot" in md
    assert table.csv_path.name == "comparison.csv"
    figure = comparison_figure(table.rows, tmp_path / "out" / "comparison.png")
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_csv_round_trip(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    table = compare_runs(list(two_runs), tmp_path / "out")
    with table.csv_path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == list(COLUMNS)
        rows = list(reader)
    assert len(rows) == 2
    for parsed, row in zip(rows, table.rows, strict=True):
        for key in COLUMNS:
            value = row[key]
            if value is None:
                assert parsed[key] == NA
            elif isinstance(value, bool):
                assert parsed[key] == str(value)
            elif isinstance(value, (int, float)):
                assert float(parsed[key]) == pytest.approx(value, rel=1e-12)
            else:
                assert parsed[key] == value
    assert rows[1]["model"] == "RBM (PCD-1, 20 hidden)"


def test_to_dict_is_json_and_table_is_frozen(two_runs: tuple[Path, Path],
                                             tmp_path: Path) -> None:
    table = compare_runs(list(two_runs), tmp_path / "out")
    d = json.loads(json.dumps(table.to_dict()))
    assert d["rows"][0]["run"] == "vw_dale"
    assert Path(d["csv_path"]) == table.csv_path
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.markdown = ""  # type: ignore[misc]


# --------------------------------------------------------------------------- n/a handling


def test_missing_analysis_and_single_snapshot_are_na(two_runs: tuple[Path, Path],
                                                      tmp_path: Path) -> None:
    table = compare_runs(list(two_runs), tmp_path / "out")
    rbm = table.rows[1]
    for key in ("ep", "ep_ci_low", "ep_ci_high", "ep_estimator", "ep_lower_bound",
                "steps_to_mix", "steps_to_mix_censored", "bound"):
        assert rbm[key] is None
    line = next(ln for ln in table.markdown.splitlines() if ln.startswith("| rbm20 "))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[5] == NA  # bound
    assert cells[10] == NA  # entropy production
    assert cells[11] == NA  # steps to mix


def test_legacy_summary_keys_and_missing_baseline(tmp_path: Path) -> None:
    run = _make_run(tmp_path, "old", legacy=True)
    (row,) = compare_runs([run], tmp_path / "out").rows
    assert row["model"] == "VW rate circuit (Dale, backprop)"
    assert (row["loglik"], row["loglik_se"]) == (-1.0, 0.05)
    assert row["loglik_method"] == "IS (50 traj.)"
    assert row["baseline_loglik"] is None and row["baseline_se"] is None


def test_entropy_production_preference(tmp_path: Path) -> None:
    runs = [
        _make_run(tmp_path, "exact", analysis={"exact": EXACT, "coarse_grained": COARSE}),
        _make_run(tmp_path, "coarse", analysis={"coarse_grained": COARSE}),
        _make_run(tmp_path, "full", analysis={"coarse_grained": {**COARSE,
                                                                 "lower_bound": False}}),
    ]
    table = compare_runs(runs, tmp_path / "out")
    exact, coarse, full = table.rows
    assert (exact["ep_estimator"], exact["ep"], exact["ep_lower_bound"]) == ("exact", 0.0025,
                                                                              False)
    assert (coarse["ep_estimator"], coarse["ep"]) == ("coarse-grained", 0.0004)
    assert coarse["ep_lower_bound"] is True
    assert (coarse["ep_ci_low"], coarse["ep_ci_high"]) == (-0.0001, 0.0009)
    assert full["ep_lower_bound"] is False
    md = table.markdown
    assert "| 2.50e-03 (exact) |" in md
    assert "≥ 4.00e-04 [-1.00e-04, 9.00e-04] (coarse-grained)" in md


def test_model_labels(tmp_path: Path) -> None:
    runs = [
        _make_run(tmp_path, "sym", circuit={"kind": "rate", "dale": False, "symmetric": True}),
        _make_run(tmp_path, "free", circuit={"kind": "rate", "dale": False,
                                             "symmetric": False}),
        _make_run(tmp_path, "mlp", circuit={"kind": "mlp"}),
        _make_run(tmp_path, "grbm", model="rbm",
                  rbm={**RBM, "visible": "gaussian", "method": "cd", "k": 5, "hidden": 64}),
    ]
    labels = [r["model"] for r in compare_runs(runs, tmp_path / "out").rows]
    assert labels == ["VW rate circuit (symmetric, backprop)", "VW rate circuit (backprop)",
                      "VW MLP", "Gaussian-Bernoulli RBM (CD-5, 64 hidden)"]


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"data": DIGITS}, "data.name"),
        ({"seed": 1}, "seed"),
        ({"data": {**MOG, "test_fraction": 0.2}}, "data.test_fraction"),
        ({"data": {**MOG, "noise": 0.1}}, "data.noise"),
        ({"n_examples": 250}, "held-out examples"),
    ],
)
def test_mixed_heldout_data_is_refused(tmp_path: Path, change: dict, field: str) -> None:
    a = _make_run(tmp_path, "a")
    b = _make_run(tmp_path, "b", **change)
    with pytest.raises(MixedHeldOut, match="different held-out data") as info:
        compare_runs([a, b], tmp_path / "out")
    assert field in str(info.value)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out" / "comparison.csv").exists()
    table = compare_runs([a, b], tmp_path / "out", allow_mixed=True)
    assert len(table.rows) == 2 and "Warning" in table.markdown


def test_binarized_digits_runs_compare(tmp_path: Path) -> None:
    vw = _make_run(tmp_path, "vw", data=DIGITS, circuit={"kind": "mlp"}, n_examples=270)
    rbm = _make_run(tmp_path, "rbm", model="rbm", rbm=RBM,
                    data={**DIGITS, "n_samples": 500}, n_examples=270)
    table = compare_runs([vw, rbm], tmp_path / "out")
    assert [r["data"] for r in table.rows] == ["digits (binarized)"] * 2
    assert "Warning" not in table.markdown


@pytest.mark.parametrize("missing", ["summary.json", "config.yaml"])
def test_missing_file_names_the_directory(tmp_path: Path, missing: str) -> None:
    good = _make_run(tmp_path, "good")
    bad = _make_run(tmp_path, "bad")
    (bad / missing).unlink()
    with pytest.raises(ValueError, match=missing) as info:
        compare_runs([good, bad], tmp_path / "out")
    assert str(bad) in str(info.value) and "\n" not in str(info.value)


def test_nonexistent_directory_and_empty_list(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nowhere"):
        compare_runs([tmp_path / "nowhere"], tmp_path / "out")
    with pytest.raises(ValueError, match="at least one"):
        compare_runs([], tmp_path / "out")


# --------------------------------------------------------------------------- steps to mix


def test_steps_to_mix_on_constructed_series() -> None:
    q = _quality({0: 1.0, 10: 0.5, 100: 0.215, 1000: 0.2}, floor=0.01)
    assert steps_to_mix(q) == 100  # |0.215 - 0.2| <= 0.02 < |0.5 - 0.2|
    assert steps_to_mix(q, rel_tol=0.05) == 1000
    assert steps_to_mix(q, rel_tol=5.0) == 0
    # a value back inside the band after leaving it does not count
    q = _quality({0: 0.2, 10: 0.5, 100: 0.19, 1000: 0.2})
    assert steps_to_mix(q) == 100
    # keys may be ints; the data floor is ignored
    assert steps_to_mix({10: {"sliced_wasserstein": 0.3}, 100: {"sliced_wasserstein": 0.3},
                         "data_floor": {"sliced_wasserstein": 0.0}}) == 10
    assert steps_to_mix(_quality({0: 0.2})) is None
    assert steps_to_mix({}) is None
    assert steps_to_mix(_quality({0: 0.3, 10: 0.2}), metric="mmd") == 10
    with pytest.raises(ValueError):
        steps_to_mix(q, rel_tol=-0.1)


def test_steps_to_mix_still_moving_is_marked(tmp_path: Path) -> None:
    run = _make_run(tmp_path, "moving", quality={0: 0.9, 10: 0.6, 100: 0.3})
    table = compare_runs([run], tmp_path / "out")
    (row,) = table.rows
    assert row["steps_to_mix"] == 100 and row["steps_to_mix_censored"] is True
    assert "| > 10 |" in table.markdown


# --------------------------------------------------------------------------- real run


@pytest.mark.skipif(not Path("/tmp/rcos/summary.json").is_file(),
                    reason="no real run directory at /tmp/rcos")
def test_real_run_directory(tmp_path: Path) -> None:
    table = compare_runs(["/tmp/rcos"], tmp_path / "out")
    (row,) = table.rows
    summary = json.loads(Path("/tmp/rcos/summary.json").read_text())
    assert row["run"] == "rcos"
    assert row["model"].startswith("VW ")
    loglik = summary.get("heldout_loglik", summary.get("heldout_is_loglik"))
    assert row["loglik"] == pytest.approx(loglik)
    assert row["loglik_method"].startswith("IS")
    assert row["train_seconds"] == pytest.approx(summary["train_seconds"])
    if Path("/tmp/rcos/analysis.json").is_file():
        assert row["ep"] is not None and row["ep_ci_low"] <= row["ep"] <= row["ep_ci_high"]
    for path in (table.csv_path, table.markdown_path):
        assert path.is_file() and path.stat().st_size > 0


def _add_per_example(run: Path, loglik, bound=None, digest: str = "abc") -> None:
    import numpy as np

    arrays = {"test_loglik": np.asarray(loglik, dtype=float)}
    if bound is not None:
        arrays["test_bound"] = np.asarray(bound, dtype=float)
    np.savez(run / "loglik_examples.npz", **arrays)
    ev = json.loads((run / "eval.json").read_text())
    ev["loglik"]["test"]["examples_sha256"] = digest
    (run / "eval.json").write_text(json.dumps(ev))


def test_paired_differences_use_the_same_examples(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    difficulty = rng.normal(0.0, 3.0, 200)  # shared by both runs: cancels in the pairing
    a_ll, b_ll = difficulty + rng.normal(0, 0.1, 200), difficulty + 0.05 + rng.normal(0, 0.1, 200)
    a = _make_run(tmp_path, "a")
    b = _make_run(tmp_path, "b")
    c = _make_run(tmp_path, "c")
    d = _make_run(tmp_path, "d")
    _add_per_example(a, a_ll, a_ll - 1)
    _add_per_example(b, b_ll, b_ll - 2)
    _add_per_example(c, b_ll, digest="other")
    table = compare_runs([a, b, c, d], tmp_path / "out")
    pb, pc, pd = table.paired
    diff = b_ll - a_ll
    assert pb["n"] == 200 and pb["note"] is None
    assert pb["loglik_diff"] == pytest.approx(diff.mean())
    assert pb["loglik_diff_se"] == pytest.approx(diff.std(ddof=1) / np.sqrt(200))
    assert pb["bound_diff"] == pytest.approx(diff.mean() - 1)
    assert pb["unpaired_se"] == pytest.approx(np.hypot(0.05, 0.05))
    assert pb["loglik_diff_se"] < 0.2 * 3.0 / np.sqrt(200)  # pairing removed the difficulty
    assert pc["note"] == "scored on different examples" and pc["loglik_diff"] is None
    assert "loglik_examples.npz" in pd["note"]
    assert "Paired differences" in table.markdown
    assert f"{diff.mean():.3f} ± {diff.std(ddof=1) / np.sqrt(200):.3f}" in table.markdown


def test_mixing_columns_come_from_the_analysed_chain(tmp_path: Path) -> None:
    run = _make_run(tmp_path, "mixed", analysis={"kernel": KERNEL})
    analysis = json.loads((run / "analysis.json").read_text())
    analysis["mixing"] = {"iat_summary": 12.5, "ess_per_step": 0.08,
                          "switching": {"rate": 0.003}}
    (run / "analysis.json").write_text(json.dumps(analysis))
    bare = _make_run(tmp_path, "bare")
    table = compare_runs([run, bare], tmp_path / "out")
    row, empty = table.rows
    assert (row["iat"], row["ess_per_step"], row["switches_per_step"]) == (12.5, 0.08, 0.003)
    assert (empty["iat"], empty["ess_per_step"], empty["switches_per_step"]) == (None,) * 3
    line = next(li for li in table.markdown.splitlines() if li.startswith("| mixed"))
    assert "| 12.5 | 0.0800 | 0.0030 |" in line
