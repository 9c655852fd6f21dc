"""Sweeps on a local Ray cluster: a failed trial is reported and the others finish; running the
same sweep again skips finished trials and resumes killed ones; TensorBoard event files."""

from __future__ import annotations

import csv
import json
import shutil
import sys

import pytest
import torch
from cli_support import TINY_RUN, invoke

from biovw.config import ConfigError, load_config

pytest.importorskip("ray")

TINY = TINY_RUN
# 30 examples with a validation fraction of 0.04 leave one validation example: the config is
# valid, the trial fails when it loads its data (evaluation needs two).
GRID = ["data.n_samples=300,30", "data.valid_fraction=0.1,0.04"]
FAILING = "data.n_samples=30,data.valid_fraction=0.04"
KILLED = "data.n_samples=300,data.valid_fraction=0.04,seed=1"
UNTOUCHED = "data.n_samples=300,data.valid_fraction=0.1,seed=0"


def _args(out, grid=GRID, seeds="0,1"):
    args = ["sweep", "circuits/rate_net.yaml", "--seeds", seeds, "--out", str(out)]
    args += [a for g in grid for a in ("--grid", g)]
    return args + [a for o in TINY for a in ("--set", o)]


_invoke = invoke


def _plan(grid=GRID, seeds=(0, 1)):
    from biovw.runs.sweep_plan import parse_grid, plan_sweep

    return plan_sweep(load_config("circuits/rate_net.yaml", TINY), parse_grid(grid), seeds)


def _kill_mid_run(trial, root) -> None:
    """Replace a trial's run directory by one killed after iteration 4 (checkpoint at 3)."""
    from biovw.runs import build_run
    from biovw.runs.rundir import RunDir
    from biovw.runs.train import train

    shutil.rmtree(root)
    data, model = build_run(trial.config, torch.device("cpu"))
    train(trial.config, RunDir(root), model, data, progress=False, stop_after=4)


@pytest.fixture(scope="module")
def first_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "sw"
    return out, _invoke(_args(out))


def test_a_failed_trial_is_reported_and_the_others_finish(first_sweep):
    out, result = first_sweep
    assert result.exit_code == 5, result.output
    assert f"{FAILING},seed=0 (failed)" in result.stderr
    assert "Traceback" not in result.output
    manifest = json.loads((out / "sweep.json").read_text())
    status = {t["name"]: t["status"] for t in manifest["trials"]}
    assert len(status) == 8
    failed = {name for name, s in status.items() if s != "finished"}
    assert failed == {f"{FAILING},seed=0", f"{FAILING},seed=1"}
    failure = next(t for t in manifest["trials"] if t["name"] == f"{FAILING},seed=0")
    assert "the valid split holds 1 of 30 examples" in failure["message"]
    assert manifest["grid"] == {"data.n_samples": ["300", "30"],
                                "data.valid_fraction": ["0.1", "0.04"]}
    assert manifest["seeds"] == [0, 1]
    for name in set(status) - failed:  # ordinary run directories
        for f in ("config.yaml", "checkpoints/latest.pt", "eval.json", "summary.json",
                  "figures/samples_vs_data.png", "figures/loss_curve.png"):
            assert (out / name / f).is_file(), (name, f)
    # the table: one row per grid point, mean ± sd over the two seeds
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert len(rows) == 4
    by_point = {(r["data.n_samples"], r["data.valid_fraction"]): r for r in rows}
    good = by_point[("300", "0.1")]
    assert good["n_finished"] == "2" and float(good["loglik_sd"]) >= 0
    assert by_point[("30", "0.04")]["n_failed"] == "2"
    assert by_point[("30", "0.04")]["loglik_mean"] == "n/a"
    markdown = (out / "sweep.md").read_text()
    assert "0/2 (2 failed)" in markdown and " ± " in markdown
    assert (out / "sweep.png").is_file() and (out / "comparison.csv").is_file()


def test_rerun_skips_finished_trials_and_resumes_a_killed_one(first_sweep):
    out, _ = first_sweep
    plan = _plan()
    killed = next(t for t in plan.trials if t.name == KILLED)
    _kill_mid_run(killed, out / KILLED)
    untouched = (out / UNTOUCHED / "summary.json").stat().st_mtime_ns

    result = _invoke(_args(out))
    assert result.exit_code == 5, result.output
    assert "8 trials (5 already finished, 1 to resume, 2 new)" in result.output
    assert f"{KILLED}: finished" in result.output
    assert "resumed from iteration 3" in result.output
    assert (out / UNTOUCHED / "summary.json").stat().st_mtime_ns == untouched
    lines = (out / KILLED / "metrics.jsonl").read_text().splitlines()
    metrics = [json.loads(line) for line in lines]
    assert [m["step"] for m in metrics] == [2, 4, 6]
    manifest = json.loads((out / "sweep.json").read_text())
    assert {t["name"]: t["status"] for t in manifest["trials"]}[KILLED] == "finished"


def test_dry_run_lists_the_trials_and_what_a_run_would_do(first_sweep):
    out, _ = first_sweep
    result = _invoke([*_args(out), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"{FAILING},seed=1: new" in result.output
    assert f"{UNTOUCHED}: finished, skipped" in result.output
    assert "config ok: 8 trials" in result.output


def test_another_sweep_in_the_same_folder_is_refused(first_sweep):
    out, _ = first_sweep
    result = _invoke(_args(out, grid=["data.n_samples=300,200"]))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "holds another sweep (its grid differ)" in lines[0]


@pytest.mark.parametrize(
    ("grid", "needle"),
    [
        (["rule.name"], "must look like"),
        (["seed=1,2"], "--seeds"),
        (["rule.name=fa,fa"], "repeats a value"),
        (["rule.name=fa,nope"], "rule.name must be one of"),
    ],
)
def test_bad_grids_are_one_line_before_any_work(tmp_path, grid, needle):
    result = _invoke(_args(tmp_path / "never", grid=grid, seeds="0"))
    assert result.exit_code == 2, result.output
    assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "never").exists()


def _closed_port() -> int:
    """A local TCP port that nothing listens on."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_an_address_nobody_answers_at_is_one_line_within_seconds(tmp_path, scheme):
    import time
    address = f"{scheme}127.0.0.1:{_closed_port()}"
    started = time.perf_counter()
    result = _invoke([*_args(tmp_path / "never", seeds="0"), "--address", address])
    assert time.perf_counter() - started < 30  # ray.init alone retries for minutes
    assert result.exit_code == 2, result.output
    assert f"--address {address}: nothing answers at" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "never").exists()


def test_grid_values_split_outside_brackets_and_name_trials():
    from biovw.runs.sweep_plan import parse_grid, trial_name

    grid = parse_grid(["eval.snapshots=[0, 2],[0, 5]", "train.lr=1e-3"])
    assert grid == {"eval.snapshots": ["[0, 2]", "[0, 5]"], "train.lr": ["1e-3"]}
    assert trial_name({"eval.snapshots": "[0, 2]"}, 3) == "eval.snapshots=_0__2_,seed=3"
    plan = _plan(grid=["eval.snapshots=[0, 2],[0, 5]"], seeds=(0,))
    assert [t.config.eval.snapshots for t in plan.trials] == [[0, 2], [0, 5]]


# ----------------------------------------------------------------------------- TensorBoard


def test_tensorboard_event_files_hold_the_logged_quantities_once_after_resume(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from biovw.cli import draw_run_figures
    from biovw.config import config_from_dict
    from biovw.runs import build_run
    from biovw.runs.rundir import RunDir
    from biovw.runs.summary import finish_run
    from biovw.runs.train import train

    cfg = config_from_dict({"name": "tb"}, [*TINY, "rule.name=fa", "train.log_every=1",
                                            "train.tensorboard=true"])
    run = RunDir(tmp_path / "tb")
    data, model = build_run(cfg, torch.device("cpu"))
    train(cfg, run, model, data, progress=False, stop_after=5)  # logged 1-5, checkpoint at 3
    data, model = build_run(cfg, torch.device("cpu"))
    state = train(cfg, run, model, data, progress=False, resume=True)
    finish_run(cfg, run, model, data, state.elapsed, cfg.seed, progress=False,
               draw=draw_run_figures)

    events = EventAccumulator(str(run.tensorboard))
    events.Reload()
    tags = events.Tags()
    assert {"loss/train", "loss/heldout", "bound/train", "bound/heldout", "train/lr",
            "alignment/alignment_angle"} <= set(tags["scalars"])
    assert {"figures/samples_vs_data", "figures/loss_curve"} <= set(tags["images"])
    loss = events.Scalars("loss/train")
    assert [e.step for e in loss] == [1, 2, 3, 4, 5, 6]  # 4 and 5 of the killed run purged
    logged = [m["loss"] for m in run.read_metrics()]
    assert [e.value for e in loss] == pytest.approx(logged, rel=1e-6)
    bound = events.Scalars("bound/heldout")
    assert bound[-1].value == pytest.approx(-run.read_metrics()[-1]["heldout_loss"], rel=1e-6)


def test_tensorboard_missing_is_one_line_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    out = tmp_path / "never"
    result = _invoke(["train", "circuits/rate_net.yaml", *[a for o in TINY for a in ("--set", o)],
                      "--set", "train.tensorboard=true", "--out", out])
    assert result.exit_code == 2, result.output
    assert "pip install -e '.[tensorboard]'" in result.stderr
    assert not out.exists()


def test_tensorboard_must_be_a_boolean():
    with pytest.raises(ConfigError, match="train.tensorboard must be bool"):
        load_config("circuits/rate_net.yaml", ["train.tensorboard=maybe"])


@pytest.mark.slow
def test_sigterm_stops_the_sweep_and_the_same_command_continues_it(tmp_path):
    import os
    import signal
    import subprocess
    import time

    out = tmp_path / "sw"
    longer = [*TINY, "train.steps=100000", "train.checkpoint_every=10"]
    args = [sys.executable, "-m", "biovw", "sweep", "circuits/rate_net.yaml", "--grid",
            "rule.name=backprop,fa", "--out", str(out), *[a for o in longer for a in ("--set", o)]]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    started = 0.0

    def training() -> bool:  # both trials running and checkpointed since the start
        try:
            manifest = json.loads((out / "sweep.json").read_text())
        except (OSError, ValueError):
            return False
        fresh = [p for p in out.glob("*/checkpoints/latest.pt") if p.stat().st_mtime > started]
        return {t["status"] for t in manifest["trials"]} == {"running"} and len(fresh) == 2

    def start_and_stop() -> subprocess.CompletedProcess:
        nonlocal started
        started = time.time()
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)
        while time.time() < started + 120 and not training():
            time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
        return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)

    first = start_and_stop()
    assert first.returncode == 143, first.stderr
    assert first.stderr.strip().splitlines()[-1].startswith("error: stopped by SIGTERM")
    manifest = json.loads((out / "sweep.json").read_text())
    assert {t["status"] for t in manifest["trials"]} == {"interrupted"}
    second = start_and_stop()
    assert "2 trials (0 already finished, 2 to resume, 0 new)" in second.stdout
    assert second.returncode == 143, second.stderr
