"""``tools/gpu-check``: its CPU-only smoke mode runs anywhere and writes what it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / "tools" / "gpu-check"


def test_gpu_check_runs_on_the_cpu_in_quick_mode(tmp_path):
    out = tmp_path / "check.json"
    done = subprocess.run([sys.executable, str(TOOL), "--cpu-only", "--quick", "--budget", "0.2",
                           "--out", str(out)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("| what | device | speed | FLOP rate |")
    result = json.loads(out.read_text())
    assert [r["circuit"] for r in result["training"]] == ["hidden 16", "hidden 32", "hidden 64"]
    assert all(r["device"] == "cpu" and r["iterations_per_second"] > 0
               and 0 < r["fraction_of_matmul"] for r in result["training"])
    assert all(r["chain_steps_per_second"] > 0 for r in result["sampler"])
    assert os.access(TOOL, os.X_OK)
