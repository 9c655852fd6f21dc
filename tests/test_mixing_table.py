"""biovw/reports/mixing.py: aggregation over seeds."""

import importlib

import numpy as np


def _report(iat, switches, upper=1e-4, reliable=True):
    return {"iat_summary": iat, "ess_per_step": 1 / iat, "ess_per_transition": 1 / iat / 2,
            "ess_per_second": 100.0, "rhat_summary": 1.01, "reliable": reliable,
            "n_chains": 20, "n_steps": 101, "seconds": 1.0,
            "switching": {"rate": switches, "n_switches": int(switches * 2000), "upper": upper}}


def test_rows_give_mean_and_sd_and_a_bound_when_nothing_switched():
    mt = importlib.import_module("biovw.reports.mixing")
    reports = {"moves": [_report(2.0, 0.5), _report(4.0, 0.3, reliable=False)],
               "stuck": [_report(1.5, 0.0, 2e-4), _report(1.5, 0.0, 3e-4)]}
    markdown, record = mt.aggregate(reports, [0, 1])
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
            for line in markdown.splitlines() if line.startswith("| moves") or
            line.startswith("| stuck")}
    assert rows["moves"][1] == f"3.000 ± {np.std([2.0, 4.0], ddof=1):.3f}"
    assert rows["moves"][6] == f"0.4000 ± {np.std([0.5, 0.3], ddof=1):.4f}"
    assert rows["moves"][7] == "1 of 2"
    assert rows["stuck"][6] == "0 (< 3.0e-04)"
    assert record["n_runs"] == 4 and "Sokal" in markdown
