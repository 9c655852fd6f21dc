"""Stationarity at length: one run of the chains with snapshots on the way, metrics with their
group-to-group noise, and the verdict of the first against the last snapshot."""

import json

import numpy as np
import pytest
import torch

from biovw import plots
from biovw.config import load_config
from biovw.runs import RunDir, build_run
from biovw.runs import kinds as kinds_module
from biovw.runs import stationarity as stationarity_module
from biovw.runs.stationarity import check_stationarity, paired_change
from biovw.runs.train import train

TINY = ["train.steps=6", "train.log_every=3", "train.batch_size=64", "circuit.hidden=16",
        "walkback.num_steps=4", "data.n_samples=400", "eval.batch_size=20"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cfg = load_config("circuits/rate_net.yaml", TINY)
    data, model = build_run(cfg, torch.device("cpu"))
    run = RunDir(tmp_path_factory.mktemp("runs") / "tiny")
    train(cfg, run, model, data, progress=False)
    return cfg, model, data, run


def test_one_run_of_the_chains_gives_every_snapshot(tiny, monkeypatch):
    cfg, model, data, run = tiny
    calls = []
    real = kinds_module.draw_samples

    def counted(*args, **kwargs):
        calls.append(args[3])
        return real(*args, **kwargs)

    monkeypatch.setattr(kinds_module, "draw_samples", counted)
    report = check_stationarity(cfg, model, data, 40, [7, 0, 3, 3], seed=1, n_groups=4)
    assert calls == [[0, 3, 7]]  # one call, the chains advanced once to the last count
    assert report.steps == [0, 3, 7] and sorted(report.samples) == [0, 3, 7]
    assert all(v.shape == (40, 2) for v in report.samples.values())
    result = json.loads(json.dumps(report.to_dict()))
    assert set(result) == {"steps", "n_chains", "n_groups", "seconds", "quality", "groups",
                           "floor", "change", "stationary", "verdict", "split", "start",
                           "start_label", "sampler", "transitions_per_step", "steps_to_data",
                           "moved"}
    assert set(result["quality"]) == {"0", "3", "7", "data_floor"}
    metrics = {"sliced_wasserstein", "mmd", "energy_distance", "near_mode_fraction",
               "min_mode_share", "mode_tv"}
    assert set(result["groups"]["3"]) == metrics == set(result["change"])
    assert len(result["groups"]["7"]["mmd"]["values"]) == 4
    assert set(result["floor"]) == metrics and len(result["floor"]["mmd"]["values"]) == 4
    for c in result["change"].values():
        assert c["ci_low"] <= c["diff"] <= c["ci_high"] and c["se"] >= 0
    assert result["verdict"].startswith("quality after 7 steps")
    assert result["stationary"] == ("no worse" in result["verdict"])
    path = plots.stationarity_curves(result, run.figures / "stationarity.png")
    assert path.stat().st_size > 0


def test_wrong_starts_come_from_the_other_held_out_split(tiny):
    cfg, model, data, _ = tiny
    scored = cfg.eval.split
    other = data.test if scored == "valid" else data.valid
    report = check_stationarity(cfg, model, data, 40, [0, 2], seed=3, n_groups=4,
                                start="one_mode", start_label=4)
    start = torch.as_tensor(report.samples[0])
    # every chain starts on a held-out example of mode 4 (the centre of the grid) ...
    rows = (start[:, None, :] == other[None, :, :]).all(-1).any(1)
    assert rows.all()
    nearest = torch.cdist(start, data.modes).argmin(1)
    assert (nearest == 4).all() and report.start_label == 4 and report.moved["0"] == 0.0
    # ... so the share distance starts at 1 - (mode 4's share of the data), far from the floor
    assert report.groups["0"]["mode_tv"]["mean"] > 0.8
    assert report.steps_to_data["mode_tv"] in (None, 2)
    held = check_stationarity(cfg, model, data, 40, [0, 2], seed=3, n_groups=4,
                              start="heldout")
    assert held.steps_to_data["mode_tv"] == 0      # the data are within the data's spread
    assert held.to_dict()["start"] == "heldout" and held.start_label is None
    with pytest.raises(ValueError, match="--start must be one of"):
        check_stationarity(cfg, model, data, 40, [0, 2], n_groups=4, start="prior")


def test_paired_change_flags_only_a_change_beyond_noise():
    rng = np.random.default_rng(0)
    first = 1.0 + 0.05 * rng.normal(size=10)
    same = first + 0.05 * rng.normal(size=10)
    assert not paired_change(first, same, higher_is_better=False)["worse"]
    assert paired_change(first, first + 0.5, higher_is_better=False)["worse"]
    assert not paired_change(first, first - 0.5, higher_is_better=False)["worse"]
    assert paired_change(first, first - 0.5, higher_is_better=True)["worse"]


def test_too_few_groups_or_steps_are_refused(tiny):
    cfg, model, data, _ = tiny
    with pytest.raises(ValueError, match="--groups"):
        check_stationarity(cfg, model, data, 6, [0, 1], n_groups=4)
    with pytest.raises(ValueError, match="--steps"):
        check_stationarity(cfg, model, data, 40, [5, 5], n_groups=4)


@pytest.mark.slow
def test_the_default_circuit_is_no_worse_after_10000_steps(tmp_path):
    """The paper's claim on the default job: the chain keeps producing samples as good as the
    first ones far past the cool-down. 1,000 chains in 10 groups: 2,000 chains of this circuit
    took 0.33 s per step with one thread on 2 shared cores at load 13, so expect of the order of
    half an hour for the chains there, several times less on a quiet machine."""
    cfg = load_config("circuits/rate_net.yaml", ["eval.sampler=chain"])
    data, model = build_run(cfg, torch.device("cpu"))
    train(cfg, RunDir(tmp_path / "rate_net"), model, data, progress=False)
    report = check_stationarity(cfg, model, data, 1000, [0, 10, 100, 1000, 10000], seed=0)
    assert report.verdict == "quality after 10,000 steps no worse than after 0 beyond noise", \
        json.dumps(report.change, indent=1)


@pytest.mark.slow
def test_the_default_sampler_reaches_the_data_from_one_mode(tmp_path):
    """The default job's own sampler (cycles through 15 temperature steps), every chain
    started in one mode: the mode shares reach the data's spread and at least 99% of samples
    stay near a mode, while the T = 1 chain leaves no chain out of its mode (about 10 minutes:
    training, then 30,000 transitions of 1,000 chains)."""
    cfg = load_config("circuits/rate_net.yaml", ["eval.split=valid"])
    data, model = build_run(cfg, torch.device("cpu"))
    train(cfg, RunDir(tmp_path / "rate_net"), model, data, progress=False)
    cycles = check_stationarity(cfg, model, data, 1000, [0, 10, 1000], seed=0,
                                start="one_mode")
    assert cycles.steps_to_data["mode_tv"] is not None, cycles.groups
    assert cycles.groups["1000"]["near_mode_fraction"]["mean"] >= 0.99
    assert cycles.moved["1000"] > 0.8
    chain_cfg = load_config("circuits/rate_net.yaml", ["eval.split=valid", "eval.sampler=chain"])
    chain = check_stationarity(chain_cfg, model, data, 1000, [0, 1000], seed=0, start="one_mode")
    assert chain.moved["1000"] == 0.0 and chain.steps_to_data["mode_tv"] is None


def test_labelled_images_get_class_shares_from_a_classifier_of_the_training_split():
    cfg = load_config("circuits/digits_rate_fa.yaml",
                      ["circuit.hidden=16", "walkback.num_steps=2", "eval.split=test"])
    data, model = build_run(cfg, torch.device("cpu"))  # untrained: its samples are noise
    report = check_stationarity(cfg, model, data, 200, [0, 2], seed=0, n_groups=2)
    metrics = {"sliced_wasserstein", "mmd", "energy_distance", "class_tv", "min_class_share"}
    assert report.moved["0"] == 0.0
    assert set(report.groups["2"]) == metrics == set(report.floor) == set(report.change)
    # the training images' class shares are close to the test images', noise's are not
    assert report.floor["class_tv"]["mean"] < 0.2 < report.groups["0"]["class_tv"]["mean"]
    assert report.floor["min_class_share"]["mean"] > 0.04
    # a shrinking smallest class share is worse, a growing distance is worse
    assert stationarity_module.HIGHER_IS_BETTER.count("min_class_share") == 1
    assert "class_tv" not in stationarity_module.HIGHER_IS_BETTER
