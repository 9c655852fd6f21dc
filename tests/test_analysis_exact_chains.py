"""Benchmark chains: exact values against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from biovw.analysis.exact_chains import (
    FiniteChain,
    LinearGaussianChain,
    driven_ou,
    gaussian_pair_divergence,
    kinetic_ising,
    ring_walk,
    rotating_ar1,
)
from biovw.analysis.models import LinearGaussianKernel


def test_gaussian_chain_matches_the_isotropic_formula_and_the_kernel_log_ratio():
    M = np.array([[0.7, -0.4], [0.2, 0.5]])
    iso = LinearGaussianChain(M, 0.25 * np.eye(2))
    assert iso.entropy_production() == pytest.approx(
        LinearGaussianKernel(M, 0.5).entropy_production(), rel=1e-10)
    # anisotropic noise: Monte Carlo mean of ln p(x'|x) - ln p(x|x') (a second method)
    Q = np.array([[0.3, 0.1], [0.1, 0.2]])
    chain = LinearGaussianChain(M, Q)
    x = chain.simulate(20_000, 20, np.random.default_rng(0))
    prev, nxt = x[:, :-1], x[:, 1:]
    q_inv = np.linalg.inv(Q)

    def quad(r):
        return np.einsum("...i,ij,...j->...", r, q_inv, r)

    log_ratio = 0.5 * (quad(prev - nxt @ M.T) - quad(nxt - prev @ M.T))
    per_chain = log_ratio.mean(axis=1)
    se = per_chain.std(ddof=1) / math.sqrt(len(per_chain))
    assert abs(per_chain.mean() - chain.entropy_production()) < 4 * se
    assert np.allclose(np.cov(x.reshape(-1, 2).T), chain.stationary_covariance(), rtol=0.05,
                       atol=0.01)


def test_symmetric_dynamics_are_reversible_and_rotation_is_not():
    assert rotating_ar1(0.0, 0.8).entropy_production() == pytest.approx(0.0, abs=1e-12)
    assert rotating_ar1(0.4, 0.8).entropy_production() > 0.1
    assert driven_ou((1.0, 1.0)).entropy_production() == pytest.approx(0.0, abs=1e-12)
    assert driven_ou((1.0, 3.0)).entropy_production() > 0


def test_driven_ou_rate_is_the_short_interval_limit_and_bounds_the_samples():
    for temps in [(1.0, 2.0), (0.5, 3.0)]:
        fine = driven_ou(temps, dt=1e-3)
        assert fine.entropy_production() / 1e-3 == pytest.approx(fine.rate / 1e-3, rel=0.01)
        coarse = driven_ou(temps, dt=0.5)
        assert coarse.entropy_production() < coarse.rate
    # the gyrator's closed form (solved symbolically from A C + C A^T = 2 D):
    # u^2 (T1 - T2)^2 / (2 k T1 T2) per unit time
    for k, u, t1, t2 in [(1.0, 0.5, 1.0, 3.0), (2.0, 0.3, 0.7, 1.9)]:
        assert driven_ou((t1, t2), u, k, dt=1.0).rate == pytest.approx(
            u**2 * (t1 - t2) ** 2 / (2 * k * t1 * t2))


def test_subsampling_gaussian_and_finite_chains():
    chain = rotating_ar1(0.5, 0.9, 0.7)
    x = chain.simulate(60_000, 4, np.random.default_rng(1))[:, ::3]
    sub = chain.subsample(3)
    resid = x[:, 1:] - x[:, :-1] @ sub.M.T
    assert np.allclose(np.cov(resid.reshape(-1, 2).T), sub.Q, rtol=0.05, atol=0.01)
    assert sub.entropy_production() < chain.entropy_production() * 3
    ring = ring_walk(5, 0.6, 0.3)
    assert np.allclose(ring.subsample(2).P, ring.P @ ring.P)


def test_lumped_pair_divergence_by_brute_force():
    chain = kinetic_ising(np.random.default_rng(2).normal(size=(3, 3)), np.zeros(3))
    sigma = chain.entropy_production()
    assert chain.lumped_pair_divergence(np.arange(8)) == pytest.approx(sigma)
    partition = chain.coords.sum(axis=1).astype(int)  # lump by number of active units
    pi = chain.stationary()
    lumped = np.zeros((4, 4))
    for i in range(8):
        for j in range(8):
            lumped[partition[i], partition[j]] += pi[i] * chain.P[i, j]
    brute = sum(lumped[a, b] * math.log(lumped[a, b] / lumped[b, a])
                for a in range(4) for b in range(4) if lumped[a, b] > 0)
    assert chain.lumped_pair_divergence(partition) == pytest.approx(brute)
    assert brute <= sigma + 1e-12


def test_finite_chain_simulation_is_stationary_with_the_right_transitions():
    chain = ring_walk(4, 0.5, 0.2)
    x = chain.simulate(20_000, 5, np.random.default_rng(3))
    counts = np.zeros((4, 4))
    np.add.at(counts, (x[:, :-1].ravel(), x[:, 1:].ravel()), 1)
    assert np.allclose(counts / counts.sum(1, keepdims=True), chain.P, atol=0.02)
    assert np.allclose(np.bincount(x[:, 0], minlength=4) / 5, 0.25, atol=0.5)
    assert isinstance(chain.subsample(2), FiniteChain)


def test_gaussian_pair_divergence_of_a_time_symmetric_pair_is_zero():
    C = np.array([[1.0, 0.3], [0.3, 2.0]])
    C1 = np.array([[0.5, 0.2], [0.2, 0.4]])  # symmetric lag covariance: reversible
    assert gaussian_pair_divergence(C, C1) == pytest.approx(0.0, abs=1e-12)
    assert gaussian_pair_divergence(C, C1 + np.array([[0, 0.2], [-0.2, 0]])) > 0


def test_reversible_twins_keep_the_stationary_law_and_lose_the_currents():
    ring = ring_walk(5, 0.5, 0.4)
    twin = ring.reversible_twin()
    assert np.allclose(twin.P[0], [0.1, 0.45, 0, 0, 0.45])
    ising = kinetic_ising(np.random.default_rng(12).normal(size=(4, 4)), np.zeros(4))
    for chain in (ring, ising):
        twin = chain.reversible_twin()
        assert twin.entropy_production() == pytest.approx(0.0, abs=1e-12)
        assert np.allclose(twin.stationary(), chain.stationary())
        pair = chain.stationary()[:, None] * chain.P
        assert np.allclose(twin.stationary()[:, None] * twin.P, (pair + pair.T) / 2)
    for chain in (rotating_ar1(0.3, 0.8), driven_ou((1.0, 3.0), 0.8)):
        twin = chain.reversible_twin()
        assert chain.entropy_production() > 0
        assert twin.entropy_production() == pytest.approx(0.0, abs=1e-12)
        assert np.allclose(twin.stationary_covariance(), chain.stationary_covariance())
        assert np.min(np.linalg.eigvalsh(twin.Q)) > 0
