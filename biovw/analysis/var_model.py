"""Model-based entropy production: a fitted VAR(1) (discretised Ornstein-Uhlenbeck) model.

The recording is fitted by least squares with ``x_{t+1} - m = M (x_t - m) + e``, ``e ~ N(0,
Q)`` (pooled over chains, each transition within a chain). The stationary pair of the fitted
model is Gaussian, so its entropy production per step is the divergence between the forward
and reversed pair laws (:func:`biovw.analysis.exact_chains.gaussian_pair_divergence`), exact
when the data are linear and Gaussian (an AR(1) chain, or an Ornstein-Uhlenbeck process
sampled at any interval). For other data it is the entropy production of the best
linear-Gaussian description, which is not a bound in either direction.

The fitted value is biased upwards (noise in ``M`` adds spurious asymmetry), so it is
corrected by a parametric bootstrap: ``n_boot`` recordings of the same chain lengths are
simulated from the fit and refitted; ``value = sigma_fit - bias`` with ``bias =
mean(sigma_boot) - sigma_fit``, and the interval is ``value + quantiles(sigma_boot -
mean(sigma_boot))``. In simulation (50 recordings each of 2-D rotating AR(1) and driven OU
chains, and 6-D and 8-D reversible chains, 1,000 and 5,000 steps) it held the exact value in
88-100% of recordings; the basic interval ``[2 sigma_fit - q_hi, 2 sigma_fit - q_lo]``
covered 82% on the driven OU chain (the fitted value's law is skewed), and the percentile
interval around the uncorrected value 0-70% on the reversible 6-D and 8-D chains.

The p-value of detailed balance reverses blocks of the recording in time: reversal transposes
a block's lag-one moment ``sum x_{t+1} x_t^T`` and swaps its ``sum x_t x_t^T`` and ``sum
x_{t+1} x_{t+1}^T``; the fitted value of each surrogate with randomly reversed blocks is
compared with the data's. A fitted OU drift ``A = -logm(M) / dt`` is reported in ``details``
when ``M`` has a real logarithm, with the continuous-time entropy production rate it implies
(per step), which upper-bounds the per-step value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.linalg import logm, solve_continuous_lyapunov, solve_discrete_lyapunov

from biovw.analysis.exact_chains import LinearGaussianChain, gaussian_pair_divergence
from biovw.analysis.record import EntropyEstimate, as_chains

__all__ = ["VarFit", "entropy_production_var", "fit_var"]


class VarFit:
    """Least-squares VAR(1) fit: ``M``, noise covariance ``Q``, mean ``m``.

    Parameters
    ----------
    moments : tuple of ndarray
        ``(S0, S1, S2, n)``: ``sum y_t y_t^T``, ``sum y_{t+1} y_t^T``, ``sum y_{t+1}
        y_{t+1}^T`` over the ``n`` transitions of the centred data ``y``.
    """

    def __init__(self, moments: tuple[np.ndarray, np.ndarray, np.ndarray, float]):
        s0, s1, s2, n = moments
        self.M = np.linalg.solve(s0.T, s1.T).T
        self.Q = (s2 - self.M @ s1.T) / n
        self.Q = (self.Q + self.Q.T) / 2

    @property
    def stable(self) -> bool:
        """Spectral radius of ``M`` below one."""
        return bool(np.max(np.abs(np.linalg.eigvals(self.M))) < 1)

    def entropy_production(self) -> float:
        """Per-step entropy production of the fitted stationary model (inf if unstable or the
        noise is singular)."""
        if not self.stable or np.min(np.linalg.eigvalsh(self.Q)) <= 0:
            return math.inf
        C = solve_discrete_lyapunov(self.M, self.Q)
        return gaussian_pair_divergence(C, self.M @ C)


def _moments(chains: list[np.ndarray], mean: np.ndarray):
    ys = [c - mean for c in chains]
    prev = np.concatenate([y[:-1] for y in ys])
    nxt = np.concatenate([y[1:] for y in ys])
    s0 = np.einsum("ti,tj->ij", prev, prev)
    return s0, np.einsum("ti,tj->ij", nxt, prev), np.einsum("ti,tj->ij", nxt, nxt), float(
        len(prev))


def fit_var(x: np.ndarray | Sequence[np.ndarray]) -> VarFit:
    """Fit ``x_{t+1} - m = M (x_t - m) + e`` to a recording (see :class:`VarFit`)."""
    chains = as_chains(x)
    mean = np.concatenate(chains).mean(axis=0)
    return VarFit(_moments(chains, mean))


def _block_moments(chains: list[np.ndarray], mean: np.ndarray, block: int):
    """Per-block ``(S0, S1, S2)`` ``[B, D, D]`` (blocks of ``block`` transitions within
    chains)."""
    s0, s1, s2 = [], [], []
    for c in chains:
        y = c - mean
        prev, nxt = y[:-1], y[1:]
        n_blocks = max(1, len(prev) // block)
        edges = np.linspace(0, len(prev), n_blocks + 1).astype(int)
        idx = np.repeat(np.arange(n_blocks), np.diff(edges))
        outer = np.einsum
        for store, a, b in ((s0, prev, prev), (s1, nxt, prev), (s2, nxt, nxt)):
            prods = outer("ti,tj->tij", a, b)
            store.append(np.add.reduceat(prods, edges[:-1], axis=0) if len(idx) else prods)
    return np.concatenate(s0), np.concatenate(s1), np.concatenate(s2)


def _parametric_bootstrap(fit: VarFit, lengths: list[int], n_boot: int,
                          rng: np.random.Generator, chunk_cells: int = 4_000_000) -> np.ndarray:
    """Refitted values of ``n_boot`` recordings simulated from ``fit`` with the chain lengths
    of the data (simulated in batches; moments by masked sums, no loop over time)."""
    model = LinearGaussianChain(fit.M, fit.Q)
    longest, n_chains = max(lengths), len(lengths)
    dim = fit.M.shape[0]
    mask = (np.arange(longest)[None, :] < np.asarray(lengths)[:, None]).astype(np.float64)
    per = max(1, chunk_cells // (longest * n_chains * dim))
    out = []
    for start in range(0, n_boot, per):
        reps = min(per, n_boot - start)
        sim = model.simulate(longest, reps * n_chains, rng).reshape(reps, n_chains, longest, dim)
        weights = mask[None, :, :, None]
        mean = (sim * weights).sum(axis=(1, 2)) / mask.sum()
        y = (sim - mean[:, None, None, :]) * weights
        pair = mask[:, 1:] * mask[:, :-1]
        prev = y[:, :, :-1] * pair[None, :, :, None]
        nxt = y[:, :, 1:] * pair[None, :, :, None]
        s0 = np.einsum("rcti,rctj->rij", prev, prev)
        s1 = np.einsum("rcti,rctj->rij", nxt, prev)
        s2 = np.einsum("rcti,rctj->rij", nxt, nxt)
        n = float(pair.sum())
        out += [VarFit((s0[r], s1[r], s2[r], n)).entropy_production() for r in range(reps)]
    boot = np.asarray(out)
    return boot[np.isfinite(boot)]


def _reversal_p_value(chains, mean, sigma, block, n_surrogates, rng) -> float:
    s0, s1, s2 = _block_moments(chains, mean, block)
    n = float(sum(len(c) - 1 for c in chains))
    exceed = 0
    for _ in range(n_surrogates):
        flip = rng.integers(0, 2, size=len(s0)).astype(bool)[:, None, None]
        a0 = np.where(flip, s2, s0).sum(axis=0)
        a2 = np.where(flip, s0, s2).sum(axis=0)
        a1 = np.where(flip, np.transpose(s1, (0, 2, 1)), s1).sum(axis=0)
        exceed += VarFit((a0, a1, a2, n)).entropy_production() >= sigma
    return (1 + exceed) / (1 + n_surrogates)


def _ou_rate(fit: VarFit, dt: float) -> float | None:
    """Continuous-time entropy production rate times ``dt`` of the OU process whose samples
    the fit describes, if ``M`` has a real logarithm."""
    try:
        A = -np.real_if_close(logm(fit.M), tol=1e6) / dt
    except (ValueError, np.linalg.LinAlgError):
        return None
    if np.iscomplexobj(A):
        return None
    C = solve_discrete_lyapunov(fit.M, fit.Q)
    D = (A @ C + C @ A.T) / 2  # A C + C A^T = 2 D
    if np.min(np.linalg.eigvalsh((D + D.T) / 2)) <= 0:
        return None
    C_cont = solve_continuous_lyapunov(A, 2 * D)
    drift = A - D @ np.linalg.inv(C_cont)
    return float(np.trace(drift.T @ np.linalg.inv(D) @ drift @ C_cont)) * dt


def entropy_production_var(
    x: np.ndarray | Sequence[np.ndarray],
    *,
    n_boot: int = 200,
    n_surrogates: int = 199,
    block_length: int | None = None,
    ci: float = 0.95,
    seed: int = 0,
    dt: float | None = None,
    max_dim: int = 8,
) -> EntropyEstimate:
    """Entropy production per step of the VAR(1) model fitted to a recording.

    Parameters
    ----------
    x : array_like or list of arrays
        Recording, ``[T, D]``, ``[chains, T, D]`` or a list of ``[T_i, D]`` chains.
    n_boot : int
        Parametric-bootstrap recordings (bias correction and interval).
    n_surrogates : int
        Block-reversal surrogates for the p-value (0 to skip).
    block_length : int, optional
        Transitions per reversed block (default ``max(sqrt(T), 20)``, at most a quarter of
        the longest chain).
    ci : float
        Level of the interval.
    seed : int
        Seed of the bootstrap and of the surrogates.
    dt : float, optional
        Seconds per step (for ``per_second`` and the OU rate).
    max_dim : int
        With more coordinates the model is fitted to this many top principal components (the
        fit has ``D^2`` parameters).

    Returns
    -------
    EntropyEstimate
        ``method="var"``; ``details`` holds the fitted value, its bootstrap bias, ``M``'s
        spectral radius and, when defined, the continuous-time OU rate per step.

    Raises
    ------
    ValueError
        If the fitted model is not stationary (spectral radius >= 1) or its noise is
        singular, or there are too few transitions for its parameters.
    """
    chains = as_chains(x)
    note = ""
    if chains[0].shape[1] > max_dim:
        pooled = np.concatenate(chains)
        centre = pooled.mean(axis=0)
        axes = np.linalg.eigh(np.einsum("ti,tj->ij", pooled - centre, pooled - centre))[1]
        top = axes[:, ::-1][:, :max_dim]
        note = (f"fitted to the top {max_dim} principal components of {pooled.shape[1]} "
                "coordinates; ")
        chains = [(c - centre) @ top for c in chains]
    dim = chains[0].shape[1]
    n_trans = sum(len(c) - 1 for c in chains)
    if n_trans < 5 * dim * dim:
        raise ValueError(f"{n_trans} transitions are too few to fit a {dim}-D VAR(1) model")
    mean = np.concatenate(chains).mean(axis=0)
    fit = VarFit(_moments(chains, mean))
    sigma = fit.entropy_production()
    if not math.isfinite(sigma):
        raise ValueError("the fitted VAR(1) model is not stationary (spectral radius "
                         f"{np.max(np.abs(np.linalg.eigvals(fit.M))):.3f}) or has singular "
                         "noise; a linear model does not describe these data")
    rng = np.random.default_rng(seed)
    boot = _parametric_bootstrap(fit, [len(c) for c in chains], n_boot, rng)
    # the spread of the bootstrap values around their mean, placed around the corrected
    # value (the basic interval under-covers where the fitted value's law is skewed, and an
    # interval around the uncorrected value misses zero when there are many coordinates)
    bias = float(boot.mean() - sigma)
    alpha = (1 - ci) / 2
    q_lo, q_hi = np.quantile(boot - boot.mean(), [alpha, 1 - alpha])
    value = sigma - bias
    lengths = [len(c) for c in chains]
    longest = max(lengths)
    block = block_length or int(min(max(math.isqrt(int(np.median(lengths))), 20),
                                    max(1, longest // 4)))
    p_value = None
    if n_surrogates > 0:
        p_value = _reversal_p_value(chains, mean, sigma, block, n_surrogates, rng)
    details = {"fitted": sigma, "bootstrap_bias": bias,
               "spectral_radius": float(np.max(np.abs(np.linalg.eigvals(fit.M)))),
               "M": fit.M.tolist()}
    if dt is not None:
        details["ou_rate_per_step"] = _ou_rate(fit, dt)
    return EntropyEstimate(
        method="var", value=float(value), ci_low=float(value + q_lo),
        ci_high=float(value + q_hi), se=float(boot.std(ddof=1)), ci=ci, lower_bound=False,
        p_value=p_value, n_transitions=int(n_trans), n_chains=len(chains), dt=dt,
        settings={"n_boot": n_boot, "n_surrogates": n_surrogates, "block_length": block},
        details=details,
        note=note + "exact for linear Gaussian dynamics; for other data the entropy production "
                    "of the best linear-Gaussian model (not a bound)",
    )
