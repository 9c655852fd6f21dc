"""``python -m biovw.reports.proposals``: the proposals table, on one tiny run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from biovw.reports import proposals
from biovw.reports.results import TABLES

REPO = Path(__file__).resolve().parents[1]
TINY = ["train.steps=4", "train.batch_size=64", "circuit.hidden=12", "walkback.num_steps=3",
        "data.n_samples=400", "eval.n_examples=12", "eval.n_trajectories=2",
        "eval.n_samples=40", "eval.snapshots=[0, 2]"]


def test_the_chosen_proposal_is_the_pilots_best_and_both_ladders_are_reported(tmp_path):
    run = tmp_path / "root" / "default" / TABLES["default"].rows[0].slug / "seed0"
    sets = [a for o in TINY for a in ("--set", o)]
    subprocess.run([sys.executable, "-m", "biovw", "train", "circuits/rate_net.yaml", "--out",
                    str(run), "--no-progress", "--seed", "0", *sets], cwd=REPO, check=True,
                   capture_output=True)
    tables = tmp_path / "results"
    text = proposals.main(["--root", str(tmp_path / "root"), "--seeds", "0", "--examples", "8",
                           "--trajectories", "3", "--temperatures", "1", "1.5", "3",
                           "--tables", str(tables)])
    (row,) = json.loads((tables / "proposals.json").read_text())["rows"]
    assert row["heating"]["temperature"] == 1.0
    assert row["chosen"]["temperature"] == max((1.0, 1.5, 3.0), key=lambda t: row["pilot"][str(t)])
    assert row["rungs"] == [3, 12] and row["examples"] == 8
    for label in ("heating", "chosen"):
        e = row[label]
        assert e["converged"] == (e["increase"] + 2 * e["increase_se"] <= e["tolerance"])
        assert 1 <= e["ess_median"] <= 12
    assert "| 0 | heating path (1 T) |" in text and "chosen on validation" in text
