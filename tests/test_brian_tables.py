"""The script that writes the README's Brian2 tables, in its quick version."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
TABLES = ("brian_agreement", "brian_noise", "brian_bench")


def _script():
    return importlib.import_module("biovw.reports.brian")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_quick_tables_are_spliced_into_the_readme_and_brian2_follows_torch(tmp_path, capsys):
    script = _script()
    readme = tmp_path / "README.md"
    readme.write_text("".join(f"text {n}\n<!-- results:{n} -->\nold\n<!-- /results:{n} -->\n"
                              for n in TABLES) + "end\n")
    script.main(["--quick", "--readme", str(readme), "--json", str(tmp_path / "record.json"),
                 "--root", str(tmp_path / "runs")])
    text = readme.read_text()
    assert "old" not in text and text.endswith("<!-- /results:brian_bench -->\nend\n")
    printed = capsys.readouterr().out
    for name in TABLES:
        start, end = text.index(f"<!-- results:{name} -->\n"), text.index(f"<!-- /results:{name}")
        block = text[start + len(f"<!-- results:{name} -->\n"):end]
        assert block.startswith("| ") and block in printed  # what is printed is what is written
    assert "These three tables are written by `python -m biovw.reports.brian --page " \
           "docs/brian2.md --quick`" in text

    record = json.loads((tmp_path / "record.json").read_text())
    differences = record["agreement"]["differences"]
    assert sorted(differences) == sorted(script.AGREEMENT_CIRCUITS)
    for by_column in differences.values():
        assert set(by_column) == {"numpy, synapses", "numpy, matrix"}
        for value in by_column.values():
            assert 0 <= value < 1e-5
            assert f"{value:.1e}" in text
    assert [row["statistic"] for row in record["noise"]][-1].startswith("entropy production")
    (size,) = record["bench"]["sizes"]
    assert size["torch_float32"] > 0 and all(v > 0 for v in size["brian2"]["numpy"].values())
    assert len(record["bench"]["load_average"]) == 2


def test_missing_markers_are_refused_before_any_work(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results:brian_agreement -->\n<!-- /results:brian_agreement -->\n")
    with pytest.raises(SystemExit):
        _script().main(["--quick", "--readme", str(readme), "--root", str(tmp_path / "runs")])
    assert "no <!-- results:brian_noise --> markers" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
