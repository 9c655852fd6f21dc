"""Exact non-equilibrium quantities of a finite Markov chain.

For a transition matrix ``P`` with stationary distribution ``pi`` the entropy production per
step is ``sigma = sum_ij pi_i P_ij ln(pi_i P_ij / (pi_j P_ji))`` (nats/step), the net
probability currents are ``J_ij = pi_i P_ij - pi_j P_ji`` and the affinity of a cycle
``i_0 -> i_1 -> ... -> i_0`` is ``sum_k ln(P_{i_k i_{k+1}} / P_{i_{k+1} i_k})``. The chain is
reversible iff every current vanishes, equivalently (Kolmogorov) iff every cycle affinity does.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np


@dataclass(frozen=True)
class ExactEntropyProduction:
    """Result of :func:`entropy_production_exact`.

    Attributes
    ----------
    stationary : ndarray
        Stationary distribution pi, shape [n].
    entropy_production : float
        sigma in nats per step (``inf`` when some transition has no reverse).
    currents : ndarray
        Net currents ``J_ij = pi_i P_ij - pi_j P_ji`` (antisymmetric), shape [n, n].
    cycles : list of list of int
        A basis of cycles of the graph of mutually reachable pairs.
    cycle_affinities : ndarray
        Affinity of each basis cycle (nats).
    reversible : bool
        Kolmogorov's criterion: every basis cycle affinity and every current within tolerance
        of zero, and no one-way transition.
    """

    stationary: np.ndarray
    entropy_production: float
    currents: np.ndarray
    cycles: list[list[int]]
    cycle_affinities: np.ndarray
    reversible: bool

    def to_dict(self) -> dict:
        """Summary as plain types (without the full current matrix)."""
        return {
            "value": self.entropy_production,
            "ci_low": self.entropy_production,  # exact: a zero-width interval
            "ci_high": self.entropy_production,
            "unit": "nats/step",
            "max_abs_current": float(np.abs(self.currents).max()),
            "max_abs_cycle_affinity": float(np.abs(self.cycle_affinities).max(initial=0.0)),
            "n_cycles": len(self.cycles),
            "reversible": self.reversible,
        }


def stationary_distribution(P: np.ndarray) -> np.ndarray:
    """Stationary distribution of an irreducible transition matrix (left eigenvector of
    eigenvalue 1, solved as a linear system)."""
    n = P.shape[0]
    a = np.vstack([P.T - np.eye(n), np.ones((1, n))])
    b = np.zeros(n + 1)
    b[-1] = 1.0
    pi, *_ = np.linalg.lstsq(a, b, rcond=None)
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def _check_stochastic(P: np.ndarray) -> np.ndarray:
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise ValueError(f"P must be a square matrix, got shape {P.shape}")
    if not np.isfinite(P).all() or (P < 0).any():
        raise ValueError("P must have finite, non-negative entries")
    if not np.allclose(P.sum(1), 1.0, atol=1e-8):
        raise ValueError("each row of P must sum to 1")
    return P


def entropy_production_exact(P: np.ndarray, tol: float = 1e-10) -> ExactEntropyProduction:
    """Stationary distribution, entropy production, currents and cycle affinities of ``P``.

    Parameters
    ----------
    P : array_like
        Row-stochastic transition matrix, shape [n, n] (``P[i, j] = p(j | i)``), irreducible.
    tol : float
        Tolerance of the reversibility check.

    Returns
    -------
    ExactEntropyProduction
    """
    P = _check_stochastic(P)
    pi = stationary_distribution(P)
    flux = pi[:, None] * P
    currents = flux - flux.T
    forward, backward = flux, flux.T
    both = (forward > 0) & (backward > 0)
    one_way = (forward > 0) & (backward == 0)
    if one_way.any():
        sigma = float("inf")
    else:
        sigma = float(np.sum(forward[both] * np.log(forward[both] / backward[both])))
    graph = nx.Graph()
    graph.add_nodes_from(range(P.shape[0]))
    rows, cols = np.nonzero(np.triu(both, 1))
    graph.add_edges_from(zip(rows.tolist(), cols.tolist(), strict=True))
    cycles = nx.cycle_basis(graph)
    log_ratio = np.zeros_like(P)
    log_ratio[both] = np.log(P[both]) - np.log(P.T[both])
    affinities = np.array([
        sum(log_ratio[c[k], c[(k + 1) % len(c)]] for k in range(len(c))) for c in cycles
    ])
    reversible = (not one_way.any() and np.abs(currents).max() <= tol
                  and np.abs(affinities).max(initial=0.0) <= max(tol, 1e-8))
    return ExactEntropyProduction(pi, sigma, currents, cycles, affinities, bool(reversible))
