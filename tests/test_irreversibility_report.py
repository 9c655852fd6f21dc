"""``python -m biovw.reports.irreversibility``: the table of the linear sweep, in small."""

from __future__ import annotations

import json

import pytest

from biovw.reports import irreversibility


def test_the_sweep_table_holds_the_exact_values_beside_the_estimates(tmp_path):
    text = irreversibility.main(["--drives", "0", "0.3", "--steps", "3000", "--chains", "4",
                                 "--tables", str(tmp_path)])
    record = json.loads((tmp_path / "irreversibility.json").read_text())
    still, driven = record["rows"]
    assert still["ep_exact"] == 0 and still["iat_exact"] == pytest.approx(19.0)
    assert driven["ep_exact"] == pytest.approx(3.6) and driven["iat_exact"] == pytest.approx(1.0)
    assert driven["ep_low"] <= 3.6 * 1.05 and driven["ep_high"] >= 3.6 * 0.95
    assert driven["covariance_error"] < 0.1  # the same N(0, I) with the drive on
    assert "| 0.3 | 3.6 |" in text and (tmp_path / "irreversibility.md").read_text() == text
