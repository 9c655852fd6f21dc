"""Entropy production of an observed stationary Markov chain, estimated from transition counts.

For a stationary chain with pair distribution ``p_ij = pi_i P_ij`` the entropy production per
step is the Kullback-Leibler divergence between the forward and the time-reversed pair
distributions, ``sigma = sum_ij p_ij ln(p_ij / p_ji)`` (nats/step). With ``n_ij`` the number of
observed ``i -> j`` transitions and ``N`` the total number of transitions, the plug-in estimate is

    sigma_hat = sum_{i != j, n_ij > 0, n_ji > 0} (n_ij / N) ln(n_ij / n_ji).

Pairs observed in one direction only have no finite log-ratio; they are left out and reported.

Bias correction
---------------
Grouping the two directions of a pair gives ``sigma_hat = sum_{i<j} f(a, b) / N`` with
``a = n_ij``, ``b = n_ji`` and ``f(a, b) = (a - b) ln(a / b)`` (0 unless both are positive).
The plug-in is biased upwards: a reversible chain gives ``sigma_hat > 0``. Write ``m = a + b``
for a pair's total and ``d = a - b`` for its net count.

``"reversal"`` (default)
    Cut the chains into ``B`` blocks of at least ``block_length`` transitions, each cut at a
    visit to one reference state (the most visited). For a Markov chain these are
    regeneration times: the blocks are independent (up to the first and last piece of each
    chain) and, under detailed balance, each block and its time reversal have the same law.
    Reversing a block swaps its ``i -> j`` and ``j -> i`` counts, i.e. flips the sign of its
    net count ``d_b`` of every pair and keeps the totals. So under detailed balance the data
    and every surrogate with independently reversed blocks, ``d* = sum_b e_b d_b`` with
    random signs ``e_b``, have the same distribution, with no model of the counts. (Fixed-length
    blocks, used when the reference state is not revisited, are only approximately
    independent: blocks must be long compared with the time the chain takes to forget its
    state, or the surrogates destroy the negative correlation between the net counts of
    consecutive blocks and the correction overshoots.) The bias is the mean plug-in over
    ``n_surrogates`` such surrogates, and

        value = B_eff / (B_eff - 1) * (sigma_hat - mean sigma_hat(surrogates)),

    with ``B_eff = N^2 / sum_b N_b^2``. The factor undoes, to first order, the part of the
    surrogates' spread that comes from the mean drift of the net counts away from balance
    (a surrogate's ``E[d*^2] = sum_b d_b^2 = Var(d) + d^2 / B`` for equal blocks); it leaves
    the null expectation at zero. No formula for the bias is assumed: Kirchhoff's law (on
    graphs with few cycles the net counts of all pairs move together), bursts of back-and-forth
    transitions and pairs seen once or twice all enter through the surrogates. Pairs seen in
    one block only contribute exactly zero. The same surrogates give the p-value of the
    time-reversal test of detailed balance, ``(1 + #{surrogate plug-in >= sigma_hat}) /
    (1 + n_surrogates)`` (``p_value``).

    Measured by ``biovw/reports/ep_bias.py`` (simulation over states x length): on uniform random
    states and other reversible chains the mean estimate is zero within its Monte Carlo error
    at every size, where the earlier second-order (Taylor) correction read -0.28 nats/step for
    400 states and 200,000 steps. Away from equilibrium pairs observed in one direction only
    still contribute nothing, so strongly irreversible chains with many rarely visited pairs
    are under-estimated until the data resolve the rare reverse transitions.
``"taylor"``
    The earlier second-order Taylor expansion ``[f_aa Var(a) + f_bb Var(b) + 2 f_ab Cov(a, b)]
    / 2`` at the observed counts, with batch-means (co)variances. Loose for pairs with a
    handful of counts: a reversible process reads significantly negative in the sparse
    regime. Kept for comparison.
``"poisson"``
    The Taylor expansion with independent Poisson counts, ``[1 + (a / b + b / a) / 2] / N``
    per pair; it also over-corrects chains with few cycles by about ``2 (V - 1) / N`` on ``V``
    states. Kept for comparison.
``"none"``
    The plug-in.

Confidence interval
-------------------
``interval="flip"`` (default with ``"reversal"``): the error of the estimate is the sum of a
quadratic part, whose law is read off the surrogates (exact under detailed balance), and a
linear part, the response of the estimate to each chain (ten or more chains) or block, whose
batch-means variance, minus its mean over the surrogates (the noise of the quadratic kind it
also contains), is added with Student-t tails. ``interval="bootstrap"`` (and every other
correction) resamples whole chains (ten or more) or blocks with replacement and applies the
estimator to each resample as if it were data; the interval is the percentile interval of
the replicates re-centred on the point estimate, ``value + quantiles(replicates - mean)``,
because replicates estimate the plug-in value of the observed sample and so carry a second
layer of bias. Near ``sigma = 0`` the bootstrap spread exceeds the sampling spread (the
estimator is not smooth there: resamples repeat blocks), which makes that interval wide.

Chains may have different lengths (trials of a recording): pass a list of 1-D arrays.

Coarse graining
---------------
:func:`entropy_production_coarse` bins a continuous trajectory and applies the same estimator to
the labels. The coarse-grained pair distribution and its reverse are images of the fine pair
distribution and of its reverse under the same map, so by the data-processing inequality their
divergence is at most ``sigma``: the coarse-grained estimate lower-bounds the entropy
production per step (up to estimation error).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
from scipy import sparse

__all__ = [
    "ESTIMATOR_DEFAULTS",
    "DiscreteEntropyProduction",
    "Discretization",
    "EstimatorSettings",
    "discretize",
    "entropy_production_coarse",
    "entropy_production_discrete",
]

MIN_CHAINS_FOR_CHAIN_BOOTSTRAP = 10
_KMEANS_MAX_FIT = 20000
_MAX_BOOT_CELLS = 4_000_000
_MAX_BLOCKS = 2000

BiasCorrection = Literal["reversal", "taylor", "poisson", "none"] | bool | None


@dataclass(frozen=True)
class EstimatorSettings:
    """How the discrete estimators correct, resample and report: one record, shared by
    :func:`entropy_production_discrete` and :func:`entropy_production_coarse` and stored in
    their results (:attr:`DiscreteEntropyProduction.settings`).

    Attributes
    ----------
    bias_correction : bool or {"reversal", "taylor", "poisson", "none"}
        ``True`` or ``"reversal"``: subtract the plug-in's mean over surrogates whose blocks
        are reversed in time at random (its expectation under detailed balance, estimated from
        the data; module documentation); also gives ``p_value``. ``"taylor"``,
        ``"poisson"``: second-order corrections, which over-correct pairs with few counts.
        ``False`` or ``"none"``: the plug-in estimate.
    ci : float
        Level of the interval, in (0, 1).
    n_boot : int
        Number of bootstrap replicates (at least 2).
    block_length : int, optional
        Minimum length (transitions) of the blocks: the reversal surrogates reverse blocks,
        batch means and the bootstrap (with fewer than ``MIN_CHAINS_FOR_CHAIN_BOOTSTRAP``
        chains) resample them. Blocks end at visits to the most visited state. Default: see
        ``markov`` of :func:`entropy_production_discrete`; at most a quarter of the longest
        chain.
    seed : int
        Seed of the surrogates, of the bootstrap and of a coarse-graining.
    interval : {"flip", "bootstrap"}
        How the interval of the ``"reversal"`` estimate is made: ``"flip"`` takes the law of
        its quadratic error from the reversal surrogates and adds the batch-means variance of
        its linear part over chains (ten or more) or blocks; ``"bootstrap"`` resamples chains
        or blocks, applying the whole estimator to each resample (conservative near zero:
        resamples repeat transitions). The other corrections always use the bootstrap.
    n_surrogates : int
        Number of reversal surrogates.

    Raises
    ------
    ValueError
        For ``ci`` outside (0, 1), ``n_boot`` below 2 or an unknown ``interval``.
    """

    bias_correction: BiasCorrection = True
    ci: float = 0.95
    n_boot: int = 200
    block_length: int | None = None
    seed: int = 0
    interval: Literal["flip", "bootstrap"] = "flip"
    n_surrogates: int = 200

    def __post_init__(self) -> None:
        if not 0 < self.ci < 1:
            raise ValueError("ci must lie in (0, 1)")
        if self.n_boot < 2:
            raise ValueError("n_boot must be at least 2")
        if self.interval not in ("flip", "bootstrap"):
            raise ValueError(f"unknown interval {self.interval!r}")

    def to_dict(self) -> dict:
        """The settings as plain types."""
        return dataclasses.asdict(self)


ESTIMATOR_DEFAULTS = EstimatorSettings()
"""The discrete estimators' default settings."""
Labels = np.ndarray | Sequence[np.ndarray]


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
        ``"reversal"``, ``"taylor"``, ``"poisson"`` or ``"none"``.
    ci : float
        Confidence level of the interval.
    n_boot : int
        Number of bootstrap replicates.
    bootstrap : str
        Units of the interval: ``"chains"`` (ten or more chains) or ``"blocks"``.
    block_length : int
        Minimum block length in transitions.
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
    p_value : float or None
        p-value of the time-reversal surrogate test of detailed balance (``"reversal"``
        correction only): the share of surrogates with reversed blocks whose plug-in is at
        least the observed one.
    n_blocks : int
        Number of blocks the chains were cut into (reversal surrogates, batch means and the
        block bootstrap).
    regenerative : bool
        Whether the blocks were cut at visits to one reference state (the most visited),
        which makes them independent and exchangeable for a Markov chain; otherwise at fixed
        lengths.
    interval : str
        ``"flip"`` (the law of the error from the reversal surrogates plus the batch-means
        variance of its linear part over chains or blocks) or ``"bootstrap"``.
    settings : EstimatorSettings
        The settings the estimate was made with.
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
    p_value: float | None = None
    interval: str = "bootstrap"
    n_blocks: int = 0
    regenerative: bool = False
    settings: EstimatorSettings = ESTIMATOR_DEFAULTS

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
            "p_value": None if self.p_value is None else float(self.p_value),
            "interval": self.interval,
            "n_blocks": int(self.n_blocks),
            "regenerative": bool(self.regenerative),
            "estimator_settings": self.settings.to_dict(),
        }


@dataclass(frozen=True)
class Discretization:
    """Result of :func:`discretize`.

    Attributes
    ----------
    labels : ndarray of int64, or list of them
        State label of every point, with the leading shape of the input (``[T]`` or
        ``[chains, T]``; a list of ``[T_i]`` arrays for a list of chains).
    centers : ndarray
        Representative point of every state, shape ``[n_states, D]`` (bin centres for the
        grid, cluster centres for k-means, the distinct points for patterns).
    edges : tuple of ndarray or None
        Bin edges along each axis (``bins + 1`` each) for the grid, None for k-means.
    method : str
        ``"grid"``, ``"kmeans"`` or ``"patterns"``.
    n_states : int
        Number of states (``bins ** D``, ``n_clusters`` or the number of distinct points).
    """

    labels: np.ndarray | list[np.ndarray]
    centers: np.ndarray
    edges: tuple[np.ndarray, ...] | None
    method: str
    n_states: int


@dataclass(frozen=True)
class _Chains:
    """Transitions of one or more chains, flattened: ``src[t] -> dst[t]`` in chain
    ``chain[t]``; chains are contiguous and ``lengths`` holds their transition counts."""

    src: np.ndarray
    dst: np.ndarray
    chain: np.ndarray
    lengths: np.ndarray
    n_states: int  # distinct labels, all visited: the states are relabelled 0..n_states-1
    n_declared: int  # the number of states reported: n_states as given, or max label + 1


@dataclass(frozen=True)
class _Transitions:
    """Transitions compressed to the ``K`` distinct observed ordered pairs."""

    index: np.ndarray  # [n] pair index of each transition
    counts: np.ndarray  # [K]
    fwd: np.ndarray  # pair indices (i -> j), i < j, of pairs whose reverse was observed
    bwd: np.ndarray  # pair indices of the matching (j -> i)
    n_one_way: int


def _label_array(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind == "c":
        raise ValueError("state labels must be real integers, got complex values")
    if not np.issubdtype(x.dtype, np.integer):
        if x.dtype.kind not in "fb" or not np.all(np.isfinite(x)) or np.any(x != np.round(x)):
            raise ValueError("traj must hold integer state labels")
    return x.astype(np.int64)


def _as_chains(traj: Labels, n_states: int | None) -> tuple[_Chains, list[np.ndarray]]:
    if isinstance(traj, np.ndarray) or not isinstance(traj, Sequence) or (
            len(traj) > 0 and np.isscalar(traj[0])):
        arr = _label_array(np.asarray(traj))
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise ValueError(f"traj must have shape [T] or [chains, T], got {arr.shape}")
        chains = list(arr)
    else:
        chains = [_label_array(c) for c in traj]
        if any(c.ndim != 1 for c in chains):
            raise ValueError("each chain of a list must be a 1-D array of state labels")
    if not chains:
        raise ValueError("traj holds no chains")
    if any(len(c) < 2 for c in chains):
        raise ValueError("each chain needs at least two time points")
    low = min(int(c.min()) for c in chains)
    if low < 0:
        raise ValueError("state labels must be non-negative")
    top = max(int(c.max()) for c in chains) + 1
    if n_states is None:
        n_states = top
    elif top > n_states:
        raise ValueError(f"label {top - 1} out of range for n_states={n_states}")
    # Relabel the states 0..V-1 in their order: the estimates depend only on which labels are
    # equal and on their order, and arrays sized by the largest label (which may be huge) are
    # avoided.
    labels = np.unique(np.concatenate(chains))
    chains = [np.searchsorted(labels, c) for c in chains]
    lengths = np.array([len(c) - 1 for c in chains], dtype=np.int64)
    src = np.concatenate([c[:-1] for c in chains])
    dst = np.concatenate([c[1:] for c in chains])
    chain = np.repeat(np.arange(len(chains)), lengths)
    return (_Chains(src, dst, chain, lengths, len(labels), int(n_states)),
            chains)


def _transitions(ch: _Chains) -> _Transitions:
    n_states = ch.n_states
    codes = ch.src * n_states + ch.dst
    uniq, inverse = np.unique(codes, return_inverse=True)
    src, dst = uniq // n_states, uniq % n_states
    rev = dst * n_states + src
    pos = np.minimum(np.searchsorted(uniq, rev), len(uniq) - 1)
    has_rev = uniq[pos] == rev
    off_diag = src != dst
    fwd = np.flatnonzero(off_diag & has_rev & (src < dst))
    return _Transitions(
        index=inverse.ravel(),
        counts=np.bincount(inverse.ravel(), minlength=len(uniq)).astype(np.float64),
        fwd=fwd,
        bwd=pos[fwd],
        n_one_way=int(np.count_nonzero(off_diag & ~has_rev)),
    )


def _estimate(
    counts: np.ndarray,
    fwd: np.ndarray,
    bwd: np.ndarray,
    correction: str,
    cov: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Plug-in estimate and the Taylor bias corrections for each row of ``counts`` ([B, K])."""
    n = counts.sum(axis=1)
    a, b = counts[:, fwd], counts[:, bwd]
    both = (a > 0) & (b > 0)
    a = np.where(both, a, 1.0)
    b = np.where(both, b, 1.0)
    plugin = np.where(both, (a - b) * np.log(a / b), 0.0).sum(axis=1) / n
    if correction == "poisson":
        term = 1.0 + 0.5 * (a / b + b / a)
    elif correction == "taylor":
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
        raise ValueError("the 'taylor' bias correction needs at least two batches")
    cols = batch_counts.tocsc()
    a, b = cols[:, fwd], cols[:, bwd]

    def colsum(x):
        return np.asarray(x.sum(axis=0)).ravel()

    sum_a, sum_b = colsum(a), colsum(b)
    scale = m / (m - 1)
    var_a = scale * (colsum(a.multiply(a)) - sum_a**2 / m)
    var_b = scale * (colsum(b.multiply(b)) - sum_b**2 / m)
    cov_ab = scale * (colsum(a.multiply(b)) - sum_a * sum_b / m)
    return var_a[None, :], var_b[None, :], cov_ab[None, :]


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


def _autocorrelation_time(tr: _Transitions, plugin: float) -> float:
    """Integrated autocorrelation time of each transition's influence on the plug-in estimate
    (chains concatenated)."""
    score = np.full(len(tr.counts), -plugin)
    a, b = tr.counts[tr.fwd], tr.counts[tr.bwd]
    score[tr.fwd] += np.log(a / b) + 1 - b / a
    score[tr.bwd] += np.log(b / a) + 1 - a / b
    return _integrated_autocorrelation(score[tr.index][None, :])


def _default_block_length(ch: _Chains, tau: float, markov: bool) -> int:
    """Minimum block length. Markov labels: regeneration blocks are independent whatever their
    length, so only the number of blocks is capped (``N / 2000``). Otherwise ``max(sqrt(T),
    5 tau)`` with ``T`` the median chain length. At most a quarter of the longest chain."""
    if markov:
        block = math.ceil(float(ch.lengths.sum()) / _MAX_BLOCKS)
    else:
        block = max(math.ceil(math.sqrt(float(np.median(ch.lengths)))), math.ceil(5 * tau))
    return int(min(max(block, 1), max(1, int(ch.lengths.max()) // 4)))


def _resolve_correction(bias_correction: BiasCorrection) -> str:
    if bias_correction is True:
        return "reversal"
    if bias_correction is False or bias_correction is None or bias_correction == "none":
        return "none"
    if bias_correction in ("reversal", "taylor", "poisson"):
        return str(bias_correction)
    raise ValueError(f"unknown bias_correction {bias_correction!r}")


@dataclass(frozen=True)
class _Blocks:
    """Transitions cut into blocks that end where the chain visits a reference state.

    ``block`` is the block of every transition; ``m_b`` / ``d_b`` hold each block's total and
    net count of every unordered pair ``[B, K]`` (``i < j``; net count ``n_ij - n_ji``),
    ``length`` its number of transitions (self-transitions included), ``chain`` its chain;
    ``regenerative`` whether the cuts are at visits to ``reference`` (else at fixed lengths)."""

    block: np.ndarray
    m_b: sparse.csr_matrix
    d_b: sparse.csr_matrix
    length: np.ndarray
    chain: np.ndarray
    reference: int
    regenerative: bool


def _cut_points(visits: np.ndarray, length: int, block: int) -> list[int]:
    """Starts of blocks of at least ``block`` transitions, each at a visit (greedy)."""
    cuts = [0]
    while True:
        i = int(np.searchsorted(visits, cuts[-1] + block))
        if i >= len(visits):
            break
        cuts.append(int(visits[i]))
    if len(cuts) > 1 and length - cuts[-1] < block // 2:
        cuts.pop()  # a short tail joins the previous block
    return cuts


def _blocks(ch: _Chains, block: int, states: list[np.ndarray]) -> _Blocks:
    """Blocks of at least ``block`` transitions cut at visits to the most visited state
    (regeneration times of a Markov chain); fixed-length blocks when that gives fewer than
    two blocks."""
    visits = np.bincount(np.concatenate([s[:-1] for s in states]), minlength=ch.n_states)
    reference = int(np.argmax(visits))
    starts = np.concatenate([[0], np.cumsum(ch.lengths)[:-1]])
    block_of = np.empty(int(ch.lengths.sum()), dtype=np.int64)
    first = 0
    chains = []
    regenerative = True
    cuts_all = [_cut_points(np.flatnonzero(s[:-1] == reference), len(s) - 1, block)
                for s in states]
    if sum(len(c) for c in cuts_all) < 2:
        regenerative = False
        cuts_all = [list(range(0, len(s) - 1, max(1, block))) for s in states]
        cuts_all = [c[:-1] if len(c) > 1 and len(s) - 1 - c[-1] < block // 2 else c
                    for c, s in zip(cuts_all, states, strict=True)]
    for c, cuts in enumerate(cuts_all):
        length = int(ch.lengths[c])
        local = np.searchsorted(np.asarray(cuts), np.arange(length), side="right") - 1
        n_own = len(cuts)
        if regenerative and n_own >= 2:
            # the piece before the first visit and the piece after the last cut are
            # exchanged by reversing the whole chain: only together do they form a block
            # whose law is symmetric under reversal
            local[local == n_own - 1] = 0
            n_own -= 1
        block_of[starts[c]:starts[c] + length] = first + local
        chains += [c] * n_own
        first += n_own
    off = ch.src != ch.dst
    lo, hi = np.minimum(ch.src, ch.dst)[off], np.maximum(ch.src, ch.dst)[off]
    _, upair = np.unique(lo * ch.n_states + hi, return_inverse=True)
    k = int(upair.max()) + 1 if upair.size else 0
    sign = np.where(ch.src[off] < ch.dst[off], 1.0, -1.0)
    m_b = sparse.csr_matrix((np.ones(len(upair)), (block_of[off], upair)), shape=(first, k))
    d_b = sparse.csr_matrix((sign, (block_of[off], upair)), shape=(first, k))
    length = np.bincount(block_of, minlength=first).astype(np.float64)
    return _Blocks(block_of, m_b, d_b, length, np.asarray(chains), reference, regenerative)


def _pair_term(m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``(a - b) ln(a / b)`` with ``a = (m + d) / 2``, ``b = (m - d) / 2``; 0 unless both > 0."""
    a, b = (m + d) / 2, (m - d) / 2
    both = (a > 0.5) & (b > 0.5)
    return np.where(both, d * np.log(np.where(both, a, 1.0) / np.where(both, b, 1.0)), 0.0)


def _pair_gradients(m: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``df/dm`` and ``df/dd`` of :func:`_pair_term` (0 unless both directions > 0)."""
    a, b = (m + d) / 2, (m - d) / 2
    both = (a > 0.5) & (b > 0.5)
    a, b = np.where(both, a, 1.0), np.where(both, b, 1.0)
    grad_m = np.where(both, -d * d / (2 * a * b), 0.0)
    grad_d = np.where(both, np.log(a / b) + d * m / (2 * a * b), 0.0)
    return grad_m, grad_d


@dataclass(frozen=True)
class _Reversal:
    plugin: float
    value: float
    p_value: float
    quad: np.ndarray  # surrogate deviations (law of the quadratic error), scaled
    extra_var: float  # variance of the linear part beyond what the surrogates carry
    mc_var: float  # Monte Carlo variance of the surrogate mean


def _reversal(m_b: sparse.csr_matrix, d_b: sparse.csr_matrix, length: np.ndarray,
              units: sparse.csr_matrix | None, n_surrogates: int,
              rng: np.random.Generator) -> _Reversal:
    """Reversal-corrected estimate of the data made of blocks ``(m_b, d_b)``, the
    time-reversal p-value, and the ingredients of the law of its error.

    The error is the sum of a quadratic part, whose law under detailed balance is that of the
    surrogates around their mean, and a linear part (the response of the estimate to each
    unit of data, ``units`` [n_units, n_blocks]: chains or blocks), whose variance is
    estimated by batch means over units minus its mean over the surrogates (the part of it
    that is noise of the quadratic kind, already counted). ``units=None`` skips the linear
    part (bootstrap replicates)."""
    n_blocks, k = m_b.shape
    if n_blocks < 2:
        raise ValueError("the reversal bias correction needs at least two blocks of transitions")
    n = float(length.sum())
    b_eff = n**2 / float(np.sum(length**2))
    scale = b_eff / (b_eff - 1)
    m = np.asarray(m_b.sum(axis=0)).ravel()
    d = np.asarray(d_b.sum(axis=0)).ravel()
    plugin = float(_pair_term(m, d).sum() / n)

    def linear_variance(grad_m, grad_d, signs, plug):
        """Batch-means variance over units of each row's linear response, [R]."""
        g = (np.asarray(m_b @ grad_m.T).T + signs * np.asarray(d_b @ grad_d.T).T
             - plug[:, None] * length[None, :]) / n
        g_units = np.asarray(units @ g.T).T
        centred = g_units - g_units.mean(axis=1, keepdims=True)
        n_units = units.shape[0]
        return n_units / max(n_units - 1, 1) * np.sum(centred**2, axis=1)

    var_lin = 0.0
    if units is not None:
        gm, gd = _pair_gradients(m, d)
        var_lin = float(linear_variance(gm[None], gd[None], np.ones((1, n_blocks)),
                                        np.array([plugin]))[0])
    surr = np.empty(n_surrogates)
    var_lin_null = np.zeros(n_surrogates)
    chunk = max(1, _MAX_BOOT_CELLS // max(k, n_blocks, 1))
    d_t = d_b.T.tocsr()
    for start in range(0, n_surrogates, chunk):
        stop = min(n_surrogates, start + chunk)
        signs = rng.integers(0, 2, size=(stop - start, n_blocks)) * 2.0 - 1.0
        d_star = np.asarray(d_t @ signs.T).T
        plug_star = _pair_term(m[None, :], d_star).sum(axis=1) / n
        surr[start:stop] = plug_star
        if units is not None:
            gm_s, gd_s = _pair_gradients(m[None, :], d_star)
            var_lin_null[start:stop] = linear_variance(gm_s, gd_s, signs, plug_star)
    # surrogates equal to the data up to summation order (e.g. every block's net counts
    # zero, or one block carrying all) differ from it by rounding only
    tol = 1e-10 * abs(plugin)
    surr = np.where(np.abs(surr - plugin) <= tol, plugin, surr)
    diffs = plugin - surr
    value = scale * float(diffs.mean())
    p_value = (1 + int(np.count_nonzero(surr >= plugin))) / (1 + n_surrogates)
    quad = scale * (diffs.mean() - diffs)  # surrogate minus its mean
    extra = max(0.0, var_lin - float(var_lin_null.mean())) * scale**2
    mc = float(quad.var(ddof=1)) / n_surrogates if n_surrogates > 1 else 0.0
    return _Reversal(plugin, value, p_value, quad, extra, mc)


def _group_counts(index: np.ndarray, group: np.ndarray, n_groups: int, k: int):
    ones = np.ones(index.size)
    return sparse.csr_matrix((ones, (group.ravel(), index.ravel())), shape=(n_groups, k))


def _replicate(rng: np.random.Generator, bl: _Blocks, chain_mode: bool) -> np.ndarray:
    """Blocks of one bootstrap resample: whole chains, or blocks, drawn with replacement."""
    if chain_mode:
        n_chains = int(bl.chain.max()) + 1
        order = np.argsort(bl.chain, kind="stable")
        bounds = np.searchsorted(bl.chain[order], np.arange(n_chains + 1))
        chosen = rng.integers(0, n_chains, size=n_chains)
        return np.concatenate([order[bounds[c]:bounds[c + 1]] for c in chosen])
    return rng.integers(0, len(bl.length), size=len(bl.length))


class _Estimate(NamedTuple):
    """An estimate and the deviations its interval is read from."""

    plugin: float
    value: float
    bias: float
    se: float
    deviations: np.ndarray
    p_value: float | None


def _observed(traj: Labels, n_states: int | None
              ) -> tuple[_Chains, list[np.ndarray], _Transitions]:
    """The chains, their state labels and their transition counts, refusing data with too few
    transitions between states."""
    ch, states = _as_chains(traj, n_states)
    if ch.n_states < 2:
        raise ValueError("the trajectory visits a single state: no transitions between "
                         "states to estimate entropy production from")
    if int(ch.lengths.sum()) < 8:
        raise ValueError("need at least 8 transitions to estimate entropy production")
    return ch, states, _transitions(ch)


def _block_plan(ch: _Chains, tr: _Transitions, states: list[np.ndarray],
                block_length: int | None, markov: bool) -> tuple[float, int, _Blocks]:
    """The autocorrelation time of the estimate, the block length and the blocks."""
    plugin0, _ = _estimate(tr.counts[None, :], tr.fwd, tr.bwd, "none")
    tau = _autocorrelation_time(tr, float(plugin0[0]))
    if block_length is None:
        block = _default_block_length(ch, tau, markov)
    else:
        block = int(min(max(1, block_length), int(ch.lengths.max())))
    return tau, block, _blocks(ch, block, states)


def _reversal_estimate(bl: _Blocks, chain_mode: bool, interval: str,
                       settings: EstimatorSettings, rng: np.random.Generator) -> _Estimate:
    """The reversal-corrected estimate, with the flip or bootstrap law of its error."""
    if chain_mode:
        units = sparse.csr_matrix((np.ones(len(bl.chain)), (bl.chain, np.arange(
            len(bl.chain)))))
    else:
        units = sparse.identity(len(bl.length), format="csr")
    point = _reversal(bl.m_b, bl.d_b, bl.length, units if interval == "flip" else None,
                      settings.n_surrogates, rng)
    if interval == "flip":
        # error = quadratic part (surrogate law) + linear part (Student t, units - 1 df)
        dof = max(units.shape[0] - 1, 1)
        draws = 25
        noise = rng.standard_t(dof, size=(len(point.quad), draws)) * math.sqrt(
            point.extra_var + point.mc_var)
        deviations = -(point.quad[:, None] + noise).ravel()
        se = math.sqrt(float(point.quad.var(ddof=1)) + point.extra_var + point.mc_var)
        return _Estimate(point.plugin, point.value, point.plugin - point.value, se, deviations,
                         point.p_value)
    per_rep = int(min(settings.n_surrogates, 20))
    boot = np.empty(settings.n_boot)
    mc = np.empty(settings.n_boot)
    for r in range(settings.n_boot):
        rows = _replicate(rng, bl, chain_mode)
        rep = _reversal(bl.m_b[rows], bl.d_b[rows], bl.length[rows], None, per_rep, rng)
        boot[r], mc[r] = rep.value, rep.mc_var
    spread = float(np.var(boot, ddof=1))
    sampling = max(spread - float(mc.mean()), 1e-300)
    shrink = math.sqrt(sampling / spread) if spread > 0 else 1.0
    inflate = math.sqrt((sampling + point.mc_var) / sampling)
    deviations = (boot - boot.mean()) * shrink * inflate
    return _Estimate(point.plugin, point.value, point.plugin - point.value,
                     math.sqrt(sampling + point.mc_var), deviations, point.p_value)


def _bootstrap_estimate(tr: _Transitions, bl: _Blocks, chain_mode: bool, correction: str,
                        n_boot: int, rng: np.random.Generator) -> _Estimate:
    """The plug-in with a Taylor correction (or none) and its bootstrap replicates."""
    cov = None
    per_block = _group_counts(tr.index, bl.block, len(bl.length), len(tr.counts))
    if correction == "taylor":
        cov = _batch_covariance(per_block, tr.fwd, tr.bwd)
    plugin_arr, bias_arr = _estimate(tr.counts[None, :], tr.fwd, tr.bwd, correction, cov)
    plugin, bias = float(plugin_arr[0]), float(bias_arr[0])
    value = plugin - bias
    boot = np.empty(n_boot)
    for r in range(n_boot):
        rows = _replicate(rng, bl, chain_mode)
        counts = np.bincount(rows, minlength=len(bl.length)).astype(np.float64)
        counts = np.asarray(per_block.T @ counts)[None, :]
        p_r, b_r = _estimate(counts, tr.fwd, tr.bwd, correction, cov)
        boot[r] = p_r[0] - b_r[0]
    # Replicates are centred on the estimate of the resampled world, which carries a second
    # layer of estimation bias; the interval keeps their spread around ``value``.
    return _Estimate(plugin, value, bias, float(np.std(boot, ddof=1)), boot - boot.mean(), None)


def _notes(coarse_grained: bool, n_one_way: int, short_blocks: bool, block: int, tau: float,
           correction: str, closes_no_cycle: bool) -> list[str]:
    """What the reader of an estimate should know about it."""
    notes = []
    if coarse_grained:
        notes.append(
            "coarse-grained: estimates a lower bound of the entropy production per step of the "
            "underlying process (data-processing inequality on forward vs reversed pairs)"
        )
    if n_one_way > 0:
        notes.append(
            f"{n_one_way} pair(s) observed in one direction only contribute nothing; if such "
            "transitions are truly irreversible the entropy production is infinite"
        )
    if short_blocks:
        notes.append(
            f"blocks of {block} transitions are not long compared with the autocorrelation "
            f"time ({tau:.0f} transitions): the bias correction and interval are unreliable; "
            "record longer or more trials"
        )
    if closes_no_cycle:
        notes.append("no block carries a net flux that reversing it could change (the "
                     "observed transitions close no cycle): these data cannot show "
                     "irreversibility, whatever its size")
    if correction in ("poisson", "taylor"):
        notes.append("the Taylor bias corrections over-correct pairs seen a few times (sparse "
                     "regime) and, 'poisson', chains with few cycles; use 'reversal'")
    return notes


def _run(traj: Labels, n_states: int | None, settings: EstimatorSettings,
         coarse_grained: bool, markov: bool = True) -> DiscreteEntropyProduction:
    correction = _resolve_correction(settings.bias_correction)
    ch, states, tr = _observed(traj, n_states)
    n_chains = len(ch.lengths)
    rng = np.random.default_rng(settings.seed)
    chain_mode = n_chains >= MIN_CHAINS_FOR_CHAIN_BOOTSTRAP
    tau, block, bl = _block_plan(ch, tr, states, settings.block_length, markov)
    interval = settings.interval if correction == "reversal" else "bootstrap"
    est = (_reversal_estimate(bl, chain_mode, interval, settings, rng)
           if correction == "reversal"
           else _bootstrap_estimate(tr, bl, chain_mode, correction, settings.n_boot, rng))
    alpha = (1 - settings.ci) / 2
    low, high = est.value + np.quantile(est.deviations, [alpha, 1 - alpha])
    notes = _notes(coarse_grained, tr.n_one_way,
                   not (markov and bl.regenerative) and block < 5 * tau, block, tau, correction,
                   correction == "reversal" and high - low <= 1e-12 * max(abs(est.plugin),
                                                                          1e-300))
    return DiscreteEntropyProduction(
        value=float(est.value),
        ci_low=float(low),
        ci_high=float(high),
        se=float(est.se),
        plugin=float(est.plugin),
        bias=float(est.bias),
        bias_correction=correction,
        ci=float(settings.ci),
        n_boot=int(settings.n_boot),
        bootstrap="chains" if chain_mode else "blocks",
        block_length=block,
        n_transitions=int(ch.lengths.sum()),
        n_chains=int(n_chains),
        n_states=ch.n_declared,
        n_states_visited=ch.n_states,
        n_pairs=int(len(tr.fwd)),
        n_one_way_pairs=tr.n_one_way,
        coarse_grained=coarse_grained,
        lower_bound=coarse_grained,
        note="; ".join(notes),
        p_value=est.p_value,
        interval=interval,
        n_blocks=len(bl.length),
        regenerative=bl.regenerative,
        settings=settings,
    )


def entropy_production_discrete(
    traj: Labels,
    *,
    n_states: int | None = None,
    markov: bool = True,
    settings: EstimatorSettings = ESTIMATOR_DEFAULTS,
    **changes,
) -> DiscreteEntropyProduction:
    """Entropy production per step of a stationary Markov chain from an observed trajectory.

    Parameters
    ----------
    traj : array_like of int, or list of 1-D arrays
        State labels, shape ``[T]`` (one chain), ``[chains, T]`` (independent chains of equal
        length) or a list of ``[T_i]`` arrays (chains of different lengths, e.g. trials);
        each chain is assumed stationary.
    n_states : int, optional
        Size of the state space (default: largest label + 1).
    markov : bool
        Whether the labels are a Markov chain. Then blocks cut at visits to the reference
        state are independent whatever their length, and the default ``block_length`` only
        caps their number at 2000. Set False for labels that lump the states of a finer
        process (they are not Markov): blocks then default to ``max(sqrt(T), 5 tau)``.
    settings : EstimatorSettings
        Bias correction, interval, resampling and seed (:class:`EstimatorSettings`).
    **changes
        Fields of ``settings`` to change (``seed=3, n_boot=100``).

    Returns
    -------
    DiscreteEntropyProduction
        ``value`` in nats/step with its interval, standard error, counts and ``p_value``.

    Raises
    ------
    ValueError
        For labels that are not non-negative integers, chains shorter than two points, or a
        trajectory that never leaves one state.

    Notes
    -----
    The estimate is ``sum_{i != j} (n_ij / N) ln(n_ij / n_ji)`` over pairs observed in both
    directions, minus the bias correction (see the module documentation for its derivation).
    If the labelled process is a lumping of a finer process (not Markov itself), the estimate
    targets the divergence between forward and reversed label pairs, which lower-bounds the
    entropy production of the finer process.
    """
    return _run(traj, n_states, dataclasses.replace(settings, **changes), False, markov)


def _as_points(x) -> np.ndarray | list[np.ndarray]:
    if isinstance(x, np.ndarray) or not isinstance(x, Sequence):
        x = np.asarray(x)
        if x.dtype.kind == "c":
            raise ValueError("x must be real, got complex values")
        x = x.astype(np.float64)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim not in (2, 3):
            raise ValueError(f"x must have shape [T, D] or [chains, T, D], got {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("x must be finite")
        return x
    chains = [np.asarray(c, dtype=np.float64) for c in x]
    chains = [c[:, None] if c.ndim == 1 else c for c in chains]
    if any(c.ndim != 2 for c in chains) or len({c.shape[1] for c in chains}) != 1:
        raise ValueError("a list of chains must hold [T_i, D] arrays with the same D")
    if not all(np.all(np.isfinite(c)) for c in chains):
        raise ValueError("x must be finite")
    return chains


def discretize(
    x: np.ndarray | Sequence[np.ndarray],
    *,
    method: Literal["auto", "grid", "kmeans", "patterns"] = "auto",
    bins: int = 10,
    n_clusters: int = 50,
    seed: int = 0,
) -> Discretization:
    """Map a continuous trajectory to discrete state labels.

    Parameters
    ----------
    x : array_like or list of arrays
        Points, shape ``[T, D]`` or ``[chains, T, D]`` (``[T]`` is read as ``D = 1``), or a
        list of ``[T_i, D]`` chains.
    method : {"auto", "grid", "kmeans"}
        ``"grid"``: ``bins`` equal bins per axis over the data range, labels are flat
        (row-major) bin indices; ``"kmeans"``: k-means with ``n_clusters`` centres fitted on
        at most 20000 randomly chosen points, then assigned to all points; ``"patterns"``:
        every distinct point (e.g. a vector of spike counts) is a state. ``"auto"`` picks the
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
        ``labels`` with the leading shape of ``x`` (a list for a list), ``centers``
        ``[n_states, D]`` and the grid ``edges`` (None for k-means).
    """
    x = _as_points(x)
    if isinstance(x, list):
        sizes = np.cumsum([len(c) for c in x])[:-1]
        disc = discretize(np.concatenate(x), method=method, bins=bins, n_clusters=n_clusters,
                          seed=seed)
        return Discretization(np.split(disc.labels, sizes), disc.centers, disc.edges,
                              disc.method, disc.n_states)
    lead, dim = x.shape[:-1], x.shape[-1]
    points = x.reshape(-1, dim)
    if method == "auto":
        method = "grid" if dim <= 2 else "kmeans"
    if method == "patterns":
        patterns, labels = np.unique(points, axis=0, return_inverse=True)
        return Discretization(labels.reshape(lead).astype(np.int64), patterns, None,
                              "patterns", len(patterns))
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
    x: np.ndarray | Sequence[np.ndarray],
    *,
    method: Literal["auto", "grid", "kmeans", "patterns"] = "auto",
    bins: int = 10,
    n_clusters: int = 50,
    settings: EstimatorSettings = ESTIMATOR_DEFAULTS,
    **changes,
) -> DiscreteEntropyProduction:
    """Coarse-grained entropy production of a continuous stationary trajectory.

    Discretises ``x`` with :func:`discretize` and estimates the entropy production of the
    labels with :func:`entropy_production_discrete`.

    Parameters
    ----------
    x : array_like or list of arrays
        Points, shape ``[T, D]`` or ``[chains, T, D]``, or a list of ``[T_i, D]`` chains.
    method, bins, n_clusters
        Passed to :func:`discretize`.
    settings : EstimatorSettings
        As in :func:`entropy_production_discrete`; its ``seed`` also seeds the
        discretisation.
    **changes
        Fields of ``settings`` to change.

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
    tighten the bound but need longer trajectories.
    """
    settings = dataclasses.replace(settings, **changes)
    disc = discretize(x, method=method, bins=bins, n_clusters=n_clusters, seed=settings.seed)
    return _run(disc.labels, disc.n_states, settings, True, markov=False)
