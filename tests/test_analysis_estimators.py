"""Estimators for recordings against exact values: TUR bound, VAR(1) model, nested k-means
states, surrogate tests and the sample-size estimate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from biovw.analysis.estimators import estimate_entropy_production
from biovw.analysis.exact_chains import driven_ou, ring_walk, rotating_ar1
from biovw.analysis.power import required_length
from biovw.analysis.record import EntropyEstimate, as_chains
from biovw.analysis.states import entropy_production_hierarchical, hierarchical_kmeans
from biovw.analysis.surrogates import surrogate_test
from biovw.analysis.tur import (
    current_basis,
    entropy_production_tur,
    hyperbolic_bound,
    total_derivatives,
)
from biovw.analysis.var_model import entropy_production_var, fit_var


def test_hyperbolic_bound_and_current_basis():
    assert hyperbolic_bound(0.0) == 0.0
    small = 1e-3
    assert hyperbolic_bound(small) == pytest.approx(2 * small**2, rel=1e-5)
    r = np.linspace(0, 5, 50)
    assert np.all(np.diff(hyperbolic_bound(r)) > 0)
    x = np.random.default_rng(0).normal(size=(6, 3))
    basis = current_basis(x)
    assert basis.shape == (5, 3 + 9)
    # every basis current changes sign under time reversal
    assert np.allclose(current_basis(x[::-1])[::-1], -basis)


def test_tur_saturates_for_a_finely_sampled_driven_ou_and_stays_below_coarser_truths():
    """The best linear midpoint current attains the entropy production of a finely sampled
    Ornstein-Uhlenbeck process (short-time TUR, Manikandan et al. 2020): an independent
    check of the current basis; the cross-fitted estimate is a valid lower bound."""
    rng = np.random.default_rng(1)
    fine = driven_ou((1.0, 4.0), coupling=0.8, dt=0.01)
    truth = fine.entropy_production()
    x = fine.simulate(400_000, 1, rng)[0]
    J = current_basis((x - x.mean(0)) / x.std(0))
    mu = np.where(total_derivatives(2), 0.0, J.mean(axis=0))
    ratio = math.sqrt(mu @ np.linalg.solve(np.cov(J.T), mu))
    assert hyperbolic_bound(ratio) == pytest.approx(truth, rel=0.15)
    res = entropy_production_tur(x[:100_000], dt=0.01)
    assert res.lower_bound and res.ci_low <= truth and res.value > 0.5 * truth
    assert res.p_value <= 0.01
    assert res.per_second()[0] == pytest.approx(res.value / 0.01)
    for chain in (rotating_ar1(0.3, 0.85, 0.5), driven_ou((1.0, 4.0), 0.8, dt=0.3)):
        bound = entropy_production_tur(chain.simulate(30_000, 1, rng)[0])
        assert 0 < bound.ci_low and bound.ci_low <= chain.entropy_production()


def test_tur_reads_zero_for_reversible_dynamics_with_memory():
    """The reversible twin of a rotating AR(1) chain: the surrogate test keeps its level (a
    t-test on the cross-fitted scores rejected about 12% of these recordings)."""
    rng = np.random.default_rng(2)
    twin = rotating_ar1(0.1, 0.8, 1.0).reversible_twin()
    results = [entropy_production_tur(x, seed=i) for i, x in enumerate(
        twin.simulate(1_500, 300, rng))]
    assert np.mean([r.p_value < 0.05 for r in results]) <= 0.09
    assert np.mean([r.ci_low > 0 for r in results]) <= 0.05


def test_var_recovers_the_model_and_covers_the_exact_value():
    rng = np.random.default_rng(3)
    chain = rotating_ar1(0.2, 0.8, 0.5)
    x = chain.simulate(20_000, 1, rng)[0]
    assert np.allclose(fit_var(x).M, chain.M, atol=0.02)
    truth = chain.entropy_production()
    runs = [entropy_production_var(y, n_boot=60, n_surrogates=19, seed=i)
            for i, y in enumerate(chain.simulate(2_000, 15, rng))]
    assert np.mean([r.ci_low <= truth <= r.ci_high for r in runs]) >= 0.8
    values = np.array([r.value for r in runs])
    assert abs(values.mean() - truth) < 4 * values.std(ddof=1) / math.sqrt(len(values))
    assert all(r.p_value <= 0.05 for r in runs)
    null = [entropy_production_var(y, n_boot=60, n_surrogates=39, seed=i)
            for i, y in enumerate(driven_ou((1.0, 1.0)).simulate(2_000, 15, rng))]
    assert np.mean([r.ci_low <= 0 <= r.ci_high for r in null]) >= 0.8
    assert np.mean([r.p_value < 0.05 for r in null]) <= 0.2
    # short reversible recordings: the fitted value is biased up, the corrected one is not
    short = [entropy_production_var(y, n_boot=60, n_surrogates=0, seed=i)
             for i, y in enumerate(rotating_ar1(0.0, 0.9, 0.5).simulate(300, 30, rng))]
    fitted = np.array([r.details["fitted"] for r in short])
    values = np.array([r.value for r in short])
    assert all(r.value == pytest.approx(r.details["fitted"] - r.details["bootstrap_bias"])
               for r in short)
    assert fitted.mean() > 4 * fitted.std(ddof=1) / math.sqrt(len(fitted))
    assert all(r.details["bootstrap_bias"] > 0 for r in short)
    # (over 150 recordings the corrected mean was 1e-5 +- 1e-3 and 98% of intervals held 0)
    assert abs(values.mean()) < fitted.mean()


def test_var_refuses_non_stationary_fits_and_reports_the_ou_rate():
    growth = 1.003 ** np.arange(3_000)[:, None] * np.array([[1.0, 2.0]])
    growth = growth + 0.01 * np.random.default_rng(4).normal(size=growth.shape)
    with pytest.raises(ValueError, match="not stationary"):
        entropy_production_var(growth, n_boot=5, n_surrogates=0)
    chain = driven_ou((1.0, 3.0), dt=0.1)
    res = entropy_production_var(chain.simulate(50_000, 1, np.random.default_rng(5))[0],
                                 n_boot=20, n_surrogates=0, dt=0.1)
    assert res.details["ou_rate_per_step"] == pytest.approx(chain.rate, rel=0.25)


def test_hierarchical_states_are_nested_and_recover_a_hidden_ring():
    ring = ring_walk(6, 0.6, 0.2)
    rng = np.random.default_rng(6)
    labels = ring.simulate(20_000, 1, rng)[0]
    x = ring.coords[labels] + 0.05 * rng.normal(size=(len(labels), 2))
    tree = hierarchical_kmeans(x, 6)
    for k in range(3, 7):  # every level-k state lies inside one level-(k-1) state
        pairs = np.unique(np.stack([tree.labels[k], tree.labels[k - 1]], 1), axis=0)
        assert len(np.unique(pairs[:, 0])) == len(pairs)
    assert len(np.unique(np.stack([tree.labels[6], labels], 1), axis=0)) == 6
    results = entropy_production_hierarchical(x, levels=(2, 3, 6))
    truth = ring.entropy_production()
    assert [r.settings["n_states"] for r in results] == [2, 3, 6]
    assert results[0].value == 0.0  # two states: no cycle
    assert results[2].ci_low <= truth <= results[2].ci_high and results[2].lower_bound


def test_surrogates_reversal_keeps_its_level_where_shuffles_reject_memory():
    rng = np.random.default_rng(7)

    def memory(chains):  # lag-one autocorrelation: large for any process with memory
        y = np.concatenate([c[1:] * c[:-1] for c in chains]).sum()
        return float(abs(y))

    reversible = rotating_ar1(0.0, 0.9, 0.5).simulate(2_000, 10, rng)
    shuffle = [surrogate_test(x, memory, kind="shuffle", n_surrogates=19, seed=i).p_value
               for i, x in enumerate(reversible)]
    assert max(shuffle) <= 0.05  # "no temporal structure" is rejected, but this is no test
    reversal = [surrogate_test(x, kind="reversal", n_surrogates=19, seed=i).p_value
                for i, x in enumerate(reversible)]
    assert np.mean(np.array(reversal) <= 0.05) <= 0.3
    driven = rotating_ar1(0.3, 0.85, 0.5).simulate(2_000, 1, rng)[0]
    assert surrogate_test(driven, n_surrogates=19).p_value == pytest.approx(0.05)
    with pytest.raises(ValueError, match="kind"):
        surrogate_test(driven, kind="phase")


def test_required_length_formula_and_its_prediction():
    pilot = EntropyEstimate("x", value=0.1, ci_low=0.02, ci_high=0.18, se=0.04,
                            n_transitions=1000, dt=0.01)
    size = required_length(pilot, power=0.8, alpha=0.05)
    z = 1.6448536269514722 + 0.8416212335729143
    assert size.transitions == pytest.approx(1000 * (z * 0.04 / 0.1) ** 2)
    assert size.seconds == pytest.approx(size.transitions * 0.01) and "needs about" in size.message
    null = EntropyEstimate("x", value=-0.01, ci_low=-0.05, ci_high=0.03, se=0.02,
                           n_transitions=500)
    assert required_length(null).based_on == "upper end of the interval"
    none = EntropyEstimate("x", value=0.0, ci_low=0.0, ci_high=0.0, se=0.0, n_transitions=5)
    assert math.isinf(required_length(none).transitions)
    # the prediction from a pilot holds: power at the predicted length is about 80%
    chain = driven_ou((1.0, 3.0), dt=0.1)
    rng = np.random.default_rng(8)
    pilot = entropy_production_tur(chain.simulate(4_000, 1, rng)[0])
    n = int(required_length(pilot).transitions)
    hits = [entropy_production_tur(y).p_value < 0.05 for y in chain.simulate(n, 40, rng)]
    assert 0.55 <= np.mean(hits) <= 0.97


def test_front_end_and_record():
    x = rotating_ar1(0.3, 0.85, 0.5).simulate(3_000, 2, np.random.default_rng(9))
    found = estimate_entropy_production(list(x), methods=("plugin", "tur"), dt=0.5)
    plugin = found["plugin"][0]
    assert plugin.method == "plugin" and plugin.lower_bound and plugin.n_chains == 2
    d = plugin.to_dict()
    assert d["per_second"]["value"] == pytest.approx(plugin.value / 0.5)
    assert {"settings", "details", "p_value", "note"} <= set(d)
    assert plugin.detects() == (plugin.p_value < 0.05)
    with pytest.raises(ValueError, match="unknown estimator"):
        estimate_entropy_production(x[0], methods=("magic",))
    with pytest.raises(ValueError, match="coordinates"):
        estimate_entropy_production(np.array([0, 1, 2, 1] * 10), methods=("tur",),
                                    discrete=True)
    with pytest.raises(ValueError, match="different numbers of coordinates"):
        as_chains([np.zeros((5, 2)), np.zeros((5, 3))])


def test_tur_refuses_a_recording_whose_current_does_not_fluctuate():
    """Found by the property suite: one step out of 400 moves, so every window's held-out
    current is the same number and the signal-to-noise ratio is 0/0."""
    from biovw.analysis import entropy_production_tur

    x = np.ones((400, 1))
    x[0] = 0.0
    with pytest.raises(ValueError, match="does not fluctuate"):
        entropy_production_tur(x)
