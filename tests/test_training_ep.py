"""Entropy production logged during training: the number is the chain's (checked on a linear
Gaussian chain against the closed form), and logging it changes nothing else."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from cli_support import invoke, set_args

from biovw.analysis.models import LinearGaussianKernel
from biovw.circuits.linear import LinearCircuit
from biovw.walkback import (
    GaussianOperator,
    GaussianPrior,
    WalkbackModel,
    chain_entropy_production,
    temperature_schedule,
)

TINY = ["train.steps=8", "train.log_every=2", "train.checkpoint_every=4", "train.batch_size=32",
        "circuit.hidden=8", "walkback.num_steps=3", "data.n_samples=300", "eval.n_examples=10",
        "eval.n_trajectories=2", "eval.n_samples=20", "eval.snapshots=[0, 2]"]
EP = ["train.ep_every=4", "train.ep_chains=64", "train.ep_steps=40"]


def _linear_model(A: np.ndarray, kappa: float, sigma: float) -> WalkbackModel:
    dim = len(A)
    circuit = LinearCircuit(dim, 3).double()
    with torch.no_grad():
        circuit.matrix[0] = torch.as_tensor(A)
        circuit.offset[0] = torch.tensor([0.3, -0.2])
    operator = GaussianOperator(dim, kappa=kappa, sigma=sigma).double()
    return WalkbackModel(circuit, operator, GaussianPrior(dim).double(),
                         temperature_schedule(3, 1.0, 1.5))


@pytest.mark.parametrize(("A", "rotational"), [
    (np.array([[0.6, -0.5], [0.3, 0.4]]), True),
    (np.array([[0.7, 0.1], [0.1, 0.5]]), False),
])
def test_logged_estimate_is_the_chains_entropy_production(A, rotational):
    """On an affine circuit with a Gaussian operator the T = 1 chain is the AR(1) process
    ``s' = (kappa I + (1 - kappa) A) s + c + sigma eps``, whose entropy production is known."""
    kappa, sigma = 0.2, 0.3
    model = _linear_model(A, kappa, sigma)
    # the offset moves the stationary mean only: same entropy production as without it
    truth = LinearGaussianKernel(kappa * np.eye(2) + (1 - kappa) * A, sigma).entropy_production()
    start = torch.randn(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ep = chain_entropy_production(model, start, n_chains=2000, n_steps=400, seed=3)
    assert ep["ep_ci_low"] <= truth <= ep["ep_ci_high"], (ep, truth)
    assert ep["ep_ci_high"] - ep["ep_ci_low"] < 0.1 * max(truth, 0.05)
    if rotational:
        assert truth > 0.05 and ep["ep_ci_low"] > 0
    else:
        assert truth == pytest.approx(0.0, abs=1e-12)
    # its own generator: the same model gives the same number, the global stream is untouched
    state = torch.random.get_rng_state()
    again = chain_entropy_production(model, start, n_chains=2000, n_steps=400, seed=3)
    assert again == ep and torch.equal(torch.random.get_rng_state(), state)


def test_logging_it_changes_nothing_else(tmp_path):
    """Weights, optimiser state and evaluation are the same with and without the logging; it
    appears at every ``ep_every``-th iteration and the last, and in its figure."""
    runs = {}
    for name, extra in (("with", EP), ("without", ["train.ep_every=0"])):
        out = tmp_path / name
        result = invoke(["train", "circuits/rate_net.yaml", *set_args([*TINY, *extra]),
                         "--out", out, "--no-progress"])
        assert result.exit_code == 0, result.output
        runs[name] = out
    ckpt = {n: torch.load(r / "checkpoints" / "latest.pt", weights_only=True)
            for n, r in runs.items()}
    for key, value in ckpt["with"]["model"].items():
        assert torch.equal(value, ckpt["without"]["model"][key]), key
    for key, value in ckpt["with"]["rng"].items():
        other = ckpt["without"]["rng"][key]
        assert torch.equal(value, other) if torch.is_tensor(value) else value == other, key

    def quality(run):
        return json.loads((run / "eval.json").read_text())["sample_quality"]

    assert quality(runs["with"]) == quality(runs["without"])
    lines = (runs["with"] / "metrics.jsonl").read_text().splitlines()
    metrics = [json.loads(line) for line in lines if line]
    logged = [m["step"] for m in metrics if "ep" in m]
    assert logged == [4, 8]
    assert all(m["ep_ci_low"] <= m["ep"] <= m["ep_ci_high"] for m in metrics if "ep" in m)
    assert (runs["with"] / "figures" / "entropy_production.png").is_file()
    assert not (runs["without"] / "figures" / "entropy_production.png").exists()


def test_ep_every_need_not_be_a_multiple_of_log_every(tmp_path):
    """Estimated at the first logged iteration at or after each multiple of ep_every."""
    out = tmp_path / "run"
    result = invoke(["train", "circuits/rate_net.yaml",
                     *set_args([*TINY, "train.log_every=3", *EP]), "--out", out,
                     "--no-progress"])
    assert result.exit_code == 0, result.output
    lines = (out / "metrics.jsonl").read_text().splitlines()
    metrics = [json.loads(line) for line in lines if line]
    assert [m["step"] for m in metrics] == [3, 6, 8]
    assert [m["step"] for m in metrics if "ep" in m] == [6, 8]
