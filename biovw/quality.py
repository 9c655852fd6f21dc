"""Sample-quality metrics between generated samples and held-out data.

All metrics take two point clouds ``x`` of shape ``[n, d]`` and ``y`` of shape ``[m, d]``
(1-D tensors are treated as ``[n, 1]``), work on CPU or CUDA tensors, compute in float64
and draw any randomness from a seeded CPU :class:`torch.Generator`, so results are
reproducible and identical in distribution across devices.

Functions
---------
sliced_wasserstein
    Sliced Wasserstein-p distance with exact 1-D transport along each direction.
mmd_rbf
    Unbiased squared maximum mean discrepancy with a Gaussian kernel.
energy_distance
    Energy distance with U-statistic within-sample terms.
mode_shares
    Occupancy of known modes by a set of samples.
fit_linear_classifier, class_shares, class_share_distance
    A class read-out for labelled data (e.g. digits): the shares of the classes among
    samples, as a classifier trained on the training split sees them.
sample_quality
    All of the above bundled into a :class:`SampleQuality` record.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor

__all__ = [
    "LinearClassifier",
    "SampleQuality",
    "class_share_distance",
    "class_shares",
    "fit_linear_classifier",
    "energy_distance",
    "mmd_rbf",
    "mode_shares",
    "nearest_mode",
    "sample_quality",
    "sliced_wasserstein",
]

_CHUNK_ELEMENTS = 1 << 23


def _as_points(x: Tensor, name: str, *, min_rows: int = 1) -> Tensor:
    """Validate a point cloud and return it as a float64 ``[n, d]`` tensor.

    Parameters
    ----------
    x : Tensor
        Points of shape ``[n, d]`` or ``[n]``.
    name : str
        Name used in error messages.
    min_rows : int, optional
        Minimum number of rows required.

    Returns
    -------
    Tensor
        Float64 tensor of shape ``[n, d]`` on the input's device.

    Raises
    ------
    ValueError
        If the input is not 1-D or 2-D, has too few rows, has zero features or contains
        non-finite values.
    """
    x = torch.as_tensor(x)
    if x.is_complex():
        raise ValueError(f"{name} must be real-valued, got dtype {x.dtype}")
    if x.ndim == 1:
        x = x.unsqueeze(1)
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape [n, d] or [n], got {tuple(x.shape)}")
    n, d = x.shape
    if n == 0:
        raise ValueError(f"{name} is empty (0 samples)")
    if d == 0:
        raise ValueError(f"{name} has 0 features")
    if n < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} samples, got {n}")
    x = x.to(torch.float64)
    finite_rows = torch.isfinite(x).all(dim=1)
    n_bad = int((~finite_rows).sum().item())
    if n_bad:
        raise ValueError(f"{name} has {n_bad} non-finite row(s) out of {n}")
    return x


def _as_pair(
    x: Tensor, y: Tensor, names: tuple[str, str] = ("x", "y"), *, min_rows: int = 1
) -> tuple[Tensor, Tensor]:
    """Validate two point clouds with matching feature dimension.

    Parameters
    ----------
    x, y : Tensor
        Point clouds of shape ``[n, d]`` and ``[m, d]`` (or 1-D).
    names : tuple of str, optional
        Names used in error messages.
    min_rows : int, optional
        Minimum number of rows required in each cloud.

    Returns
    -------
    tuple of Tensor
        Both clouds as float64 ``[·, d]`` tensors on ``x``'s device.

    Raises
    ------
    ValueError
        If either cloud is invalid or the feature dimensions differ.
    """
    xs = _as_points(x, names[0], min_rows=min_rows)
    ys = _as_points(y, names[1], min_rows=min_rows)
    if xs.shape[1] != ys.shape[1]:
        raise ValueError(
            f"dimension mismatch: {names[0]} has {xs.shape[1]} features, "
            f"{names[1]} has {ys.shape[1]}"
        )
    return xs, ys.to(xs.device)


def _generator(seed: int) -> torch.Generator:
    """Return a CPU generator seeded with ``seed``."""
    return torch.Generator(device="cpu").manual_seed(int(seed))


def _subsample(x: Tensor, max_samples: int, gen: torch.Generator) -> Tensor:
    """Return at most ``max_samples`` rows of ``x`` drawn without replacement.

    Parameters
    ----------
    x : Tensor
        Points of shape ``[n, d]``.
    max_samples : int
        Maximum number of rows to keep.
    gen : torch.Generator
        CPU generator used for the random selection.

    Returns
    -------
    Tensor
        ``x`` itself if ``n <= max_samples``, else a random subset of its rows.
    """
    n = x.shape[0]
    if n <= max_samples:
        return x
    idx = torch.randperm(n, generator=gen)[:max_samples]
    return x[idx.to(x.device)]


def _sq_dists(a: Tensor, b: Tensor) -> Tensor:
    """Pairwise squared Euclidean distances, clamped at zero.

    Parameters
    ----------
    a : Tensor
        Points of shape ``[n, d]``.
    b : Tensor
        Points of shape ``[m, d]``.

    Returns
    -------
    Tensor
        Matrix of shape ``[n, m]``.
    """
    a_sq = (a * a).sum(dim=1, keepdim=True)
    b_sq = (b * b).sum(dim=1, keepdim=True)
    return (a_sq + b_sq.T - 2.0 * (a @ b.T)).clamp_min_(0.0)


def _offdiag_mean(k: Tensor) -> Tensor:
    """Mean of the off-diagonal entries of a square matrix."""
    n = k.shape[0]
    return (k.sum() - k.diagonal().sum()) / (n * (n - 1))


def _check_max_samples(max_samples: int) -> None:
    """Raise if ``max_samples`` is too small for an unbiased within-sample term."""
    if max_samples < 2:
        raise ValueError(f"max_samples must be at least 2, got {max_samples}")


def _wasserstein_1d_pp(px: Tensor, py: Tensor, p: int) -> Tensor:
    """Exact ``W_p^p`` between empirical 1-D distributions, column by column.

    Parameters
    ----------
    px : Tensor
        Projected samples of shape ``[n, k]``; column ``j`` is one distribution.
    py : Tensor
        Projected samples of shape ``[m, k]``.
    p : int
        Order of the distance.

    Returns
    -------
    Tensor
        ``W_p^p`` for each of the ``k`` columns, shape ``[k]``.

    Notes
    -----
    Uses ``W_p^p = \\int_0^1 |F^{-1}(u) - G^{-1}(u)|^p du``. Both empirical quantile
    functions are piecewise constant with breakpoints ``i/n`` and ``j/m``; the integral
    is evaluated exactly on the merged set of breakpoints.
    """
    n, m = px.shape[0], py.shape[0]
    xs = torch.sort(px, dim=0).values
    ys = torch.sort(py, dim=0).values
    if n == m:
        return (xs - ys).abs().pow(p).mean(dim=0)
    dev = px.device
    levels = torch.cat(
        [
            torch.arange(1, n + 1, device=dev, dtype=torch.float64) / n,
            torch.arange(1, m + 1, device=dev, dtype=torch.float64) / m,
        ]
    )
    levels = torch.sort(levels).values
    lower = torch.cat([levels.new_zeros(1), levels[:-1]])
    weights = levels - lower
    mid = 0.5 * (lower + levels)
    ix = torch.floor(mid * n).long().clamp_(0, n - 1)
    iy = torch.floor(mid * m).long().clamp_(0, m - 1)
    diff = (xs[ix] - ys[iy]).abs().pow(p)
    return weights @ diff


def sliced_wasserstein(
    x: Tensor, y: Tensor, *, n_projections: int = 256, p: int = 2, seed: int = 0
) -> float:
    """Sliced Wasserstein-p distance between two point clouds.

    Parameters
    ----------
    x : Tensor
        Samples of shape ``[n, d]`` (or ``[n]`` for 1-D data).
    y : Tensor
        Samples of shape ``[m, d]`` (or ``[m]``).
    n_projections : int, optional
        Number of random unit directions.
    p : int, optional
        Order of the distance, ``p >= 1``.
    seed : int, optional
        Seed of the generator that draws the directions.

    Returns
    -------
    float
        ``(mean_k W_p^p(theta_k . x, theta_k . y))^(1/p)`` over directions ``theta_k``
        drawn uniformly on the unit sphere.

    Raises
    ------
    ValueError
        On empty or non-finite inputs, mismatched dimensions, ``n_projections < 1`` or
        ``p < 1``.

    Notes
    -----
    Each 1-D distance is exact: the empirical quantile functions are compared on the
    merged set of their breakpoints, so unequal sample sizes are handled without
    interpolation. In 1-D every direction is ``±1`` and the result equals ``W_p``.
    """
    if n_projections < 1:
        raise ValueError(f"n_projections must be at least 1, got {n_projections}")
    if p < 1:
        raise ValueError(f"p must be at least 1, got {p}")
    xs, ys = _as_pair(x, y)
    n, d = xs.shape
    m = ys.shape[0]
    gen = _generator(seed)
    theta = torch.randn(n_projections, d, generator=gen, dtype=torch.float64)
    theta = theta / theta.norm(dim=1, keepdim=True).clamp_min(1e-300)
    theta = theta.to(xs.device)
    chunk = max(1, _CHUNK_ELEMENTS // (3 * (n + m)))
    total = xs.new_zeros(())
    for start in range(0, n_projections, chunk):
        t = theta[start : start + chunk].T
        total = total + _wasserstein_1d_pp(xs @ t, ys @ t, p).sum()
    mean_pp = (total / n_projections).clamp_min(0.0)
    return float(mean_pp.pow(1.0 / p).item())


def mmd_rbf(
    x: Tensor,
    y: Tensor,
    *,
    bandwidth: float | None = None,
    max_samples: int = 2000,
    seed: int = 0,
) -> float:
    """Unbiased squared MMD with a Gaussian kernel.

    Parameters
    ----------
    x : Tensor
        Samples of shape ``[n, d]`` (or ``[n]``), ``n >= 2``.
    y : Tensor
        Samples of shape ``[m, d]`` (or ``[m]``), ``m >= 2``.
    bandwidth : float or None, optional
        Kernel width ``h`` in ``k(a, b) = exp(-|a - b|^2 / (2 h^2))``. ``None`` uses the
        median heuristic: the median pairwise distance of the pooled (subsampled) sample.
    max_samples : int, optional
        Each cloud is randomly subsampled to at most this many rows.
    seed : int, optional
        Seed of the generator used for subsampling.

    Returns
    -------
    float
        ``MMD_u^2 = mean_{i!=j} k(x_i, x_j) + mean_{i!=j} k(y_i, y_j)
        - 2 mean_{i,j} k(x_i, y_j)``. Being unbiased, it can be slightly negative.

    Raises
    ------
    ValueError
        On invalid inputs, fewer than two samples in either cloud, a non-positive
        bandwidth or ``max_samples < 2``.
    """
    _check_max_samples(max_samples)
    if bandwidth is not None and not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth}")
    xs, ys = _as_pair(x, y, min_rows=2)
    gen = _generator(seed)
    xs = _subsample(xs, max_samples, gen)
    ys = _subsample(ys, max_samples, gen)
    dxx = _sq_dists(xs, xs)
    dyy = _sq_dists(ys, ys)
    dxy = _sq_dists(xs, ys)
    if bandwidth is None:
        h = _median_heuristic(dxx, dyy, dxy)
    else:
        h = torch.as_tensor(float(bandwidth), dtype=torch.float64, device=xs.device)
    scale = -0.5 / (h * h)
    kxx = torch.exp(dxx * scale)
    kyy = torch.exp(dyy * scale)
    kxy = torch.exp(dxy * scale)
    value = _offdiag_mean(kxx) + _offdiag_mean(kyy) - 2.0 * kxy.mean()
    return float(value.item())


def _median_heuristic(dxx: Tensor, dyy: Tensor, dxy: Tensor) -> Tensor:
    """Median pairwise distance of the pooled sample from its squared-distance blocks.

    Parameters
    ----------
    dxx, dyy, dxy : Tensor
        Squared distances within ``x``, within ``y`` and between them.

    Returns
    -------
    Tensor
        Scalar bandwidth; the median of the positive distances, or ``1.0`` if all
        pooled points coincide.
    """
    iu_x = torch.triu_indices(*dxx.shape, offset=1, device=dxx.device)
    iu_y = torch.triu_indices(*dyy.shape, offset=1, device=dyy.device)
    pooled = torch.cat([dxx[iu_x[0], iu_x[1]], dyy[iu_y[0], iu_y[1]], dxy.reshape(-1)])
    positive = pooled[pooled > 0]
    if positive.numel() == 0:
        return torch.ones((), dtype=torch.float64, device=dxx.device)
    return torch.median(positive).sqrt()


def energy_distance(x: Tensor, y: Tensor, *, max_samples: int = 2000, seed: int = 0) -> float:
    """Energy distance between two point clouds.

    Parameters
    ----------
    x : Tensor
        Samples of shape ``[n, d]`` (or ``[n]``), ``n >= 2``.
    y : Tensor
        Samples of shape ``[m, d]`` (or ``[m]``), ``m >= 2``.
    max_samples : int, optional
        Each cloud is randomly subsampled to at most this many rows.
    seed : int, optional
        Seed of the generator used for subsampling.

    Returns
    -------
    float
        ``2 E|X - Y| - E|X - X'| - E|Y - Y'|`` with Euclidean norms, the cross term as a
        mean over all pairs and the within terms as U-statistics (means over ``i != j``).
        This is the squared energy distance; it is unbiased and can be slightly negative.

    Raises
    ------
    ValueError
        On invalid inputs, fewer than two samples in either cloud or ``max_samples < 2``.

    Notes
    -----
    :func:`scipy.stats.energy_distance` returns the square root of the same quantity
    built from V-statistics (within terms averaged over all ``n^2`` pairs).
    """
    _check_max_samples(max_samples)
    xs, ys = _as_pair(x, y, min_rows=2)
    gen = _generator(seed)
    xs = _subsample(xs, max_samples, gen)
    ys = _subsample(ys, max_samples, gen)
    exy = _sq_dists(xs, ys).sqrt_().mean()
    exx = _offdiag_mean(_sq_dists(xs, xs).sqrt_())
    eyy = _offdiag_mean(_sq_dists(ys, ys).sqrt_())
    return float((2.0 * exy - exx - eyy).item())


def nearest_mode(samples: Tensor, modes: Tensor, *, radius: float) -> Tensor:
    """Index of each sample's nearest mode, or ``-1`` when it lies farther than ``radius``
    from every mode (int64 ``[n]``): the labels that mode switching is counted on.

    Raises
    ------
    ValueError
        On invalid inputs, mismatched dimensions or a non-positive radius.
    """
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius}")
    xs, ms = _as_pair(samples, modes, ("samples", "modes"))
    min_dist, nearest = torch.cdist(xs, ms, compute_mode="donot_use_mm_for_euclid_dist").min(1)
    return torch.where(min_dist <= radius, nearest, torch.full_like(nearest, -1))


def mode_shares(samples: Tensor, modes: Tensor, *, radius: float) -> tuple[Tensor, float]:
    """Share of near-mode samples captured by each mode.

    Parameters
    ----------
    samples : Tensor
        Samples of shape ``[n, d]`` (or ``[n]``).
    modes : Tensor
        Mode locations of shape ``[M, d]`` (or ``[M]``).
    radius : float
        A sample is near a mode if its Euclidean distance to it is at most ``radius``.

    Returns
    -------
    shares : Tensor
        Float64 tensor of shape ``[M]`` on the samples' device: the number of samples
        whose nearest mode is ``m`` and which lie within ``radius`` of it, divided by the
        number of samples within ``radius`` of some mode. All zeros if no sample is near
        any mode; otherwise sums to one.
    near_fraction : float
        Fraction of all samples that lie within ``radius`` of some mode.

    Raises
    ------
    ValueError
        On invalid inputs, mismatched dimensions or a non-positive radius.
    """
    labels = nearest_mode(samples, modes, radius=radius)
    n_modes = _as_pair(samples, modes, ("samples", "modes"))[1].shape[0]
    counts = torch.bincount(labels[labels >= 0], minlength=n_modes).to(torch.float64)
    n_near = counts.sum()
    shares = counts / n_near if n_near > 0 else counts
    return shares, float(n_near.item()) / labels.shape[0]


@dataclass(frozen=True)
class LinearClassifier:
    """Multinomial logistic regression: ``class(x) = argmax_c (x @ weight.T + bias)_c``.

    Attributes
    ----------
    weight : Tensor
        Float64 ``[C, d]``.
    bias : Tensor
        Float64 ``[C]``.
    """

    weight: Tensor
    bias: Tensor

    @property
    def n_classes(self) -> int:
        """Number of classes ``C``."""
        return int(self.weight.shape[0])

    def predict(self, x: Tensor) -> Tensor:
        """Most probable class of each row of ``x`` ``[n, d]`` (int64 ``[n]``)."""
        xs = _as_points(x, "x").to(self.weight.device)
        return (xs @ self.weight.T + self.bias).argmax(dim=1)


def fit_linear_classifier(x: Tensor, y: Tensor, *, l2: float = 1e-3,
                          max_iter: int = 500) -> LinearClassifier:
    """Fit multinomial logistic regression by full-batch L-BFGS in float64.

    Minimises ``mean_i CE(x_i, y_i) + l2 / 2 * ||weight||^2`` (the bias is not penalised),
    from zero, so the fit is deterministic. This is scikit-learn's ``LogisticRegression``
    objective with ``C = 1 / (l2 * n)``.

    Parameters
    ----------
    x : Tensor
        ``[n, d]`` training examples.
    y : Tensor
        ``[n]`` integer classes ``0..C-1`` (``C`` is ``max(y) + 1``).
    l2 : float, optional
        Weight of the squared-norm penalty (> 0).
    max_iter : int, optional
        L-BFGS iterations at most.

    Returns
    -------
    LinearClassifier

    Raises
    ------
    ValueError
        On mismatched or invalid inputs.
    """
    xs = _as_points(x, "x")
    labels = torch.as_tensor(y, device=xs.device).reshape(-1).to(torch.int64)
    if labels.shape[0] != xs.shape[0]:
        raise ValueError(f"x has {xs.shape[0]} rows but y has {labels.shape[0]} labels")
    if labels.numel() == 0 or int(labels.min()) < 0:
        raise ValueError("y must hold class indices >= 0")
    if not l2 > 0:
        raise ValueError(f"l2 must be positive, got {l2}")
    n_classes = int(labels.max()) + 1
    weight = torch.zeros(n_classes, xs.shape[1], dtype=torch.float64, device=xs.device,
                         requires_grad=True)
    bias = torch.zeros(n_classes, dtype=torch.float64, device=xs.device, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=max_iter, tolerance_grad=1e-9,
                            tolerance_change=1e-12, history_size=20,
                            line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        opt.zero_grad()
        loss = (torch.nn.functional.cross_entropy(xs @ weight.T + bias, labels)
                + 0.5 * l2 * (weight * weight).sum())
        loss.backward()
        return loss

    opt.step(closure)
    return LinearClassifier(weight.detach(), bias.detach())


def class_shares(samples: Tensor, classifier: LinearClassifier) -> Tensor:
    """Share of ``samples`` ``[n, d]`` that ``classifier`` assigns to each class (float64
    ``[C]``, sums to one)."""
    pred = classifier.predict(samples)
    counts = torch.bincount(pred, minlength=classifier.n_classes).to(torch.float64)
    return counts / counts.sum()


def class_share_distance(samples: Tensor, reference: Tensor,
                         classifier: LinearClassifier) -> tuple[float, float]:
    """How far the samples' class shares are from the reference data's.

    Both sets are classified by the same ``classifier``, so its errors affect both alike.

    Parameters
    ----------
    samples, reference : Tensor
        ``[n, d]`` generated samples and ``[m, d]`` held-out data.
    classifier : LinearClassifier

    Returns
    -------
    total_variation : float
        ``0.5 * sum_c |share_c(samples) - share_c(reference)|``, in ``[0, 1]``.
    min_share : float
        The smallest class share among the samples (0 when a class is missing).
    """
    a, b = class_shares(samples, classifier), class_shares(reference, classifier)
    return float(0.5 * (a - b).abs().sum()), float(a.min())


@dataclass(frozen=True)
class SampleQuality:
    """Summary of sample quality against a reference set.

    Attributes
    ----------
    sliced_wasserstein : float
        Sliced Wasserstein-2 distance (see :func:`sliced_wasserstein`).
    mmd : float
        Unbiased squared Gaussian-kernel MMD with median bandwidth (see :func:`mmd_rbf`).
    energy_distance : float
        Squared energy distance, U-statistic form (see :func:`energy_distance`).
    near_mode_fraction : float or None
        Fraction of samples within the mode radius of some mode; ``None`` without modes.
    mode_shares : list of float or None
        Per-mode share of near-mode samples; ``None`` without modes.
    n_samples : int
        Number of generated samples evaluated.
    """

    sliced_wasserstein: float
    mmd: float
    energy_distance: float
    near_mode_fraction: float | None
    mode_shares: list[float] | None
    n_samples: int

    def to_dict(self) -> dict:
        """Return the fields as a plain dictionary.

        Returns
        -------
        dict
            Field name to value, with ``mode_shares`` copied as a new list.
        """
        return asdict(self)


def sample_quality(
    samples: Tensor,
    reference: Tensor,
    *,
    modes: Tensor | None = None,
    mode_radius: float = 0.2,
    seed: int = 0,
) -> SampleQuality:
    """Compute all sample-quality metrics of ``samples`` against ``reference``.

    Parameters
    ----------
    samples : Tensor
        Generated samples of shape ``[n, d]`` (or ``[n]``), ``n >= 2``.
    reference : Tensor
        Held-out data of shape ``[m, d]`` (or ``[m]``), ``m >= 2``.
    modes : Tensor or None, optional
        Known mode locations ``[M, d]``; if given, mode occupancy is reported.
    mode_radius : float, optional
        Radius for :func:`mode_shares`.
    seed : int, optional
        Seed shared by the randomised metrics.

    Returns
    -------
    SampleQuality
        The metrics, with mode fields ``None`` when ``modes`` is ``None``.

    Raises
    ------
    ValueError
        On empty or non-finite inputs or mismatched dimensions.
    """
    xs, ys = _as_pair(samples, reference, ("samples", "reference"), min_rows=2)
    near_fraction: float | None = None
    shares_list: list[float] | None = None
    if modes is not None:
        shares, near_fraction = mode_shares(xs, modes, radius=mode_radius)
        shares_list = [float(s) for s in shares.cpu().tolist()]
    return SampleQuality(
        sliced_wasserstein=sliced_wasserstein(xs, ys, seed=seed),
        mmd=mmd_rbf(xs, ys, seed=seed),
        energy_distance=energy_distance(xs, ys, seed=seed),
        near_mode_fraction=near_fraction,
        mode_shares=shares_list,
        n_samples=int(xs.shape[0]),
    )
