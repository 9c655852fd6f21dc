"""Stationary chains whose entropy production is known exactly, with fast simulators.

Two families, each closed under the operations a recording applies to a process:

* :class:`FiniteChain`, a transition matrix ``P``: ``sigma`` by :func:`entropy_production_exact`;
  observing every ``k``-th step gives the chain ``P^k`` (:meth:`FiniteChain.subsample`);
  observing a lumping of the states gives a process that is not Markov, whose pair divergence
  ``KL(p(I, J) || p(J, I))`` (what an estimator on the lumped labels targets, at most
  ``sigma``) is exact by summing the pair distribution (:meth:`FiniteChain.lumped_pair_divergence`).
* :class:`LinearGaussianChain`, ``x' = M x + e`` with ``e ~ N(0, Q)``: the stationary pair
  ``(x_t, x_{t+1})`` is Gaussian, so ``sigma`` is the divergence between two Gaussians
  (:func:`gaussian_pair_divergence`); subsampling gives ``(M^k, C - M^k C M^kT)``; linear
  projections of the state (observing fewer coordinates) keep the pair Gaussian, so their pair
  divergence is exact too.

Factories: :func:`ring_walk`, :func:`metropolis_chain`, :func:`kinetic_ising`,
:func:`rotating_ar1`, :func:`driven_ou`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import expm, solve_continuous_lyapunov, solve_discrete_lyapunov
from scipy.signal import lfilter

from biovw.analysis.exact import entropy_production_exact, stationary_distribution
from biovw.analysis.models import glauber_matrix, ring_walk_matrix

__all__ = [
    "FiniteChain",
    "LinearGaussianChain",
    "driven_ou",
    "gaussian_pair_divergence",
    "irreversible_family",
    "kinetic_ising",
    "metropolis_chain",
    "ring_walk",
    "rotating_ar1",
]


@dataclass(frozen=True)
class FiniteChain:
    """A stationary Markov chain on ``n`` states.

    Attributes
    ----------
    P : ndarray
        Row-stochastic transition matrix ``[n, n]``.
    coords : ndarray or None
        A point in ``R^D`` for every state ``[n, D]`` (ring positions on a circle, spin
        vectors), used by estimators that need coordinates.
    name : str
    """

    P: np.ndarray
    coords: np.ndarray | None = None
    name: str = "chain"

    @property
    def n_states(self) -> int:
        """Number of states."""
        return int(self.P.shape[0])

    def stationary(self) -> np.ndarray:
        """Stationary distribution."""
        return stationary_distribution(self.P)

    def entropy_production(self) -> float:
        """Exact ``sigma`` in nats/step."""
        return entropy_production_exact(self.P).entropy_production

    def reversible_twin(self) -> FiniteChain:
        """The additive reversibilisation ``(P + P*) / 2`` with ``P*_ij = pi_j P_ji / pi_i``
        the time reversal: reversible, with the same stationary distribution and the same
        symmetric part of the pair distribution (a matched control)."""
        pi = self.stationary()
        reverse = (pi[None, :] * self.P.T) / pi[:, None]
        return FiniteChain((self.P + reverse) / 2, self.coords, f"{self.name}-reversible")

    def subsample(self, k: int) -> FiniteChain:
        """The chain observed every ``k`` steps, ``P^k``."""
        return FiniteChain(np.linalg.matrix_power(self.P, k), self.coords, f"{self.name}/{k}")

    def lumped_pair_divergence(self, partition: np.ndarray) -> float:
        """``KL(p(I, J) || p(J, I))`` of the lumped labels ``I = partition[i]`` (nats/step).

        Parameters
        ----------
        partition : array_like of int
            Label of every state, ``[n]``.
        """
        partition = np.asarray(partition)
        n_lumps = int(partition.max()) + 1
        pair = self.stationary()[:, None] * self.P
        lump = np.zeros((self.n_states, n_lumps))
        lump[np.arange(self.n_states), partition] = 1.0
        lumped = lump.T @ pair @ lump
        fwd, bwd = lumped, lumped.T
        both = (fwd > 0) & (bwd > 0)
        if np.any((fwd > 0) & (bwd == 0)):
            return math.inf
        return float(np.sum(fwd[both] * np.log(fwd[both] / bwd[both])))

    def simulate(self, n_steps: int, n_chains: int, rng: np.random.Generator) -> np.ndarray:
        """Stationary trajectories ``[n_chains, n_steps]`` of state labels (vectorised over
        chains; one inverse-CDF draw per step)."""
        cum = np.cumsum(self.P, axis=1)
        cum[:, -1] = 1.0 + 1e-12
        out = np.empty((n_chains, n_steps), dtype=np.int64)
        state = rng.choice(self.n_states, size=n_chains, p=self.stationary())
        out[:, 0] = state
        uniform = rng.random((n_steps, n_chains))
        for t in range(1, n_steps):
            row = cum[state]
            state = (uniform[t][:, None] >= row).sum(axis=1)
            out[:, t] = state
        return out


def ring_walk(n: int, p: float, q: float) -> FiniteChain:
    """Walk on ``n`` ring sites: right with ``p``, left with ``q``; ``sigma = (p - q) ln(p/q)``
    (``n >= 3``). States sit on the unit circle (``coords``)."""
    angle = 2 * math.pi * np.arange(n) / n
    coords = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return FiniteChain(ring_walk_matrix(n, p, q), coords, f"ring{n}")


def metropolis_chain(energies: np.ndarray) -> FiniteChain:
    """Metropolis chain with uniform proposals, reversible with respect to ``exp(-E)``."""
    energies = np.asarray(energies, dtype=np.float64)
    n = len(energies)
    P = np.exp(-np.maximum(energies[None, :] - energies[:, None], 0.0)) / n
    np.fill_diagonal(P, 0.0)
    np.fill_diagonal(P, 1.0 - P.sum(axis=1))
    return FiniteChain(P, None, f"metropolis{n}")


def kinetic_ising(J: np.ndarray, h: np.ndarray, beta: float = 1.0) -> FiniteChain:
    """Random-scan Glauber dynamics of an Ising model on ``{0, 1}^n``, enumerated exactly
    (reversible iff ``J`` is symmetric). ``coords`` are the spin vectors (state index = binary
    digits, most significant unit first)."""
    n = len(h)
    states = ((np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.float64)
    return FiniteChain(glauber_matrix(J, h, beta), states, f"ising{n}")


def gaussian_pair_divergence(C: np.ndarray, C1: np.ndarray) -> float:
    """``KL(N(0, S_f) || N(0, S_r))`` of a stationary Gaussian pair.

    ``S_f = [[C, C1^T], [C1, C]]`` is the covariance of ``(x_t, x_{t+1})`` (``C1 =
    E[x_{t+1} x_t^T]``) and ``S_r`` that of ``(x_{t+1}, x_t)``; their determinants are equal,
    so the divergence is ``(tr(S_r^-1 S_f) - 2D) / 2`` (nats/step).
    """
    dim = C.shape[0]
    fwd = np.block([[C, C1.T], [C1, C]])
    rev = np.block([[C, C1], [C1.T, C]])
    return float(0.5 * (np.trace(np.linalg.solve(rev, fwd)) - 2 * dim))


@dataclass(frozen=True)
class LinearGaussianChain:
    """``x_{t+1} = M x_t + e_t``, ``e_t ~ N(0, Q)``, stationary.

    Attributes
    ----------
    M : ndarray
        ``[D, D]`` with spectral radius < 1.
    Q : ndarray
        Noise covariance ``[D, D]``, positive definite.
    name : str
    rate : float or None
        For a sampled continuous-time process, its entropy production rate times the sampling
        interval (nats/step), which upper-bounds the per-step value of the samples.
    """

    M: np.ndarray
    Q: np.ndarray
    name: str = "ar1"
    rate: float | None = None

    @property
    def dim(self) -> int:
        """Number of coordinates."""
        return int(self.M.shape[0])

    def stationary_covariance(self) -> np.ndarray:
        """``C = M C M^T + Q``."""
        return solve_discrete_lyapunov(self.M, self.Q)

    def entropy_production(self, projection: np.ndarray | None = None) -> float:
        """Exact pair divergence per step (``sigma``), or that of the observed coordinates
        ``projection @ x`` (a lower bound of ``sigma``)."""
        C = self.stationary_covariance()
        C1 = self.M @ C
        if projection is not None:
            C, C1 = projection @ C @ projection.T, projection @ C1 @ projection.T
        return gaussian_pair_divergence(C, C1)

    def reversible_twin(self) -> LinearGaussianChain:
        """The reversible chain with the same stationary covariance ``C`` and the symmetric
        part of the lag-one covariance, ``(M C + C M^T) / 2`` (a matched control): ``M' =
        sym(M C) C^-1``, ``Q' = C - M' C M'^T`` (positive semi-definite: the average of the
        forward and reversed pair covariances)."""
        C = self.stationary_covariance()
        lag = (self.M @ C + C @ self.M.T) / 2
        M = lag @ np.linalg.inv(C)
        Q = C - M @ C @ M.T
        return LinearGaussianChain(M, (Q + Q.T) / 2, f"{self.name}-reversible")

    def subsample(self, k: int) -> LinearGaussianChain:
        """Observed every ``k`` steps: ``(M^k, C - M^k C M^kT)``."""
        Mk = np.linalg.matrix_power(self.M, k)
        C = self.stationary_covariance()
        rate = None if self.rate is None else self.rate * k
        return LinearGaussianChain(Mk, C - Mk @ C @ Mk.T, f"{self.name}/{k}", rate)

    def simulate(self, n_steps: int, n_chains: int, rng: np.random.Generator) -> np.ndarray:
        """Stationary trajectories ``[n_chains, n_steps, D]``.

        The recursion runs as ``D`` scalar complex filters in the eigenbasis of ``M``
        (:func:`scipy.signal.lfilter`), with no Python loop over time; a defective ``M`` falls
        back to a loop vectorised over chains."""
        C = self.stationary_covariance()
        dim = self.dim

        def times(a, m):  # a [..., D] @ m; einsum is fast for tall, thin products
            return np.einsum("...i,ij->...j", a, m)

        x0 = rng.standard_normal((n_chains, dim)) @ np.linalg.cholesky(C).T
        noise = times(rng.standard_normal((n_chains, n_steps - 1, dim)),
                      np.linalg.cholesky(self.Q).T)
        eigval, eigvec = np.linalg.eig(self.M)
        if np.linalg.cond(eigvec) < 1e8:
            inv_t = np.linalg.inv(eigvec).T
            real = np.all(np.isreal(eigval))
            if real:
                eigval, eigvec, inv_t = eigval.real, eigvec.real, inv_t.real
            u = np.concatenate([(x0 @ inv_t)[:, None, :], times(noise, inv_t)], axis=1)
            z = np.empty_like(u)
            for i in range(dim):
                z[..., i] = lfilter([1.0], [1.0, -eigval[i]], u[..., i], axis=1)
            return np.real(times(z, eigvec.T))
        out = np.empty((n_chains, n_steps, dim))
        out[:, 0] = x0
        for t in range(1, n_steps):
            out[:, t] = out[:, t - 1] @ self.M.T + noise[:, t - 1]
        return out


def rotating_ar1(angle: float, radius: float, noise: float = 1.0) -> LinearGaussianChain:
    """2-D ``x' = radius R(angle) x + noise xi``: rotation drives a probability current;
    ``angle = 0`` is reversible."""
    c, s = math.cos(angle), math.sin(angle)
    M = radius * np.array([[c, -s], [s, c]])
    return LinearGaussianChain(M, noise**2 * np.eye(2), f"rotating_ar1({angle:g})")


def irreversible_family(decay: float, drive: float, dim: int = 2) -> LinearGaussianChain:
    """``x' = (decay I + drive A) x + xi`` with ``A`` the rotation generator of each pair of
    coordinates and ``xi ~ N(0, (1 - decay^2 - drive^2) I)``: the stationary law is ``N(0,
    I)`` for every ``drive``, so the antisymmetric part changes the dynamics and its entropy
    production but not what the chain samples (the discrete-time form of an irreversible
    Langevin sampler). ``drive = 0`` is reversible; needs ``decay^2 + drive^2 < 1`` and an
    even ``dim``.
    """
    if dim < 2 or dim % 2:
        raise ValueError(f"dim must be even and at least 2, got {dim}")
    if not decay**2 + drive**2 < 1:
        raise ValueError("needs decay^2 + drive^2 < 1 (a stationary chain)")
    A = np.kron(np.eye(dim // 2), np.array([[0.0, -1.0], [1.0, 0.0]]))
    M = decay * np.eye(dim) + drive * A
    return LinearGaussianChain(M, (1 - decay**2 - drive**2) * np.eye(dim),
                               f"irreversible({decay:g}, {drive:g})")


def driven_ou(temperatures: tuple[float, float], coupling: float = 0.5, stiffness: float = 1.0,
              dt: float = 0.1) -> LinearGaussianChain:
    """Two coupled Ornstein-Uhlenbeck units at different temperatures (Brownian gyrator),
    sampled every ``dt``.

    ``dx = -A x dt + sqrt(2 D) dW`` with ``A = [[k, u], [u, k]]`` and ``D = diag(T1, T2)``;
    reversible iff ``T1 = T2`` (or ``u = 0``). The samples form the AR(1) chain ``M =
    exp(-A dt)``, ``Q = C - M C M^T`` with ``A C + C A^T = 2 D``. ``rate`` is the
    continuous-time entropy production rate times ``dt``,
    ``tr((A - D C^-1)^T D^-1 (A - D C^-1) C) dt``.
    """
    A = np.array([[stiffness, coupling], [coupling, stiffness]], dtype=np.float64)
    D = np.diag(np.asarray(temperatures, dtype=np.float64))
    C = solve_continuous_lyapunov(A, 2 * D)
    M = expm(-A * dt)
    Q = C - M @ C @ M.T
    Q = (Q + Q.T) / 2
    drift_irr = A - D @ np.linalg.inv(C)
    rate = float(np.trace(drift_irr.T @ np.linalg.inv(D) @ drift_irr @ C)) * dt
    return LinearGaussianChain(M, Q, f"driven_ou{temperatures}", rate)
