"""The script that writes the README's training-speed table, in its quick version."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def _script():
    return importlib.import_module("biovw.reports.speed")


def test_quick_table_is_spliced_into_the_readme_from_the_numbers_it_saves(tmp_path):
    threads = torch.get_num_threads()
    readme = tmp_path / "README.md"
    readme.write_text("before\n<!-- results:training_speed -->\nold\n"
                      "<!-- /results:training_speed -->\nafter\n")
    record_path = tmp_path / "speed.json"
    _script().main(["--quick", "--readme", str(readme), "--json", str(record_path)])
    assert torch.get_num_threads() == threads
    text, record = readme.read_text(), json.loads(record_path.read_text())
    assert text.startswith("before\n") and text.endswith("after\n") and "old" not in text
    assert "\n<!-- /results:training_speed -->\nafter" in text  # the marker keeps its line
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    training, chains = rows[:5], rows[5:]
    assert len(training) == 1 + 4  # header, hidden 32 and 64 x backprop and fa
    assert len(chains) == 1 + 2 + 1  # header, two samplers, the IS evaluation
    for row, name in zip(chains[1:3], record["sampling"], strict=True):
        cells = [c.strip() for c in row.strip("|").split("|")]
        rate = record["sampling"][name]["chain_steps_per_second"]
        assert float(cells[3].split()[0].replace(",", "")) == pytest.approx(rate, abs=1)
        assert float(cells[6]) == pytest.approx(float(cells[4]) / float(cells[5]), abs=0.02)
    for row in training[1:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        hidden, rule = cells[0].split()[0], cells[1]
        r = record["training"][hidden][rule]
        assert float(cells[2]) == pytest.approx(r["iterations_per_second"], rel=5e-3)
        # the ratio is the counted FLOP rate over the matmul rate, both as printed
        assert float(cells[6]) == pytest.approx(float(cells[4]) / float(cells[5]), abs=0.02)
    assert record["environment"]["torch_threads"] == 1
    assert "python -m biovw.reports.speed --page docs/performance.md --quick" in text


def test_a_readme_without_markers_is_refused_before_any_work(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    with pytest.raises(SystemExit) as exc:
        _script().main(["--quick", "--readme", str(readme), "--json", str(tmp_path / "x.json")])
    assert exc.value.code == 2
    assert "no <!-- results:training_speed --> markers" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
