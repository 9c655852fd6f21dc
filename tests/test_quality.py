"""Tests for :mod:`biovw.quality` against closed forms and SciPy reference values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist, pdist
from scipy.stats import energy_distance as scipy_energy_distance
from scipy.stats import wasserstein_distance

from biovw.quality import (
    LinearClassifier,
    SampleQuality,
    class_share_distance,
    class_shares,
    energy_distance,
    fit_linear_classifier,
    mmd_rbf,
    mode_shares,
    sample_quality,
    sliced_wasserstein,
)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- sliced Wasserstein


def test_sw_1d_gaussians_matches_closed_form_w2() -> None:
    # W2(N(0,1), N(m, s^2)) = sqrt(m^2 + (1 - s)^2); in 1-D every direction is +-1.
    n, m, s = 20000, 0.5, 2.0
    r = _rng(0)
    x = torch.from_numpy(r.normal(0.0, 1.0, n))
    y = torch.from_numpy(r.normal(m, s, n))
    truth = math.sqrt(m**2 + (1.0 - s) ** 2)
    # Var[(m + (s - 1) Z)^2] = 4 m^2 (s - 1)^2 + 2 (s - 1)^4; delta method for the square root,
    # with a generous factor for the fluctuation of both empirical quantile functions.
    sd_w2 = math.sqrt((4 * m**2 * (s - 1) ** 2 + 2 * (s - 1) ** 4) / n) / (2 * truth)
    value = sliced_wasserstein(x, y, n_projections=4)
    assert abs(value - truth) < 8 * sd_w2


def test_sw_1d_pure_shift_is_exact() -> None:
    x = torch.from_numpy(_rng(1).normal(size=500))
    assert sliced_wasserstein(x, x + 3.0, n_projections=3) == pytest.approx(3.0, abs=1e-12)
    assert sliced_wasserstein(x, x + 3.0, p=1, n_projections=3) == pytest.approx(3.0, abs=1e-12)


def test_sw_shift_in_d_dims_matches_norm_over_d() -> None:
    # For y = x + v the projected empirical laws are exact shifts by theta.v, so
    # SW2^2 = mean_k (theta_k . v)^2, whose expectation over the sphere is |v|^2 / d.
    # theta_1^2 ~ Beta(1/2, (d-1)/2): Var = 2 (d - 1) / (d^2 (d + 2)).
    d, n_proj = 4, 4096
    v = torch.tensor([2.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    x = torch.from_numpy(_rng(2).normal(size=(1000, d)))
    truth = float(v @ v) / d
    sd = float(v @ v) * math.sqrt(2 * (d - 1) / (d**2 * (d + 2)) / n_proj)
    value = sliced_wasserstein(x, x + v, n_projections=n_proj, seed=3) ** 2
    assert abs(value - truth) < 5 * sd


def test_sw_shift_independent_isotropic_gaussians() -> None:
    # Independent samples add two error sources to the |v|^2 / d truth: the Monte Carlo error
    # over directions (as above) and the common shift of the empirical means, eps ~ N(0, 2/n I),
    # which moves the average by (2 v.eps + |eps|^2) / d (sd about 2 |v| sqrt(2/n) / d). The
    # transport cost between two samples of one law adds a small positive bias of order 1/n.
    d, n, n_proj = 3, 4000, 1024
    v = np.array([1.0, -1.0, 0.5])
    r = _rng(4)
    x = torch.from_numpy(r.normal(size=(n, d)))
    y = torch.from_numpy(r.normal(size=(n, d)) + v)
    v2 = float(v @ v)
    truth = v2 / d
    sd_mc = v2 * math.sqrt(2 * (d - 1) / (d**2 * (d + 2)) / n_proj)
    sd_mean = 2 * math.sqrt(v2) * math.sqrt(2 / n) / d
    tol = 5 * math.hypot(sd_mc, sd_mean) + 20 / n
    value = sliced_wasserstein(x, y, n_projections=n_proj, seed=5) ** 2
    assert abs(value - truth) < tol


def test_sw_permutation_gives_zero() -> None:
    # A permuted copy is the same empirical distribution. The projections of the two copies
    # may differ in the last bit (BLAS blocks rows differently on different CPUs), so the
    # distance is zero to rounding, not bit-exactly.
    g = torch.Generator().manual_seed(0)
    x = torch.randn(777, 6, generator=g, dtype=torch.float64)
    perm = torch.randperm(777, generator=g)
    assert sliced_wasserstein(x, x[perm]) < 1e-12
    assert sliced_wasserstein(x, x[perm], p=1) < 1e-12
    assert sliced_wasserstein(x, x[perm] + 1e-3) > 1e-4


def test_sw_unequal_sizes_p1_matches_scipy() -> None:
    r = _rng(6)
    a = r.normal(0.0, 1.0, 700)
    b = r.normal(0.3, 1.5, 1103)
    expected = wasserstein_distance(a, b)
    value = sliced_wasserstein(torch.from_numpy(a), torch.from_numpy(b), p=1, n_projections=5)
    assert value == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("p", [2, 3])
def test_sw_unequal_sizes_matches_replicated_equal_sizes(p: int) -> None:
    # Replicating every x point m times and every y point n times leaves both empirical
    # laws unchanged and makes the sizes equal, where W_p^p is the mean over sorted pairs.
    r = _rng(7)
    n, m = 30, 45
    a = r.normal(size=n)
    b = r.exponential(size=m)
    aa = np.sort(np.repeat(a, m))
    bb = np.sort(np.repeat(b, n))
    expected = np.mean(np.abs(aa - bb) ** p) ** (1.0 / p)
    value = sliced_wasserstein(torch.from_numpy(a), torch.from_numpy(b), p=p, n_projections=2)
    assert value == pytest.approx(expected, rel=1e-12)


def test_sw_symmetric_seeded_and_accepts_float32() -> None:
    g = torch.Generator().manual_seed(8)
    x = torch.randn(300, 3, generator=g)
    y = torch.randn(450, 3, generator=g) + 0.5
    v1 = sliced_wasserstein(x, y, seed=1)
    assert sliced_wasserstein(y, x, seed=1) == pytest.approx(v1, rel=1e-12)
    assert sliced_wasserstein(x, y, seed=1) == v1
    assert sliced_wasserstein(x, y, seed=2) != v1


# ----------------------------------------------------------------------------------------- MMD


def _mmd2_gaussians(mu: np.ndarray, s: float, h: float) -> float:
    # For Z ~ N(delta, sigma^2 I_d): E exp(-|Z|^2 / (2 h^2))
    #   = (h^2 / (h^2 + sigma^2))^(d/2) exp(-|delta|^2 / (2 (h^2 + sigma^2))).
    # X - X' and Y - Y' are N(0, 2 s^2 I), X - Y is N(-mu, 2 s^2 I).
    d = mu.shape[0]
    sig2 = 2 * s**2
    c = (h**2 / (h**2 + sig2)) ** (d / 2)
    return 2 * c * (1 - math.exp(-float(mu @ mu) / (2 * (h**2 + sig2))))


def test_mmd_matches_gaussian_closed_form() -> None:
    mu, s, h = np.array([1.0, 0.0]), 1.0, 1.0
    r = _rng(9)
    x = torch.from_numpy(r.normal(0.0, s, (2000, 2)))
    y = torch.from_numpy(r.normal(0.0, s, (2000, 2)) + mu)
    truth = _mmd2_gaussians(mu, s, h)
    assert mmd_rbf(x, y, bandwidth=h) == pytest.approx(truth, abs=0.035)


def test_mmd_unbiased_under_null() -> None:
    # The U-statistic has mean 0 for equal laws; the V-statistic would be biased upward by
    # about (1 - E k(X, X')) (1/n + 1/m), which the replicate mean must clearly exclude.
    n, h, reps = 80, 1.0, 80
    r = _rng(10)
    values = np.array(
        [
            mmd_rbf(
                torch.from_numpy(r.normal(size=(n, 2))),
                torch.from_numpy(r.normal(size=(n, 2))),
                bandwidth=h,
            )
            for _ in range(reps)
        ]
    )
    se = values.std(ddof=1) / math.sqrt(reps)
    v_bias = (1 - (h**2 / (h**2 + 2)) ** 1.0) * 2 / n
    assert abs(values.mean()) < 4 * se
    assert 4 * se < 0.5 * v_bias
    assert np.any(values < 0)


def test_mmd_median_heuristic_and_subsampling() -> None:
    r = _rng(11)
    x = torch.from_numpy(r.normal(size=(3000, 2)))
    y = torch.from_numpy(r.normal(size=(2500, 2)) + np.array([1.5, 0.0]))
    small = torch.from_numpy(r.normal(size=(800, 2)))
    a = mmd_rbf(x, y, max_samples=500, seed=0)
    assert a == mmd_rbf(x, y, max_samples=500, seed=0)
    assert a != mmd_rbf(x, y, max_samples=500, seed=1)
    assert a > 0.1
    assert abs(mmd_rbf(x, small, max_samples=500)) < 0.02


def test_mmd_identical_copy_is_nonpositive_bound() -> None:
    # With y an exact copy of x, MMD_u^2 = 2 (mean_{i!=j} k - mean_{i,j} k) = -2 (1 - kbar)/n.
    x = torch.from_numpy(_rng(12).normal(size=(200, 3)))
    h = 0.7
    k = np.exp(-(cdist(x.numpy(), x.numpy()) ** 2) / (2 * h**2))
    n = x.shape[0]
    expected = 2 * ((k.sum() - n) / (n * (n - 1)) - k.mean())
    assert mmd_rbf(x, x.clone(), bandwidth=h) == pytest.approx(expected, rel=1e-10)


# ------------------------------------------------------------------------------ energy distance


def test_energy_distance_1d_matches_scipy() -> None:
    # scipy: sqrt(2 E|X-Y| - V_xx - V_yy) with V-statistics; V_xx = (n - 1)/n U_xx, so
    # ours = scipy^2 - U_xx / n - U_yy / m, with U the mean over distinct pairs (pdist).
    r = _rng(13)
    a = r.normal(0.0, 1.0, 400)
    b = r.normal(0.7, 1.3, 550)
    n, m = a.size, b.size
    u_xx = pdist(a[:, None]).mean()
    u_yy = pdist(b[:, None]).mean()
    expected = scipy_energy_distance(a, b) ** 2 - u_xx / n - u_yy / m
    value = energy_distance(torch.from_numpy(a), torch.from_numpy(b))
    assert value == pytest.approx(expected, rel=1e-9)


def test_energy_distance_multivariate_matches_bruteforce() -> None:
    r = _rng(14)
    a = r.normal(size=(300, 4))
    b = r.normal(size=(260, 4)) * 1.2 + 0.3
    expected = 2 * cdist(a, b).mean() - pdist(a).mean() - pdist(b).mean()
    value = energy_distance(torch.from_numpy(a), torch.from_numpy(b))
    assert value == pytest.approx(expected, rel=1e-9)


def test_energy_distance_subsampling_seeded() -> None:
    r = _rng(15)
    x = torch.from_numpy(r.normal(size=(900, 2)))
    y = torch.from_numpy(r.normal(size=(900, 2)))
    a = energy_distance(x, y, max_samples=300, seed=4)
    assert a == energy_distance(x, y, max_samples=300, seed=4)
    assert a != energy_distance(x, y, max_samples=300, seed=5)
    assert abs(a) < 0.05


# ---------------------------------------------------------------------------------- mode shares


def test_mode_shares_exact_on_constructed_points() -> None:
    modes = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    samples = torch.tensor(
        [
            [0.05, 0.0],  # mode 0
            [0.0, -0.1],  # mode 0
            [-0.1, 0.1],  # mode 0
            [1.1, 0.05],  # mode 1
            [0.5, 0.5],  # far from all modes
            [3.0, 3.0],  # far from all modes
            [0.65, 0.0],  # nearest is mode 1 but outside the radius
            [0.0, 0.8],  # mode 2
        ]
    )
    shares, frac = mode_shares(samples, modes, radius=0.25)
    assert shares.dtype == torch.float64
    assert shares.tolist() == [0.6, 0.2, 0.2]
    assert frac == 5 / 8
    shares, frac = mode_shares(samples, modes, radius=0.01)
    assert shares.tolist() == [0.0, 0.0, 0.0]
    assert frac == 0.0


def test_mode_shares_nearest_mode_wins() -> None:
    modes = torch.tensor([[0.0], [1.0]])
    samples = torch.tensor([0.4, 0.6, 0.7, 5.0])
    shares, frac = mode_shares(samples, modes, radius=1.0)
    assert shares.tolist() == [1 / 3, 2 / 3]
    assert frac == 0.75


# ---------------------------------------------------------------------------- sample_quality


def test_sample_quality_bundle() -> None:
    r = _rng(16)
    centres = np.array([[-2.0, 0.0], [2.0, 0.0]])
    modes = torch.from_numpy(centres)
    ref = torch.from_numpy(np.concatenate([r.normal(size=(400, 2)) * 0.1 + c for c in centres]))
    ref = ref[torch.from_numpy(r.permutation(800))]
    gen = torch.from_numpy(r.normal(size=(300, 2)) * 0.1 + centres[0])
    q = sample_quality(gen, ref, modes=modes, mode_radius=0.5, seed=3)
    assert isinstance(q, SampleQuality)
    assert q.n_samples == 300
    assert q.mode_shares == pytest.approx([1.0, 0.0])
    assert q.near_mode_fraction == pytest.approx(1.0)
    assert q.sliced_wasserstein == sliced_wasserstein(gen, ref, seed=3)
    assert q.mmd == mmd_rbf(gen, ref, seed=3)
    assert q.energy_distance == energy_distance(gen, ref, seed=3)
    d = q.to_dict()
    assert set(d) == {
        "sliced_wasserstein",
        "mmd",
        "energy_distance",
        "near_mode_fraction",
        "mode_shares",
        "n_samples",
    }
    assert all(isinstance(v, float) for v in d["mode_shares"])
    with pytest.raises(AttributeError):
        q.mmd = 0.0  # type: ignore[misc]

    q0 = sample_quality(ref[:300], ref[300:])
    assert q0.mode_shares is None and q0.near_mode_fraction is None
    assert q0.sliced_wasserstein < q.sliced_wasserstein
    assert q0.energy_distance < q.energy_distance


# ---------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, y: sliced_wasserstein(x, y),
        lambda x, y: mmd_rbf(x, y),
        lambda x, y: energy_distance(x, y),
        lambda x, y: mode_shares(x, y, radius=0.1),
        lambda x, y: sample_quality(x, y),
    ],
)
def test_input_validation(fn) -> None:
    x = torch.randn(10, 3)
    with pytest.raises(ValueError, match="dimension mismatch"):
        fn(x, torch.randn(10, 2))
    with pytest.raises(ValueError, match="empty"):
        fn(torch.empty(0, 3), x)
    with pytest.raises(ValueError, match="empty"):
        fn(x, torch.empty(0, 3))
    bad = x.clone()
    bad[2, 0] = float("nan")
    bad[5, 1] = float("inf")
    bad[5, 2] = float("nan")
    with pytest.raises(ValueError, match="2 non-finite row"):
        fn(bad, x)
    with pytest.raises(ValueError, match="shape"):
        fn(torch.randn(2, 3, 4), x)


def test_parameter_validation() -> None:
    x = torch.randn(10, 2)
    with pytest.raises(ValueError, match="n_projections"):
        sliced_wasserstein(x, x, n_projections=0)
    with pytest.raises(ValueError, match="p must"):
        sliced_wasserstein(x, x, p=0)
    with pytest.raises(ValueError, match="bandwidth"):
        mmd_rbf(x, x, bandwidth=0.0)
    with pytest.raises(ValueError, match="at least 2"):
        mmd_rbf(x[:1], x)
    with pytest.raises(ValueError, match="at least 2"):
        energy_distance(x, x[:1])
    with pytest.raises(ValueError, match="radius"):
        mode_shares(x, x, radius=0.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_cuda_matches_cpu() -> None:
    r = _rng(17)
    x = torch.from_numpy(r.normal(size=(500, 3)))
    y = torch.from_numpy(r.normal(size=(650, 3)) + 0.4)
    modes = torch.zeros(2, 3)
    modes[1, 0] = 1.0
    q_cpu = sample_quality(x, y, modes=modes, mode_radius=1.0)
    q_gpu = sample_quality(x.cuda(), y.cuda(), modes=modes.cuda(), mode_radius=1.0)
    assert q_gpu.sliced_wasserstein == pytest.approx(q_cpu.sliced_wasserstein, rel=1e-9)
    assert q_gpu.mmd == pytest.approx(q_cpu.mmd, rel=1e-9)
    assert q_gpu.energy_distance == pytest.approx(q_cpu.energy_distance, rel=1e-9)
    assert q_gpu.mode_shares == pytest.approx(q_cpu.mode_shares)
    assert q_gpu.near_mode_fraction == q_cpu.near_mode_fraction


# --------------------------------------------------------------------------- class read-out


def test_linear_classifier_is_scikit_learns_logistic_regression() -> None:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    digits = load_digits()
    x = torch.tensor(digits.data / 16.0)
    y = torch.tensor(digits.target)
    train, test = slice(0, 1200), slice(1200, None)
    l2 = 1e-3
    ours = fit_linear_classifier(x[train], y[train], l2=l2)
    theirs = LogisticRegression(C=1.0 / (l2 * 1200), tol=1e-10, max_iter=10_000).fit(
        x[train].numpy(), y[train].numpy())

    def objective(w: np.ndarray, b: np.ndarray) -> float:
        z = x[train].numpy() @ w.T + b
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(1200), y[train].numpy()].mean() + 0.5 * l2 * (w * w).sum())

    mine = objective(ours.weight.numpy(), ours.bias.numpy())
    assert mine <= objective(theirs.coef_, theirs.intercept_) + 1e-6
    agree = (ours.predict(x[test]).numpy() == theirs.predict(x[test].numpy())).mean()
    assert agree >= 0.99
    assert (ours.predict(x[test]) == y[test]).double().mean() > 0.9


def test_class_shares_and_their_distance_on_a_known_classifier() -> None:
    clf = LinearClassifier(torch.eye(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64))
    one_hot = torch.eye(3, dtype=torch.float64)
    samples = one_hot[[0, 0, 0, 1]]  # shares 3/4, 1/4, 0
    reference = one_hot[[0, 1, 2, 0, 1, 2]]  # shares 1/3 each
    assert class_shares(samples, clf).tolist() == [0.75, 0.25, 0.0]
    tv, smallest = class_share_distance(samples, reference, clf)
    assert tv == pytest.approx(0.5 * (abs(0.75 - 1 / 3) + abs(0.25 - 1 / 3) + 1 / 3))
    assert smallest == 0.0
    assert class_share_distance(reference, reference, clf) == (0.0, pytest.approx(1 / 3))
    with pytest.raises(ValueError, match="labels"):
        fit_linear_classifier(one_hot, torch.tensor([0, 1]))
