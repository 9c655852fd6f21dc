"""Robust in users' hands: every bad input or fault a user met gives one clear line, the right
exit code, no traceback and no partial run directory; signals keep the work; logs, threads,
file modes and messages."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from cli_support import TINY_RUN, invoke, set_args

from biovw.config import load_config

TINY = TINY_RUN


_sets = set_args


_invoke = invoke


def _one_error_line(result, code: int = 2) -> str:
    """The single stderr line of a refused command (no traceback)."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("robust") / "tiny"
    result = _invoke(["train", "circuits/rate_net.yaml", *_sets(TINY), "--out", out,
                      "--no-progress"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    """A private copy of the tiny run, to damage."""
    return Path(shutil.copytree(tiny_run, tmp_path / "copy"))


# ------------------------------------------------------------ 2. checked before any work


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--set", "eval.snapshots=[]"], "eval.snapshots"),
        (["--set", "data.n_samples=10"], "valid split holds 1 of 10 examples"),
        (["--set", "walkback.temperature_factor=1e10"], "walkback.temperature_factor"),
        (["--set", "walkback.operator=bernoulli"], "walkback.operator is 'bernoulli'"),
        (["--seed", "99999999999999999999"], "'--seed'"),
        (["--seed", "-1"], "'--seed'"),
        (["--set", "seed=-1"], "seed must be an integer in [0, 2147483647]"),
        (["--set", "train=5"], "train is a section"),
        (["--set", "train="], "train is a section"),
        (["--set", "name=a/b"], "name must be"),
        (["--bogus"], "No such option '--bogus'"),
    ],
)
def test_bad_input_is_one_line_before_any_work(tmp_path, args, needle):
    out = tmp_path / "never"
    line = _one_error_line(_invoke(["train", "circuits/rate_net.yaml", *_sets(TINY), *args,
                                    "--out", out]))
    assert needle in line and "data.seed" not in line
    assert not out.exists()


@pytest.mark.parametrize("text", ["", "# nothing but a comment\n", "{}\n"])
def test_empty_config_file_is_refused(tmp_path, text):
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    line = _one_error_line(_invoke(["train", path, "--out", tmp_path / "never"]))
    assert "states no settings" in line and not (tmp_path / "never").exists()


def test_threads_and_a_merged_section_reach_the_dry_run(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"train": {"steps": 9, "lr": 0.5}}))
    before = torch.get_num_threads()
    try:
        result = _invoke(["train", path, "--set", "train={steps: 3}", "--threads", "1",
                          "--dry-run"])
    finally:
        torch.set_num_threads(before)
    assert result.exit_code == 0, result.output
    assert "train.steps = 3" in result.output and "(1 thread)" in result.output
    assert load_config(path, ["train={steps: 3}"]).train.lr == 0.5  # the file's other keys
    assert _one_error_line(_invoke(["train", path, "--threads", "0", "--dry-run"]))


# ------------------------------------------------------------------ 3. checkpoints


def test_checkpoint_records_the_fingerprint_of_its_config(tiny_run):
    from biovw.runs.checkpoint import config_fingerprint

    payload = torch.load(tiny_run / "checkpoints/latest.pt", weights_only=True)
    assert payload["config_sha256"] == config_fingerprint(payload["config"])
    assert payload["finished"] is True


def test_checkpoint_with_an_edited_config_is_refused(run_copy):
    path = run_copy / "checkpoints/latest.pt"
    payload = torch.load(path, weights_only=True)
    payload["config"]["circuit"]["hidden"] = 32  # the recorded fingerprint now disagrees
    torch.save(payload, path)
    line = _one_error_line(_invoke(["sample", run_copy, "--n", "5", "--out",
                                    run_copy / "s.npy"]))
    assert "fingerprint" in line and not (run_copy / "s.npy").exists()


def test_checkpoint_whose_weights_do_not_fit_its_config_is_refused(run_copy):
    from biovw.runs.checkpoint import save_checkpoint

    path = run_copy / "checkpoints/latest.pt"
    payload = torch.load(path, weights_only=True)
    payload["config"]["circuit"]["hidden"] = 32  # consistent fingerprint, 8-unit weights
    for key in ("format", "version", "config_sha256"):
        payload.pop(key)
    save_checkpoint(path, payload)
    cfg = yaml.safe_load((run_copy / "config.yaml").read_text())
    cfg["circuit"]["hidden"] = 32
    (run_copy / "config.yaml").write_text(yaml.safe_dump(cfg))
    line = _one_error_line(_invoke(["evaluate", run_copy, "--no-progress"]))
    assert "weights do not fit its configuration" in line and "size mismatch" in line


def test_checkpoint_copied_from_another_run_is_refused(tiny_run, tmp_path):
    other = tmp_path / "other"
    result = _invoke(["train", "circuits/rate_net.yaml", *_sets(TINY), "--seed", "3",
                      "--set", "train.steps=3", "--out", other, "--no-progress"])
    assert result.exit_code == 0, result.output
    target = Path(shutil.copytree(tiny_run, tmp_path / "target"))
    shutil.copy(other / "checkpoints/latest.pt", target / "checkpoints/latest.pt")
    before = (target / "summary.json").read_text()
    line = _one_error_line(_invoke(["resume", target, "--no-progress"]))
    assert "does not match" in line and "seed is 0 in config.yaml but 3" in line
    assert (target / "summary.json").read_text() == before


def test_resume_refuses_edits_it_would_ignore_and_applies_the_safe_ones(run_copy):
    cfg = yaml.safe_load((run_copy / "config.yaml").read_text())
    edited = {**cfg, "circuit": {**cfg["circuit"], "hidden": 12}}
    (run_copy / "config.yaml").write_text(yaml.safe_dump(edited))
    line = _one_error_line(_invoke(["resume", run_copy, "--no-progress"]))
    assert "circuit.hidden is 12 in config.yaml but 8 in the checkpoint" in line

    safe = {**cfg, "eval": {**cfg["eval"], "n_samples": 7}}
    (run_copy / "config.yaml").write_text(yaml.safe_dump(safe))
    result = _invoke(["resume", run_copy, "--no-progress"])
    assert result.exit_code == 0, result.output
    assert ("resuming" in result.output and "configuration of its checkpoint" in result.output
            and "eval.n_samples: 20 -> 7" in result.output)
    assert np.load(run_copy / "samples/samples_step0.npy").shape == (7, 2)
    payload = torch.load(run_copy / "checkpoints/latest.pt", weights_only=True)
    assert payload["config"]["eval"]["n_samples"] == 7  # config.yaml and checkpoint agree
    result = _invoke(["resume", run_copy, "--no-progress"])
    assert "config.yaml matches" in result.output


@pytest.mark.parametrize("damage", ["garbage", "truncated", "object"])
def test_corrupt_checkpoint_is_one_line_without_unsafe_advice(run_copy, damage):
    path = run_copy / "checkpoints/latest.pt"
    if damage == "garbage":
        path.write_bytes(b"not a checkpoint at all")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:500])
    else:
        torch.save({"format": "biovw-checkpoint", "model": Path("x")}, path)
    line = _one_error_line(_invoke(["sample", run_copy, "--n", "5", "--out",
                                    run_copy / "s.npy"]))
    assert "cannot read checkpoint" in line and "weights_only" not in line


# ------------------------------------------------- 4. signals, interrupted and failed starts

SIGNAL_RUN = [*TINY, "train.steps=200", "train.log_every=2", "train.checkpoint_every=50",
              "circuit.hidden=16", "walkback.num_steps=4"]
BASE = [sys.executable, "-m", "biovw", "train", "circuits/rate_net.yaml", *_sets(SIGNAL_RUN),
        "--no-progress", "--threads", "1"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("signals") / "full"
    subprocess.run([*BASE, "--out", str(out)], check=True, capture_output=True)
    return out


def _metrics(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(("signum", "code"), [
    pytest.param(signal.SIGTERM, 143, marks=pytest.mark.slow),  # the same path as SIGINT
    (signal.SIGINT, 130)])
def test_signal_writes_a_checkpoint_and_resume_matches_an_uninterrupted_run(
        uninterrupted, tmp_path, signum, code):
    cut = tmp_path / "cut"
    with open(tmp_path / "stderr", "w") as err:
        proc = subprocess.Popen([*BASE, "--out", str(cut)], stdout=subprocess.DEVNULL,
                                stderr=err)
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and not (
                (cut / "metrics.jsonl").is_file() and (cut / "metrics.jsonl").stat().st_size):
            time.sleep(0.02)
        proc.send_signal(signum)
        assert proc.wait(timeout=120) == code
    lines = (tmp_path / "stderr").read_text().strip().splitlines()
    name = signal.Signals(signum).name
    assert len(lines) == 1 and f"stopped by {name} after iteration" in lines[0], lines
    assert f"biovw resume {cut}" in lines[0]
    payload = torch.load(cut / "checkpoints/latest.pt", weights_only=True)
    assert 0 < payload["step"] < 200 and payload["finished"] is False

    warned = _invoke(["sample", cut, "--n", "5", "--out", tmp_path / "s.npy"])
    assert warned.exit_code == 0 and "warning:" in warned.stderr and "unfinished" in warned.stderr
    warned = _invoke(["evaluate", cut, "--examples", "3", "--trajectories", "1", "--samples",
                      "5", "--no-progress"])
    assert warned.exit_code == 0 and "unfinished" in warned.stderr

    subprocess.run([sys.executable, "-m", "biovw", "resume", str(cut), "--no-progress",
                    "--threads", "1"], check=True, capture_output=True)
    a = torch.load(uninterrupted / "checkpoints/latest.pt", weights_only=True)
    b = torch.load(cut / "checkpoints/latest.pt", weights_only=True)
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    full, resumed = _metrics(uninterrupted), _metrics(cut)
    assert [{**m, "time": 0} for m in full] == [{**m, "time": 0} for m in resumed]
    summary = [json.loads((r / "summary.json").read_text()) for r in (uninterrupted, cut)]
    assert summary[0]["heldout_loglik"] == summary[1]["heldout_loglik"]


def test_a_start_killed_before_its_first_checkpoint_can_be_resumed(tmp_path):
    from biovw.config import config_from_dict
    from biovw.runs import RunDir

    run = RunDir(tmp_path / "killed")
    run.make()
    run.write_config(config_from_dict({"name": "killed"}, TINY))
    run.metrics.write_text('{"step": 2, "loss": 1.0}\n')  # what kill -9 left behind
    line = _one_error_line(_invoke(["train", "circuits/rate_net.yaml", "--out", run.root]))
    assert f"biovw resume {run.root}" in line
    line = _one_error_line(_invoke(["sample", run.root, "--n", "5", "--out",
                                    tmp_path / "s.npy"]))
    assert "no checkpoint yet" in line and "biovw resume" in line
    result = _invoke(["resume", run.root, "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "no checkpoint yet: training starts again from iteration 0 of 6" in result.output
    assert [m["step"] for m in run.read_metrics()] == [2, 4, 6] and run.summary.is_file()


def test_a_start_that_diverges_before_any_checkpoint_leaves_nothing(tmp_path):
    out = tmp_path / "diverged"
    line = _one_error_line(_invoke(["train", "circuits/rate_net.yaml", *_sets(TINY),
                                    "--set", "train.divergence_threshold=1e-9", "--out", out,
                                    "--no-progress"]), code=3)
    assert "diverged at iteration 1" in line and "none saved" in line
    assert not out.exists()


def test_a_start_that_fails_removes_what_it_wrote_but_not_a_given_empty_folder(
        tmp_path, monkeypatch):
    import biovw.runs.train as train_module
    from biovw.config import config_from_dict
    from biovw.runs import RunDir, build_run

    def broken(cfg, state, x, *args):
        raise RuntimeError("a bug in the first iteration")

    monkeypatch.setattr(train_module, "train_iteration", broken)
    cfg = config_from_dict({"name": "x"}, TINY)
    for root, existed in ((tmp_path / "new", False), (tmp_path / "given", True)):
        if existed:
            root.mkdir()
        data, model = build_run(cfg, torch.device("cpu"))
        with pytest.raises(RuntimeError, match="a bug"):
            train_module.train(cfg, RunDir(root), model, data, progress=False)
        assert root.exists() == existed and (not existed or not any(root.iterdir()))


# ---------------------------------------------------------------------------- 5. logs


def test_logs_go_to_stderr_when_it_is_not_a_terminal(tmp_path):
    out = tmp_path / "logged"
    proc = subprocess.run([sys.executable, "-m", "biovw", "train", "circuits/rate_net.yaml",
                           *_sets(TINY), "--out", str(out), "--threads", "1"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert [x.split(",")[0] for x in lines if x.startswith("train: iteration")] == [
        "train: iteration 2/6", "train: iteration 4/6", "train: iteration 6/6"]
    assert all("held-out" in x for x in lines if x.startswith("train: iteration"))
    for phase in ("IS log-likelihood (valid):", "IS log-likelihood (train):", "sample:"):
        assert any(x.startswith(phase) for x in lines), phase
    assert all(np.isfinite(m["heldout_loss"]) for m in _metrics(out))


def test_evaluation_shows_a_progress_bar_when_asked(tiny_run):
    result = _invoke(["evaluate", tiny_run, "--examples", "4", "--trajectories", "1",
                      "--samples", "5", "--progress"])
    assert result.exit_code == 0, result.output
    assert "IS log-likelihood (valid)" in result.stderr and "4/4" in result.stderr


# -------------------------------------------------------------- 6. files and messages


def test_run_files_are_readable_as_the_umask_allows(tmp_path, tiny_run):
    from biovw.runs.checkpoint import save_checkpoint
    from biovw.runs.rundir import RunDir, save_npy_atomic, save_npz_atomic

    mask = os.umask(0o022)
    os.umask(mask)
    for path in tiny_run.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, path
    run = RunDir(tmp_path)
    for umask in (0o022, 0o077, 0o002):
        old = os.umask(umask)
        try:
            run.write_json(tmp_path / "a.json", {"a": 1})
            save_npy_atomic(tmp_path / "b.npy", np.zeros(2))
            save_npz_atomic(tmp_path / "c.npz", {"x": np.zeros(2)})
            save_checkpoint(tmp_path / "d.pt", {"config": {}, "step": 0, "model": {}})
            modes = {stat.S_IMODE((tmp_path / n).stat().st_mode)
                     for n in ("a.json", "b.npy", "c.npz", "d.pt")}
        finally:
            os.umask(old)
        assert modes == {0o666 & ~umask}


def test_python_dash_m_biovw_runs_the_command_line():
    proc = subprocess.run([sys.executable, "-m", "biovw", "--version"], capture_output=True,
                          text=True)
    assert proc.returncode == 0 and "version" in proc.stdout


def test_compare_of_mixed_held_out_data_suggests_the_flag(tiny_run, tmp_path):
    a = Path(shutil.copytree(tiny_run, tmp_path / "a"))
    b = Path(shutil.copytree(tiny_run, tmp_path / "b"))
    cfg = yaml.safe_load((b / "config.yaml").read_text())
    (b / "config.yaml").write_text(yaml.safe_dump({**cfg, "seed": 5}))
    line = _one_error_line(_invoke(["compare", a, b, "--out", tmp_path / "cmp"]))
    assert "--allow-mixed" in line and "allow_mixed=True" not in line
    result = _invoke(["compare", a, b, "--out", tmp_path / "cmp", "--allow-mixed"])
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------------- 7. figures


def _texts(fig) -> str:
    """Every title, axis label, legend entry, colour-bar label and free text of a figure."""
    parts = []
    for ax in fig.axes:
        parts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        legend = ax.get_legend()
        if legend is not None:
            parts += [t.get_text() for t in legend.get_texts()]
        parts += [t.get_text() for t in ax.texts]
    for legend in fig.legends:
        parts += [t.get_text() for t in legend.get_texts()]
    return "\n".join(p for p in parts if p)


def test_figures_label_their_axes_counts_and_lines(drawn, tiny_run):
    from biovw import plots
    from biovw.analysis.currents import probability_current_grid
    from biovw.runs import RunDir

    metrics = RunDir(tiny_run).read_metrics()
    plots.training_figures(metrics, tiny_run / "figures")
    loss, alignment = _texts(drawn[0]), _texts(drawn[1])
    assert "held-out batch" in loss and "training batch" in loss and "nats/example" in loss
    assert "feedback matrix" in alignment and "90 degrees" in alignment
    # the readout and hidden blocks, each with its best angle; all of W is not drawn
    assert alignment.count("best angle given Dale's signs") == 2 and "all of W" not in alignment
    lines = drawn[1].axes[0].get_lines()
    assert len({(line.get_linewidth(), line.get_marker()) for line in lines}) >= 3
    ep = _texts(drawn[2])  # the tiny run logs entropy production at its last iteration
    assert "entropy production (nats/transition)" in ep and "iteration" in ep
    assert "95% interval" in ep and "detailed balance" in ep and "(1 estimate," in ep
    training = len(drawn)
    assert training == 3

    x = np.random.default_rng(0).normal(size=(40, 2))
    plots.evaluation_figures({0: x, 5: x}, x[:30], None, 0, tiny_run / "figures",
                             split="valid")
    for fig in drawn[training:]:
        text = _texts(fig)
        assert "(data units)" in text and "n = 40" in text and "valid data (n = 30)" in text

    rng = np.random.default_rng(1)
    walk = np.cumsum(rng.normal(size=(5, 400, 2)), 1) * 0.05  # no current: no arrow
    plots.current_field(probability_current_grid(walk, bins=6), tiny_run / "c.png", "current")
    assert "no bin's current differs from 0" in _texts(drawn[-1])
    x = np.zeros((5, 2000, 2))
    turn = 0.8 * np.array([[0.9, -0.44], [0.44, 0.9]])
    for t in range(1, 2000):
        x[:, t] = x[:, t - 1] @ turn.T + rng.normal(size=(5, 2))
    field = probability_current_grid(x, bins=6)
    plots.current_field(field, tiny_run / "figures" / "currents.png", "current")
    fig = drawn[-1]
    colorbars = [ax.get_ylabel() for ax in fig.axes[2:]]
    assert any("density" in c for c in colorbars) and any("curl" in c for c in colorbars)
    keys = [a for a in fig.axes[0].get_children() if type(a).__name__ == "QuiverKey"]
    assert len(keys) == 1 and "current |J|" in keys[0].text.get_text()
    assert "transitions" in _texts(fig) and "$x_1$" in _texts(fig)


def test_random_bytes_and_foreign_objects_get_different_messages(tmp_path):
    import os

    from biovw.runs.checkpoint import CheckpointError, load_checkpoint

    noise = tmp_path / "noise.pt"
    noise.write_bytes(os.urandom(4096))
    with pytest.raises(CheckpointError, match="corrupt, truncated or not a torch file"):
        load_checkpoint(noise)
    foreign = tmp_path / "foreign.pt"
    torch.save({"when": __import__("datetime").date(2026, 1, 1)}, foreign)
    with pytest.raises(CheckpointError, match="objects other than tensors"):
        load_checkpoint(foreign)
