"""Entropy production estimated from trajectories, against exact values of known chains."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import solve_discrete_lyapunov

from biovw.analysis.discrete import (
    DiscreteEntropyProduction,
    discretize,
    entropy_production_coarse,
    entropy_production_discrete,
)
from biovw.analysis.exact import entropy_production_exact, stationary_distribution
from biovw.analysis.models import LinearGaussianKernel


def simulate_chain(P: np.ndarray, n_time: int, n_chains: int, rng) -> np.ndarray:
    """Stationary trajectories [n_chains, n_time], vectorised over chains (inverse CDF)."""
    cum = np.cumsum(P, axis=1)
    cum[:, -1] = 1.0
    state = rng.choice(len(P), size=n_chains, p=stationary_distribution(P))
    out = np.empty((n_chains, n_time), dtype=np.int64)
    out[:, 0] = state
    uniform = rng.random((n_time - 1, n_chains))
    for t in range(1, n_time):
        state = (uniform[t - 1][:, None] > cum[state]).sum(axis=1)
        out[:, t] = state
    return out


def ring(n: int, p: float, q: float) -> np.ndarray:
    P = np.zeros((n, n))
    for i in range(n):
        P[i, (i + 1) % n] += p
        P[i, (i - 1) % n] += q
        P[i, i] += 1 - p - q
    return P


def metropolis(energies: np.ndarray) -> np.ndarray:
    """Metropolis chain with uniform proposals: reversible with respect to exp(-E)."""
    n = len(energies)
    P = np.exp(-np.maximum(energies[None, :] - energies[:, None], 0.0)) / n
    np.fill_diagonal(P, 0.0)
    np.fill_diagonal(P, 1.0 - P.sum(axis=1))
    return P


def random_chain(n: int, seed: int) -> np.ndarray:
    P = np.random.default_rng(seed).random((n, n)) ** 2
    return P / P.sum(axis=1, keepdims=True)


def simulate_ar1(M: np.ndarray, s: float, n_time: int, n_chains: int, seed) -> np.ndarray:
    """Stationary x' = M x + s xi, shape [n_chains, n_time, D]."""
    return LinearGaussianKernel(M, s).trajectory(n_time, n_chains, seed)


def ar1_entropy_production(M: np.ndarray, s: float) -> float:
    """sigma = tr(M C (M^T - M)) / s^2 with C = M C M^T + s^2 I."""
    cov = solve_discrete_lyapunov(M, s**2 * np.eye(len(M)))
    return float(np.trace(M @ cov @ (M.T - M)) / s**2)


def rotation(angle: float, radius: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return radius * np.array([[c, -s], [s, c]])


M_GENERIC = np.array([[0.7, -0.4], [0.2, 0.5]])
M_SYMMETRIC = np.array([[0.8, 0.1], [0.1, 0.6]])


def test_plugin_and_corrections_on_hand_counted_trajectory():
    traj = np.array([0, 1, 0, 1, 2, 0, 1, 1, 2, 3])
    # transitions: 0->1 x3, 1->0 x1, 1->2 x2, 2->0 x1, 1->1 x1, 2->3 x1 (N = 9)
    n = 9
    plugin = (3 / n) * math.log(3) + (1 / n) * math.log(1 / 3)
    res = entropy_production_discrete(traj, bias_correction=False, n_boot=20)
    assert res.plugin == pytest.approx(plugin)
    assert res.value == pytest.approx(plugin)
    assert res.n_transitions == n and res.n_states == 4 and res.n_states_visited == 4
    assert res.n_pairs == 1 and res.n_one_way_pairs == 3
    assert "one direction" in res.note
    poisson = entropy_production_discrete(traj, bias_correction="poisson", n_boot=20)
    assert poisson.bias == pytest.approx((1 + (3 + 1 / 3) / 2) / n)
    assert poisson.value == pytest.approx(plugin - poisson.bias)
    assert entropy_production_discrete(traj, n_states=6, n_boot=20).n_states == 6


def test_result_object():
    traj = simulate_chain(random_chain(4, 0), 2000, 1, np.random.default_rng(0))[0]
    res = entropy_production_discrete(traj, n_boot=50)
    assert isinstance(res, DiscreteEntropyProduction)
    with pytest.raises(AttributeError):
        res.value = 0.0
    d = res.to_dict()
    assert d["unit"] == "nats/step"
    assert {"value", "ci_low", "ci_high", "se", "n_transitions", "n_states_visited",
            "n_one_way_pairs", "coarse_grained", "lower_bound"} <= set(d)
    assert d["ci_low"] <= d["value"] <= d["ci_high"] and d["se"] > 0
    assert d["coarse_grained"] is False and d["lower_bound"] is False
    assert res.bias_correction == "reversal" and res.bootstrap == "blocks"
    assert res.interval == "flip" and res.n_blocks >= 2 and 0 < res.p_value <= 1
    assert {"p_value", "interval", "n_blocks", "regenerative"} <= set(d)


def test_input_checks():
    with pytest.raises(ValueError):
        entropy_production_discrete(np.array([0, -1, 2]))
    with pytest.raises(ValueError):
        entropy_production_discrete(np.array([0, 1, 5]), n_states=3)
    with pytest.raises(ValueError):
        entropy_production_discrete(np.zeros((2, 3, 4), dtype=int))
    with pytest.raises(ValueError):
        entropy_production_discrete(np.array([0.5, 1.0, 2.0]))
    with pytest.raises(ValueError):
        entropy_production_discrete(np.array([0, 1, 0]), bias_correction="jackknife")


@pytest.mark.parametrize(("p", "q"), [(0.6, 0.3), (0.45, 0.15)])
def test_ring_random_walk(p, q):
    exact = (p - q) * math.log(p / q)
    P = ring(5, p, q)
    assert entropy_production_exact(P).entropy_production == pytest.approx(exact)
    traj = simulate_chain(P, 60_000, 1, np.random.default_rng(1))
    res = entropy_production_discrete(traj)
    assert res.ci_low <= exact <= res.ci_high
    assert abs(res.value - exact) < 4 * res.se
    assert res.se < 0.05 * exact


def test_metropolis_chain_is_zero_within_ci():
    P = metropolis(np.random.default_rng(2).normal(size=6))
    assert entropy_production_exact(P).reversible
    res = entropy_production_discrete(simulate_chain(P, 50_000, 1, np.random.default_rng(3)))
    assert res.ci_low <= 0.0 <= res.ci_high
    assert res.ci_high < 0.01


def test_symmetric_ring_walk_poisson_correction_over_corrects():
    n_states, n_time = 8, 40_000
    traj = simulate_chain(ring(n_states, 0.3, 0.3), n_time, 1, np.random.default_rng(4))
    reversal = entropy_production_discrete(traj)
    assert reversal.ci_low <= 0.0 <= reversal.ci_high
    poisson = entropy_production_discrete(traj, bias_correction="poisson")
    n = poisson.n_transitions
    # the Poisson correction is ~2 per pair, the excess of a reversible ring is ~2 in all
    assert poisson.bias * n == pytest.approx(2 * n_states, rel=0.1)
    assert reversal.bias * n < 0.5 * n_states
    assert poisson.value < reversal.value - (n_states - 1) / n
    assert "over-correct" in poisson.note


def test_random_nonreversible_chain_single_and_many_chains():
    P = random_chain(5, 7)
    exact = entropy_production_exact(P).entropy_production
    rng = np.random.default_rng(5)
    single = entropy_production_discrete(simulate_chain(P, 40_000, 1, rng))
    assert single.bootstrap == "blocks"
    assert single.ci_low <= exact <= single.ci_high
    many = entropy_production_discrete(simulate_chain(P, 400, 100, rng))
    assert many.bootstrap == "chains" and many.n_chains == 100
    assert many.ci_low <= exact <= many.ci_high
    for res in (single, many):
        assert abs(res.value - exact) < 4 * res.se


def test_ci_coverage():
    P = random_chain(5, 11)
    exact = entropy_production_exact(P).entropy_production
    n_seeds = 30
    trajs = simulate_chain(P, 20_000, n_seeds, np.random.default_rng(6))
    covered = [
        (r.ci_low <= exact <= r.ci_high)
        for r in (entropy_production_discrete(trajs[i], seed=i) for i in range(n_seeds))
    ]
    rate = float(np.mean(covered))
    print(f"coverage of the 95% interval over {n_seeds} chains: {rate:.2f}")
    assert rate >= 0.8


def test_grid_discretization():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 500, 2))
    disc = discretize(x, bins=7)
    assert disc.method == "grid" and disc.n_states == 49
    assert disc.labels.shape == (3, 500) and disc.labels.dtype == np.int64
    assert disc.centers.shape == (49, 2) and len(disc.edges) == 2
    assert disc.labels.min() >= 0 and disc.labels.max() < 49
    width = np.array([e[1] - e[0] for e in disc.edges])
    offset = np.abs(x - disc.centers[disc.labels])
    assert np.all(offset <= width / 2 + 1e-9)
    assert np.allclose([disc.edges[0][0], disc.edges[0][-1]], [x[..., 0].min(), x[..., 0].max()])
    one = discretize(x[0, :, :1], bins=4)
    assert one.labels.shape == (500,) and one.n_states == 4 and one.centers.shape == (4, 1)


def test_kmeans_discretization():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(25_000, 3))
    disc = discretize(x, n_clusters=12)
    assert disc.method == "kmeans" and disc.edges is None and disc.n_states == 12
    assert disc.labels.shape == (25_000,) and disc.centers.shape == (12, 3)
    dist = ((x[:, None, :] - disc.centers[None]) ** 2).sum(-1)
    assert np.array_equal(disc.labels, dist.argmin(axis=1))
    chains = discretize(x.reshape(5, 5000, 3), method="kmeans", n_clusters=5)
    assert chains.labels.shape == (5, 5000)
    with pytest.raises(ValueError):
        discretize(x, method="voronoi")


def test_ar1_entropy_production_formula_matches_kernel_log_ratio():
    s = 0.5
    x = simulate_ar1(M_GENERIC, s, 2000, 200, np.random.default_rng(7))
    prev, nxt = x[:, :-1], x[:, 1:]
    log_ratio = (np.sum((prev - nxt @ M_GENERIC.T) ** 2, axis=-1)
                 - np.sum((nxt - prev @ M_GENERIC.T) ** 2, axis=-1)) / (2 * s**2)
    chain_means = log_ratio.mean(axis=1)
    se = chain_means.std(ddof=1) / math.sqrt(len(chain_means))
    sigma = ar1_entropy_production(M_GENERIC, s)
    assert sigma > 0.1
    assert abs(chain_means.mean() - sigma) < 4 * se
    assert chain_means.mean() == pytest.approx(sigma, rel=0.03)
    assert ar1_entropy_production(M_SYMMETRIC, s) == pytest.approx(0.0, abs=1e-12)
    # rotation-scaling: C = c I and sigma = (|M|_F^2 - tr M^2) c / s^2
    rot = rotation(0.3, 0.85)
    c = s**2 / (1 - 0.85**2)
    assert ar1_entropy_production(rot, s) == pytest.approx(
        (np.sum(rot**2) - np.trace(rot @ rot)) * c / s**2)


def test_coarse_grained_ar1_is_a_positive_lower_bound():
    s = 0.5
    sigma = ar1_entropy_production(M_GENERIC, s)
    x = simulate_ar1(M_GENERIC, s, 1000, 100, np.random.default_rng(8))
    res = entropy_production_coarse(x, bins=8)
    assert res.coarse_grained and res.lower_bound and "lower bound" in res.note
    assert res.n_states == 64 and res.bootstrap == "chains"
    assert res.ci_low > 0.0
    assert res.ci_high < sigma
    long = simulate_ar1(M_GENERIC, s, 50_000, 1, np.random.default_rng(11))[0]
    single = entropy_production_coarse(long, bins=8)
    assert single.bootstrap == "blocks"
    assert 0.0 < single.ci_low and single.ci_high < sigma


def test_coarse_grained_symmetric_ar1_is_zero_within_ci():
    s = 0.5
    rng = np.random.default_rng(9)
    res = entropy_production_coarse(simulate_ar1(M_SYMMETRIC, s, 1000, 100, rng), bins=6)
    assert res.ci_low <= 0.0 <= res.ci_high
    rotating = entropy_production_coarse(
        simulate_ar1(rotation(0.3, 0.85), s, 1000, 100, rng), bins=6)
    assert rotating.ci_low > 10 * res.ci_high


def test_coarse_grained_kmeans_in_three_dimensions():
    s = 0.5
    M = np.array([[0.6, -0.3, 0.0], [0.3, 0.6, 0.1], [0.0, -0.1, 0.7]])
    sigma = ar1_entropy_production(M, s)
    x = simulate_ar1(M, s, 500, 60, np.random.default_rng(10))
    res = entropy_production_coarse(x, n_clusters=20, n_boot=100)
    assert res.n_states == 20 and res.coarse_grained
    assert 0.0 < res.ci_low and res.ci_high < sigma


def test_huge_state_labels_give_the_estimate_of_their_dense_relabelling():
    """Labels are only names: 0, 2**40, 7 ... estimate like 0, 2, 1 and allocate nothing sized
    by the largest label (a hypothesis example once asked for an 8 TiB array)."""
    rng = np.random.default_rng(3)
    dense = rng.integers(0, 3, size=(4, 300))
    huge = np.array([0, 2**40, 7])[dense]
    a = entropy_production_discrete(dense, seed=0)
    b = entropy_production_discrete(huge, seed=0)
    assert b.value == pytest.approx(a.value, abs=1e-12)
    assert (b.ci_low, b.ci_high) == pytest.approx((a.ci_low, a.ci_high), abs=1e-12)
    assert b.n_states == 2**40 + 1 and a.n_states == 3 and b.n_states_visited == 3


def test_the_estimators_share_one_settings_record_and_report_it():
    from biovw.analysis import ESTIMATOR_DEFAULTS, EstimatorSettings
    from biovw.analysis.exact_chains import ring_walk

    x = ring_walk(4, 0.6, 0.2).simulate(600, 3, np.random.default_rng(1))
    by_keyword = entropy_production_discrete(x, seed=3, n_boot=50)
    assert by_keyword.settings == EstimatorSettings(seed=3, n_boot=50)
    assert by_keyword.to_dict()["estimator_settings"]["seed"] == 3
    by_record = entropy_production_discrete(x, settings=EstimatorSettings(seed=3, n_boot=50))
    assert by_record.to_dict() == by_keyword.to_dict()
    points = np.random.default_rng(2).normal(size=(500, 2))
    assert entropy_production_coarse(points, bins=4).settings == ESTIMATOR_DEFAULTS
    with pytest.raises(ValueError, match="ci"):
        EstimatorSettings(ci=1.5)
    with pytest.raises(TypeError):
        entropy_production_discrete(x, n_bot=3)
