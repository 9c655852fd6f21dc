"""Where and with what a number was measured: the record every bench and results table keeps."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy
import torch


def _commit(repo: Path, outputs: Sequence[str]) -> str:
    """The short commit of ``repo``, with ``+changes`` when tracked files other than
    ``outputs`` differ from it; ``unknown`` outside a git checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo,
                                capture_output=True, text=True, check=True).stdout.strip()
        status = ["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                  *(f":!{path}" for path in outputs)]
        dirty = bool(subprocess.run(status, cwd=repo, capture_output=True,
                                    text=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+changes" if dirty else "")


def environment(repo: Path | None = None, outputs: Sequence[str] = ()) -> dict:
    """Versions, threads, machine, load and GPU; with ``repo``, its commit.

    Parameters
    ----------
    repo : Path or None
        A git checkout whose commit made the numbers.
    outputs : sequence of str
        Paths in ``repo`` that the measuring command writes itself: changes there do not mark
        the commit as changed.

    Returns
    -------
    dict
        ``python``, ``torch``, ``numpy``, ``torch_threads``, ``machine``, ``cpu_count``,
        ``load_average`` (1, 5, 15 minutes), ``cuda`` (the GPU's name or None) and, with
        ``repo``, ``commit``.
    """
    record = {
        "python": platform.python_version(), "torch": torch.__version__,
        "numpy": numpy.__version__, "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(), "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    if repo is not None:
        record["commit"] = _commit(repo, outputs)
    return record
