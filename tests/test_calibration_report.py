"""``python -m biovw.reports.calibration``: the false-positive table, in small."""

from __future__ import annotations

import json

from biovw.reports import calibration


def test_the_table_counts_every_control_recording_and_states_the_verdict(tmp_path):
    tables = tmp_path / "results"
    text = calibration.main(["--lengths", "300", "--repeats", "3", "--tables", str(tables)])
    record = json.loads((tables / "calibration.json").read_text())
    assert all("control" in name for name in record["cases"])
    pooled = record["pooled"]
    # 13 controls: plugin, tur, var and surrogate test each of them three times
    for name in ("plugin", "tur", "var", "surrogate"):
        assert pooled[name]["all"]["n"] == 3 * len(record["cases"])
        assert pooled[name]["independent draws"]["n"] == 3
    every = pooled["plugin"]["all"]
    assert every["limit"] == 0.05 + 2 * (0.05 * 0.95 / every["n"]) ** 0.5
    assert every["calibrated"] == (every["rate"] <= every["limit"])
    assert "| plugin |" in text and (tables / "calibration.md").read_text() == text
    assert f'--8<-- "{tables / "calibration.md"}"' in (tmp_path / "tables.md").read_text()
