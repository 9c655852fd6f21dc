"""Grid estimates of probability currents against the analytic currents of linear AR(1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import solve_discrete_lyapunov

from biovw.analysis.currents import (
    AUTO_BINS,
    SIGNIFICANT_Z,
    CurrentField,
    current_bins,
    pca_project,
    probability_current_grid,
)
from biovw.analysis.models import LinearGaussianKernel

S = 0.5
BOUNDS = ((-4.0, 4.0), (-4.0, 4.0))
M_GENERIC = np.array([[0.7, -0.4], [0.2, 0.5]])
M_SYMMETRIC = np.array([[0.8, 0.1], [0.1, 0.6]])
# r x v = x v_y - y v_x = r^T W v
W = np.array([[0.0, 1.0], [-1.0, 0.0]])


def rotation(angle: float, radius: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return radius * np.array([[c, -s], [s, c]])


def simulate_ar1(M: np.ndarray, s: float, n_time: int, n_chains: int, seed) -> np.ndarray:
    """Stationary x' = M x + s xi, shape [n_chains, n_time, D]."""
    return LinearGaussianKernel(M, s).trajectory(n_time, n_chains, seed)


def drift_of_midpoint(M: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    """A with E[x_{t+1} - x_{t-1} | x_t = x] = A x, and the stationary covariance C."""
    cov = solve_discrete_lyapunov(M, s**2 * np.eye(len(M)))
    return M - cov @ M.T @ np.linalg.inv(cov), cov


def analytic_field(M: np.ndarray, s: float, field: CurrentField):
    """Gaussian density and J(x) = p(x) A x / 2 at the bin centres."""
    A, cov = drift_of_midpoint(M, s)
    gx, gy = np.meshgrid(field.x_centers, field.y_centers, indexing="ij")
    pts = np.stack([gx, gy], axis=-1)
    inv = np.linalg.inv(cov)
    density = np.exp(-0.5 * np.einsum("...i,ij,...j->...", pts, inv, pts)) / (
        2 * np.pi * math.sqrt(np.linalg.det(cov)))
    return density, density[..., None] * (pts @ A.T) / 2


@pytest.fixture(scope="module")
def fields() -> dict[str, CurrentField]:
    systems = {"generic": M_GENERIC, "symmetric": M_SYMMETRIC,
               "counter": rotation(0.3, 0.85), "clockwise": rotation(-0.3, 0.85)}
    return {name: probability_current_grid(simulate_ar1(M, S, 2500, 400, seed), bins=20,
                                           bounds=BOUNDS)
            for seed, (name, M) in enumerate(systems.items())}


def test_midpoint_drift_formula_by_regression():
    x = simulate_ar1(M_GENERIC, S, 2000, 200, seed=10)
    mid = x[:, 1:-1].reshape(-1, 2)
    step = (x[:, 2:] - x[:, :-2]).reshape(-1, 2)
    fitted, *_ = np.linalg.lstsq(mid, step, rcond=None)
    A, _ = drift_of_midpoint(M_GENERIC, S)
    assert np.allclose(fitted.T, A, atol=0.02)
    A_sym, _ = drift_of_midpoint(M_SYMMETRIC, S)
    assert np.allclose(A_sym, 0.0, atol=1e-12)


def test_shapes_and_normalisation(fields):
    field = fields["generic"]
    assert field.x_edges.shape == (21,) and field.y_centers.shape == (20,)
    assert field.density.shape == (20, 20) and field.counts.shape == (20, 20)
    assert field.current.shape == (20, 20, 2) and field.curl.shape == (20, 20)
    assert field.bin_area == pytest.approx(0.16)
    assert field.n_points == 400 * 2498
    assert field.density.sum() * field.bin_area == pytest.approx(
        field.counts.sum() / field.n_points)
    d = field.to_dict()
    assert {"mean_abs_current", "max_abs_curl", "circulation", "curl_integral",
            "n_points", "fraction_in_bounds"} <= set(d)
    assert d["fraction_in_bounds"] > 0.999
    with pytest.raises(AttributeError):
        field.dt = 2.0


def test_default_bounds_dt_and_time_reversal():
    rng = np.random.default_rng(3)
    traj = np.cumsum(rng.normal(size=(500, 2)), axis=0)
    field = probability_current_grid(traj, bins=8)
    assert field.counts.sum() == field.n_points == 498
    assert field.x_edges[0] == traj[:, 0].min() and field.x_edges[-1] == traj[:, 0].max()
    reverse = probability_current_grid(traj[::-1], bins=8)
    assert np.allclose(reverse.current, -field.current)
    assert np.allclose(reverse.density, field.density)
    slow = probability_current_grid(traj, bins=8, dt=0.5)
    assert np.allclose(slow.current, 2 * field.current)


def test_square_loop_has_positive_circulation():
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    loop = np.tile(square, (50, 1))
    counter = probability_current_grid(loop, bins=2)
    assert counter.circulation() > 0
    assert probability_current_grid(loop[::-1], bins=2).circulation() < 0


def test_input_checks():
    with pytest.raises(ValueError):
        probability_current_grid(np.zeros((100, 3)))
    with pytest.raises(ValueError):
        probability_current_grid(np.zeros((2, 2)))
    with pytest.raises(ValueError):
        probability_current_grid(np.zeros((10, 2)), dt=0.0)


@pytest.mark.parametrize("name", ["generic", "counter"])
def test_current_matches_analytic(fields, name):
    M = {"generic": M_GENERIC, "counter": rotation(0.3, 0.85)}[name]
    field = fields[name]
    density, current = analytic_field(M, S, field)
    assert np.linalg.norm(field.density - density) < 0.05 * np.linalg.norm(density)
    corr = np.corrcoef(field.current.ravel(), current.ravel())[0, 1]
    rel = np.linalg.norm(field.current - current) / np.linalg.norm(current)
    assert corr > 0.9
    assert rel < 0.15
    A, cov = drift_of_midpoint(M, S)
    assert field.circulation() == pytest.approx(np.trace(W @ A @ cov) / 2, rel=0.05)


def test_symmetric_dynamics_has_negligible_current(fields):
    sym, rot = fields["symmetric"].to_dict(), fields["counter"].to_dict()
    assert sym["mean_abs_current"] < 0.1 * rot["mean_abs_current"]
    assert sym["max_abs_curl"] < 0.1 * rot["max_abs_curl"]
    assert abs(sym["circulation"]) < 0.05 * rot["circulation"]


def test_rotation_sign(fields):
    counter, clockwise = fields["counter"], fields["clockwise"]
    assert counter.circulation() > 0 > clockwise.circulation()
    centre = slice(8, 12)
    assert counter.curl[centre, centre].mean() > 0 > clockwise.curl[centre, centre].mean()
    # counter-clockwise: upward flux right of the origin, downward flux left of it
    assert counter.current[14, 10, 1] > 0 > counter.current[5, 10, 1]
    A, _ = drift_of_midpoint(M_GENERIC, S)
    assert np.sign(fields["generic"].circulation()) == np.sign(A[1, 0] - A[0, 1])


def test_pca_project_recovers_plane():
    rng = np.random.default_rng(4)
    basis, _ = np.linalg.qr(rng.normal(size=(6, 2)))
    latent = rng.normal(size=(3, 4000, 2)) * np.array([3.0, 1.5])
    x = latent @ basis.T + 0.01 * rng.normal(size=(3, 4000, 6)) + 5.0
    projected, components, mean = pca_project(x, max_samples=5000)
    assert projected.shape == (3, 4000, 2) and components.shape == (2, 6) and mean.shape == (6,)
    assert np.allclose(components @ components.T, np.eye(2), atol=1e-10)
    assert np.allclose(mean, 5.0, atol=0.2)
    # the two components span the plane, ordered by variance
    assert np.linalg.norm(components @ basis, ord=2) == pytest.approx(1.0, abs=1e-3)
    assert projected[..., 0].var() > projected[..., 1].var()
    big = np.abs(components).argmax(axis=1)
    assert np.all(components[[0, 1], big] > 0)
    field = probability_current_grid(projected, bins=10)
    assert field.n_points == 3 * 3998
    with pytest.raises(ValueError):
        pca_project(x, n_components=7)


# ------------------------------------------------------------ bins from the data's scale


def test_auto_bins_are_the_extent_over_the_closed_form_median_step():
    """For x' = M x + s xi the one-step displacement is Gaussian with covariance
    (M - I) C (M - I)^T + s^2 I, so its median absolute value per axis is 0.6745 of that
    axis's sd: the auto grid's bins are the data's extent over it."""
    M, s = rotation(math.radians(25), 0.97), 0.1
    traj = simulate_ar1(M, s, 400, 200, 3)
    cov = solve_discrete_lyapunov(M, s**2 * np.eye(2))
    step_cov = (M - np.eye(2)) @ cov @ (M - np.eye(2)).T + s**2 * np.eye(2)
    median_step = 0.6745 * np.sqrt(np.diag(step_cov))
    extent = np.ptp(traj.reshape(-1, 2), axis=0)
    expected = float(np.median(extent / median_step))
    assert AUTO_BINS[0] < expected < AUTO_BINS[1]
    assert abs(current_bins(traj) - expected) <= 0.03 * expected + 1
    assert probability_current_grid(traj, bins="auto").counts.shape == (current_bins(traj),) * 2


def test_auto_bins_resolve_tight_clusters_that_twenty_bins_lump_together():
    """Nine clusters of sd 0.05 one unit apart, each circulating (the mixture's layout): with
    the auto grid every cluster covers at least 5 x 5 visited bins with a significant current;
    twenty bins over the same extent give each cluster at most 4 x 4."""
    rng = np.random.default_rng(0)
    M, sd = rotation(math.radians(30), 0.9), 0.05
    centres = np.array([[i, j] for i in range(3) for j in range(3)], dtype=float)
    c = centres[np.arange(900) % 9]
    x = c + sd * rng.standard_normal(c.shape)
    traj = np.empty((900, 300, 2))
    for t in range(300):
        traj[:, t] = x
        x = c + (x - c) @ M.T + sd * math.sqrt(1 - 0.81) * rng.standard_normal(c.shape)

    def significant_per_cluster(bins):
        field = probability_current_grid(traj, bins=bins)
        z = np.sqrt(((field.current / np.where(field.current_se > 0, field.current_se,
                                                np.inf)) ** 2).sum(-1))
        ok = (field.counts >= 20) & (z > SIGNIFICANT_Z)
        gx, gy = np.meshgrid(field.x_centers, field.y_centers, indexing="ij")
        nearest = np.argmin(np.hypot(gx[..., None] - centres[:, 0],
                                     gy[..., None] - centres[:, 1]), axis=-1)
        return np.bincount(nearest[ok], minlength=9)

    fine, coarse = significant_per_cluster("auto"), significant_per_cluster(20)
    assert fine.min() >= 25 and coarse.max() <= 16, (fine, coarse)


@pytest.mark.parametrize("bins", [1, 0, "many", 2.5])
def test_a_bin_count_other_than_auto_or_a_whole_number_is_refused(bins):
    with pytest.raises(ValueError, match="bins must be 'auto' or an integer"):
        probability_current_grid(np.zeros((5, 2)), bins=bins)
