"""Schedules of the training loop and the whole-trajectory update mode."""


import pytest
import torch

from biovw.config import config_from_dict
from biovw.runs import build_run
from biovw.runs.rundir import RunDir
from biovw.runs.train import current_num_steps, learning_rate, train


def test_step_annealing_grows_from_the_start_value_to_k():
    cfg = config_from_dict({"train": {"steps": 100}, "walkback": {
        "num_steps": 10, "anneal_steps": True, "anneal_start": 2, "anneal_fraction": 0.5}})
    ks = [current_num_steps(cfg, step) for step in range(100)]
    assert ks[0] == 2 and ks[-1] == 10 and ks[50] == 10
    assert all(a <= b for a, b in zip(ks, ks[1:], strict=False))
    fixed = config_from_dict({"walkback": {"num_steps": 7}})
    assert current_num_steps(fixed, 0) == 7


def test_cosine_learning_rate_runs_from_lr_to_its_floor():
    cfg = config_from_dict({"train": {"steps": 100, "lr": 0.01, "lr_schedule": "cosine",
                                      "lr_min_factor": 0.1}})
    assert learning_rate(cfg, 0) == pytest.approx(0.01)
    assert learning_rate(cfg, 50) == pytest.approx(0.0055)  # half-way: the mean of both ends
    assert learning_rate(cfg, 100) == pytest.approx(0.001)


@pytest.mark.parametrize("online", [True, False])
def test_both_update_modes_lower_the_loss(tmp_path, online):
    cfg = config_from_dict({"name": "t"}, [
        "train.steps=60", "train.log_every=10", "train.batch_size=128", "circuit.kind=mlp",
        "circuit.hidden=32", "walkback.num_steps=5", "walkback.temperature_factor=1.5",
        "walkback.sigma=0.2", "data.n_samples=1000", f"walkback.online_updates={online}",
        "train.lr=0.003",
    ])
    data, model = build_run(cfg, torch.device("cpu"))
    run = RunDir(tmp_path / "run")
    train(cfg, run, model, data, progress=False)
    losses = [m["loss"] for m in run.read_metrics()]
    assert losses[-1] < losses[0] - 0.5


def test_a_fresh_start_never_overwrites_a_trained_run(tmp_path):
    """Running the API example twice into one folder is refused, as the command line refuses
    a non-empty --out; resume=True continues it."""
    from pathlib import Path

    from biovw.config import ConfigError, load_config

    cfg = load_config(Path(__file__).resolve().parents[1] / "circuits" / "rate_net.yaml",
                      ["train.steps=3", "circuit.hidden=8", "data.n_samples=300"])
    data, model = build_run(cfg, torch.device("cpu"))
    run = RunDir(tmp_path / "api-demo")
    train(cfg, run, model, data, progress=False)
    before = run.checkpoint.read_bytes()
    data, model = build_run(cfg, torch.device("cpu"))
    with pytest.raises(ConfigError, match="already holds a trained run"):
        train(cfg, run, model, data, progress=False)
    assert run.checkpoint.read_bytes() == before
    state = train(cfg, run, model, data, progress=False, resume=True)
    assert state.step == 3
