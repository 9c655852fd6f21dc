"""Nested coarse-grained states by hierarchical (bisecting) k-means, after Lynn et al. 2021.

Lynn, Cornblath, Papadopoulos, Bertolero & Bassett (PNAS 118, e2109889118, 2021) estimate the
entropy production of neural recordings from transitions between k-means states and study it
as the number of states grows. Here the states are nested: starting from one cluster, the
cluster with the largest within-cluster sum of squares is split in two by 2-means (started
from the cut of its principal axis, so the states are deterministic), until
``n_states`` clusters exist, and every intermediate partition is kept. A coarser partition is
a lumping of every finer one, so by the data-processing inequality the entropy production of
the labels cannot decrease with ``k`` and each level lower-bounds that of the recording:
the curve of estimates against ``k`` shows how much of the irreversibility the states resolve
and where finite data start to limit them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from biovw.analysis.discrete import entropy_production_discrete
from biovw.analysis.record import EntropyEstimate, as_chains

__all__ = ["HierarchicalStates", "entropy_production_hierarchical", "hierarchical_kmeans"]

_LLOYD_STEPS = 50


def _two_means(points: np.ndarray) -> np.ndarray:
    """2-means (Lloyd) started from the split of the principal axis at the mean: a boolean
    side per point. Deterministic; each step is one projection."""
    centred = points - points.mean(axis=0)
    cov = np.einsum("ti,tj->ij", centred, centred)
    axis = np.linalg.eigh(cov)[1][:, -1]
    side = centred @ axis > 0
    for _ in range(_LLOYD_STEPS):
        if side.all() or not side.any():
            break
        c0, c1 = points[~side].mean(axis=0), points[side].mean(axis=0)
        new = points @ (c1 - c0) > 0.5 * (c1 @ c1 - c0 @ c0)
        if np.array_equal(new, side):
            break
        side = new
    return side


@dataclass(frozen=True)
class HierarchicalStates:
    """Nested partitions from :func:`hierarchical_kmeans`.

    Attributes
    ----------
    labels : dict of int to ndarray
        For every number of states ``k`` (2 .. n_states), the label of every point (flat,
        chains concatenated), values ``0 .. k-1``.
    centers : dict of int to ndarray
        Cluster means ``[k, D]`` at every level.
    """

    labels: dict[int, np.ndarray]
    centers: dict[int, np.ndarray]


def hierarchical_kmeans(points: np.ndarray, n_states: int) -> HierarchicalStates:
    """Bisecting k-means keeping every level.

    Parameters
    ----------
    points : ndarray
        ``[N, D]``.
    n_states : int
        Number of states at the finest level (>= 2).

    Returns
    -------
    HierarchicalStates

    Notes
    -----
    Each split is 2-means (Lloyd's iterations) started from the cut of the cluster's
    principal axis at its mean, so the partition is deterministic.
    """
    points = np.asarray(points, dtype=np.float64)
    if n_states < 2:
        raise ValueError("n_states must be at least 2")
    labels = np.zeros(len(points), dtype=np.int64)
    out_labels: dict[int, np.ndarray] = {}
    out_centers: dict[int, np.ndarray] = {}

    def spread(idx):
        return float(((points[idx] - points[idx].mean(0)) ** 2).sum())

    sse = [spread(np.arange(len(points)))]
    for k in range(1, n_states):
        target = int(np.argmax(sse))
        members = np.flatnonzero(labels == target)
        side = _two_means(points[members]) if len(members) >= 2 and sse[target] > 0 else None
        if side is None or side.all() or not side.any():
            raise ValueError(f"cannot split the data into {k + 1} distinct states")
        labels[members[side]] = k
        sse[target] = spread(members[~side])
        sse.append(spread(members[side]))
        out_labels[k + 1] = labels.copy()
        out_centers[k + 1] = np.stack([points[labels == c].mean(0) for c in range(k + 1)])
    return HierarchicalStates(out_labels, out_centers)


def entropy_production_hierarchical(
    x: np.ndarray | Sequence[np.ndarray],
    *,
    levels: Sequence[int] = (2, 4, 8, 16, 32),
    max_dim: int | None = None,
    ci: float = 0.95,
    seed: int = 0,
    dt: float | None = None,
    n_surrogates: int = 200,
) -> list[EntropyEstimate]:
    """Plug-in entropy production of nested k-means states, one estimate per level.

    Parameters
    ----------
    x : array_like or list of arrays
        Recording, ``[T, D]``, ``[chains, T, D]`` or a list of ``[T_i, D]`` chains (trials:
        the interval then resamples whole trials when there are ten or more).
    levels : sequence of int
        Numbers of states to report.
    max_dim : int, optional
        Cluster the top ``max_dim`` principal components instead of all coordinates.
    ci, seed, dt, n_surrogates
        Passed to :func:`biovw.analysis.discrete.entropy_production_discrete` (with
        ``markov=False``: states lump a finer process).

    Returns
    -------
    list of EntropyEstimate
        ``method="hkmeans"``, ``lower_bound=True``, ``settings["n_states"]`` the level.
    """
    chains = as_chains(x)
    pooled = np.concatenate(chains)
    if max_dim is not None and pooled.shape[1] > max_dim:
        centred = pooled - pooled.mean(0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        pooled = centred @ vt[:max_dim].T
    levels = sorted(set(int(k) for k in levels))
    tree = hierarchical_kmeans(pooled, max(levels))
    cuts = np.cumsum([len(c) for c in chains])[:-1]
    out = []
    for k in levels:
        labels = np.split(tree.labels[k], cuts)
        res = entropy_production_discrete(labels, n_states=k, ci=ci, seed=seed,
                                          n_surrogates=n_surrogates, markov=False)
        out.append(EntropyEstimate(
            method="hkmeans", value=res.value, ci_low=res.ci_low, ci_high=res.ci_high,
            se=res.se, ci=ci, lower_bound=True, p_value=res.p_value,
            n_transitions=res.n_transitions, n_chains=res.n_chains, dt=dt,
            settings={"n_states": k, "max_dim": max_dim, "interval": res.interval,
                      "units": res.bootstrap, "block_length": res.block_length},
            details={"plugin": res.plugin, "n_pairs": res.n_pairs,
                     "n_one_way_pairs": res.n_one_way_pairs, "n_blocks": res.n_blocks},
            note="; ".join(filter(None, [f"{k} nested k-means states: a lower bound",
                                         res.note])),
        ))
    return out
