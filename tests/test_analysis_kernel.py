"""Kernel-exact entropy production against closed forms and exact enumeration."""

import numpy as np
import pytest
import torch

from biovw.analysis import entropy_production_exact
from biovw.analysis.enumerate import binary_states, transition_matrix_binary
from biovw.analysis.kernel import entropy_production_kernel, entropy_production_recorded, simulate
from biovw.analysis.models import GlauberKernel, LinearGaussianKernel
from biovw.config import config_from_dict
from biovw.runs import build_model
from biovw.walkback import StationaryKernel

ROTATING = np.array([[0.6, -0.5], [0.5, 0.6]])


def test_linear_gaussian_matches_closed_form_and_ci_covers_at_nominal_rate():
    kernel = LinearGaussianKernel(ROTATING, noise=0.5)
    truth = kernel.entropy_production()
    assert truth > 0.1
    covered = 0
    for seed in range(20):
        gen = torch.Generator().manual_seed(seed)
        res = entropy_production_kernel(kernel, kernel.stationary_sample(500, gen), 200,
                                        generator=gen)
        covered += res.ci_low <= truth <= res.ci_high
    assert covered >= 16  # 95% intervals: P(covered < 16 of 20) is below 0.3%


def test_symmetric_linear_gaussian_is_zero_within_ci():
    kernel = LinearGaussianKernel(np.array([[0.5, 0.3], [0.3, -0.2]]), noise=0.3)
    assert kernel.entropy_production() == pytest.approx(0.0, abs=1e-12)
    gen = torch.Generator().manual_seed(0)
    res = entropy_production_kernel(kernel, kernel.stationary_sample(1000, gen), 300,
                                    generator=gen)
    assert res.ci_low <= 0.0 <= res.ci_high


def test_recorded_chains_give_the_estimate_of_the_chains_the_estimator_draws():
    kernel = LinearGaussianKernel(ROTATING, noise=0.5)
    start = kernel.stationary_sample(300, torch.Generator().manual_seed(1))
    drawn = entropy_production_kernel(kernel, start, 100, burn_in=10,
                                      generator=torch.Generator().manual_seed(2))
    states = simulate(kernel, start, 110, torch.Generator().manual_seed(2))
    recorded = entropy_production_recorded(kernel, states, burn_in=10)
    assert recorded.value == pytest.approx(drawn.value, rel=1e-12)
    assert (recorded.ci_low, recorded.ci_high) == pytest.approx((drawn.ci_low, drawn.ci_high))
    assert (recorded.n_chains, recorded.n_steps, recorded.burn_in) == (300, 100, 10)
    assert recorded.ci_low <= kernel.entropy_production() <= recorded.ci_high


@pytest.mark.parametrize("symmetric", [True, False])
def test_glauber_kernel_estimate_matches_exact_enumeration(symmetric):
    rng = np.random.default_rng(3)
    J = rng.normal(size=(4, 4)) * 1.5
    if symmetric:
        J = (J + J.T) / 2
    kernel = GlauberKernel(J, rng.normal(size=4))
    exact = entropy_production_exact(kernel.matrix())
    gen = torch.Generator().manual_seed(1)
    start = binary_states(4)[torch.randint(16, (2000,), generator=gen)].double()
    res = entropy_production_kernel(kernel, start, 300, burn_in=100, generator=gen)
    assert res.ci_low <= exact.entropy_production <= res.ci_high
    if symmetric:
        assert exact.entropy_production == pytest.approx(0.0, abs=1e-12)
    else:
        assert exact.entropy_production > 5 * res.se


def test_enumerated_bernoulli_circuit_agrees_with_its_kernel_and_the_estimator():
    cfg = config_from_dict({
        "circuit": {"kind": "rate", "hidden": 12},
        "walkback": {"operator": "bernoulli", "kappa": 0.3, "num_steps": 3},
    })
    model = build_model(cfg, 5)
    with torch.no_grad():
        model.circuit.w_raw.mul_(4.0)  # strong, asymmetric coupling
    kernel = StationaryKernel(model)
    P = transition_matrix_binary(kernel.unit_log_probs, 5)
    assert torch.allclose(P.sum(1), torch.ones(32, dtype=torch.float64), atol=1e-9)
    states = binary_states(5)
    i, j = torch.randint(32, (50,)), torch.randint(32, (50,))
    with torch.no_grad():
        direct = kernel.log_prob(states[j], states[i], kernel.params(states[i])).double()
    assert torch.allclose(P[i, j].log(), direct, atol=1e-5)
    exact = entropy_production_exact(P.numpy())
    gen = torch.Generator().manual_seed(2)
    start = states[torch.randint(32, (2000,), generator=gen)]
    res = entropy_production_kernel(kernel, start, 200, burn_in=50, generator=gen)
    assert exact.entropy_production > 0
    assert res.ci_low <= exact.entropy_production <= res.ci_high


def test_analyze_model_on_a_small_binary_circuit_reports_consistent_estimates():
    from biovw.runs.analyze import analyze_model

    cfg = config_from_dict({
        "circuit": {"kind": "rate", "hidden": 12},
        "walkback": {"operator": "bernoulli", "kappa": 0.3, "num_steps": 3},
    })
    model = build_model(cfg, 5)
    with torch.no_grad():
        model.circuit.w_raw.mul_(4.0)
    analysis = analyze_model(model, n_chains=1000, n_steps=200, burn_in=50, record_chains=200,
                             bins=6)
    result = analysis.result
    ep = result["entropy_production"]
    exact = ep["exact"]
    assert exact["ci_low"] == exact["value"] == exact["ci_high"] > 0
    assert ep["kernel"]["ci_low"] <= exact["value"] <= ep["kernel"]["ci_high"]
    assert ep["coarse_grained"]["discretization"] == "full binary states"
    assert result["connectivity"]["ei"]["dale_violations"] == 0
    assert analysis.currents is not None and analysis.currents.counts.sum() > 0
