"""Probability currents of a stationary two-dimensional trajectory on a regular grid.

For a stationary process observed at times ``t dt`` the probability current at ``x`` is
``J(x) = p(x) v(x)`` with ``v(x) = E[x_{t+1} - x_{t-1} | x_t = x] / (2 dt)`` (midpoint, or
Stratonovich, velocity). It vanishes everywhere for a reversible process: time reversal maps
``x_{t+1} - x_{t-1}`` to its negative and leaves the law unchanged. On a grid with ``N``
interior points (those with a predecessor and a successor) and bin area ``A``,

    p(bin) = count(bin) / (N A),
    J(bin) = (1 / (N A)) sum_{x_t in bin} (x_{t+1} - x_{t-1}) / (2 dt).

A stationary current is divergence-free, so its rotation shows up as circulation: the curl
``dJy/dx - dJx/dy`` and the angular flux ``int (r - r0) x J dA`` about the mean position
``r0``, positive for counter-clockwise rotation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["AUTO_BINS", "CurrentField", "current_bins", "pca_project", "probability_current_grid"]


CURRENT_BLOCKS = 20
"""Contiguous blocks of the points whose per-block currents give each bin's standard error."""
SIGNIFICANT_Z = math.sqrt(2 * stats.f.ppf(0.95, 2, CURRENT_BLOCKS - 1))
"""A bin's current differs from zero at the 5% level beyond it: the squared current over its
batch-means variance, summed over the two components, is twice an F(2, blocks - 1) variable
under zero current."""


@dataclass(frozen=True)
class CurrentField:
    """Result of :func:`probability_current_grid`.

    Grids are indexed ``[ix, iy]``: the first axis runs along x, the second along y.

    Attributes
    ----------
    x_edges, y_edges : ndarray
        Bin edges, shape ``[bins + 1]``.
    x_centers, y_centers : ndarray
        Bin centres, shape ``[bins]``.
    density : ndarray
        Stationary density estimate, shape ``[bins, bins]`` (integrates to the fraction of
        interior points inside the bounds).
    current : ndarray
        Probability current ``(J_x, J_y)``, shape ``[bins, bins, 2]``, per unit area and per
        unit time.
    curl : ndarray
        ``dJy/dx - dJx/dy`` by central differences (``np.gradient``), shape ``[bins, bins]``.
    counts : ndarray of int64
        Interior points in each bin, shape ``[bins, bins]``.
    n_points : int
        Number ``N`` of interior points (inside the bounds or not).
    dt : float
        Time between samples.
    current_se : ndarray
        Standard error of each component of ``current``, shape ``[bins, bins, 2]``, by batch
        means over :data:`CURRENT_BLOCKS` contiguous blocks of the interior points.
    """

    x_edges: np.ndarray
    y_edges: np.ndarray
    x_centers: np.ndarray
    y_centers: np.ndarray
    density: np.ndarray
    current: np.ndarray
    curl: np.ndarray
    counts: np.ndarray
    n_points: int
    dt: float
    current_se: np.ndarray | None = None

    def significant(self, z: float = SIGNIFICANT_Z) -> np.ndarray:
        """Bins whose current differs from zero: ``(J_x / se_x)^2 + (J_y / se_y)^2 > z^2``
        (by default at the 5% level, :data:`SIGNIFICANT_Z`); all False without standard
        errors."""
        if self.current_se is None:
            return np.zeros(self.counts.shape, dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(self.current_se > 0, self.current / self.current_se, 0.0)
        return (ratio ** 2).sum(-1) > z * z

    @property
    def bin_area(self) -> float:
        """Area of one bin."""
        return float((self.x_edges[1] - self.x_edges[0]) * (self.y_edges[1] - self.y_edges[0]))

    @property
    def speed(self) -> np.ndarray:
        """``|J|`` per bin, shape ``[bins, bins]``."""
        return np.hypot(self.current[..., 0], self.current[..., 1])

    def circulation(self) -> float:
        """Angular flux ``int ((x - x0) J_y - (y - y0) J_x) dA`` about the density-weighted
        mean position ``(x0, y0)``; positive for counter-clockwise rotation."""
        weight = self.density * self.bin_area
        total = weight.sum()
        if total <= 0:
            return 0.0
        gx, gy = np.meshgrid(self.x_centers, self.y_centers, indexing="ij")
        x0, y0 = (weight * gx).sum() / total, (weight * gy).sum() / total
        torque = (gx - x0) * self.current[..., 1] - (gy - y0) * self.current[..., 0]
        return float(torque.sum() * self.bin_area)

    def to_dict(self) -> dict:
        """Summary numbers as plain types."""
        speed = self.speed
        return {
            "bins": [len(self.x_centers), len(self.y_centers)],
            "n_points": int(self.n_points),
            "fraction_in_bounds": float(self.counts.sum() / max(self.n_points, 1)),
            "dt": float(self.dt),
            "mean_abs_current": float(speed.mean()),
            "max_abs_current": float(speed.max()),
            "max_abs_curl": float(np.abs(self.curl).max()),
            "curl_integral": float(self.curl.sum() * self.bin_area),
            "circulation": self.circulation(),
        }


def _as_trajectories(traj) -> list[np.ndarray]:
    """Chains ``[T_i, 2]`` from ``[T, 2]``, ``[chains, T, 2]`` or a list of ``[T_i, 2]``."""
    if isinstance(traj, (list, tuple)):
        chains = [np.asarray(c, dtype=np.float64) for c in traj]
    else:
        arr = np.asarray(traj, dtype=np.float64)
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3:
            raise ValueError(f"traj must have shape [T, 2] or [chains, T, 2], got {arr.shape}")
        chains = list(arr)
    if not chains or any(c.ndim != 2 for c in chains):
        raise ValueError("traj must hold [T, 2] chains")
    if any(c.shape[-1] != 2 for c in chains):
        raise ValueError(f"traj must be two-dimensional (project with pca_project), got D = "
                         f"{chains[0].shape[-1]}")
    if any(len(c) < 3 for c in chains):
        raise ValueError("each chain needs at least three time points")
    if not all(np.all(np.isfinite(c)) for c in chains):
        raise ValueError("traj must be finite")
    return chains


AUTO_BINS = (8, 60)
"""Fewest and most bins per axis that :func:`current_bins` chooses."""


def current_bins(traj: np.ndarray, min_visits: int = 50) -> int:
    """Bins per axis for the probability current of a 2-D trajectory, from the data's scale.

    A bin's current is the mean velocity of the points in it, so a bin much narrower than one
    step of the chain resolves nothing that the chain does, and one much wider averages the
    circulation inside a cluster away. The width is therefore the median absolute one-step
    displacement along each axis (the chain's own resolution), giving ``range / width`` bins
    per axis (the median over the two axes), at most as many as leave ``min_visits`` points per
    bin on average over the grid, and within :data:`AUTO_BINS`.

    Parameters
    ----------
    traj : array_like or list of arrays
        Positions, as for :func:`probability_current_grid`.
    min_visits : int
        Mean number of points per bin that the grid keeps at least.

    Returns
    -------
    int
    """
    chains = _as_trajectories(traj)
    pooled = np.concatenate(chains)
    extent = pooled.max(axis=0) - pooled.min(axis=0)
    step = np.median(np.abs(np.concatenate([np.diff(c, axis=0) for c in chains])), axis=0)
    ratio = np.where(step > 0, extent / np.where(step > 0, step, 1.0), AUTO_BINS[0])
    by_data = int(np.sqrt(len(pooled) / min_visits))
    return int(np.clip(round(float(np.median(ratio))), AUTO_BINS[0],
                       max(AUTO_BINS[0], min(AUTO_BINS[1], by_data))))


def probability_current_grid(
    traj: np.ndarray,
    *,
    bins: int | str = 20,
    bounds: tuple[tuple[float, float], tuple[float, float]] | None = None,
    dt: float = 1.0,
) -> CurrentField:
    """Stationary density and probability current of a 2-D trajectory on a regular grid.

    Parameters
    ----------
    traj : array_like or list of arrays
        Positions, shape ``[T, 2]`` or ``[chains, T, 2]``, or a list of ``[T_i, 2]`` chains
        (assumed stationary). Higher-dimensional data can be projected first with
        :func:`pca_project`.
    bins : int or "auto"
        Bins per axis, or ``"auto"``: chosen from the data's scale by :func:`current_bins`.
    bounds : ((xmin, xmax), (ymin, ymax)), optional
        Extent of the grid; default the range of the data. Points outside are left out of the
        bins but still counted in ``N``.
    dt : float
        Time between samples.

    Returns
    -------
    CurrentField
        Density, current (midpoint estimator over interior time points), curl and counts.
    """
    chains = _as_trajectories(traj)
    if bins == "auto":
        bins = current_bins(chains)
    if not isinstance(bins, int | np.integer) or bins < 2:
        raise ValueError(f"bins must be 'auto' or an integer of at least 2, got {bins!r}")
    if dt <= 0:
        raise ValueError("dt must be positive")
    if bounds is None:
        pooled = np.concatenate(chains)
        lo, hi = pooled.min(axis=0), pooled.max(axis=0)
    else:
        lo = np.array([bounds[0][0], bounds[1][0]], dtype=np.float64)
        hi = np.array([bounds[0][1], bounds[1][1]], dtype=np.float64)
    flat = hi <= lo
    lo, hi = np.where(flat, lo - 0.5, lo), np.where(flat, hi + 0.5, hi)
    x_edges = np.linspace(lo[0], hi[0], bins + 1)
    y_edges = np.linspace(lo[1], hi[1], bins + 1)

    points = np.concatenate([c[1:-1] for c in chains])
    velocity = np.concatenate([(c[2:] - c[:-2]) / (2.0 * dt) for c in chains])
    n_points = len(points)
    width = (hi - lo) / bins
    cell = np.floor((points - lo) / width).astype(np.int64)
    cell[points == hi] = bins - 1
    inside = np.all((cell >= 0) & (cell < bins) & (points >= lo) & (points <= hi), axis=1)
    index = cell[inside, 0] * bins + cell[inside, 1]
    size = bins * bins
    counts = np.bincount(index, minlength=size).reshape(bins, bins)
    area = float(width[0] * width[1])
    norm = 1.0 / (n_points * area)
    current = np.stack(
        [np.bincount(index, weights=velocity[inside, d], minlength=size).reshape(bins, bins)
         for d in range(2)],
        axis=-1,
    ) * norm
    current_se = _batch_se(index, velocity[inside], size, CURRENT_BLOCKS).reshape(
        bins, bins, 2) * norm
    x_centers = (x_edges[:-1] + x_edges[1:]) / 2
    y_centers = (y_edges[:-1] + y_edges[1:]) / 2
    curl = (np.gradient(current[..., 1], x_centers, axis=0)
            - np.gradient(current[..., 0], y_centers, axis=1))
    return CurrentField(
        x_edges=x_edges,
        y_edges=y_edges,
        x_centers=x_centers,
        y_centers=y_centers,
        density=counts * norm,
        current=current,
        curl=curl,
        counts=counts.astype(np.int64),
        n_points=int(n_points),
        dt=float(dt),
        current_se=current_se,
    )


def _batch_se(index: np.ndarray, velocity: np.ndarray, size: int, blocks: int) -> np.ndarray:
    """Standard error of each bin's summed velocity, ``[size, 2]``: the points cut into
    ``blocks`` contiguous blocks, the variance of the blocks' sums times their number."""
    blocks = max(2, min(blocks, len(index)))
    block = np.arange(len(index)) * blocks // max(len(index), 1)
    sums = np.zeros((blocks, size, 2))
    for d in range(2):
        np.add.at(sums[:, :, d], (block, index), velocity[:, d])
    return np.sqrt(blocks * sums.var(axis=0, ddof=1))


def pca_project(
    x: np.ndarray,
    n_components: int = 2,
    *,
    max_samples: int = 20000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project points onto their leading principal components.

    Parameters
    ----------
    x : array_like
        Points, shape ``[..., D]`` (e.g. ``[T, D]`` or ``[chains, T, D]``).
    n_components : int
        Number of components kept.
    max_samples : int
        The mean and the components are computed (by SVD) from at most this many randomly
        chosen points.
    seed : int
        Seed of the subsample.

    Returns
    -------
    projected : ndarray
        ``(x - mean) @ components.T``, shape ``[..., n_components]``.
    components : ndarray
        Orthonormal principal axes, shape ``[n_components, D]``, each signed so that its
        largest-magnitude entry is positive.
    mean : ndarray
        Mean of the subsample, shape ``[D]``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError("x must have shape [..., D]")
    dim = x.shape[-1]
    if not 1 <= n_components <= dim:
        raise ValueError(f"n_components must lie in [1, {dim}]")
    points = x.reshape(-1, dim)
    if len(points) > max_samples:
        rng = np.random.default_rng(seed)
        points = points[rng.choice(len(points), max_samples, replace=False)]
    mean = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - mean, full_matrices=False)
    components = vt[:n_components]
    rows = np.arange(n_components)
    components = components * np.sign(components[rows, np.abs(components).argmax(axis=1)])[:, None]
    return (x - mean) @ components.T, components, mean
