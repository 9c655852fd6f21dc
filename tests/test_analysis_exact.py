"""Exact entropy production against analytic chains."""

import itertools
import math

import numpy as np
import pytest

from biovw.analysis import entropy_production_exact


def ring(n, p, q):
    P = np.zeros((n, n))
    for i in range(n):
        P[i, (i + 1) % n] = p
        P[i, (i - 1) % n] = q
        P[i, i] = 1 - p - q
    return P


@pytest.mark.parametrize(("p", "q"), [(0.5, 0.2), (0.3, 0.3), (0.7, 0.05)])
def test_ring_random_walk(p, q):
    res = entropy_production_exact(ring(7, p, q))
    assert np.allclose(res.stationary, 1 / 7)
    assert res.entropy_production == pytest.approx((p - q) * math.log(p / q), abs=1e-12)
    assert res.reversible == (p == q)
    assert len(res.cycles) == 1
    assert abs(res.cycle_affinities[0]) == pytest.approx(7 * abs(math.log(p / q)), abs=1e-9)


def glauber(J, h, beta=1.0):
    """Random-scan Glauber dynamics of an Ising model on {0,1}^n, enumerated."""
    n = len(h)
    states = np.array(list(itertools.product([0, 1], repeat=n)), dtype=float)
    index = {tuple(s): k for k, s in enumerate(states)}
    P = np.zeros((2**n, 2**n))
    for k, s in enumerate(states):
        for i in range(n):
            field = J[i] @ s - J[i, i] * s[i] + h[i]
            p_on = 1 / (1 + np.exp(-beta * field))
            t = s.copy()
            t[i] = 1 - s[i]
            p_flip = p_on if s[i] == 0 else 1 - p_on
            P[k, index[tuple(t)]] += p_flip / n
            P[k, k] += (1 - p_flip) / n
    return P


def test_symmetric_glauber_is_reversible_and_asymmetric_is_not():
    rng = np.random.default_rng(0)
    J = rng.normal(size=(4, 4))
    h = rng.normal(size=4)
    sym = entropy_production_exact(glauber((J + J.T) / 2, h))
    assert sym.entropy_production == pytest.approx(0.0, abs=1e-12) and sym.reversible
    asym = entropy_production_exact(glauber(J, h))
    assert asym.entropy_production > 1e-3 and not asym.reversible


def test_sigma_equals_half_sum_of_currents_times_log_ratios():
    rng = np.random.default_rng(1)
    P = rng.random((6, 6))
    P /= P.sum(1, keepdims=True)
    res = entropy_production_exact(P)
    via_currents = 0.5 * np.sum(res.currents * np.log(P / P.T))
    assert res.entropy_production == pytest.approx(via_currents, rel=1e-10)
    assert np.allclose(res.stationary @ P, res.stationary)


def test_one_way_transition_gives_infinite_entropy_production_and_bad_input_is_rejected():
    P = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5]])
    assert entropy_production_exact(P).entropy_production == math.inf
    with pytest.raises(ValueError, match="sum to 1"):
        entropy_production_exact(np.ones((2, 2)))
