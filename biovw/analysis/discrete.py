"""Entropy production of an observed stationary Markov chain, estimated from transition counts.

For a stationary chain with pair distribution ``p_ij = pi_i P_ij`` the entropy production per
step is the Kullback-Leibler divergence between the forward and the time-reversed pair
distributions, ``sigma = sum_ij p_ij ln(p_ij / p_ji)`` (nats/step). With ``n_ij`` the number of
observed ``i -> j`` transitions and ``N`` the total number of transitions, the plug-in estimate is

    sigma_hat = sum_{i != j, n_ij > 0, n_ji > 0} (n_ij / N) ln(n_ij / n_ji).

Pairs observed in one direction only have no finite log-ratio; they are left out and reported.

Bias correction
---------------
Grouping the two directions of a pair gives ``sigma_hat = sum_{i<j} f(n_ij, n_ji) / N`` with
``f(a, b) = (a - b) ln(a / b)``. A second-order Taylor expansion of ``f`` about the expected
counts gives the first-order bias

    E[f(a, b)] - f(E a, E b) ~ [f_aa Var(a) + f_bb Var(b) + 2 f_ab Cov(a, b)] / 2,

with ``f_aa = 1/a + b/a^2``, ``f_bb = 1/b + a/b^2`` and ``f_ab = -(1/a + 1/b)``, evaluated at
the observed counts and subtracted (divided by ``N``) for every pair observed both ways.

``"poisson"``
    Counts treated as independent Poisson variables (``Var(a) = a``, ``Var(b) = b``,
    ``Cov = 0``), which gives ``[1 + (n_ij / n_ji + n_ji / n_ij) / 2] / N`` per pair.
``"markov"`` (default)
    ``Var`` and ``Cov`` of the counts estimated by batch means: between independent chains, or
    between contiguous batches of ``block_length`` transitions of each chain.

Counts of a Markov chain are not Poisson: net fluxes obey Kirchhoff's law at every state, so
the net flux ``n_ij - n_ji`` of a reversible chain only fluctuates along cycles of the
transition graph, and the excess plug-in value is about twice a chi-square with as many degrees
of freedom as independent cycles, not as pairs. The ``"poisson"`` correction therefore
over-corrects by about ``2 (V - 1) / N`` for a reversible chain on ``V`` connected states (for
a symmetric ring walk on ``V`` states, ``2 (V - 1) / N`` against a standard deviation of about
``2.8 / N``). The ``"markov"`` correction accounts for this. Both rest on the Taylor expansion,
which is loose for pairs with a handful of counts; with many rarely visited pairs (fine
discretisations) the corrected value of a reversible process still comes out slightly negative.

Confidence interval
-------------------
With at least ten chains the chains are resampled with replacement; otherwise circular blocks
of transitions are resampled within each chain (moving-block bootstrap). The estimate
(bias-corrected as above) is recomputed on every resample; the interval is the percentile
interval of these replicates re-centred on the point estimate,
``value + quantiles(replicates - mean(replicates))``, because replicates estimate the plug-in
value of the observed sample and so carry a second layer of bias. Near ``sigma = 0`` the
bootstrap spread exceeds the sampling spread (the estimator is not smooth there), which makes
the interval conservative.

Coarse graining
---------------
:func:`entropy_production_coarse` bins a continuous trajectory and applies the same estimator to
the labels. The coarse-grained pair distribution and its reverse are images of the fine pair
distribution and of its reverse under the same map, so by the data-processing inequality their
divergence is at most ``sigma``: the coarse-grained estimate lower-bounds the entropy
production per step (up to estimation error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import sparse

__all__ = [
    "DiscreteEntropyProduction",
    "Discretization",
    "discretize",
    "entropy_production_coarse",
    "entropy_production_discrete",
]

MIN_CHAINS_FOR_CHAIN_BOOTSTRAP = 10
_KMEANS_MAX_FIT = 20000
_MAX_BOOT_CELLS = 4_000_000

BiasCorrection = Literal["markov", "poisson", "none"] | bool | None


@dataclass(frozen=True)
class DiscreteEntropyProduction:
    """Result of :func:`entropy_production_discrete` and :func:`entropy_production_coarse`.

    Attributes
    ----------
    value : float
        Estimated entropy production (bias-corrected unless ``bias_correction`` is off),
        nats/step.
    ci_low, ci_high : float
        Bootstrap percentile interval of ``value`` at level ``ci``.
    se : float
        Bootstrap standard error of ``value``.
    plugin : float
        Uncorrected plug-in estimate.
    bias : float
        Bias correction subtracted from ``plugin`` (0 when off).
    bias_correction : str
        ``"poisson"``, ``"markov"`` or ``"none"``.
    ci : float
        Confidence level of the interval.
    n_boot : int
        Number of bootstrap replicates.
    bootstrap : str
        ``"chains"`` (chains resampled) or ``"blocks"`` (moving blocks within chains).
    block_length : int or None
        Block length in transitions of the moving-block bootstrap (None for ``"chains"``).
    n_transitions : int
        Total number of transitions ``N``.
    n_chains : int
        Number of chains.
    n_states : int
        Size of the state space.
    n_states_visited : int
        Number of distinct states observed.
    n_pairs : int
        Unordered pairs ``{i, j}``, ``i != j``, observed in both directions.
    n_one_way_pairs : int
        Unordered pairs observed in one direction only (left out of the estimate).
    coarse_grained : bool
        Whether the labels come from discretising a continuous trajectory.
    lower_bound : bool
        Whether ``value`` estimates a lower bound of the entropy production of the underlying
        process rather than the quantity itself (true for coarse-grained data).
    note : str
        Plain-language caveats on the interpretation.
    unit : str
        ``"nats/step"``.
    """

    value: float
    ci_low: float
    ci_high: float
    se: float
    plugin: float
    bias: float
    bias_correction: str
    ci: float
    n_boot: int
    bootstrap: str
    block_length: int | None
    n_transitions: int
    n_chains: int
    n_states: int
    n_states_visited: int
    n_pairs: int
    n_one_way_pairs: int
    coarse_grained: bool = False
    lower_bound: bool = False
    note: str = ""
    unit: str = "nats/step"

    def to_dict(self) -> dict:
        """Summary as plain types."""
        return {
            "value": float(self.value),
            "ci_low": float(self.ci_low),
            "ci_high": float(self.ci_high),
            "unit": self.unit,
            "se": float(self.se),
            "plugin": float(self.plugin),
            "bias": float(self.bias),
            "bias_correction": self.bias_correction,
            "ci": float(self.ci),
            "n_boot": int(self.n_boot),
            "bootstrap": self.bootstrap,
            "block_length": None if self.block_length is None else int(self.block_length),
            "n_transitions": int(self.n_transitions),
            "n_chains": int(self.n_chains),
            "n_states": int(self.n_states),
            "n_states_visited": int(self.n_states_visited),
            "n_pairs": int(self.n_pairs),
            "n_one_way_pairs": int(self.n_one_way_pairs),
            "coarse_grained": bool(self.coarse_grained),
            "lower_bound": bool(self.lower_bound),
            "note": self.note,
        }


@dataclass(frozen=True)
class Discretization:
    """Result of :func:`discretize`.

    Attributes
    ----------
    labels : ndarray of int64
        State label of every point, with the leading shape of the input (``[T]`` or
        ``[chains, T]``).
    centers : ndarray
        Representative point of every state, shape ``[n_states, D]`` (bin centres for the
        grid, cluster centres for k-means).
    edges : tuple of ndarray or None
        Bin edges along each axis (``bins + 1`` each) for the grid, None for k-means.
    method : str
        ``"grid"`` or ``"kmeans"``.
    n_states : int
        Number of states (``bins ** D`` or ``n_clusters``).
    """

    labels: np.ndarray
    centers: np.ndarray
    edges: tuple[np.ndarray, ...] | None
    method: str
    n_states: int


@dataclass(frozen=True)
class _Transitions:
    """Transitions compressed to the ``K`` distinct observed ordered pairs."""

    index: np.ndarray  # [C, T - 1] pair index of each transition
    counts: np.ndarray  # [K]
    fwd: np.ndarray  # pair indices (i -> j), i < j, of pairs whose reverse was observed
    bwd: np.ndarray  # pair indices of the matching (j -> i)
    n_one_way: int
    n_visited: int


def _as_chains(traj: np.ndarray, n_states: int | None) -> tuple[np.ndarray, int]:
    traj = np.asarray(traj)
    if traj.ndim == 1:
        traj = traj[None, :]
    if traj.ndim != 2:
        raise ValueError(f"traj must have shape [T] or [chains, T], got {traj.shape}")
    if traj.shape[1] < 2:
        raise ValueError("each chain needs at least two time points")
    if not np.issubdtype(traj.dtype, np.integer):
        if not np.all(np.isfinite(traj)) or np.any(traj != np.round(traj)):
            raise ValueError("traj must hold integer state labels")
    traj = traj.astype(np.int64)
    if traj.min() < 0:
        raise ValueError("state labels must be non-negative")
    top = int(traj.max()) + 1
    if n_states is None:
        n_states = top
    elif top > n_states:
        raise ValueError(f"label {top - 1} out of range for n_states={n_states}")
    return traj, int(n_states)


def _transitions(traj: np.ndarray, n_states: int) -> _Transitions:
    codes = traj[:, :-1] * n_states + traj[:, 1:]
    uniq, inverse = np.unique(codes, return_inverse=True)
    src, dst = uniq // n_states, uniq % n_states
    rev = dst * n_states + src
    pos = np.minimum(np.searchsorted(uniq, rev), len(uniq) - 1)
    has_rev = uniq[pos] == rev
    off_diag = src != dst
    fwd = np.flatnonzero(off_diag & has_rev & (src < dst))
    return _Transitions(
        index=inverse.reshape(codes.shape),
        counts=np.bincount(inverse.ravel(), minlength=len(uniq)).astype(np.float64),
        fwd=fwd,
        bwd=pos[fwd],
        n_one_way=int(np.count_nonzero(off_diag & ~has_rev)),
        n_visited=int(np.unique(traj).size),
    )


def _estimate(
    counts: np.ndarray,
    fwd: np.ndarray,
    bwd: np.ndarray,
    correction: str,
    cov: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Plug-in estimate and bias correction for each row of ``counts`` ([B, K])."""
    n = counts.sum(axis=1)
    a, b = counts[:, fwd], counts[:, bwd]
    both = (a > 0) & (b > 0)
    a = np.where(both, a, 1.0)
    b = np.where(both, b, 1.0)
    plugin = np.where(both, (a - b) * np.log(a / b), 0.0).sum(axis=1) / n
    if correction == "poisson":
        term = 1.0 + 0.5 * (a / b + b / a)
    elif correction == "markov":
        var_a, var_b, cov_ab = cov
        term = 0.5 * ((1 / a + b / a**2) * var_a + (1 / b + a / b**2) * var_b
                      - 2 * (1 / a + 1 / b) * cov_ab)
    else:
        return plugin, np.zeros_like(plugin)
    return plugin, np.where(both, term, 0.0).sum(axis=1) / n


def _batch_covariance(
    batch_counts: sparse.csr_matrix, fwd: np.ndarray, bwd: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch-means estimates of Var(n_ij), Var(n_ji), Cov(n_ij, n_ji) of the total counts."""
    m = batch_counts.shape[0]
    if m < 2:
        raise ValueError("the 'markov' bias correction needs at least two batches")
    cols = batch_counts.tocsc()
    a, b = cols[:, fwd], cols[:, bwd]
    sum_a = np.asarray(a.sum(axis=0)).ravel()
    sum_b = np.asarray(b.sum(axis=0)).ravel()
    scale = m / (m - 1)
    var_a = scale * (np.asarray(a.multiply(a).sum(axis=0)).ravel() - sum_a**2 / m)
    var_b = scale * (np.asarray(b.multiply(b).sum(axis=0)).ravel() - sum_b**2 / m)
    cov_ab = scale * (np.asarray(a.multiply(b).sum(axis=0)).ravel() - sum_a * sum_b / m)
    return var_a[None, :], var_b[None, :], cov_ab[None, :]


def _group_counts(index: np.ndarray, group: np.ndarray, n_groups: int, k: int):
    ones = np.ones(index.size)
    return sparse.csr_matrix((ones, (group.ravel(), index.ravel())), shape=(n_groups, k))


def _integrated_autocorrelation(u: np.ndarray) -> float:
    """Integrated autocorrelation time of the rows of ``u`` (Sokal's window, c = 5)."""
    length = u.shape[1]
    u = u - u.mean()
    size = 1 << int(np.ceil(np.log2(2 * length)))
    spectrum = np.fft.rfft(u, n=size, axis=1)
    acov = np.fft.irfft(np.abs(spectrum) ** 2, n=size, axis=1)[:, :length].mean(axis=0)
    acov /= length - np.arange(length)
    if acov[0] <= 0:
        return 1.0
    rho = acov / acov[0]
    tau = 2.0 * np.cumsum(rho) - 1.0
    window = np.arange(length) >= 5.0 * tau
    cut = int(np.argmax(window)) if window.any() else length - 1
    return float(max(tau[cut], 1.0))


def _default_block_length(tr: _Transitions, plugin: float) -> int:
    """``max(sqrt(T), 5 tau)``, at most ``T / 4``, with ``tau`` the integrated autocorrelation
    time of the influence of each transition on the plug-in estimate."""
    length = tr.index.shape[1]
    score = np.full(len(tr.counts), -plugin)
    a, b = tr.counts[tr.fwd], tr.counts[tr.bwd]
    score[tr.fwd] += np.log(a / b) + 1 - b / a
    score[tr.bwd] += np.log(b / a) + 1 - a / b
    tau = _integrated_autocorrelation(score[tr.index])
    block = max(math.ceil(math.sqrt(length)), math.ceil(5 * tau))
    return int(min(block, max(1, length // 4)))


def _block_weights(
    rng: np.random.Generator, n_chains: int, length: int, block: int
) -> np.ndarray:
    """Multiplicity of each transition in one circular moving-block resample, [C, length]."""
    n_blocks = math.ceil(length / block)
    starts = rng.integers(0, length, size=(n_chains, n_blocks))
    flat = (starts + length * np.arange(n_chains)[:, None]).ravel()
    hits = np.bincount(flat, minlength=n_chains * length).reshape(n_chains, length)
    wrapped = np.concatenate([hits[:, length - block + 1:], hits], axis=1) if block > 1 else hits
    csum = np.concatenate([np.zeros((n_chains, 1)), np.cumsum(wrapped, axis=1)], axis=1)
    return csum[:, block:block + length] - csum[:, :length]


def _resolve_correction(bias_correction: BiasCorrection) -> str:
    if bias_correction is True:
        return "markov"
    if bias_correction is False or bias_correction is None or bias_correction == "none":
        return "none"
    if bias_correction in ("poisson", "markov"):
        return str(bias_correction)
    raise ValueError(f"unknown bias_correction {bias_correction!r}")


def _chain_groups(shape: tuple[int, int]) -> np.ndarray:
    return np.broadcast_to(np.arange(shape[0])[:, None], shape)


def _batch_groups(n_chains: int, length: int, block: int) -> tuple[np.ndarray, int]:
    """Contiguous batches of about ``block`` transitions within each chain."""
    per_chain = max(2 if n_chains == 1 else 1, length // block)
    per_chain = min(per_chain, length)
    group = (np.arange(n_chains)[:, None] * per_chain
             + (np.arange(length) * per_chain // length)[None, :])
    return group, n_chains * per_chain


def _bootstrap(
    tr: _Transitions,
    correction: str,
    cov: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    block: int | None,
    n_boot: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Bootstrap replicates of the (corrected) estimate: chains resampled when ``block`` is
    None, circular moving blocks of transitions within each chain otherwise."""
    n_chains, length = tr.index.shape
    k = len(tr.counts)
    boot = np.empty(n_boot)
    if block is None:
        per_chain = _group_counts(tr.index, _chain_groups(tr.index.shape), n_chains, k).T.tocsr()
        chunk = max(1, _MAX_BOOT_CELLS // k)
        for start in range(0, n_boot, chunk):
            stop = min(n_boot, start + chunk)
            weights = rng.multinomial(n_chains, np.full(n_chains, 1 / n_chains), size=stop - start)
            counts = np.asarray(per_chain @ weights.T.astype(np.float64)).T
            plugin, bias = _estimate(counts, tr.fwd, tr.bwd, correction, cov)
            boot[start:stop] = plugin - bias
        return boot
    flat_index = tr.index.ravel()
    for r in range(n_boot):
        weights = _block_weights(rng, n_chains, length, block)
        counts = np.bincount(flat_index, weights=weights.ravel(), minlength=k)[None, :]
        plugin, bias = _estimate(counts, tr.fwd, tr.bwd, correction, cov)
        boot[r] = plugin[0] - bias[0]
    return boot


def _run(
    traj: np.ndarray,
    n_states: int | None,
    bias_correction: BiasCorrection,
    ci: float,
    n_boot: int,
    block_length: int | None,
    seed: int,
    coarse_grained: bool,
) -> DiscreteEntropyProduction:
    if not 0 < ci < 1:
        raise ValueError("ci must lie in (0, 1)")
    if n_boot < 2:
        raise ValueError("n_boot must be at least 2")
    correction = _resolve_correction(bias_correction)
    traj, n_states = _as_chains(traj, n_states)
    n_chains, n_time = traj.shape
    length = n_time - 1
    tr = _transitions(traj, n_states)
    rng = np.random.default_rng(seed)
    chain_mode = n_chains >= MIN_CHAINS_FOR_CHAIN_BOOTSTRAP

    plugin, _ = _estimate(tr.counts[None, :], tr.fwd, tr.bwd, "none")
    if chain_mode:
        block = None
    elif block_length is None:
        block = _default_block_length(tr, float(plugin[0]))
    else:
        block = int(min(max(1, block_length), length))

    cov = None
    if correction == "markov":
        if chain_mode:
            group, n_groups = _chain_groups(tr.index.shape), n_chains
        else:
            group, n_groups = _batch_groups(n_chains, length, block)
        batches = _group_counts(tr.index, group, n_groups, len(tr.counts))
        cov = _batch_covariance(batches, tr.fwd, tr.bwd)

    plugin, bias = _estimate(tr.counts[None, :], tr.fwd, tr.bwd, correction, cov)
    value = float(plugin[0] - bias[0])
    boot = _bootstrap(tr, correction, cov, block, n_boot, rng)
    # Replicates are centred on the estimate of the resampled world, which carries a second
    # layer of estimation bias; the interval keeps their spread around ``value``.
    alpha = (1 - ci) / 2
    low, high = value + np.quantile(boot - boot.mean(), [alpha, 1 - alpha])

    notes = []
    if coarse_grained:
        notes.append(
            "coarse-grained: estimates a lower bound of the entropy production per step of the "
            "underlying process (data-processing inequality on forward vs reversed pairs)"
        )
    if tr.n_one_way > 0:
        notes.append(
            f"{tr.n_one_way} pair(s) observed in one direction only were left out; if such "
            "transitions are truly irreversible the entropy production is infinite"
        )
    if correction == "poisson" and low <= 0:
        notes.append(
            "the poisson bias correction over-corrects near equilibrium, by about 2 (V - 1) / N "
            "for a reversible chain on V states"
        )
    return DiscreteEntropyProduction(
        value=value,
        ci_low=float(low),
        ci_high=float(high),
        se=float(np.std(boot, ddof=1)),
        plugin=float(plugin[0]),
        bias=float(bias[0]),
        bias_correction=correction,
        ci=float(ci),
        n_boot=int(n_boot),
        bootstrap="chains" if chain_mode else "blocks",
        block_length=block,
        n_transitions=int(n_chains * length),
        n_chains=int(n_chains),
        n_states=n_states,
        n_states_visited=tr.n_visited,
        n_pairs=int(len(tr.fwd)),
        n_one_way_pairs=tr.n_one_way,
        coarse_grained=coarse_grained,
        lower_bound=coarse_grained,
        note="; ".join(notes),
    )


def entropy_production_discrete(
    traj: np.ndarray,
    *,
    n_states: int | None = None,
    bias_correction: BiasCorrection = True,
    ci: float = 0.95,
    n_boot: int = 200,
    block_length: int | None = None,
    seed: int = 0,
) -> DiscreteEntropyProduction:
    """Entropy production per step of a stationary Markov chain from an observed trajectory.

    Parameters
    ----------
    traj : array_like of int
        State labels, shape ``[T]`` (one chain) or ``[chains, T]`` (independent chains of equal
        length, each assumed stationary).
    n_states : int, optional
        Size of the state space (default: largest label + 1).
    bias_correction : bool or {"markov", "poisson", "none"}
        ``True`` or ``"markov"``: subtract the second-order (Taylor) bias with variances and
        covariance of the counts estimated by batch means. ``"poisson"``: the same with
        independent Poisson counts, ``[1 + (n_ij/n_ji + n_ji/n_ij)/2] / N`` per pair observed
        both ways; it over-corrects near equilibrium (module documentation). ``False`` or
        ``"none"``: the plug-in estimate.
    ci : float
        Level of the bootstrap interval (percentile interval of the replicates, re-centred on
        the estimate).
    n_boot : int
        Number of bootstrap replicates.
    block_length : int, optional
        Block length (transitions) of the moving-block bootstrap used with fewer than
        ``MIN_CHAINS_FOR_CHAIN_BOOTSTRAP`` chains; default ``max(sqrt(T), 5 tau)`` with ``tau``
        the integrated autocorrelation time of the per-transition influence on the estimate,
        at most ``T / 4``. Also the batch length of the ``"markov"`` correction.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    DiscreteEntropyProduction
        ``value`` in nats/step with its interval, standard error and counts.

    Notes
    -----
    The estimate is ``sum_{i != j} (n_ij / N) ln(n_ij / n_ji)`` over pairs observed in both
    directions, minus the bias correction (see the module documentation for its derivation).
    If the labelled process is a lumping of a finer process (not Markov itself), the estimate
    targets the divergence between forward and reversed label pairs, which lower-bounds the
    entropy production of the finer process.
    """
    return _run(traj, n_states, bias_correction, ci, n_boot, block_length, seed, False)


def _as_points(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim not in (2, 3):
        raise ValueError(f"x must have shape [T, D] or [chains, T, D], got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite")
    return x


def discretize(
    x: np.ndarray,
    *,
    method: Literal["auto", "grid", "kmeans"] = "auto",
    bins: int = 10,
    n_clusters: int = 50,
    seed: int = 0,
) -> Discretization:
    """Map a continuous trajectory to discrete state labels.

    Parameters
    ----------
    x : array_like
        Points, shape ``[T, D]`` or ``[chains, T, D]`` (``[T]`` is read as ``D = 1``).
    method : {"auto", "grid", "kmeans"}
        ``"grid"``: ``bins`` equal bins per axis over the data range, labels are flat
        (row-major) bin indices; ``"kmeans"``: k-means with ``n_clusters`` centres fitted on
        at most 20000 randomly chosen points, then assigned to all points. ``"auto"`` picks the
        grid for ``D <= 2`` and k-means otherwise.
    bins : int
        Bins per axis of the grid.
    n_clusters : int
        Number of k-means clusters.
    seed : int
        Seed of the subsample and of k-means.

    Returns
    -------
    Discretization
        ``labels`` with the leading shape of ``x``, ``centers`` ``[n_states, D]`` and the grid
        ``edges`` (None for k-means).
    """
    x = _as_points(x)
    lead, dim = x.shape[:-1], x.shape[-1]
    points = x.reshape(-1, dim)
    if method == "auto":
        method = "grid" if dim <= 2 else "kmeans"
    if method == "grid":
        if bins < 1:
            raise ValueError("bins must be positive")
        if bins**dim > 10_000_000:
            raise ValueError(f"a grid of {bins}^{dim} bins is too large; use method='kmeans'")
        lo, hi = points.min(axis=0), points.max(axis=0)
        flat = hi <= lo
        lo, hi = np.where(flat, lo - 0.5, lo), np.where(flat, hi + 0.5, hi)
        edges = tuple(np.linspace(lo[d], hi[d], bins + 1) for d in range(dim))
        idx = np.stack([np.digitize(points[:, d], edges[d][1:-1]) for d in range(dim)])
        labels = np.ravel_multi_index(tuple(idx), (bins,) * dim)
        mids = [(e[:-1] + e[1:]) / 2 for e in edges]
        centers = np.stack(np.meshgrid(*mids, indexing="ij"), axis=-1).reshape(-1, dim)
        return Discretization(labels.reshape(lead).astype(np.int64), centers, edges, "grid",
                              bins**dim)
    if method == "kmeans":
        from sklearn.cluster import KMeans

        if len(points) < n_clusters:
            raise ValueError(f"{len(points)} points cannot make {n_clusters} clusters")
        rng = np.random.default_rng(seed)
        fit = points
        if len(points) > _KMEANS_MAX_FIT:
            fit = points[rng.choice(len(points), _KMEANS_MAX_FIT, replace=False)]
        km = KMeans(n_clusters=n_clusters, n_init=1, random_state=seed).fit(fit)
        labels = km.predict(points).astype(np.int64)
        return Discretization(labels.reshape(lead), km.cluster_centers_, None, "kmeans",
                              n_clusters)
    raise ValueError(f"unknown method {method!r}")


def entropy_production_coarse(
    x: np.ndarray,
    *,
    method: Literal["auto", "grid", "kmeans"] = "auto",
    bins: int = 10,
    n_clusters: int = 50,
    bias_correction: BiasCorrection = True,
    ci: float = 0.95,
    n_boot: int = 200,
    block_length: int | None = None,
    seed: int = 0,
) -> DiscreteEntropyProduction:
    """Coarse-grained entropy production of a continuous stationary trajectory.

    Discretises ``x`` with :func:`discretize` and estimates the entropy production of the
    labels with :func:`entropy_production_discrete`.

    Parameters
    ----------
    x : array_like
        Points, shape ``[T, D]`` or ``[chains, T, D]``.
    method, bins, n_clusters
        Passed to :func:`discretize`.
    bias_correction, ci, n_boot, block_length
        Passed to :func:`entropy_production_discrete`.
    seed : int
        Seed of the discretisation and of the bootstrap.

    Returns
    -------
    DiscreteEntropyProduction
        With ``coarse_grained=True`` and ``lower_bound=True``.

    Notes
    -----
    For a stationary Markov process the entropy production per step equals the divergence
    ``KL(p(x_t, x_{t+1}) || p(x_{t+1}, x_t))``. Binning maps both pair distributions through
    the same function, and divergences cannot grow under a common map (data-processing
    inequality), so the divergence between forward and reversed label pairs, which is what is
    estimated here, is a lower bound of the true entropy production per step. Finer bins
    tighten the bound but need longer trajectories: with many rarely visited pairs the bias
    correction is loose and a reversible process can come out slightly below zero.
    """
    disc = discretize(x, method=method, bins=bins, n_clusters=n_clusters, seed=seed)
    return _run(disc.labels, disc.n_states, bias_correction, ci, n_boot, block_length, seed, True)
