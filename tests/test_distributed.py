"""Data-parallel training under torchrun (gloo on the CPU) and checkpoint faults: the shards of
the processes together compute what one process computes, a killed process stops the job and
``resume`` continues it, and a damaged latest checkpoint falls back to the previous one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from cli_support import TINY_RUN, set_args
from click.testing import CliRunner

from biovw.cli import main
from biovw.config import ConfigError
from biovw.runs.distributed import DataParallel
from biovw.walkback import BatchShard, BernoulliOperator, GaussianOperator

TINY = TINY_RUN
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "BIOVW_DIST_TIMEOUT": "60",
       "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


_sets = set_args


def _train(out: Path, overrides, processes: int = 1, **popen) -> list[str]:
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node",
                 str(processes), "--master_port", str(29500 + os.getpid() % 1000)]
                if processes > 1 else [sys.executable])
    return [*launcher, "-m", "biovw", "train", "circuits/rate_net.yaml", *_sets(overrides),
            "--out", str(out), "--no-progress", "--threads", "1"]


def _params(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints/latest.pt", weights_only=True)["model"]


def _relative_difference(a: dict, b: dict) -> float:
    return max(((a[k].double() - b[k].double()).norm() / a[k].double().norm().clamp_min(1e-30))
               .item() for k in a)


# ----------------------------------------------------------------- sharding, in one process


@pytest.mark.parametrize("operator", [GaussianOperator(3, 0.5, 0.1), BernoulliOperator(3, 0.2)])
def test_shards_draw_together_what_one_process_draws(operator):
    s = (torch.rand(12, 3) > 0.5).float()
    out = torch.randn(12, 3)
    whole_gen = torch.Generator().manual_seed(4)
    whole = operator.sample(s, out, 1.5, whole_gen)
    parts = []
    for rank in range(3):
        shard = DataParallel(rank, 3).shard(12)
        gen = torch.Generator().manual_seed(4)
        rows = slice(shard.start, shard.stop)
        parts.append(operator.sample(s[rows], out[rows], 1.5, gen,
                                     shard.noise(operator, s[rows], gen)))
        assert torch.equal(gen.get_state(), whole_gen.get_state())
    assert torch.equal(torch.cat(parts), whole)
    assert DataParallel().shard(12) is None and BatchShard(0, 4, 12).total == 12


def test_a_global_batch_that_does_not_split_evenly_is_refused():
    with pytest.raises(ConfigError, match=r"train.batch_size 32 must be divisible .* \(3\)"):
        DataParallel(0, 3).check_batch(32)


# ------------------------------------------------------------------ torchrun, two processes


@pytest.mark.parametrize("online", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_two_processes_reach_the_single_process_parameters(tmp_path, online):
    overrides = [*TINY, f"walkback.online_updates={str(online).lower()}", "train.grad_clip=1"]
    single, parallel = tmp_path / "single", tmp_path / "parallel"
    subprocess.run(_train(single, overrides), check=True, capture_output=True, env=ENV)
    done = subprocess.run(_train(parallel, overrides, processes=2), capture_output=True,
                          text=True, env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "run directory" in done.stdout and done.stdout.count("run directory") == 1
    assert _relative_difference(_params(single), _params(parallel)) < 1e-5
    losses = [[json.loads(x)["loss"] for x in (r / "metrics.jsonl").read_text().splitlines()]
              for r in (single, parallel)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    assert (parallel / "summary.json").is_file()


def _rank_pid(parent: int, rank: int) -> int | None:
    """The pid of the worker process of ``rank`` that torchrun ``parent`` started."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and f"RANK={rank}".encode() in environ:
            return int(entry.name)
    return None


def test_a_killed_process_stops_the_job_and_resume_continues_it(tmp_path):
    overrides = [*TINY, "train.steps=400", "train.log_every=10", "train.checkpoint_every=10",
                 "circuit.hidden=16"]
    run = tmp_path / "killed"
    with open(tmp_path / "stderr", "w") as err:
        job = subprocess.Popen(_train(run, overrides, processes=2), stdout=subprocess.DEVNULL,
                               stderr=err, env=ENV)
        deadline = time.time() + 120
        while time.time() < deadline and not (run / "checkpoints/latest.pt").is_file():
            time.sleep(0.05)
        pid = _rank_pid(job.pid, 1)
        assert pid is not None and job.poll() is None
        os.kill(pid, signal.SIGKILL)
        assert job.wait(timeout=120) != 0
    step = torch.load(run / "checkpoints/latest.pt", weights_only=True)["step"]
    assert 0 < step < 400
    resumed = subprocess.run([sys.executable, "-m", "biovw", "resume", str(run), "--no-progress",
                              "--threads", "1"], capture_output=True, text=True, env=ENV)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming" in resumed.stdout
    payload = torch.load(run / "checkpoints/latest.pt", weights_only=True)
    assert payload["step"] == 400 and payload["finished"] is True
    steps = [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(10, 401, 10))


# ------------------------------------------------------------------ a damaged checkpoint


def test_a_truncated_latest_checkpoint_resumes_from_the_previous_one(tmp_path):
    full, cut = tmp_path / "full", tmp_path / "cut"
    for run in (full, cut):
        subprocess.run(_train(run, TINY), check=True, capture_output=True, env=ENV)
    latest = cut / "checkpoints/latest.pt"
    assert torch.load(cut / "checkpoints/previous.pt", weights_only=True)["step"] == 3
    latest.write_bytes(latest.read_bytes()[:1000])

    refused = CliRunner().invoke(main, ["sample", str(cut), "--n", "5", "--out",
                                        str(tmp_path / "s.npy")])
    assert refused.exit_code == 2 and "cannot read checkpoint" in refused.stderr
    assert "previous.pt" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1

    resumed = subprocess.run([sys.executable, "-m", "biovw", "resume", str(cut), "--no-progress",
                              "--threads", "1"], capture_output=True, text=True, env=ENV)
    assert resumed.returncode == 0, resumed.stderr
    warning = resumed.stderr.strip().splitlines()[0]
    assert warning.startswith("warning:") and str(latest) in warning
    assert "previous checkpoint" in warning and "iteration 3" in warning
    assert "at iteration 3 of 6" in resumed.stdout
    assert (cut / "checkpoints/latest.pt.damaged").is_file()
    a, b = _params(full), _params(cut)
    assert all(torch.equal(a[k], b[k]) for k in a)
    summary = [json.loads((r / "summary.json").read_text()) for r in (full, cut)]
    assert summary[0]["heldout_loglik"] == summary[1]["heldout_loglik"]


# ---------------------------------------------------------------------------------- CUDA


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_training_on_cuda_matches_the_cpu_run(tmp_path):
    cpu, gpu = tmp_path / "cpu", tmp_path / "gpu"
    overrides = [*TINY, "train.matmul_precision=highest"]
    subprocess.run(_train(cpu, overrides), check=True, capture_output=True, env=ENV)
    subprocess.run([*_train(gpu, overrides), "--device", "cuda"], check=True,
                   capture_output=True, env=ENV)
    assert (gpu / "summary.json").is_file()
    for command in (["sample", str(gpu), "--n", "5", "--out", str(tmp_path / "s.npy")],
                    ["simulate", str(gpu), "--chains", "3", "--steps", "4", "--out",
                     str(tmp_path / "t.npy")],
                    ["analyze", str(gpu), "--chains", "4", "--steps", "10", "--burn-in", "2"]):
        result = CliRunner().invoke(main, [*command, "--device", "cuda"])
        assert result.exit_code == 0, result.output
