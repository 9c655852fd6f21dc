"""The documentation: the README is a short front door, the site builds with warnings as
errors, and every code block a page marks with ``<!-- test: run -->`` runs as written.

A page's marked blocks run in order in one namespace (a tutorial builds on its earlier
blocks), in an empty folder with ``circuits/`` linked in and ``BIOVW_QUICK=1`` set, so that
tutorials run on small settings. Python blocks are executed; a marked ``bash`` block holds
``biovw`` commands only, each run through the command line and required to exit 0.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from biovw.cli import main

REPO = Path(__file__).resolve().parents[1]
MARKED = re.compile(r"<!-- test: run -->\n```(python|bash)\n(.*?)```", re.S)
PAGES = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])
README_LINES = 250


def _write_session(folder: Path) -> None:
    """``session.nwb``: the driven ring sequence of tests/test_recordings.py."""
    from test_recordings import _driven_sequence_nwb

    path, _ = _driven_sequence_nwb(folder, n_trials=10, length=300)
    path.rename(folder / "session.nwb")


SETUP = {"docs/entropy-production.md": _write_session}
"""Files a page's blocks read, written before they run (the reader brings their own)."""


def marked_blocks(page: Path) -> list[tuple[str, str]]:
    """The ``(language, code)`` of every block ``page`` marks to run, in order."""
    return MARKED.findall(page.read_text())


def _run_bash(code: str) -> None:
    for line in code.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        args = shlex.split(line)
        assert args[0] == "biovw", f"a marked bash block runs biovw commands only: {line}"
        result = CliRunner().invoke(main, args[1:])
        assert result.exit_code == 0, (line, result.output)


RUNNABLE = [p for p in PAGES if marked_blocks(p)]


@pytest.mark.parametrize("page", RUNNABLE, ids=[str(p.relative_to(REPO)) for p in RUNNABLE])
def test_marked_blocks_run_as_written(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BIOVW_QUICK", "1")
    (tmp_path / "circuits").symlink_to(REPO / "circuits")
    SETUP.get(str(page.relative_to(REPO)), lambda folder: None)(tmp_path)
    namespace: dict = {}
    for i, (language, code) in enumerate(marked_blocks(page)):
        if language == "python":
            exec(compile(code, f"{page.name}, block {i}", "exec"), namespace)
        else:
            _run_bash(code)


def test_the_pages_that_promise_runnable_code_have_it():
    runnable = {str(p.relative_to(REPO)) for p in RUNNABLE}
    assert {"README.md", "docs/getting-started.md", "docs/entropy-production.md",
            "docs/tutorials/dale-circuit.md", "docs/tutorials/recording.md"} <= runnable


def test_readme_is_a_short_front_door():
    text = (REPO / "README.md").read_text()
    lines = text.splitlines()
    assert len(lines) <= README_LINES
    first_screen = "\n".join(lines[:60])
    assert "biovw train circuits/rate_net.yaml" in first_screen
    assert "python -m pytest -q" in first_screen
    assert re.search(r"!\[[^\]]*\]\(docs/figures/[^)]+\.png\)", first_screen)
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (REPO / link).is_file(), link


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    pytest.importorskip("mkdocs")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "--site-dir", str(tmp_path / "site")], cwd=REPO, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "biovw.spec.RateSpec" in api and "entropy_production_kernel" in api
