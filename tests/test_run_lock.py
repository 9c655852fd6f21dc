"""One writer per run directory, with real concurrent processes: a second writer is refused
naming the holder, a holder killed without releasing is taken over with a warning, readers
still read, and two trainings started into one --out leave one run."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from biovw.runs.rundir import RunBusy, RunDir

REPO = Path(__file__).resolve().parents[1]
TINY = ["train.steps=6", "train.log_every=3", "train.batch_size=64", "circuit.hidden=16",
        "walkback.num_steps=4", "data.n_samples=400", "eval.n_examples=20",
        "eval.n_trajectories=4", "eval.n_samples=50", "eval.snapshots=[0, 3]",
        "train.ep_every=0"]


def biovw(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "biovw", *args], cwd=REPO,
                          capture_output=True, text=True, **kwargs)


def hold(run: Path) -> subprocess.Popen:
    """Another process that takes the run's writer lock and keeps it until killed."""
    code = ("import sys, time\nfrom biovw.runs.rundir import RunDir\n"
            f"with RunDir({str(run)!r}).writing('train'):\n"
            "    print('held', flush=True)\n    time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_is_refused_and_a_dead_holder_is_taken_over(tmp_path):
    run = tmp_path / "run"
    sets = [a for o in TINY for a in ("--set", o)]
    assert biovw("train", "circuits/rate_net.yaml", "--out", str(run), "--no-progress",
                 *sets).returncode == 0
    holder = hold(run)
    try:
        for args in (["evaluate", str(run), "--no-progress"], ["resume", str(run)],
                     ["analyze", str(run), "--chains", "4", "--steps", "10"],
                     ["mixing", str(run), "--chains", "4", "--steps", "5"]):
            done = biovw(*args)
            assert done.returncode == 2, (args, done.stderr)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and f"pid {holder.pid}" in lines[0], lines
            assert "biovw train" in lines[0] and "in use" in lines[0]
        # a reader works while the writer holds the run
        done = biovw("sample", str(run), "--n", "5", "--out", str(tmp_path / "s.npy"))
        assert done.returncode == 0, done.stderr
        with pytest.raises(RunBusy):
            with RunDir(run).writing("evaluate"):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    record = json.loads((run / ".lock").read_text())
    assert record["pid"] == holder.pid          # left behind by the killed holder
    done = biovw("evaluate", str(run), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "taking over" in done.stderr and f"pid {holder.pid}" in done.stderr
    assert (run / ".lock").read_text() == ""    # released by the clean exit


def test_two_trainings_into_one_out_leave_one_run(tmp_path):
    out = tmp_path / "same"
    sets = [a for o in TINY for a in ("--set", o)]
    procs = [subprocess.Popen([sys.executable, "-m", "biovw", "train", "circuits/rate_net.yaml",
                               "--out", str(out), "--no-progress", "--seed", str(seed), *sets],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for seed in (1, 2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert ("in use" in refused or "not empty" in refused) and refused.count("\n") == 1
    steps = [json.loads(line)["step"] for line in
             (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps))          # one writer: every step logged once


def test_a_refused_start_leaves_neither_directory_nor_lock(tmp_path):
    out = tmp_path / "new"
    done = biovw("train", "circuits/rate_net.yaml", "--out", str(out), "--set",
                 "train.steps=0")
    assert done.returncode == 2 and not out.exists()
    assert os.listdir(tmp_path) == []
