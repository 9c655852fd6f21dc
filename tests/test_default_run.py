"""The default main job learns the 3x3 mixture: all nine modes, stable past the cool-down."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from biovw.cli import main


@pytest.mark.slow
def test_default_rate_net_covers_all_nine_modes(tmp_path):
    out = tmp_path / "rate_net"
    result = CliRunner().invoke(main, ["train", "circuits/rate_net.yaml", "--out", str(out),
                                       "--no-progress"])
    assert result.exit_code == 0, result.output
    quality = json.loads((out / "eval.json").read_text())["sample_quality"]["1000"]
    assert quality["near_mode_fraction"] > 0.95
    assert min(quality["mode_shares"]) > 0.04 and max(quality["mode_shares"]) < 0.25
    samples = np.load(out / "samples" / "samples_step1000.npy")
    assert np.isfinite(samples).all()


def test_short_default_run_learns(tmp_path):
    """A fifth of the default budget already concentrates most samples near the modes."""
    out = tmp_path / "short"
    result = CliRunner().invoke(main, [
        "train", "circuits/rate_net.yaml", "--out", str(out), "--no-progress",
        "--set", "train.steps=120", "--set", "eval.n_samples=500",
        "--set", "eval.snapshots=[0, 100]", "--set", "eval.n_examples=100",
        "--set", "eval.n_trajectories=10",
    ])
    assert result.exit_code == 0, result.output
    metrics = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-1]["loss"] < 0.5 * metrics[0]["loss"]
    quality = json.loads((out / "eval.json").read_text())["sample_quality"]["100"]
    assert quality["near_mode_fraction"] > 0.5
