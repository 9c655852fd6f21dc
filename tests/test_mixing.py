"""Mixing diagnostics against exact answers: the AR(1) chain's IAT (1 + rho) / (1 - rho), a
two-well Markov chain's IAT and switching rate from its transition matrix, and ArviZ's ESS
and split-R-hat on the same chains."""

import warnings

import numpy as np
import pytest

from biovw.analysis.mixing import (
    exact_iat,
    exact_switching_rate,
    integrated_autocorrelation_time,
    mixing_diagnostics,
    split_rhat,
    switching_rate,
)


def ar1(rho: float, chains: int, steps: int, seed: int = 0) -> np.ndarray:
    """Stationary AR(1) chains ``[chains, steps]``."""
    rng = np.random.default_rng(seed)
    x = np.empty((chains, steps))
    x[:, 0] = rng.standard_normal(chains) / np.sqrt(1 - rho ** 2)
    noise = rng.standard_normal((chains, steps))
    for t in range(1, steps):
        x[:, t] = rho * x[:, t - 1] + noise[:, t]
    return x


@pytest.mark.parametrize("method", ["sokal", "geyer"])
@pytest.mark.parametrize("rho", [0.5, 0.9, -0.5])
def test_ar1_iat_matches_closed_form(rho, method):
    x = ar1(rho, 200, 4000)
    tau = integrated_autocorrelation_time(x[:, :, None], method)[0]
    assert tau == pytest.approx((1 + rho) / (1 - rho), rel=0.06)


def test_sokal_window_is_right_for_a_rotating_chain_where_geyer_is_not():
    """x' = M x + noise, M = 0.6 I + 0.5 J (a scaled rotation): every projection has
    rho_k = Re z^k with z = 0.6 + 0.5i, so IAT = 1 + 2 Re(z / (1 - z)) = 0.951."""
    rng = np.random.default_rng(6)
    M = np.array([[0.6, -0.5], [0.5, 0.6]])
    x = np.empty((200, 2000, 2))
    x[:, 0] = rng.standard_normal((200, 2)) / np.sqrt(1 - 0.61)
    noise = rng.standard_normal((200, 2000, 2))
    for t in range(1, 2000):
        x[:, t] = x[:, t - 1] @ M.T + noise[:, t]
    z = 0.6 + 0.5j
    exact = 1 + 2 * (z / (1 - z)).real
    assert integrated_autocorrelation_time(x) == pytest.approx([exact, exact], rel=0.04)
    assert integrated_autocorrelation_time(x, "geyer")[0] > 2


def test_iat_per_coordinate_and_unequal_chains():
    x = np.stack([ar1(0.5, 100, 3000, seed=1), ar1(0.9, 100, 3000, seed=2)], axis=-1)
    tau = integrated_autocorrelation_time(x)
    assert tau == pytest.approx([3.0, 19.0], rel=0.08)
    uneven = [x[i, : 1500 + 15 * i] for i in range(100)]
    assert integrated_autocorrelation_time(uneven) == pytest.approx([3.0, 19.0], rel=0.1)


def two_well() -> tuple[np.ndarray, np.ndarray]:
    """Nearest-neighbour walk on 8 states, wells {0..3} and {4..7} with a barrier between."""
    n = 8
    P = np.zeros((n, n))
    for i in range(n):
        left, right = 0.3, 0.3
        if i == 3:
            right = 0.03
        if i == 4:
            left = 0.03
        if i > 0:
            P[i, i - 1] = left
        if i < n - 1:
            P[i, i + 1] = right
        P[i, i] = 1 - P[i].sum()
    return P, (np.arange(n) >= 4).astype(int)


def simulate_markov(P: np.ndarray, chains: int, steps: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w, v = np.linalg.eig(P.T)
    pi = np.real(v[:, np.argmin(abs(w - 1))])
    pi /= pi.sum()
    cdf = np.cumsum(P, axis=1)
    s = np.empty((chains, steps), dtype=np.int64)
    s[:, 0] = rng.choice(len(pi), size=chains, p=pi)
    u = rng.random((chains, steps))
    for t in range(1, steps):
        s[:, t] = np.minimum((u[:, t, None] > cdf[s[:, t - 1]]).sum(1), len(pi) - 1)
    return s


def test_two_well_switching_rate_and_iat_match_the_transition_matrix():
    P, well = two_well()
    s = simulate_markov(P, 300, 20000)
    labels = well[s]
    sw = switching_rate(labels, "well")
    exact = exact_switching_rate(P, well)
    assert abs(sw.rate - exact) < 4 * sw.se
    assert sw.rate == pytest.approx(exact, rel=0.05)
    tau = integrated_autocorrelation_time(labels[:, :, None].astype(float))[0]
    assert tau == pytest.approx(exact_iat(P, well.astype(float)), rel=0.1)
    assert exact_iat(P, well.astype(float)) > 50     # a slow coordinate, not a trivial one


def test_exact_iat_of_a_two_state_chain():
    a, b = 0.1, 0.3                     # eigenvalue 1 - a - b: IAT (1 + l) / (1 - l)
    P = np.array([[1 - a, a], [b, 1 - b]])
    lam = 1 - a - b
    assert exact_iat(P, np.array([0.0, 1.0])) == pytest.approx((1 + lam) / (1 - lam))
    assert exact_switching_rate(P, np.array([0, 1])) == pytest.approx(2 * a * b / (a + b))


def test_milestoning_ignores_steps_outside_every_mode():
    labels = np.array([[0, 0, -1, 0, -1, 1, 1, -1, 1]])
    sw = switching_rate(labels)
    assert sw.n_switches == 1 and sw.n_transitions == 8
    assert sw.labels_visited == 2


def test_no_switch_gives_the_rule_of_three():
    sw = switching_rate(np.zeros((10, 101), dtype=int))
    assert sw.rate == 0 and sw.upper == pytest.approx(3 / 1000)
    assert sw.to_dict()["dwell_steps"] is None


def test_split_rhat_sees_chains_that_disagree():
    rng = np.random.default_rng(3)
    iid = rng.standard_normal((8, 2000, 1))
    assert split_rhat(iid)[0] < 1.01
    assert split_rhat(iid, rank=False)[0] < 1.01
    stuck = iid + np.array([0, 0, 0, 0, 3, 3, 3, 3])[:, None, None]
    # classic R-hat: W = 1, B/n = var of the 16 half-chain means = 2.4 (ddof 1)
    expected = np.sqrt((1999 / 2000 * 1 + 16 / 15 * 2.25) / 1)
    assert split_rhat(stuck, rank=False)[0] == pytest.approx(expected, rel=0.03)
    assert split_rhat(stuck)[0] > 1.5


def test_mixing_record_of_chains_stuck_in_two_modes():
    rng = np.random.default_rng(4)
    centres = np.where(np.arange(20) < 10, -5.0, 5.0)
    x = centres[:, None, None] + 0.1 * rng.standard_normal((20, 500, 2))
    m = mixing_diagnostics(x, labels=(x[..., 0] > 0).astype(int), labelled="mode",
                           seconds=2.0)
    assert m.rhat_summary > 1.5 and m.switching.rate == 0
    assert m.iat_summary > 100 and not m.reliable
    assert m.ess == pytest.approx(m.n_samples / m.iat_summary)
    assert m.ess_per_second == pytest.approx(m.ess / 2.0)
    d = m.to_dict()
    assert d["switching"]["n_switches"] == 0 and len(d["iat"]) == 2
    assert "lower bound" in m.line()


def test_agrees_with_arviz():
    az = pytest.importorskip("arviz")
    x = ar1(0.8, 50, 2000, seed=5)
    shifted = x + 0.05 * np.arange(50)[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for chains in (x, shifted):
            ess = chains.size / integrated_autocorrelation_time(chains[:, :, None], "geyer")[0]
            assert ess == pytest.approx(float(az.ess(chains, method="mean")), rel=0.01)
            assert split_rhat(chains[:, :, None])[0] == pytest.approx(
                float(az.rhat(chains, method="rank")), rel=1e-9)


def test_recordings_get_mixing_per_condition_with_state_switches():
    from biovw.analysis.report import analyze_recording, summary_lines

    a, b = 0.05, 0.2
    P = np.array([[1 - a, a], [b, 1 - b]])
    states = simulate_markov(P, 40, 3000, seed=7)
    report = analyze_recording(list(states), discrete=True, dt=0.01)
    mixing = report.result["conditions"]["all"]["mixing"]
    assert mixing["switching"]["rate"] == pytest.approx(exact_switching_rate(P, [0, 1]), rel=0.05)
    assert mixing["iat_summary"] == pytest.approx(exact_iat(P, np.array([1.0, 0.0])), rel=0.1)
    assert mixing["per_second_of"] == "recording"
    assert any(line.startswith("mixing: IAT") for line in summary_lines(report))
    short = analyze_recording([np.array([0, 1, 0])] * 5, discrete=True)
    assert short.result["conditions"]["all"]["mixing"] == {
        "skipped": "every chain is shorter than 4 steps"}


@pytest.mark.parametrize("drive", [0.0, 0.1, 0.2, 0.3, 0.4])
def test_an_antisymmetric_drive_speeds_mixing_at_a_fixed_stationary_law(drive):
    """``x' = (0.9 I + a A) x + xi`` keeps N(0, I) for every ``a`` while its entropy
    production grows as ``4 a^2 / (1 - 0.81 - a^2)`` and the IAT of ``x_1`` falls as
    ``1 + 2 Re(lambda / (1 - lambda))``, ``lambda = 0.9 + i a`` (19 at a = 0, 1 at a = 0.3):
    the code's exact values against these closed forms, and the estimators against both."""
    from biovw.analysis import entropy_production_var
    from biovw.analysis.exact_chains import irreversible_family
    from biovw.analysis.mixing import exact_iat_linear

    chain = irreversible_family(0.9, drive)
    np.testing.assert_allclose(chain.stationary_covariance(), np.eye(2), atol=1e-10)
    lam = 0.9 + 1j * drive
    iat = 1 + 2 * (lam / (1 - lam)).real
    assert exact_iat_linear(chain.M, chain.Q, np.array([1.0, 0.0])) == pytest.approx(iat)
    ep = 4 * drive**2 / (1 - 0.81 - drive**2)
    assert chain.entropy_production() == pytest.approx(ep, abs=1e-12)
    x = chain.simulate(20000, 8, np.random.default_rng(0))
    estimate = float(np.asarray(integrated_autocorrelation_time(x[..., :1])).ravel()[0])
    assert estimate == pytest.approx(iat, rel=0.1, abs=0.15)
    measured = entropy_production_var(x[:, :8000])
    assert measured.ci_low - 0.02 <= ep <= measured.ci_high + 0.02
