"""The benchmark's machinery: cases with exact answers, scores, size adjustment, report and
the epbench command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from biovw.analysis.epbench import (
    default_cases,
    markdown_report,
    power_check,
    run_benchmark,
    size_adjusted_power,
)
from biovw.cli import main


def test_cases_have_exact_answers_and_matched_controls():
    cases = {c.name: c for c in default_cases()}
    assert len(cases) == 25 and cases["iid control/full"].control
    for name, case in cases.items():
        if case.control:
            assert case.truth == 0.0 and case.target == 0.0
        else:
            assert case.truth > 0 and case.target <= case.truth + 1e-12, name
    ring = cases["ring/full"]
    assert ring.truth == pytest.approx(0.1 * np.log(1.25))
    obs = ring.simulate(50, 3, np.random.default_rng(0))
    assert len(obs) == 3 and obs[0].labels.shape == (50,) and obs[0].points.shape == (50, 2)
    noisy = cases["rotating_ar1/coarse"].simulate(20, 2, np.random.default_rng(0))
    assert noisy[0].labels is None and noisy[0].points.shape == (20, 2)


def test_reversed_blocks_control_keeps_the_states_and_removes_the_current():
    from biovw.analysis.discrete import entropy_production_discrete
    from biovw.analysis.epbench import reversed_blocks_control

    ring = next(c for c in default_cases() if c.name == "ring/full")
    control = reversed_blocks_control(ring, block=50)
    assert control.control and control.truth == 0.0 and control.name == "ring control/full"
    rng = np.random.default_rng(1)
    obs = control.simulate(20_000, 2, rng)
    assert sorted(np.bincount(obs[0].labels)) == sorted(np.bincount(obs[0].labels))
    for o in obs:
        res = entropy_production_discrete(o.labels, markov=False)
        assert res.ci_low <= 0.0 <= res.ci_high
    forward = entropy_production_discrete(ring.simulate(20_000, 1, rng)[0].labels)
    assert forward.ci_low > 0


def test_size_adjusted_power():
    null = [0.01, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0] * 2  # 20 p-values
    # the 5% quantile is 0.01, held by 2 of 20: rejecting p < 0.01, and p == 0.01 half the
    # time, rejects exactly 5% of the null
    assert size_adjusted_power(null, null) == pytest.approx(0.05)
    assert size_adjusted_power([0.001] * 5, null) == 1.0
    assert size_adjusted_power([0.01] * 4, null) == pytest.approx(0.5)
    assert size_adjusted_power([0.5] * 4, null) == 0.0


def test_run_scores_and_report():
    cases = [c for c in default_cases() if c.chain == "ring" and c.setting == "full"]
    rows = run_benchmark(cases, [1500], 6, peers=("ramsey", "gaspard"))
    by = {(r["case"], r["estimator"]): r for r in rows}
    assert {"plugin", "tur", "var", "surrogate", "ramsey", "gaspard"} <= {e for _, e in by}
    plugin = by[("ring/full", "plugin")]
    assert plugin["repeats"] == 6 and plugin["truth"] == pytest.approx(0.0223, abs=1e-4)
    assert plugin["coverage_truth"] >= 0.5 and plugin["reject_rate"] >= 0.5
    assert by[("ring control/full", "plugin")]["reject_rate"] <= 0.34
    assert "mean" not in by[("ring/full", "ramsey")]  # peers give p-values only
    text = markdown_report(rows, "test")
    assert "| ring/full | 0.0223 | 1,500 |" in text and "Made by `test`" in text
    check = power_check(cases[0], "tur", 2000, 4)
    assert check["predicted_length"] > 0 and 0 <= check["measured_power"] <= 1


def test_epbench_command(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("a\n<!-- results:epbench -->\nold\n<!-- /results:epbench -->\nb\n")
    out = tmp_path / "bench"
    result = CliRunner().invoke(main, ["epbench", "--out", str(out), "--no-vw", "--chains",
                                       "ring", "--lengths", "500", "--repeats", "3",
                                       "--readme", str(readme)])
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "results.json").read_text())
    assert payload["repeats"] == 3 and payload["lengths"] == [500]
    from importlib.metadata import version

    peer = f"irreversibility {version('irreversibility')}"  # named, with its version
    assert payload["peer"] == peer and f"The peer package: {peer}." in readme.read_text()
    assert {r["chain"] for r in payload["rows"]} == {"ring"}
    for name in ("results.csv", "report.md", "power.png"):
        assert (out / name).is_file()
    text = readme.read_text()
    assert "\nold\n" not in text and "ring/full" in text and text.endswith("b\n")
    bad = CliRunner().invoke(main, ["epbench", "--out", str(out), "--chains", "none",
                                    "--no-vw"])
    assert bad.exit_code == 2 and "--chains" in bad.stderr


def test_calibration_pools_the_controls_per_kind_and_estimator():
    from biovw.analysis.epbench import calibration

    def row(chain, control, p_values, estimator="plugin"):
        return {"chain": chain, "control": control, "estimator": estimator,
                "p_values": p_values}

    rows = [row("ring", True, [0.01, 0.5, 0.7, 0.9]), row("ising", True, [0.2, 0.3, None, 0.04]),
            row("iid", True, [0.6] * 4), row("ring", False, [0.001] * 4),
            row("iid", True, [0.01] * 4, estimator="tur")]
    table = calibration(rows)
    discrete = table["plugin"]["reversible discrete chains"]
    assert discrete["n"] == 7 and discrete["rate"] == pytest.approx(2 / 7)
    assert table["plugin"]["all"]["n"] == 11 and table["plugin"]["independent draws"]["rate"] == 0
    assert not table["tur"]["all"]["calibrated"]  # rejects every reversible recording
    assert table["plugin"]["all"]["limit"] == pytest.approx(0.05 + 2 * (0.05 * 0.95 / 11) ** 0.5)


def test_the_estimators_are_calibrated_on_independent_draws():
    """Independent draws obey detailed balance: each estimator rejects it in about 5% of 200
    recordings (measured: plugin 0.04, tur 0.065, var 0.055, surrogate 0.06), within three
    binomial standard errors; the report shows the table."""
    cases = [c for c in default_cases() if c.chain == "iid"]
    rows = run_benchmark(cases, [1000], 200, peers=())
    from biovw.analysis.epbench import calibration

    for name, kinds in calibration(rows).items():
        assert kinds["all"]["n"] == 200, name
        assert kinds["all"]["rate"] <= 0.05 + 3 * (0.05 * 0.95 / 200) ** 0.5, name
    assert "**Calibration** on the reversible controls" in markdown_report(rows, "test")
