"""biovw/reports/figures.py copies a run's figures and links them from the README."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def _script():
    return importlib.import_module("biovw.reports.figures")


def _run(tmp_path: Path, names) -> Path:
    run = tmp_path / "run"
    (run / "figures").mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump({"name": "rate_net", "seed": 2}))
    (run / "summary.json").write_text("{}")
    for i, name in enumerate(names):
        (run / "figures" / name).write_bytes(bytes([i]) * 10)
    return run


def test_figures_are_copied_and_linked_relative_to_the_readme(tmp_path):
    script = _script()
    names = [name for name, _ in script.FIGURES]
    run = _run(tmp_path, names)
    readme = tmp_path / "README.md"
    readme.write_text("a\n<!-- results:figures -->\nold\n<!-- /results:figures -->\nb\n")
    script.main([str(run), "--out", str(tmp_path / "docs" / "figures"), "--readme", str(readme)])
    text = readme.read_text()
    for i, (name, caption) in enumerate(script.FIGURES):
        assert (tmp_path / "docs" / "figures" / name).read_bytes() == bytes([i]) * 10
        assert f"![{caption}](docs/figures/{name})" in text
    assert "old" not in text and "config `rate_net`, seed 2" in text
    assert text.startswith("a\n<!-- results:figures -->\n") and text.endswith("-->\nb\n")


def test_a_missing_figure_is_named(tmp_path):
    script = _script()
    names = [name for name, _ in script.FIGURES if name != "entropy_production.png"]
    with pytest.raises(SystemExit, match="missing entropy_production.png"):
        script.main([str(_run(tmp_path, names)), "--out", str(tmp_path / "figs")])
    assert not (tmp_path / "figs").exists()


def test_an_image_run_fills_its_own_markers_and_folder(tmp_path):
    script = _script()
    names = [name for name, _ in script.IMAGE_FIGURES]
    run = _run(tmp_path, names)
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results:figures -->\nkeep\n<!-- /results:figures -->\n"
                      "<!-- results:figures_images -->\nold\n<!-- /results:figures_images -->\n")
    script.main([str(run), "--set", "images", "--out", str(tmp_path / "docs" / "figures"),
                 "--readme", str(readme)])
    text = readme.read_text()
    for i, (name, caption) in enumerate(script.IMAGE_FIGURES):
        assert (tmp_path / "docs" / "figures" / "images" / name).read_bytes() == bytes([i]) * 10
        assert f"![{caption}](docs/figures/images/{name})" in text
    assert "keep" in text and "old" not in text and "--set images --page" in text
    with pytest.raises(SystemExit, match="missing stationarity.png.*biovw stationarity"):
        script.main([str(_run(tmp_path / "b", names[:3] + names[4:])), "--set", "images",
                     "--out", str(tmp_path / "figs")])
