"""How fast a chain mixes: integrated autocorrelation time, effective samples, split-R-hat and
the rate at which it switches between modes or classes.

All estimators take several chains (trials) of a stationary-looking run, ``[C, T, D]`` or a
list of ``[T_i, D]`` arrays, and vectorise over chains and coordinates.

* :func:`integrated_autocorrelation_time` -- ``tau = 1 + 2 sum_{k>=1} rho_k`` per coordinate,
  from the multi-chain autocorrelation of Stan and ArviZ (within-chain autocovariances
  combined with the between-chain variance, so chains stuck in different places show a long
  autocorrelation) truncated by Geyer's initial monotone sequence. Its own convergence check
  is Sokal's: the estimate is trustworthy when the chains are at least ``50 tau`` long.
* :func:`split_rhat` -- rank-normalised split-R-hat (Vehtari, Gelman, Simpson, Carpenter and
  Buerkner 2021): the larger of the bulk and the folded (tail) statistic; 1 for chains that
  have mixed, above 1.01 for chains that disagree.
* :func:`switching_rate` -- transitions between labelled modes or classes per step, with
  milestoning: a step that belongs to no mode (label ``-1``) keeps the last mode visited, so
  noise at a boundary is not counted as switching.
* :func:`mixing_diagnostics` -- all of them on one run, with effective samples per transition
  and per second, as one :class:`Mixing` record.

For an AR(1) chain ``x' = rho x + noise`` the IAT is ``(1 + rho) / (1 - rho)``; for a finite
Markov chain :func:`exact_iat` and :func:`exact_switching_rate` give both from the transition
matrix (the tests' oracles).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special, stats
from scipy.linalg import solve_discrete_lyapunov

__all__ = [
    "IAT_METHODS", "RELIABLE_LENGTH", "Mixing", "Switching", "exact_iat", "exact_iat_linear",
    "exact_switching_rate",
    "integrated_autocorrelation_time", "mixing_diagnostics", "mixing_line", "split_rhat",
    "switching_rate",
]

RELIABLE_LENGTH = 50
"""Sokal's rule: an IAT estimate is trustworthy when each chain is at least this many IATs
long."""


def _as_array_chains(chains: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    """A list of ``[T_i, D]`` float64 arrays from ``[T]``, ``[T, D]``, ``[C, T, D]`` or a list."""
    if isinstance(chains, np.ndarray):
        a = np.asarray(chains, dtype=np.float64)
        if a.ndim == 1:
            return [a[:, None]]
        if a.ndim == 2:
            return [a]
        if a.ndim == 3:
            return list(a)
        raise ValueError(f"chains must have shape [T, D] or [C, T, D], got {a.shape}")
    out = []
    for c in chains:
        a = np.asarray(c, dtype=np.float64)
        out.append(a[:, None] if a.ndim == 1 else a)
    if not out or any(c.ndim != 2 for c in out) or len({c.shape[1] for c in out}) != 1:
        raise ValueError("chains must be a non-empty list of [T_i, D] arrays with the same D")
    return out


def _autocovariances(chains: list[np.ndarray], pooled: bool
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lagged products summed over chains, and what to divide them by, per lag.

    Returns ``(acov_sum [L, D], pairs [L], means [C, D])``: ``acov_sum[t]`` is
    ``sum_c sum_i x_ci x_c,i+t`` over the chains longer than ``t``, centred on each chain's
    mean (Stan) or, when ``pooled``, on the mean of all chains; ``pairs[t]`` is the sum of
    those chains' lengths (Stan's biased autocovariance) or, when ``pooled``, the number of
    products, ``sum_c (n_c - t)``.
    """
    longest = max(len(c) for c in chains)
    dim = chains[0].shape[1]
    acov = np.zeros((longest, dim))
    weight = np.zeros(longest)
    means = np.stack([c.mean(0) for c in chains])
    lengths = np.array([len(c) for c in chains], dtype=np.float64)
    centres = (np.broadcast_to((lengths[:, None] * means).sum(0) / lengths.sum(), means.shape)
               if pooled else means)
    by_length: dict[int, list[int]] = {}
    for i, c in enumerate(chains):
        by_length.setdefault(len(c), []).append(i)
    for n, idx in by_length.items():
        x = np.stack([chains[i] for i in idx]) - centres[idx][:, None, :]  # [c, n, D]
        size = 1 << (2 * n - 1).bit_length()
        f = np.fft.rfft(x, n=size, axis=1)
        ac = np.fft.irfft(f * np.conj(f), n=size, axis=1)[:, :n]          # sum_i x_i x_{i+t}
        acov[:n] += ac.sum(0)
        weight[:n] += (n - np.arange(n) if pooled else n) * len(idx)
    return acov, weight, means


def _pooled_autocorrelation(chains: list[np.ndarray]) -> np.ndarray:
    """Autocorrelation ``rho_t`` ``[L, D]`` of all chains centred on their common mean, each
    lag's products divided by their number. Chains that sit in different places keep a
    positive autocorrelation at every lag, and the bias of centring on a chain's own mean
    (about ``-tau / n`` at every lag, which adds up over a long window) is avoided."""
    acov_sum, pairs, _ = _autocovariances(chains, pooled=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (acov_sum / pairs[:, None]) / (acov_sum[0] / pairs[0])
    rho[0] = 1.0
    return np.nan_to_num(rho, nan=0.0)


def _autocorrelation(chains: list[np.ndarray]) -> np.ndarray:
    """Multi-chain autocorrelation ``rho_t`` ``[L, D]``: Stan's combination of within- and
    between-chain variance (with equal lengths exactly Stan's and ArviZ's)."""
    acov_sum, pairs, means = _autocovariances(chains, pooled=False)
    lengths = np.array([len(c) for c in chains], dtype=np.float64)
    n_total = lengths.sum()
    biased_within = acov_sum[0] / n_total                        # mean_c acov_c(0)
    # unbiased within-chain variance W = sum_c n_c s_c^2 / N, s_c^2 = n_c/(n_c-1) acov_c(0)
    chain_var0 = np.stack([((c - c.mean(0)) ** 2).mean(0) for c in chains])   # [C, D]
    w_unbiased = (lengths[:, None] ** 2 / (lengths[:, None] - 1) * chain_var0).sum(0) / n_total
    if len(chains) > 1:
        grand = (lengths[:, None] * means).sum(0) / n_total
        between = (lengths[:, None] * (means - grand) ** 2).sum(0) / n_total
        between *= len(chains) / (len(chains) - 1)
    else:
        between = np.zeros_like(biased_within)
    var_plus = biased_within + between
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_acov = acov_sum / pairs[:, None]
        rho = 1.0 - (w_unbiased - mean_acov) / var_plus
    rho[0] = 1.0
    return np.nan_to_num(rho, nan=0.0)


def _geyer_tau(rho: np.ndarray, n_total: int) -> np.ndarray:
    """``tau = -1 + 2 sum_k P_k`` over Geyer's initial monotone sequence of
    ``P_k = rho_2k + rho_2k+1``, per column of ``rho`` ``[L, D]``."""
    pairs = rho.shape[0] // 2
    p = rho[:2 * pairs:2] + rho[1:2 * pairs:2]                   # [K, D]
    if pairs == 0:
        return np.ones(rho.shape[1])
    positive = np.cumprod(p > 0, axis=0).astype(bool)           # initial positive sequence
    p = np.where(positive, p, 0.0)
    p = np.minimum.accumulate(np.where(positive, p, np.inf), axis=0)
    p = np.where(positive, p, 0.0)
    tau = -1.0 + 2.0 * p.sum(0)
    return np.maximum(tau, 1.0 / math.log10(max(n_total, 10)))


def _sokal_tau(rho: np.ndarray, n_total: int, c: float = 5.0) -> np.ndarray:
    """``tau = 1 + 2 sum_{k=1}^{M} rho_k`` with Sokal's window, the smallest ``M`` with
    ``M >= c tau_abs(M)``, where ``tau_abs(M) = 1 + 2 sum_{k<=M} |rho_k|`` (the window of a
    chain whose autocorrelation oscillates must span its envelope, not its signed sum), per
    column of ``rho`` ``[L, D]`` (the longest window when none qualifies)."""
    taus = 1.0 + 2.0 * np.cumsum(rho[1:], axis=0)                 # tau_M for M = 1..L-1
    if taus.shape[0] == 0:
        return np.ones(rho.shape[1])
    envelope = 1.0 + 2.0 * np.cumsum(np.abs(rho[1:]), axis=0)
    m = np.arange(1, taus.shape[0] + 1)[:, None]
    ok = m >= c * envelope
    window = np.where(ok.any(0), ok.argmax(0), taus.shape[0] - 1)
    tau = taus[window, np.arange(taus.shape[1])]
    return np.maximum(tau, 1.0 / math.log10(max(n_total, 10)))


IAT_METHODS = {"sokal": (_sokal_tau, _pooled_autocorrelation),
               "geyer": (_geyer_tau, _autocorrelation)}
"""How the autocorrelations are summed: Sokal's adaptive window, sized by the envelope of the
autocorrelation (valid for reversible and non-reversible chains alike) or Geyer's initial
monotone sequence (Stan's and ArviZ's; it assumes a reversible chain, whose pair sums
``rho_2k + rho_2k+1`` are positive, and over-estimates the IAT of a chain that rotates).
Each entry: ``(sum, autocorrelation)``: Sokal's window sums the pooled autocorrelation (all
chains centred on one mean, so the long window adds no centring bias), Geyer's Stan's
multi-chain one."""


def integrated_autocorrelation_time(chains: np.ndarray | Sequence[np.ndarray],
                                    method: str = "sokal") -> np.ndarray:
    """Integrated autocorrelation time of every coordinate, in steps.

    Parameters
    ----------
    chains : ndarray or sequence of ndarray
        ``[T]``, ``[T, D]``, ``[C, T, D]`` or a list of ``[T_i, D]`` chains (at least 4
        steps each).
    method : str
        A key of :data:`IAT_METHODS`: ``sokal`` (default) or ``geyer``.

    Returns
    -------
    ndarray
        ``[D]``: ``tau_d = 1 + 2 sum_{k>=1} rho_k``; the effective number of samples of
        coordinate ``d`` is ``sum_i T_i / tau_d``.

    Notes
    -----
    The chains are split in halves (so a drift within a chain reads as slow mixing). Sokal's
    method sums the autocorrelation of all half-chains centred on their common mean over an
    adaptive window (``c = 5`` times the envelope ``1 + 2 sum |rho_k|``); Geyer's sums Stan's
    multi-chain autocorrelation, ``rho_t = 1 - (W - mean_c acov_c(t)) / var_plus``, over
    Geyer's initial monotone sequence. Geyer's truncation assumes reversibility: for the rotating
    chain ``x' = 0.78 R(40 deg) x + noise`` it gives 2.2 where the exact IAT is 0.95, so
    Sokal's window is the default for the non-equilibrium chains this package studies. A
    coordinate that never changes has ``tau = 1`` by convention. With equal lengths and
    ``method="geyer"``, ``sum_i T_i / tau`` is ArviZ's ``ess(method="mean")``.
    """
    cs = _as_array_chains(chains)
    if min(len(c) for c in cs) < 4:
        raise ValueError("every chain needs at least 4 steps for an autocorrelation time")
    if method not in IAT_METHODS:
        raise ValueError(f"method must be one of {', '.join(IAT_METHODS)}, got {method!r}")
    halves = [h for c in cs for h in (c[:len(c) // 2], c[len(c) - len(c) // 2:])]
    summed, autocorrelation = IAT_METHODS[method]
    return summed(autocorrelation(halves), sum(len(c) for c in cs))


def _rank_normal(x: np.ndarray) -> np.ndarray:
    """Normal scores of the pooled ranks of ``x`` ``[C, T, D]`` per coordinate."""
    flat = x.reshape(-1, x.shape[-1])
    r = stats.rankdata(flat, axis=0)
    z = special.ndtri((r - 0.375) / (flat.shape[0] + 0.25))
    return z.reshape(x.shape)


def _rhat(x: np.ndarray) -> np.ndarray:
    """Classic R-hat of chains ``[C, T, D]`` per coordinate."""
    n = x.shape[1]
    means = x.mean(1)
    within = x.var(1, ddof=1).mean(0)
    between = n * means.var(0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.sqrt(((n - 1) / n * within + between / n) / within)
    return np.where(within > 0, r, np.where(between > 0, np.inf, 1.0))


def split_rhat(chains: np.ndarray | Sequence[np.ndarray], rank: bool = True) -> np.ndarray:
    """Split-R-hat of every coordinate.

    Parameters
    ----------
    chains : ndarray or sequence of ndarray
        As for :func:`integrated_autocorrelation_time`; chains of different lengths are cut
        to the shortest (at least 4 steps).
    rank : bool
        Rank-normalised (bulk and folded tail, the larger of the two; Vehtari et al. 2021),
        else the classic split statistic (Gelman et al., BDA3).

    Returns
    -------
    ndarray
        ``[D]``; values near 1 mean the half-chains agree.
    """
    cs = _as_array_chains(chains)
    n = min(len(c) for c in cs)
    if n < 4:
        raise ValueError("every chain needs at least 4 steps for split-R-hat")
    half = n // 2
    x = np.stack([c[:n] for c in cs])
    x = np.concatenate([x[:, :half], x[:, n - half:]], axis=0)      # split chains
    if not rank:
        return _rhat(x)
    bulk = _rhat(_rank_normal(x))
    folded = np.abs(x - np.median(x.reshape(-1, x.shape[-1]), axis=0))
    tail = _rhat(_rank_normal(folded))
    return np.maximum(bulk, tail)


@dataclass(frozen=True)
class Switching:
    """Switches between labelled modes or classes along chains.

    Attributes
    ----------
    rate : float
        Switches per transition (all chains pooled).
    se : float
        Standard error of ``rate`` from the spread of the chains' own rates.
    upper : float
        One-sided 95% upper bound of the rate (``3 / n_transitions`` when no switch was
        seen, the rule of three).
    n_switches, n_transitions, n_chains : int
    chains_switched : float
        Fraction of chains that switched at least once.
    labels_visited : float
        Mean number of distinct labels a chain visited.
    labelled : str
        What the labels are (``"nearest mode within 0.2"``, ``"linear classifier"``, ...).
    """

    rate: float
    se: float
    upper: float
    n_switches: int
    n_transitions: int
    n_chains: int
    chains_switched: float
    labels_visited: float
    labelled: str = ""

    @property
    def dwell(self) -> float:
        """Mean steps between switches (infinite when none was seen)."""
        return 1.0 / self.rate if self.rate > 0 else math.inf

    def to_dict(self) -> dict:
        """Plain types for JSON."""
        return {"rate": self.rate, "se": self.se, "upper": self.upper,
                "dwell_steps": None if math.isinf(self.dwell) else self.dwell,
                "n_switches": self.n_switches, "n_transitions": self.n_transitions,
                "n_chains": self.n_chains, "chains_switched": self.chains_switched,
                "labels_visited": self.labels_visited, "labelled": self.labelled}


def _milestone(labels: np.ndarray) -> np.ndarray:
    """Forward-fill negative labels with the last non-negative one along axis 1 (a chain that
    starts outside every mode takes its first mode's label)."""
    lab = labels.copy()
    idx = np.where(lab >= 0, np.arange(lab.shape[1])[None, :], 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    filled = np.take_along_axis(lab, idx, axis=1)
    first = np.argmax(lab >= 0, axis=1)
    start = lab[np.arange(lab.shape[0]), first]
    return np.where(filled >= 0, filled, start[:, None])


def switching_rate(labels: np.ndarray | Sequence[np.ndarray], labelled: str = "") -> Switching:
    """Rate of switches between labels along chains.

    Parameters
    ----------
    labels : ndarray or sequence of ndarray
        Integer labels ``[C, T]`` (or ``[T]``, or a list of ``[T_i]``); ``-1`` marks a step
        that belongs to no mode and keeps the chain's last label (milestoning).
    labelled : str
        What the labels are, for the record.

    Returns
    -------
    Switching
    """
    chains = ([np.asarray(labels)] if np.asarray(labels[0]).ndim == 0
              else [np.asarray(c) for c in labels])
    switches, transitions, visited = [], [], []
    for group in _equal_length_groups(chains):
        lab = _milestone(np.stack(group).astype(np.int64))
        changed = lab[:, 1:] != lab[:, :-1]
        known = (lab[:, 1:] >= 0) & (lab[:, :-1] >= 0)
        switches.append((changed & known).sum(1))
        transitions.append(np.full(lab.shape[0], lab.shape[1] - 1))
        srt = np.sort(lab, axis=1)
        visited.append(((srt[:, 1:] != srt[:, :-1]) & (srt[:, 1:] >= 0)).sum(1)
                       + (srt[:, :1] >= 0).sum(1))
    s, n, v = (np.concatenate(a) for a in (switches, transitions, visited))
    total, moves = int(n.sum()), int(s.sum())
    rate = moves / total if total else 0.0
    per_chain = s / np.maximum(n, 1)
    se = (float(np.sqrt(np.sum(n ** 2 * (per_chain - rate) ** 2)) / total) if len(s) > 1
          else math.inf)
    upper = rate + 1.645 * se if moves else (3.0 / total if total else math.inf)
    return Switching(rate, se, float(upper), moves, total, len(s), float(np.mean(s > 0)),
                     float(v.mean()), labelled)


def _equal_length_groups(chains: list[np.ndarray]) -> list[list[np.ndarray]]:
    groups: dict[int, list[np.ndarray]] = {}
    for c in chains:
        groups.setdefault(len(c), []).append(c)
    return list(groups.values())


@dataclass(frozen=True)
class Mixing:
    """Mixing diagnostics of one run of chains.

    Attributes
    ----------
    iat : ndarray
        ``[D]`` integrated autocorrelation time of every coordinate, steps.
    iat_summary : float
        IAT of the scalar summary (``summary``).
    summary : str
        What the scalar summary is (the projection on the top principal component, by
        default).
    rhat : ndarray
        ``[D]`` rank-normalised split-R-hat of every coordinate.
    rhat_summary : float
        Split-R-hat of the scalar summary.
    n_chains : int
    n_steps : int
        States per chain (the shortest chain's, when they differ).
    n_samples : int
        States in all chains.
    seconds : float or None
        Wall time that produced the chains, for effective samples per second.
    switching : Switching or None
        Mode or class switching, when the states were labelled.
    """

    iat: np.ndarray
    iat_summary: float
    summary: str
    rhat: np.ndarray
    rhat_summary: float
    n_chains: int
    n_steps: int
    n_samples: int
    seconds: float | None = None
    switching: Switching | None = None

    @property
    def iat_max(self) -> float:
        """The slowest coordinate's IAT."""
        return float(self.iat.max())

    @property
    def ess(self) -> float:
        """Effective samples of the summary: ``n_samples / iat_summary``."""
        return self.n_samples / self.iat_summary

    @property
    def ess_per_step(self) -> float:
        """Effective samples per chain step (per transition): ``1 / iat_summary``."""
        return 1.0 / self.iat_summary

    @property
    def ess_per_second(self) -> float | None:
        """Effective samples of the summary per second of wall time, when timed."""
        return None if not self.seconds else self.ess / self.seconds

    @property
    def reliable(self) -> bool:
        """Sokal's check: the chains are at least :data:`RELIABLE_LENGTH` times the slowest
        coordinate's (and the summary's) IAT long."""
        return self.n_steps >= RELIABLE_LENGTH * max(self.iat_max, self.iat_summary)

    def line(self) -> str:
        """One line for the terminal (:func:`mixing_line`)."""
        return mixing_line(self.to_dict())

    def to_dict(self) -> dict:
        """Plain types for JSON."""
        return {
            "iat_summary": self.iat_summary, "summary": self.summary,
            "iat_max": self.iat_max, "iat_median": float(np.median(self.iat)),
            "iat": self.iat.tolist(), "rhat_summary": self.rhat_summary,
            "rhat_max": float(self.rhat.max()), "rhat": self.rhat.tolist(),
            "ess": self.ess, "ess_per_step": self.ess_per_step,
            "ess_per_second": self.ess_per_second, "seconds": self.seconds,
            "n_chains": self.n_chains, "n_steps": self.n_steps, "n_samples": self.n_samples,
            "reliable": self.reliable, "reliable_length": RELIABLE_LENGTH,
            "switching": None if self.switching is None else self.switching.to_dict(),
        }


def mixing_line(m: dict) -> str:
    """One terminal line for a :meth:`Mixing.to_dict` record."""
    text = (f"mixing: IAT {m['iat_summary']:.3g} steps ({m['summary']}; slowest coordinate "
            f"{m['iat_max']:.3g}), {m['ess_per_step']:.3g} effective samples per step")
    if m["ess_per_second"] is not None:
        text += f", {m['ess_per_second']:.3g} per second"
    text += f"; split R-hat {m['rhat_summary']:.3f} (worst {m['rhat_max']:.3f})"
    if not m["reliable"]:
        text += (f"; chains of {m['n_steps']} steps are shorter than {m['reliable_length']} "
                 "IATs, so the IAT is a lower bound")
    sw = m["switching"]
    if sw is not None:
        text += (f"; {sw['labelled']} switches {sw['rate']:.3g} per step (95% upper "
                 f"{sw['upper']:.2g}; {sw['n_switches']} in {sw['n_transitions']} transitions)")
    return text


def top_component(chains: list[np.ndarray]) -> list[np.ndarray]:
    """Projection of every state on the top principal component of all states pooled."""
    if chains[0].shape[1] == 1:
        return [c[:, 0] for c in chains]
    pooled = np.concatenate(chains)
    mean = pooled.mean(0)
    centred = pooled - mean
    if centred.shape[0] > 20000:
        centred = centred[np.linspace(0, len(centred) - 1, 20000).astype(int)]
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return [(c - mean) @ vt[0] for c in chains]


def mixing_diagnostics(chains: np.ndarray | Sequence[np.ndarray], *,
                       labels: np.ndarray | Sequence[np.ndarray] | None = None,
                       labelled: str = "", summary: Sequence[np.ndarray] | None = None,
                       summary_name: str = "top principal component",
                       seconds: float | None = None) -> Mixing:
    """IAT, effective samples, split-R-hat and (with ``labels``) switching of a run of chains.

    Parameters
    ----------
    chains : ndarray or sequence of ndarray
        ``[C, T, D]`` or a list of ``[T_i, D]`` states.
    labels : ndarray or sequence of ndarray, optional
        Mode or class of every state (``[C, T]`` or a list of ``[T_i]``; ``-1``: none).
    labelled : str
        What the labels are.
    summary : sequence of ndarray, optional
        A scalar per state (a list of ``[T_i]``) to summarise the chains by [default: the
        projection on the top principal component of all states].
    summary_name : str
        What ``summary`` is.
    seconds : float, optional
        Wall time that produced the chains.

    Returns
    -------
    Mixing
    """
    cs = _as_array_chains(chains)
    scalar = top_component(cs) if summary is None else [np.asarray(s, float) for s in summary]
    scalar = [s[:, None] for s in scalar]
    switching = None if labels is None else switching_rate(labels, labelled)
    return Mixing(
        iat=integrated_autocorrelation_time(cs),
        iat_summary=float(integrated_autocorrelation_time(scalar)[0]),
        summary=summary_name, rhat=split_rhat(cs), rhat_summary=float(split_rhat(scalar)[0]),
        n_chains=len(cs), n_steps=min(len(c) for c in cs),
        n_samples=int(sum(len(c) for c in cs)), seconds=seconds, switching=switching)


def exact_iat(P: np.ndarray, f: np.ndarray) -> float:
    """Exact IAT of ``f(X_t)`` for a stationary finite Markov chain with transition matrix
    ``P`` (rows sum to 1): ``1 + 2 <f~, (Z - I) f~>_pi / Var_pi f`` with the fundamental
    matrix ``Z = (I - P + 1 pi^T)^{-1}`` and ``f~ = f - pi f``."""
    P = np.asarray(P, dtype=np.float64)
    pi = _stationary(P)
    g = np.asarray(f, dtype=np.float64) - pi @ f
    n = P.shape[0]
    Z = np.linalg.inv(np.eye(n) - P + np.outer(np.ones(n), pi))
    var = pi @ g ** 2
    return float(1.0 + 2.0 * (pi * g) @ ((Z - np.eye(n)) @ g) / var)


def exact_iat_linear(M: np.ndarray, Q: np.ndarray, u: np.ndarray) -> float:
    """Exact IAT of ``u . x_t`` for the stationary linear Gaussian chain ``x' = M x + xi``,
    ``xi ~ N(0, Q)``: ``1 + 2 u M (I - M)^{-1} C u / (u C u)``, with ``C`` the stationary
    covariance (the lag-``k`` covariance is ``M^k C``)."""
    M = np.asarray(M, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    C = solve_discrete_lyapunov(M, np.asarray(Q, dtype=np.float64))
    ahead = M @ np.linalg.solve(np.eye(len(M)) - M, C)
    return float(1.0 + 2.0 * (u @ ahead @ u) / (u @ C @ u))


def exact_switching_rate(P: np.ndarray, labels: np.ndarray) -> float:
    """Stationary probability per step that the label of a finite Markov chain changes:
    ``sum_{i, j: label_i != label_j} pi_i P_ij``."""
    P = np.asarray(P, dtype=np.float64)
    lab = np.asarray(labels)
    pi = _stationary(P)
    return float((pi[:, None] * P * (lab[:, None] != lab[None, :])).sum())


def _stationary(P: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eig(P.T)
    pi = np.real(v[:, np.argmin(np.abs(w - 1))])
    return pi / pi.sum()
