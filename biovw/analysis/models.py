"""Markov chains with known entropy production, for validating the estimators.

* :func:`ring_walk_matrix`: biased walk on a ring, ``sigma = (p - q) ln(p / q)``.
* :func:`glauber_matrix`: random-scan Glauber dynamics of an Ising model (reversible iff the
  couplings are symmetric), enumerated exactly.
* :class:`LinearGaussianKernel`: ``x' = M x + s xi``; stationary covariance from the discrete
  Lyapunov equation and ``sigma = tr(M C (M^T - M)) / s^2``, zero for symmetric ``M``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.linalg import solve_discrete_lyapunov
from torch import Tensor

from biovw.analysis.enumerate import binary_states


def ring_walk_matrix(n: int, p: float, q: float) -> np.ndarray:
    """Transition matrix of a walk on ``n`` ring sites: right with p, left with q, else stay."""
    P = np.zeros((n, n))
    idx = np.arange(n)
    P[idx, (idx + 1) % n] += p
    P[idx, (idx - 1) % n] += q
    P[idx, idx] += 1 - p - q
    return P


class GlauberKernel:
    """Random-scan Glauber dynamics on {0, 1}^n: pick a unit uniformly, set it to 1 with
    probability ``sigmoid(beta (J s + h)_i)`` (self-coupling excluded).

    Implements the kernel protocol of :mod:`biovw.analysis.kernel`.
    """

    def __init__(self, J: np.ndarray | Tensor, h: np.ndarray | Tensor, beta: float = 1.0):
        J = torch.as_tensor(J, dtype=torch.float64)
        self.J = J - torch.diag(torch.diagonal(J))
        self.h = torch.as_tensor(h, dtype=torch.float64)
        self.beta = beta
        self.n = self.h.numel()

    def params(self, s: Tensor) -> Tensor:
        """Probability that each unit is set to 1 if chosen, [batch, n]."""
        return torch.sigmoid(self.beta * (s.double() @ self.J.T + self.h))

    def sample(self, s: Tensor, params: Tensor, generator: torch.Generator | None) -> Tensor:
        """Update one uniformly chosen unit per chain."""
        rows = torch.arange(s.shape[0])
        unit = torch.randint(self.n, (s.shape[0],), generator=generator)
        u = torch.rand(s.shape[0], generator=generator, dtype=torch.float64)
        out = s.clone()
        out[rows, unit] = (u < params[rows, unit]).to(s.dtype)
        return out

    def log_prob(self, s_next: Tensor, s: Tensor, params: Tensor) -> Tensor:
        """``ln p(s_next | s)``: -inf unless the states differ in at most one unit."""
        s, s_next = s.double(), s_next.double()
        p_set = params * s_next + (1 - params) * (1 - s_next)  # prob. unit i ends as in s_next
        differ = (s != s_next)
        n_diff = differ.sum(1)
        stay = p_set.mean(1)  # all units already equal: any chosen unit keeps its value
        flip = (p_set * differ).sum(1) / self.n
        prob = torch.where(n_diff == 0, stay, torch.where(n_diff == 1, flip, 0.0))
        return prob.log()

    def matrix(self) -> np.ndarray:
        """The exact 2^n x 2^n transition matrix."""
        states = binary_states(self.n).double()
        m = states.shape[0]
        s = states.repeat_interleave(m, 0)
        s_next = states.repeat(m, 1)
        log_p = self.log_prob(s_next, s, self.params(s))
        return log_p.exp().view(m, m).numpy()


def glauber_matrix(J: np.ndarray, h: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """Exact transition matrix of random-scan Glauber dynamics (see :class:`GlauberKernel`)."""
    return GlauberKernel(J, h, beta).matrix()


class LinearGaussianKernel:
    """``x' = M x + noise * xi`` with ``xi ~ N(0, I)``; implements the kernel protocol.

    Parameters
    ----------
    M : array_like
        [d, d] with spectral radius < 1.
    noise : float
        Noise standard deviation s.
    """

    def __init__(self, M: np.ndarray | Tensor, noise: float):
        self.M = torch.as_tensor(M, dtype=torch.float64)
        self.noise = float(noise)
        if np.max(np.abs(np.linalg.eigvals(self.M.numpy()))) >= 1:
            raise ValueError("M must have spectral radius < 1 for a stationary distribution")

    def params(self, s: Tensor) -> Tensor:
        return s.double() @ self.M.T

    def sample(self, s: Tensor, params: Tensor, generator: torch.Generator | None) -> Tensor:
        xi = torch.randn(params.shape, generator=generator, dtype=torch.float64)
        return params + self.noise * xi

    def log_prob(self, s_next: Tensor, s: Tensor, params: Tensor) -> Tensor:
        d = s.shape[1]
        sq = ((s_next.double() - params) ** 2).sum(1)
        return -0.5 * sq / self.noise**2 - 0.5 * d * math.log(2 * math.pi * self.noise**2)

    def stationary_covariance(self) -> np.ndarray:
        """C solving ``C = M C M^T + s^2 I``."""
        M = self.M.numpy()
        return solve_discrete_lyapunov(M, self.noise**2 * np.eye(M.shape[0]))

    def stationary_sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` independent draws from the stationary distribution N(0, C)."""
        chol = torch.linalg.cholesky(torch.as_tensor(self.stationary_covariance()))
        z = torch.randn(n, chol.shape[0], generator=generator, dtype=torch.float64)
        return z @ chol.T

    def trajectory(self, n_steps: int, n_chains: int,
                   seed: int | np.random.Generator | None = None) -> np.ndarray:
        """Stationary trajectories as a numpy array [n_chains, n_steps, d] (chains start at
        independent draws from N(0, C))."""
        rng = np.random.default_rng(seed)
        M = self.M.numpy()
        x = np.empty((n_chains, n_steps, M.shape[0]))
        x[:, 0] = rng.multivariate_normal(np.zeros(M.shape[0]), self.stationary_covariance(),
                                          size=n_chains)
        noise = self.noise * rng.normal(size=x.shape)
        for t in range(1, n_steps):
            x[:, t] = x[:, t - 1] @ M.T + noise[:, t]
        return x

    def entropy_production(self) -> float:
        """Exact ``sigma = tr(M C (M^T - M)) / s^2`` in nats per step."""
        M, C = self.M.numpy(), self.stationary_covariance()
        return float(np.trace(M @ C @ (M.T - M)) / self.noise**2)
