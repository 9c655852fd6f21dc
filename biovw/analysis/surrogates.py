"""Surrogate tests of detailed balance: time-reversed blocks and shuffles.

:func:`surrogate_test` compares a statistic of the recording with its values on surrogate
recordings and returns the p-value ``(1 + #{surrogate >= observed}) / (1 + n)``.

``kind="reversal"``
    Every chain is cut into blocks of ``block_length`` steps and each block is reversed in
    time with probability 1/2. Under detailed balance a stationary block and its reversal
    have the same law, so the surrogates are draws from the null of the recording itself
    (exactly for blocks that are independent, approximately for blocks of one chain that are
    long compared with its memory). This tests "detailed balance holds".
``kind="shuffle"``
    The time points of every chain are permuted. The surrogates are independent draws from
    the stationary distribution, so this tests "no temporal structure", as the p-values of
    the ``irreversibility`` package do. A reversible process with memory is not exchangeable,
    so a statistic that responds to memory (not only to irreversibility) rejects this null
    for reversible data: use it only with statistics that are zero in expectation for every
    reversible process.

:func:`current_statistic` is the default statistic: the Hotelling form ``n mu^T S^-1 mu`` of
the mean linear currents (increments and antisymmetric products of coordinates, see
:mod:`biovw.analysis.tur`), which is zero in expectation for a reversible process whatever its
memory, and needs no fitting because the surrogates calibrate it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from biovw.analysis.record import as_chains
from biovw.analysis.tur import _project, current_basis, total_derivatives

__all__ = ["SurrogateTest", "current_statistic", "surrogate_test"]


@dataclass(frozen=True)
class SurrogateTest:
    """Result of :func:`surrogate_test`.

    Attributes
    ----------
    p_value : float
    statistic : float
        Value on the recording.
    null : ndarray
        Values on the surrogates.
    kind : str
        ``"reversal"`` or ``"shuffle"``.
    block_length : int or None
        Steps per reversed block.
    """

    p_value: float
    statistic: float
    null: np.ndarray
    kind: str
    block_length: int | None

    def to_dict(self) -> dict:
        """Plain-type summary."""
        return {"p_value": self.p_value, "statistic": self.statistic, "kind": self.kind,
                "n_surrogates": int(len(self.null)), "block_length": self.block_length}


def _hotelling(sums: np.ndarray, second: np.ndarray, n: int, dim: int) -> np.ndarray:
    """``n mu^T S^-1 mu`` for every row of ``sums`` (current sums), with ``S`` the second
    moment of the currents (unchanged by reversing any of them) and the means of increments
    of state functions set to their exact value, zero."""
    ridge = 1e-10 * np.trace(second) / len(second) + 1e-300
    inv = np.linalg.inv(second + ridge * np.eye(len(second)))
    mu = np.where(total_derivatives(dim)[None, :], 0.0, sums / n)
    return n * np.einsum("ri,ij,rj->r", mu, inv, mu)


def current_statistic(chains: list[np.ndarray], max_dim: int = 8) -> float:
    """``n mu^T S^-1 mu`` of the linear currents of all transitions (chains kept apart;
    ``S`` their second moment)."""
    projected, _ = _project(chains, max_dim)
    J = np.concatenate([current_basis(c) for c in projected])
    second = np.einsum("ti,tj->ij", J, J) / len(J)
    return float(_hotelling(J.sum(axis=0)[None, :], second, len(J), projected[0].shape[1])[0])


def _current_reversal(chains: list[np.ndarray], block: int, n_surrogates: int,
                      rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """:func:`current_statistic` and its reversal surrogates without rebuilding data: reversing
    a block negates the currents of its transitions (transitions across block boundaries are
    left out of the data and of the surrogates alike)."""
    projected, _ = _project(chains, 8)
    sums, second, n = [], 0.0, 0
    for c in projected:
        J = current_basis(c)
        starts = np.arange(0, len(c), block)
        inside = np.ones(len(J), dtype=bool)
        inside[starts[1:] - 1] = False  # the transition from one block into the next
        block_of = np.arange(len(J)) // block
        J = J[inside]
        sums.append(np.add.reduceat(J, np.flatnonzero(np.diff(
            np.concatenate([[-1], block_of[inside]])) != 0), axis=0))
        second = second + np.einsum("ti,tj->ij", J, J)
        n += len(J)
    sums = np.concatenate(sums)
    second = second / n
    dim = projected[0].shape[1]
    observed = float(_hotelling(sums.sum(axis=0)[None, :], second, n, dim)[0])
    signs = rng.integers(0, 2, size=(n_surrogates, len(sums))) * 2.0 - 1.0
    return observed, _hotelling(signs @ sums, second, n, dim)


def _reverse_blocks(chain: np.ndarray, block: int, rng: np.random.Generator) -> np.ndarray:
    n_blocks = -(-len(chain) // block)
    flip = rng.random(n_blocks) < 0.5
    index = np.arange(len(chain))
    start = (index // block) * block
    stop = np.minimum(start + block, len(chain))
    reversed_index = start + stop - 1 - index
    return chain[np.where(flip[index // block], reversed_index, index)]


def surrogate_test(
    x: np.ndarray | Sequence[np.ndarray],
    statistic: Callable[[list[np.ndarray]], float] | None = None,
    *,
    kind: str = "reversal",
    n_surrogates: int = 99,
    block_length: int | None = None,
    seed: int = 0,
) -> SurrogateTest:
    """p-value of a statistic against surrogate recordings.

    Parameters
    ----------
    x : array_like or list of arrays
        Recording, ``[T, D]``, ``[chains, T, D]`` or a list of ``[T_i, D]`` chains.
    statistic : callable, optional
        Maps a list of ``[T_i, D]`` chains to a number, larger meaning further from the null.
        Default :func:`current_statistic` (with reversal surrogates computed from block sums
        of the currents, without rebuilding data).
    kind : {"reversal", "shuffle"}
        Surrogates (module documentation).
    n_surrogates : int
        Number of surrogates.
    block_length : int, optional
        Steps per reversed block (default ``max(sqrt(T), 20)`` for the median chain length
        ``T``, at most a quarter of the chain).
    seed : int

    Returns
    -------
    SurrogateTest
    """
    if kind not in ("reversal", "shuffle"):
        raise ValueError(f"unknown surrogate kind {kind!r}")
    chains = as_chains(x)
    rng = np.random.default_rng(seed)
    block = None
    if kind == "reversal":
        median = int(np.median([len(c) for c in chains]))
        block = block_length or min(max(int(np.sqrt(median)), 20), max(2, median // 4))
        if statistic is None:
            observed, null = _current_reversal(chains, block, n_surrogates, rng)
            p_value = (1 + int(np.count_nonzero(null >= observed))) / (1 + n_surrogates)
            return SurrogateTest(float(p_value), observed, null, kind, block)
    statistic = statistic or current_statistic
    observed = float(statistic(chains))
    null = np.empty(n_surrogates)
    for r in range(n_surrogates):
        if kind == "reversal":
            surrogate = [_reverse_blocks(c, block, rng) for c in chains]
        else:
            surrogate = [c[rng.permutation(len(c))] for c in chains]
        null[r] = statistic(surrogate)
    p_value = (1 + int(np.count_nonzero(null >= observed))) / (1 + n_surrogates)
    return SurrogateTest(float(p_value), observed, null, kind, block)
