"""The plug-in estimate in the sparse regime (many states, few visits each): reversible data
read zero within the interval at every size, and the time-reversal test keeps its level."""

from __future__ import annotations

import math

import numpy as np
import pytest

from biovw.analysis.discrete import entropy_production_coarse, entropy_production_discrete
from biovw.analysis.exact_chains import metropolis_chain, ring_walk


def _summary(results, truth=0.0):
    values = np.array([r.value for r in results])
    covered = np.mean([r.ci_low <= truth <= r.ci_high for r in results])
    mc_se = values.std(ddof=1) / math.sqrt(len(values))
    return values.mean(), mc_se, covered


@pytest.mark.parametrize(("n_states", "length"), [(20, 500), (100, 2_000), (400, 20_000)])
def test_uniform_random_states_read_zero(n_states, length):
    rng = np.random.default_rng(n_states)
    results = [entropy_production_discrete(rng.integers(0, n_states, length), seed=r,
                                           n_surrogates=100)
               for r in range(20)]
    mean, mc_se, covered = _summary(results)
    assert abs(mean) < 4 * mc_se + 1e-6
    assert covered >= 0.85


def test_issue_measurement_uniform_states_and_gaussian_grid():
    """The numbers of issue 12: the earlier correction read -0.28 [-0.29, -0.27] on uniform
    random states and -0.10 / -0.12 on independent Gaussian draws binned 20 x 20."""
    rng = np.random.default_rng(0)
    states = rng.integers(0, 400, 50_000)
    res = entropy_production_discrete(states, n_surrogates=100)
    assert res.ci_low <= 0.0 <= res.ci_high and res.ci_high - res.ci_low < 0.02
    taylor = entropy_production_discrete(states, bias_correction="taylor", n_boot=50)
    assert taylor.ci_high < -0.1  # the bug this replaces
    for n in (2_000, 20_000):
        grid = entropy_production_coarse(rng.normal(size=(n, 2)), bins=20, n_surrogates=100)
        assert grid.ci_low <= 0.0 <= grid.ci_high, (n, grid)
        assert grid.ci_high - grid.ci_low < 0.05


@pytest.mark.parametrize("length", [1_000, 10_000])
def test_reversible_chains_with_few_cycles_or_sparse_visits_read_zero(length):
    rng = np.random.default_rng(length)
    ring = ring_walk(50, 0.3, 0.3)  # one cycle, slow to mix: Kirchhoff's law binds
    metropolis = metropolis_chain(np.random.default_rng(3).normal(size=100) * 1.5)
    for chain in (ring, metropolis):
        trajs = chain.simulate(length, 20, rng)
        results = [entropy_production_discrete(t, seed=i, n_surrogates=100)
                   for i, t in enumerate(trajs)]
        mean, mc_se, covered = _summary(results)
        assert abs(mean) < 4 * mc_se + 1e-6, chain.name
        assert covered >= 0.85, chain.name


def test_time_reversal_test_level_and_power():
    rng = np.random.default_rng(5)
    null = [entropy_production_discrete(rng.integers(0, 30, 3_000), seed=i, n_surrogates=100)
            for i in range(40)]
    assert np.mean([r.p_value < 0.05 for r in null]) <= 0.15
    biased = ring_walk(8, 0.4, 0.2)
    trajs = biased.simulate(2_000, 10, rng)
    alternative = [entropy_production_discrete(t, seed=i, n_surrogates=100)
                   for i, t in enumerate(trajs)]
    assert all(r.p_value < 0.05 for r in alternative)
    truth = biased.entropy_production()
    assert np.mean([r.ci_low <= truth <= r.ci_high for r in alternative]) >= 0.8


def test_trials_of_different_lengths():
    chain = ring_walk(6, 0.5, 0.2)
    truth = chain.entropy_production()
    rng = np.random.default_rng(7)
    long = chain.simulate(30_000, 1, rng)[0]
    cuts = np.sort(rng.choice(np.arange(100, 29_900), size=14, replace=False))
    trials = np.split(long, cuts)
    assert len({len(t) for t in trials}) > 1
    res = entropy_production_discrete(trials, n_surrogates=100)
    assert res.n_chains == 15 and res.bootstrap == "chains"
    assert res.n_transitions == len(long) - 15
    assert res.ci_low <= truth <= res.ci_high
    whole = entropy_production_discrete(long, n_surrogates=100)
    assert abs(res.value - whole.value) < 2 * whole.se
    boot = entropy_production_discrete(trials, interval="bootstrap", n_boot=50,
                                       n_surrogates=50)
    assert boot.interval == "bootstrap" and boot.ci_low <= truth <= boot.ci_high


def test_data_without_cycles_cannot_show_irreversibility():
    # a path 0 -> 1 -> 2 -> 1 -> 0 ...: every block's net counts cancel
    x = np.tile([0, 1, 2, 1], 50)
    res = entropy_production_discrete(x)
    assert res.value == 0.0 and res.ci_low == res.ci_high == 0.0
    assert "cannot show irreversibility" in res.note


def test_bad_labels_are_refused():
    with pytest.raises(ValueError, match="single state"):
        entropy_production_discrete(np.zeros(100, dtype=int))
    with pytest.raises(ValueError, match="complex"):
        entropy_production_discrete(np.array([0, 1, 2, 1, 0, 1, 2, 1, 0]) + 0j)
    with pytest.raises(ValueError, match="at least 8"):
        entropy_production_discrete(np.array([0, 1, 0, 1]))
    with pytest.raises(ValueError, match="interval"):
        entropy_production_discrete(np.array([0, 1, 2] * 5), interval="jackknife")
