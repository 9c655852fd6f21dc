"""The sparse-regime validation script: its cases, its table and its README block."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def _script():
    return importlib.import_module("biovw.reports.ep_bias")


def test_cases_and_rendering(tmp_path):
    script = _script()
    cases = script.cases(quick=True)
    assert {c["truth"] for c in cases if "uniform" in c["chain"]} == {0.0}
    ring = next(c for c in cases if c["chain"].startswith("biased ring"))
    assert ring["truth"] == pytest.approx(0.3 * np.log(3))
    x = ring["draw"](np.random.default_rng(0))
    assert x.shape == (ring["length"],)
    rows = [{"chain": "c", "length": 1000, "truth": 0.0, "variant": "v", "repeats": 7,
             "mean": 0.001, "mc_se": 0.002, "sd": 0.01, "mean_se": 0.011, "coverage": 0.95,
             "seconds": 0.1}]
    saved = tmp_path / "bias.json"
    saved.write_text(json.dumps({"command": "cmd", "rows": rows}))
    readme = tmp_path / "README.md"
    readme.write_text("x\n<!-- results:ep_bias -->\nold\n<!-- /results:ep_bias -->\ny\n")
    script.main(["--render", "--out", str(saved), "--readme", str(readme)])
    text = readme.read_text()
    assert "| c | 1,000 | 0 | v | 0.0010 ± 0.0020 | 0.0100 | 0.0110 | 0.95 |" in text
    assert "7 independent recordings" in text and "\nold\n" not in text
