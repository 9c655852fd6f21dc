"""The documentation pages the reports write into: where a table is stored, how it reaches a
page, and the record of where it was made.

A table is written once, to ``docs/results/NAME.md`` with its record ``NAME.json``; pages
include that file when the site is built (:func:`include`). Tables and figures that live in
one page only sit between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->`` markers
there, rewritten by :func:`splice`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from biovw.runs.provenance import environment as _environment
from biovw.runs.rundir import write_text_atomic

REPO = Path(__file__).resolve().parents[2]
"""The checkout the reports run in: tables, pages and default run folders are under it."""
TABLES = REPO / "docs" / "results"
"""Where each table's Markdown and JSON record are stored."""
OUTPUTS = ("README.md", "docs")
"""What the reports write: changes there do not count as changes to what made the numbers."""


def environment() -> dict:
    """:func:`biovw.runs.provenance.environment` of this checkout, its outputs left out of
    the commit's changes."""
    return _environment(REPO, OUTPUTS)


def splice(path: Path, name: str, markdown: str) -> bool:
    """Replace the text between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->`` in
    ``path`` with ``markdown`` (atomically); False, and nothing written, without the markers."""
    text = path.read_text()
    start, end = f"<!-- results:{name} -->", f"<!-- /results:{name} -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        return False
    write_text_atomic(path, pattern.sub(lambda _: f"{start}\n{markdown}{end}", text))
    return True


def include(path: Path) -> str:
    """The line that includes a table's Markdown file into a page when the site is built
    (``pymdownx.snippets``, paths from the repository root), so that the table is stored
    once."""
    path = path.resolve()
    return f'--8<-- "{path.relative_to(REPO) if path.is_relative_to(REPO) else path}"'


def mean_sd_text(values: Sequence[float | None], digits: int) -> str:
    """``mean ± sd`` of the values that are not None (sd 0 for one value), or ``-``."""
    a = np.asarray([v for v in values if v is not None], dtype=float)
    if not len(a):
        return "-"
    sd = float(a.std(ddof=1)) if len(a) > 1 else 0.0
    return f"{a.mean():.{digits}f} ± {sd:.{digits}f}"
