"""Thermodynamic-uncertainty lower bound on entropy production from the best linear current.

A current is an observable of a transition that changes sign under time reversal,
``j(x, x') = -j(x', x)``. For a stationary Markov chain the stochastic entropy production of a
transition ``s = ln p(x, x') / p(x', x)`` and any current obey the exchange fluctuation theorem
``P(s, j) = e^s P(-s, -j)``, and so the hyperbolic uncertainty relation (Timpanaro, Guarnieri,
Goold & Landi 2019, PRL 123, 090604)

    sigma >= 2 y tanh(y),   y = arcsinh(|<J>| / sqrt(Var J)),

holds exactly in discrete time for the sum ``J`` of a current over ``n`` steps (with
``sigma`` per ``n`` steps; ``n = window``). For small signals it reads ``sigma >= 2 <J>^2 /
Var J``, the thermodynamic uncertainty relation used to infer dissipation from currents
(Li, Horowitz, Gingrich & Fakhri 2019, Nat. Commun. 10, 1666; Manikandan, Gupta & Krishnamurthy
2020, PRL 124, 120603). Observing only some coordinates, or a coarse view, keeps it a lower
bound (the fluctuation theorem of the observed pair has the observed pair divergence, at
most ``sigma``).

The currents searched are the midpoint currents ``F((x + x') / 2) . (x' - x)`` of every
affine force field ``F`` of the observed coordinates, spanned by the increments ``x'_a -
x_a``, the antisymmetric products ``x_a x'_b - x_b x'_a`` and the increments of the products
``x'_a x'_b - x_a x_b`` (increments of functions of the state: their mean is exactly zero, so
their means are set to zero and they act as control variates, cutting the variance of the
best combination through their correlation with the others; estimated from data, their means
would only telescope to the ends of the training folds, next to the test fold, and bias the
held-out current). For an Ornstein-Uhlenbeck process the optimal current is
of this form, and the bound approaches the entropy production as the sampling interval
shrinks (Manikandan et al. 2020). The best combination maximises ``<J>^2 / Var J``: ``c =
S^-1 mu``. Chosen on the same data it over-fits (a reversible process would show a positive
bound), so it is cross-fitted: the windows are cut into ``folds`` contiguous groups, ``c`` is
fitted on the other folds and scored on each, and the held-out scores are pooled. Under
detailed balance every held-out current has mean zero, but the folds' terms are not
independent (each fold's direction follows the other folds' means), so the t-test on the
scores rejects too often (8-12% at alpha 0.05 in simulation); the p-value instead compares
the held-out mean with its values when random blocks of windows are reversed in time (which
negates their currents) and every fold's direction is refitted. The interval of the signed
ratio ``<J> / sqrt(Var J)`` (batch means over blocks, Student t) maps to the interval of the
bound, whose low end is kept at zero unless the surrogate test rejects at the interval's
one-sided level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from biovw.analysis.record import EntropyEstimate, as_chains, t_quantile

__all__ = ["current_basis", "entropy_production_tur", "hyperbolic_bound", "total_derivatives"]


def hyperbolic_bound(ratio: np.ndarray | float) -> np.ndarray | float:
    """``2 y tanh(y)`` with ``y = arcsinh(|ratio|)``: the entropy production a current with
    signal-to-noise ``ratio = <J> / sqrt(Var J)`` implies at least."""
    y = np.arcsinh(np.abs(ratio))
    return 2 * y * np.tanh(y)


def current_basis(x: np.ndarray) -> np.ndarray:
    """Linear currents of every transition of one chain ``[T, D]``, ``[T - 1, K]``: the
    increments ``x'_a - x_a``, the antisymmetric products ``x_a x'_b - x_b x'_a`` (``a < b``)
    and the increments of the products ``x'_a x'_b - x_a x_b`` (``a <= b``); ``K = D + D^2``.
    Together they span the midpoint (Stratonovich) currents ``F((x + x') / 2) . (x' - x)`` of
    every linear force field ``F``."""
    prev, nxt = x[:-1], x[1:]
    a, b = np.triu_indices(x.shape[1], k=1)
    area = prev[:, a] * nxt[:, b] - prev[:, b] * nxt[:, a]
    c, d = np.triu_indices(x.shape[1])
    square = nxt[:, c] * nxt[:, d] - prev[:, c] * prev[:, d]
    return np.concatenate([nxt - prev, area, square], axis=1)


def total_derivatives(dim: int) -> np.ndarray:
    """Which columns of :func:`current_basis` are increments of a function of the state
    (``x'_a - x_a``, ``x'_a x'_b - x_a x_b``): their stationary mean is exactly zero."""
    n_area = dim * (dim - 1) // 2
    return np.concatenate([np.ones(dim, bool), np.zeros(n_area, bool),
                           np.ones(dim * (dim + 1) // 2, bool)])


def _project(chains: list[np.ndarray], max_dim: int) -> tuple[list[np.ndarray], str]:
    """Centre on the pooled mean, scale by the pooled sd, and keep at most ``max_dim``
    principal components."""
    pooled = np.concatenate(chains)
    mean = pooled.mean(axis=0)
    chains = [c - mean for c in chains]
    note = ""
    if pooled.shape[1] > max_dim:
        _, _, vt = np.linalg.svd(pooled - mean, full_matrices=False)
        chains = [c @ vt[:max_dim].T for c in chains]
        note = f"currents of the top {max_dim} principal components of {pooled.shape[1]}"
    scale = np.concatenate(chains).std(axis=0)
    scale[scale == 0] = 1.0
    return [c / scale for c in chains], note


def entropy_production_tur(
    x: np.ndarray | Sequence[np.ndarray],
    *,
    window: int = 1,
    folds: int = 5,
    max_dim: int = 8,
    n_batches: int = 20,
    ci: float = 0.95,
    dt: float | None = None,
    n_surrogates: int = 199,
    seed: int = 0,
) -> EntropyEstimate:
    """Lower bound on entropy production per step from the best cross-fitted linear current.

    Parameters
    ----------
    x : array_like or list of arrays
        Recording, ``[T, D]``, ``[chains, T, D]`` or a list of ``[T_i, D]`` chains (trials).
    window : int
        Steps per current sum ``n`` (the bound is divided by ``n``).
    folds : int
        Folds of the cross-fitting (contiguous groups of windows).
    max_dim : int
        At most this many coordinates (top principal components) enter the currents.
    n_batches : int
        Blocks of consecutive windows (the same number in every fold): batch means for the
        standard error of the held-out mean current, and the units reversed by the surrogates.
    ci : float
        Level of the interval.
    dt : float, optional
        Seconds per step (for ``per_second``).
    n_surrogates : int
        Block-reversal surrogates for the p-value.
    seed : int
        Seed of the surrogates.

    Returns
    -------
    EntropyEstimate
        ``method="tur"``, ``lower_bound=True``; ``details`` holds the held-out signal-to-noise
        ratio and its interval.
    """
    if window < 1 or folds < 2:
        raise ValueError("window must be >= 1 and folds >= 2")
    chains, note = _project(as_chains(x, min_length=window + 1), max_dim)
    J = _window_currents(chains, window)
    if len(J) < 4 * folds:
        raise ValueError(f"too few windows ({len(J)}) for {folds}-fold cross-fitting")
    split = _split(J, folds, n_batches)
    exact_zero = total_derivatives(chains[0].shape[1])
    weights = _fold_weights(J, split.fold, folds)
    scores = _window_scores(J, split.fold, split.block_sums, split.block_fold, weights,
                            exact_zero)
    mean, sd, se = _score_moments(scores, split.block)
    p_value = _reversal_p_value(split, weights, exact_zero, len(J), n_surrogates, seed)
    n_blocks = len(split.block_sums)
    quantile = t_quantile(ci, n_blocks - 1)
    ratio = mean / sd
    r_lo, r_hi = (mean - quantile * se) / sd, (mean + quantile * se) / sd
    value = float(hyperbolic_bound(ratio)) / window
    # the low end is positive only where the surrogate test rejects detailed balance at the
    # interval's one-sided level
    if r_lo > 0 and p_value < (1 - ci) / 2:
        low = float(hyperbolic_bound(r_lo)) / window
    else:
        low = 0.0
    high = float(hyperbolic_bound(max(abs(r_lo), abs(r_hi)))) / window
    dim = chains[0].shape[1]
    return EntropyEstimate(
        method="tur", value=value, ci_low=low, ci_high=high,
        se=_bound_slope(ratio) * se / sd / window,
        ci=ci, lower_bound=True, p_value=p_value,
        n_transitions=int(sum(len(c) - 1 for c in chains)), n_chains=len(chains), dt=dt,
        settings={"window": window, "folds": folds, "max_dim": max_dim,
                  "n_blocks": int(n_blocks), "currents": int(J.shape[1]),
                  "coordinates": int(dim), "n_surrogates": n_surrogates},
        details={"ratio": ratio, "ratio_ci": [r_lo, r_hi], "n_windows": int(len(J)),
                 "z": mean / se},
        note="; ".join(filter(None, [note, "lower bound from the best linear current "
                                     "(cross-fitted); 0 at the low end means no current was "
                                     "detected"])),
    )


def _window_currents(chains: list[np.ndarray], window: int) -> np.ndarray:
    """The current basis summed over consecutive windows of ``window`` transitions,
    ``[windows, currents]``, all chains' windows stacked."""
    sums = []
    for c in chains:
        j = current_basis(c)
        n_win = len(j) // window
        sums.append(j[:n_win * window].reshape(n_win, window, -1).sum(axis=1))
    return np.concatenate(sums)


class _Split(NamedTuple):
    """Windows cut into contiguous folds, each fold into the same number of contiguous
    blocks: each window's fold and block, each block's summed currents and its fold."""

    fold: np.ndarray
    block: np.ndarray
    block_sums: np.ndarray
    block_fold: np.ndarray


def _split(J: np.ndarray, folds: int, n_batches: int) -> _Split:
    n_windows = len(J)
    per_fold = max(1, n_batches // folds)
    fold = np.arange(n_windows) * folds // n_windows
    block = fold * per_fold + (np.arange(n_windows) - np.searchsorted(fold, fold)) * per_fold \
        // np.bincount(fold)[fold]
    block_sums = np.zeros((folds * per_fold, J.shape[1]))
    np.add.at(block_sums, block, J)
    return _Split(fold, block, block_sums, np.repeat(np.arange(folds), per_fold))


def _fold_weights(J: np.ndarray, fold: np.ndarray, folds: int) -> list[tuple]:
    """Per fold, from the other folds' windows: the inverse of the (ridged) second moment of
    the currents, the number of windows and the second moment itself."""
    weights = []
    for f in range(folds):
        train = J[fold != f]
        second = np.einsum("ti,tj->ij", train, train) / len(train)
        ridge = 1e-8 * np.trace(second) / len(second) + 1e-300
        weights.append((np.linalg.inv(second + ridge * np.eye(len(second))), len(train), second))
    return weights


def _score_moments(scores: np.ndarray, block: np.ndarray) -> tuple[float, float, float]:
    """Mean and sd of the held-out window scores and the batch-means standard error of the
    mean over blocks."""
    mean = float(scores.mean())
    sd = float(scores.std(ddof=1))
    if not sd > 0 or not math.isfinite(sd):
        raise ValueError("the held-out current does not fluctuate (the observed coordinates "
                         "barely move): no uncertainty relation applies")
    block_means = np.bincount(block, weights=scores) / np.bincount(block)
    sizes = np.bincount(block).astype(np.float64)
    n_blocks = len(sizes)
    se = float(np.sqrt(np.sum(sizes**2 * (block_means - mean) ** 2)
                       / (n_blocks * (n_blocks - 1))) * n_blocks / sizes.sum())
    return mean, sd, max(se, sd / math.sqrt(len(scores)) * 1e-3)


def _reversal_p_value(split: _Split, weights: list[tuple], exact_zero: np.ndarray,
                      n_windows: int, n_surrogates: int, seed: int) -> float:
    """The held-out mean current against block-reversal surrogates.

    Reversal negates every current of a block; the folds' directions are refitted on each
    surrogate. The test is exact for independent blocks under detailed balance; the t-test on
    the cross-fitted scores is not: each fold's direction depends on the other folds' means,
    which makes the folds' terms positively correlated when there is no current.
    """
    stat = _held_out(split.block_sums, split.block_fold, np.ones((1, len(split.block_sums))),
                     weights, exact_zero, n_windows)
    rng = np.random.default_rng(seed)
    signs = rng.integers(0, 2, size=(n_surrogates, len(split.block_sums))) * 2.0 - 1.0
    null = _held_out(split.block_sums, split.block_fold, signs, weights, exact_zero, n_windows)
    return float((1 + np.count_nonzero(null >= stat[0] - 1e-12 * abs(stat[0])))
                 / (1 + n_surrogates))


def _held_out(block_sums, block_fold, signs, weights, exact_zero, n_windows):
    """Held-out mean current for every row of ``signs`` (block orientations, [R, B]): each
    fold's direction ``S^-1 mu`` from the other folds' signed block sums (means of state
    increments set to zero), normalised to unit variance, applied to the fold's own sums."""
    total = np.zeros(len(signs))
    for f, (inv, n_train, second) in enumerate(weights):
        own = block_fold == f
        mu = signs[:, ~own] @ block_sums[~own] / n_train
        mu[:, exact_zero] = 0.0
        c = mu @ inv
        norm = np.sqrt(np.maximum(np.einsum("ri,ij,rj->r", c, second, c), 1e-300))
        total += np.einsum("ri,ri->r", c / norm[:, None], signs[:, own] @ block_sums[own])
    return total / n_windows


def _window_scores(J, fold, block_sums, block_fold, weights, exact_zero):
    """Held-out score of every window (the data's own orientation)."""
    scores = np.empty(len(J))
    for f, (inv, n_train, second) in enumerate(weights):
        own = block_fold == f
        mu = block_sums[~own].sum(axis=0) / n_train
        mu[exact_zero] = 0.0
        c = inv @ mu
        c = c / math.sqrt(max(float(c @ second @ c), 1e-300))
        scores[fold == f] = J[fold == f] @ c
    return scores


def _bound_slope(ratio: float) -> float:
    """Derivative of :func:`hyperbolic_bound` with respect to ``|ratio|``."""
    r = abs(ratio)
    y = math.asinh(r)
    return 2 / math.sqrt(1 + r * r) * (math.tanh(y) + y / math.cosh(y) ** 2)
