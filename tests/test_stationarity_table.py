"""biovw/reports/stationarity.py: aggregation over seeds and reuse of finished reports."""

import importlib
import json

import numpy as np
import pytest


def _module():
    return importlib.import_module("biovw.reports.stationarity")


def _report(w2_first, w2_last, worse, floor=0.05):
    def g(v):
        return {"sliced_wasserstein": {"mean": v, "sd": 0.01, "values": [v, v]}}
    return {"steps": [0, 100], "n_chains": 20, "n_groups": 2, "split": "test",
            "groups": {"0": g(w2_first), "100": g(w2_last)},
            "floor": {"sliced_wasserstein": {"mean": floor, "sd": 0.0, "values": [floor]}},
            "change": {"sliced_wasserstein": {"diff": w2_last - w2_first, "worse": worse}},
            "stationary": not worse, "seconds": 30.0}


def test_mean_and_sd_over_seeds_and_counts_of_worse_seeds():
    st = _module()
    reports = {"a": [_report(0.10, 0.12, False), _report(0.20, 0.30, True),
                     _report(0.30, 0.33, False)]}
    markdown, record = st.aggregate(reports, [0, 1, 2])
    row = next(line for line in markdown.splitlines() if line.startswith("| a |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == f"{0.2:.4f} ± {np.std([0.1, 0.2, 0.3], ddof=1):.4f}"
    assert cells[3] == f"{np.mean([0.12, 0.30, 0.33]):.4f} ± " \
                       f"{np.std([0.12, 0.30, 0.33], ddof=1):.4f}"
    assert cells[5] == f"{np.mean([0.02, 0.10, 0.03]):+.4f} (1 of 3)"
    assert cells[6] == "" and cells[7] == "2 of 3"
    assert record["settings"][0]["stationary"] == 2
    assert "test split" in markdown
    assert record["seconds"] == 90.0 and record["n_runs"] == 3


def test_share_distances_show_when_they_reached_the_data_and_chains_that_left():
    st = _module()

    def report(reached, moved):
        r = _report(0.1, 0.1, False)
        for step in ("0", "100"):
            r["groups"][step]["mode_tv"] = {"mean": 0.5, "sd": 0.0, "values": [0.5, 0.5]}
        r["floor"]["mode_tv"] = {"mean": 0.02, "sd": 0.0, "values": [0.02]}
        r["change"]["mode_tv"] = {"diff": 0.0, "worse": False}
        r.update(steps_to_data={"mode_tv": reached}, moved={"0": 0.0, "100": moved})
        return r

    markdown, record = st.aggregate({"a": [report(None, 0.0), report(100, 0.5)]}, [0, 1])
    row = next(line for line in markdown.splitlines() if "mode shares, TV" in line)
    assert [c.strip() for c in row.strip("|").split("|")][6] == "never, 100"
    moved = next(line for line in markdown.splitlines() if "out of their start" in line)
    assert f"{0.25:.4f} ± {np.std([0.0, 0.5], ddof=1):.4f}" in moved
    assert record["settings"][0]["moved"]["100"] == [0.0, 0.5]


def test_the_results_page_shows_the_table_with_its_command(tmp_path):
    st = _module()
    markdown, record = st.aggregate({"a": [_report(0.1, 0.1, False)]}, [4])
    record["command"] = "python -m biovw.reports.stationarity --seeds 4"
    tables = tmp_path / "results"
    tables.mkdir()
    (tables / "stationarity.md").write_text(markdown)
    (tables / "stationarity.json").write_text(json.dumps(record))
    page = st.write_page(tables, tmp_path / "tables.md")
    section = page.split("## stationarity", 1)[1]
    assert "`python -m biovw.reports.stationarity --seeds 4`" in section
    assert "over 1 runs" in section and f'--8<-- "{tables / "stationarity.md"}"' in section


def test_a_finished_report_is_reused_and_a_missing_run_is_named(tmp_path):
    st = _module()
    run = tmp_path / "run"
    run.mkdir()
    report = _report(0.1, 0.1, False)
    report.update(n_chains=1000, n_groups=10, steps=[0, 10])
    (run / "stationarity.json").write_text(json.dumps(report))
    assert st.run_stationarity(run, 1000, [10, 0], 10) == report  # no subprocess: no model
    with pytest.raises(SystemExit, match="no finished run at"):
        st.main(["--root", str(tmp_path), "--settings", "rules", "--tables",
                 str(tmp_path / "out")])
