"""The results-table script and the determinism its tables rely on."""

from __future__ import annotations

import importlib.util
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
TINY = ["train.steps=4", "train.batch_size=64", "circuit.hidden=12", "walkback.num_steps=3",
        "data.n_samples=300", "eval.n_examples=12", "eval.n_trajectories=2",
        "eval.n_samples=40", "eval.snapshots=[0, 2]"]


def _script():
    return importlib.import_module("biovw.reports.results")


def _train(out: Path, seed: int) -> None:
    sets = [a for o in TINY for a in ("--set", o)]
    subprocess.run([sys.executable, "-m", "biovw", "train", "circuits/rate_net.yaml",
                    "--seed", str(seed), "--out", str(out), "--no-progress", *sets],
                   cwd=REPO, check=True, capture_output=True)


def _without_times(value):
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k != "seconds"}
    return value


@pytest.mark.slow  # resume tests compare separate processes bit for bit in the default run
def test_a_fixed_seed_gives_identical_numbers_in_separate_processes(tmp_path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        _train(tmp_path / name, seed)
    ev = {n: _without_times(json.loads((tmp_path / n / "eval.json").read_text()))
          for n in "abc"}
    assert ev["a"] == ev["b"]
    assert ev["a"]["loglik"] != ev["c"]["loglik"]
    arrays = {n: np.load(tmp_path / n / "loglik_examples.npz") for n in "ab"}
    assert np.array_equal(arrays["a"]["valid_loglik"], arrays["b"]["valid_loglik"])


def test_table_is_mean_and_sd_over_seeds_of_the_runs_it_made(tmp_path):
    results = _script()
    readme = tmp_path / "README.md"
    readme.write_text("before\n<!-- results:default -->\nold\n<!-- /results:default -->\nafter\n")
    extra = [a for o in TINY for a in ("--set", o)]
    results.main(["default", "--seeds", "0", "1", "--root", str(tmp_path / "res"),
                  "--tables", str(tmp_path / "tables"), "--readme", str(readme), *extra])
    record = json.loads((tmp_path / "tables" / "default.json").read_text())
    (row,) = record["rows"]
    runs = [tmp_path / "res" / "default" / "fa_dale_default_job" / f"seed{s}" for s in (0, 1)]
    summaries = [json.loads((r / "summary.json").read_text()) for r in runs]
    assert all(s["heldout_split"] == "test" for s in summaries)  # evaluated on test once
    bounds = [s["heldout_bound"] for s in summaries]
    mean, sd, n = row["mean_sd"]["bound"]
    assert n == 2 and mean == pytest.approx(statistics.mean(bounds))
    assert sd == pytest.approx(statistics.stdev(bounds))
    text = readme.read_text()
    assert text.startswith("before\n<!-- results:default -->\n| setting")
    assert text.endswith("<!-- /results:default -->\nafter\n") and "old" not in text
    assert f"{mean:.3f} ± {sd:.3f}" in text
    # how far the IS estimate is from converged: the last rung's increase, its SE, the ESS
    evals = [json.loads((r / "eval.json").read_text())["loglik"]["test"] for r in runs]
    increase, increase_sd, _ = row["mean_sd"]["increase"]
    assert increase == pytest.approx(statistics.mean(e["increase"] for e in evals))
    assert row["mean_sd"]["ess_median"][0] == pytest.approx(
        statistics.mean(e["ess_median"] for e in evals))
    se = statistics.mean(e["increase_se"] for e in evals)
    assert f"{increase:+.3f} ± {increase_sd:.3f} ({se:.3f})" in text
    assert record["environment"]["torch"] and record["seeds"] == [0, 1]
    # finished runs are reused: a second call trains nothing and writes the same table
    stamp = [(r / "summary.json").stat().st_mtime_ns for r in runs]
    results.main(["default", "--seeds", "0", "1", "--root", str(tmp_path / "res"),
                  "--tables", str(tmp_path / "tables"), *extra])
    assert [(r / "summary.json").stat().st_mtime_ns for r in runs] == stamp
    # a run stopped during its evaluation (no summary yet) is resumed, not trained again
    (runs[1] / "summary.json").unlink()
    checkpoint = (runs[1] / "checkpoints" / "latest.pt").stat().st_mtime_ns
    results.main(["default", "--seeds", "0", "1", "--root", str(tmp_path / "res"),
                  "--tables", str(tmp_path / "tables"), *extra])
    assert json.loads((runs[1] / "summary.json").read_text())["heldout_bound"] == bounds[1]
    assert (runs[1] / "checkpoints" / "latest.pt").stat().st_mtime_ns == checkpoint


def test_mean_sd_ignores_missing_values():
    results = _script()
    assert results.mean_sd([1.0, None, 3.0]) == (2.0, pytest.approx(2**0.5), 2)
    assert results.mean_sd([None]) == (None, None, 0)
    assert results.mean_sd([5.0]) == (5.0, None, 1)


def test_paired_table_differences_and_independent_row(tmp_path, monkeypatch):
    """A paired table reports each row's per-example difference from the first row on the same
    examples, and the independent-unit row agrees with the baseline the run itself reports."""
    results = _script()
    table = results.Table(
        rows=(results.Row("a", "circuits/rate_net.yaml"),
              results.Row("b", "circuits/rate_net.yaml", ("walkback.kappa=0.3",)),
              results.Row("independent", "circuits/rate_net.yaml", independent=True)),
        split="test", caption="paired test", paired=True)
    monkeypatch.setitem(results.TABLES, "paired_test", table)
    extra = [a for o in TINY for a in ("--set", o)]
    results.main(["paired_test", "--seeds", "0", "--root", str(tmp_path / "res"),
                  "--tables", str(tmp_path / "tables"), *extra])
    record = json.loads((tmp_path / "tables" / "paired_test.json").read_text())
    root = tmp_path / "res" / "paired_test"
    a, b = (np.load(root / r / "seed0" / "loglik_examples.npz")["test_loglik"] for r in "ab")
    first, second, independent = (r["per_seed"][0] for r in record["rows"])
    assert first["paired_diff"] is None
    assert not np.allclose(a, b)
    assert second["paired_diff"] == pytest.approx(float(np.mean(b - a)))
    assert second["paired_se"] == pytest.approx(float(np.std(b - a, ddof=1) / len(a) ** 0.5))
    summary = json.loads((root / "a" / "seed0" / "summary.json").read_text())
    assert summary["heldout_split"] == "test"
    assert independent["loglik"] == pytest.approx(summary["independent_baseline"]["loglik"])
    assert independent["paired_diff"] == pytest.approx(independent["loglik"] - float(a.mean()))
    assert not (root / "independent").exists()  # the independent row trains nothing
    text = (tmp_path / "tables" / "paired_test.md").read_text()
    assert "Δ log-lik. vs a (paired)" in text.splitlines()[0]
    page = (tmp_path / "tables.md").read_text()  # the page beside the tables, rewritten
    assert f'--8<-- "{tmp_path / "tables" / "paired_test.md"}"' in page  # included, not copied
    assert f"`python -m biovw.reports.results paired_test --seeds 0 --set {TINY[0]}" in page
    assert record["date"] in page


def test_a_diverged_run_is_a_row_result_not_a_failure(tmp_path, monkeypatch):
    """A run whose training diverges (exit 3) is recorded beside the run, left out of the
    means, named in its row, and not retrained by the next call. The table also reports the
    entropy production that `biovw analyze` wrote for each finished run."""
    results = _script()
    table = results.Table(
        rows=(results.Row("a", "circuits/rate_net.yaml"),
              results.Row("b", "circuits/rate_net.yaml", ("train.lr=1e9",))),
        split="test", caption="diverged test", analyze=True)
    monkeypatch.setitem(results.TABLES, "diverged_test", table)
    extra = [a for o in TINY for a in ("--set", o)]
    args = ["diverged_test", "--seeds", "0", "--root", str(tmp_path / "res"),
            "--tables", str(tmp_path / "tables"), *extra]
    results.main(args)
    marker = tmp_path / "res" / "diverged_test" / "b" / "seed0.diverged"
    assert "training diverged at iteration" in marker.read_text()
    record = json.loads((tmp_path / "tables" / "diverged_test.json").read_text())
    first, second = record["rows"]
    assert first["per_seed"][0]["diverged"] == 0.0 and first["per_seed"][0]["bound"] is not None
    assert second["per_seed"][0]["diverged"] == 1.0 and second["per_seed"][0]["bound"] is None
    text = (tmp_path / "tables" / "diverged_test.md").read_text()
    assert "| b (diverged in 1 of 1 seeds) | - |" in text and "exit 3" in text
    analysis = json.loads((tmp_path / "res" / "diverged_test" / "a" / "seed0" /
                           "analysis.json").read_text())["entropy_production"]["kernel"]
    assert first["per_seed"][0]["ep"] == analysis["value"]
    excludes = analysis["ci_low"] > 0 or analysis["ci_high"] < 0
    assert f"{analysis['value']:.4f} ({int(excludes)}/1 excl. 0)" in text
    assert "entropy production (nats/transition)" in text.splitlines()[0]
    mixing = json.loads((tmp_path / "res" / "diverged_test" / "a" / "seed0" /
                         "analysis.json").read_text())["mixing"]
    assert first["per_seed"][0]["iat"] == mixing["iat_summary"]
    assert f"| {mixing['iat_summary']:.1f} |" in text and "IAT (steps)" in text.splitlines()[0]
    stamp = marker.stat().st_mtime_ns
    results.main(args)
    assert marker.stat().st_mtime_ns == stamp


def test_every_row_of_every_table_is_a_valid_configuration():
    """A table's rows are validated here, not hours into its run."""
    from biovw.config import load_config

    results = _script()
    for name, table in results.TABLES.items():
        for row in table.rows:
            cfg = load_config(REPO / row.config, [*table.common, *row.overrides])
            assert cfg.eval.split in ("valid", "test"), (name, row.label)
        assert len({row.slug for row in table.rows}) == len(table.rows), name


def test_an_rbm_scored_by_ais_reports_the_effective_sample_size(tmp_path):
    results = _script()
    ais = {"log_z": 428.0, "n_runs": 100, "effective_sample_size": 7.5}
    runs = []
    for seed, (exact, ess) in enumerate([(None, 7.5), (None, 9.5), (63.7, 99.0)]):
        run = tmp_path / f"seed{seed}"
        run.mkdir()
        (run / "summary.json").write_text(json.dumps({"heldout_loglik": -99.0,
                                                      "heldout_split": "test"}))
        part = {"ais": {**ais, "effective_sample_size": ess}, "exact": exact}
        (run / "eval.json").write_text(json.dumps({"loglik": {
            "log_partition": part, "test": {"mean": -99.0},
            "test_raise": {"mean": -101.0 - seed}}}))
        runs.append(run)
    numbers = [results.run_numbers(r) for r in runs]
    assert [n["ais_ess"] for n in numbers] == [7.5, 9.5, None]  # exact log Z: no AIS to judge
    assert numbers[0]["ais_runs"] == 100.0
    table = results.Table(rows=(results.Row("rbm", "circuits/rbm_mnist.yaml"),), split="test",
                          caption="c")
    markdown, _ = results.aggregate("t", table, {"rbm": runs[:2]}, [0, 1])
    assert f"rbm: AIS effective sample size 8.5 ± {np.std([7.5, 9.5], ddof=1):.1f} of 100 " \
           "runs." in markdown
    assert [n["raise"] for n in numbers] == [-101.0, -102.0, -103.0]
    assert (f"rbm: RAISE from the held-out examples (conservative) -101.500 ± "
            f"{np.std([-101.0, -102.0], ddof=1):.3f}.") in markdown


def test_rows_scored_with_fewer_trajectories_are_named_in_the_caption(tmp_path):
    results = _script()
    runs = {}
    for label, k in (("mlp", 200), ("rate", 40), ("mlp short", 200)):
        run = tmp_path / label / "seed0"
        run.mkdir(parents=True)
        (run / "summary.json").write_text(json.dumps(
            {"heldout_loglik": -150.0, "loglik_method": f"importance sampling, {k} trajectories"}))
        runs[label] = [run]
    table = results.Table(rows=tuple(results.Row(label, "circuits/mnist_paper.yaml")
                                     for label in runs), split="test", caption="c")
    markdown, _ = results.aggregate("t", table, runs, [0])
    assert "IS with 200 trajectories (rate: 40) (converged:" in markdown
