"""Graph and sign structure of a recurrent weight matrix.

Weights follow the convention ``W[post, pre]``: ``W[i, j]`` is the synapse from unit ``j`` onto
unit ``i``. Numpy arrays and torch tensors are accepted and converted to float64 numpy arrays.
The directed graph of a weight matrix has an edge ``j -> i`` (pre -> post) wherever
``|W[i, j]| > tol``; it is built as ``nx.from_numpy_array(A.T, create_using=nx.DiGraph)`` from the
thresholded weights ``A``. Graph statistics (density, reciprocity, motifs) ignore self-loops
(the diagonal); weight statistics (asymmetry, spectrum) use the full matrix.

Quantities that are undefined for a given matrix (e.g. the asymmetry of an all-zero matrix, the
reciprocity of a graph without edges) are ``nan`` on the result objects and ``None`` in their
``to_dict()`` output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "TRIAD_NAMES",
    "BlockStats",
    "ConnectivityReport",
    "EIStructure",
    "MotifCensus",
    "asymmetry_index",
    "connectivity_report",
    "ei_structure",
    "motif_census",
    "reciprocity",
    "symmetric_fraction",
    "weight_graph",
]

#: The 16 triad types (MAN codes) of the triadic census, in the order networkx reports them.
TRIAD_NAMES: tuple[str, ...] = (
    "003", "012", "102", "021D", "021U", "021C", "111D", "111U",
    "030T", "030C", "201", "120D", "120U", "120C", "210", "300",
)


def _json_float(x: float) -> float | None:
    """``float(x)``, or ``None`` when ``x`` is not finite (JSON has no nan/inf)."""
    x = float(x)
    return x if math.isfinite(x) else None


def _as_matrix(W: Any) -> np.ndarray:
    """Square float64 numpy copy of a numpy array or torch tensor."""
    if hasattr(W, "detach"):
        W = W.detach().cpu().double().numpy()
    W = np.array(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] == 0:
        raise ValueError(f"W must be a non-empty square matrix, got shape {W.shape}")
    if not np.isfinite(W).all():
        raise ValueError("W must have finite entries")
    return W


def _as_vector(x: Any, n: int, name: str) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().double().numpy()
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.shape[0] != n:
        raise ValueError(f"{name} must have one entry per unit ({n}), got {x.shape[0]}")
    return x


def _check_tol(tol: float) -> float:
    tol = float(tol)
    if not tol >= 0:
        raise ValueError(f"tol must be non-negative, got {tol}")
    return tol


def _adjacency(W: np.ndarray, tol: float) -> np.ndarray:
    """Boolean ``A[post, pre]`` of off-diagonal entries with ``|w| > tol``."""
    A = np.abs(W) > tol
    np.fill_diagonal(A, False)
    return A


def weight_graph(W: Any, tol: float = 0.0, self_loops: bool = False) -> nx.DiGraph:
    """Directed graph of a weight matrix, edges pre -> post.

    Parameters
    ----------
    W : array_like or Tensor
        Weight matrix ``W[post, pre]``, shape [n, n].
    tol : float
        Entries with ``|w| <= tol`` are no edge.
    self_loops : bool
        Keep diagonal entries as self-loops.

    Returns
    -------
    networkx.DiGraph
        Nodes ``0..n-1``; edge ``(j, i)`` with attribute ``weight = W[i, j]`` for every kept
        entry.
    """
    W = _as_matrix(W)
    tol = _check_tol(tol)
    keep = np.abs(W) > tol
    if not self_loops:
        np.fill_diagonal(keep, False)
    import networkx as nx  # imported here: it takes a fifth of a second to import

    return nx.from_numpy_array(np.where(keep, W, 0.0).T, create_using=nx.DiGraph)


def asymmetry_index(W: Any) -> float:
    """Relative size of the antisymmetric difference, ``||W - W^T||_F / ||W||_F``.

    Since ``||W - W^T||_F <= 2 ||W||_F`` the index lies in ``[0, 2]``: 0 for a symmetric and 2
    for an antisymmetric matrix; ``4 (1 - symmetric_fraction(W)) = asymmetry_index(W)^2``.

    Parameters
    ----------
    W : array_like or Tensor
        Weight matrix, shape [n, n].

    Returns
    -------
    float
        The index, ``nan`` for an all-zero matrix.
    """
    W = _as_matrix(W)
    norm = np.linalg.norm(W)
    if norm == 0:
        return float("nan")
    return float(np.linalg.norm(W - W.T) / norm)


def symmetric_fraction(W: Any) -> float:
    """Fraction of the squared Frobenius norm in the symmetric part,
    ``||(W + W^T) / 2||_F^2 / ||W||_F^2``.

    The symmetric and antisymmetric parts are orthogonal, so this lies in ``[0, 1]``: 1 for a
    symmetric, 0 for an antisymmetric matrix, 1/2 in expectation for i.i.d. entries.

    Parameters
    ----------
    W : array_like or Tensor
        Weight matrix, shape [n, n].

    Returns
    -------
    float
        The fraction, ``nan`` for an all-zero matrix.
    """
    W = _as_matrix(W)
    total = float(np.sum(W * W))
    if total == 0:
        return float("nan")
    sym = 0.5 * (W + W.T)
    return float(np.sum(sym * sym) / total)


def reciprocity(W: Any, tol: float = 0.0) -> float:
    """Fraction of edges whose reverse edge also exists (self-loops excluded).

    Computed with :func:`networkx.reciprocity` on :func:`weight_graph`. For independent edges
    of probability ``p`` its expectation is ``p``.

    Parameters
    ----------
    W : array_like or Tensor
        Weight matrix ``W[post, pre]``, shape [n, n].
    tol : float
        Entries with ``|w| <= tol`` are no edge.

    Returns
    -------
    float
        Reciprocity in ``[0, 1]``, ``nan`` when the graph has no edge.
    """
    graph = weight_graph(W, tol)
    if graph.number_of_edges() == 0:
        return float("nan")
    import networkx as nx

    return float(nx.reciprocity(graph))


@dataclass(frozen=True)
class MotifCensus:
    """Two- and three-node motif counts of a weight graph (self-loops excluded).

    Attributes
    ----------
    mutual : int
        Unordered pairs connected in both directions.
    asymmetric : int
        Unordered pairs connected in exactly one direction.
    null : int
        Unordered pairs not connected; ``mutual + asymmetric + null = n (n - 1) / 2``.
    triads : dict of str to int
        Triadic census keyed by the 16 MAN codes of :data:`TRIAD_NAMES` (M mutual, A
        asymmetric, N null dyads, then a letter for the variants): ``021D`` ``A<-B->C``,
        ``021U`` ``A->B<-C``, ``021C`` ``A->B->C``, ``111D`` ``A<->B<-C``, ``111U``
        ``A<->B->C``, ``030T`` ``A->B<-C, A->C``, ``030C`` ``A<-B<-C, A->C``, ``120D``
        ``A<-B->C, A<->C``, ``120U`` ``A->B<-C, A<->C``, ``120C`` ``A->B->C, A<->C``, ``210``
        ``A->B<->C, A<->C``. The counts sum to ``n (n - 1) (n - 2) / 6``.
    """

    mutual: int
    asymmetric: int
    null: int
    triads: dict[str, int]

    def to_dict(self) -> dict:
        """Counts as plain types."""
        return {
            "dyads": {"mutual": self.mutual, "asymmetric": self.asymmetric, "null": self.null},
            "triads": {name: int(self.triads[name]) for name in TRIAD_NAMES},
        }


def motif_census(W: Any, tol: float = 0.0) -> MotifCensus:
    """Dyad counts and triadic census of the weight graph.

    Parameters
    ----------
    W : array_like or Tensor
        Weight matrix ``W[post, pre]``, shape [n, n].
    tol : float
        Entries with ``|w| <= tol`` are no edge.

    Returns
    -------
    MotifCensus
    """
    W = _as_matrix(W)
    A = _adjacency(W, _check_tol(tol))
    n = W.shape[0]
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    mutual = int(np.sum(A & A.T & upper))
    asymmetric = int(np.sum((A ^ A.T) & upper))
    null = n * (n - 1) // 2 - mutual - asymmetric
    import networkx as nx

    graph = nx.from_numpy_array(A.T.astype(np.float64), create_using=nx.DiGraph)
    census = nx.triadic_census(graph)
    triads = {name: int(census.get(name, 0)) for name in TRIAD_NAMES}
    return MotifCensus(mutual, asymmetric, null, triads)


@dataclass(frozen=True)
class BlockStats:
    """Weights from the units of group ``pre`` onto the units of group ``post``.

    Attributes
    ----------
    post, pre : str
        Postsynaptic (row) and presynaptic (column) group names.
    n_weights : int
        Number of entries in the block (diagonal entries excluded when requested).
    mean : float
        Mean weight.
    mean_abs : float
        Mean absolute weight.
    fraction_nonzero : float
        Fraction of entries with ``|w| > tol``.
    """

    post: str
    pre: str
    n_weights: int
    mean: float
    mean_abs: float
    fraction_nonzero: float

    def to_dict(self) -> dict:
        """Statistics as plain types."""
        return {
            "post": self.post,
            "pre": self.pre,
            "n_weights": self.n_weights,
            "mean": _json_float(self.mean),
            "mean_abs": _json_float(self.mean_abs),
            "fraction_nonzero": _json_float(self.fraction_nonzero),
        }


@dataclass(frozen=True)
class EIStructure:
    """Result of :func:`ei_structure`.

    Attributes
    ----------
    groups : tuple of str
        Group names in order of first appearance.
    group_sizes : dict of str to int
        Number of units per group.
    n_excitatory, n_inhibitory : int
        Units declared excitatory (+1) and inhibitory (-1).
    blocks : dict of str to BlockStats
        One block per (post-group, pre-group) pair, keyed ``"pre->post"`` (``"E->I"`` is the
        block ``W[I, E]``), in the order (pre, post) of :attr:`groups`.
    excitatory_input, inhibitory_input : ndarray
        Per postsynaptic unit, the summed weights from units declared excitatory and
        inhibitory, shape [n].
    excitatory_input_mean, excitatory_input_std : float
        Mean and standard deviation over postsynaptic units of :attr:`excitatory_input`.
    inhibitory_input_mean, inhibitory_input_std : float
        Same for :attr:`inhibitory_input`.
    balance_ratio : float
        Mean over postsynaptic units of ``|inhibitory input| / excitatory input``, over the units
        whose excitatory input is positive (``nan`` if none).
    balance_units : int
        Number of units entering :attr:`balance_ratio`.
    dale_violations : int
        Number of presynaptic units with a declared sign whose nonzero outgoing weights do not
        all have that sign.
    dale_violating_units : tuple of int
        Their indices.
    dale_violating_weights : int
        Number of nonzero weights with the wrong sign.
    """

    groups: tuple[str, ...]
    group_sizes: dict[str, int]
    n_excitatory: int
    n_inhibitory: int
    blocks: dict[str, BlockStats]
    excitatory_input: np.ndarray
    inhibitory_input: np.ndarray
    excitatory_input_mean: float
    excitatory_input_std: float
    inhibitory_input_mean: float
    inhibitory_input_std: float
    balance_ratio: float
    balance_units: int
    dale_violations: int
    dale_violating_units: tuple[int, ...]
    dale_violating_weights: int

    def to_dict(self) -> dict:
        """Summary as plain types (without the per-unit input vectors)."""
        return {
            "groups": list(self.groups),
            "group_sizes": dict(self.group_sizes),
            "n_excitatory": self.n_excitatory,
            "n_inhibitory": self.n_inhibitory,
            "blocks": {key: block.to_dict() for key, block in self.blocks.items()},
            "excitatory_input_mean": _json_float(self.excitatory_input_mean),
            "excitatory_input_std": _json_float(self.excitatory_input_std),
            "inhibitory_input_mean": _json_float(self.inhibitory_input_mean),
            "inhibitory_input_std": _json_float(self.inhibitory_input_std),
            "balance_ratio": _json_float(self.balance_ratio),
            "balance_units": self.balance_units,
            "dale_violations": self.dale_violations,
            "dale_violating_units": list(self.dale_violating_units),
            "dale_violating_weights": self.dale_violating_weights,
        }


_DEFAULT_GROUP = {1: "E", -1: "I", 0: "U"}


def ei_structure(
    W: Any,
    signs: Any,
    groups: Sequence[str] | None = None,
    tol: float = 0.0,
    include_diagonal: bool = True,
) -> EIStructure:
    """Excitatory/inhibitory block structure, input balance and Dale's-law violations.

    Parameters
    ----------
    W : array_like or Tensor
        Weight matrix ``W[post, pre]``, shape [n, n].
    signs : array_like or Tensor
        Declared sign of each presynaptic unit, shape [n]: +1 excitatory, -1 inhibitory, 0 no
        declared sign (left out of the excitatory/inhibitory inputs and the Dale check).
    groups : sequence of str, optional
        Group name of each unit, e.g. ``["V"] * n_visible + ["E"] * n_e + ["I"] * n_i`` to
        treat a visible population separately. Defaults to ``"E"``/``"I"``/``"U"`` by sign.
    tol : float
        Weights with ``|w| <= tol`` count as zero (block densities, Dale check).
    include_diagonal : bool
        Whether self-connections enter the blocks, the inputs and the Dale check.

    Returns
    -------
    EIStructure
    """
    W = _as_matrix(W)
    tol = _check_tol(tol)
    n = W.shape[0]
    sign = _as_vector(signs, n, "signs")
    if not np.isin(sign, (-1.0, 0.0, 1.0)).all():
        raise ValueError("signs must be +1, -1 or 0")
    sign = sign.astype(np.int64)
    if groups is None:
        labels = [_DEFAULT_GROUP[int(s)] for s in sign]
        names = tuple(g for g in ("E", "I", "U") if g in labels)
    else:
        labels = [str(g) for g in groups]
        if len(labels) != n:
            raise ValueError(f"groups must have one entry per unit ({n}), got {len(labels)}")
        names = tuple(dict.fromkeys(labels))
    labels_arr = np.array(labels, dtype=object)

    valid = np.ones((n, n), dtype=bool)
    if not include_diagonal:
        np.fill_diagonal(valid, False)
    Wv = np.where(valid, W, 0.0)
    nonzero = (np.abs(W) > tol) & valid

    blocks: dict[str, BlockStats] = {}
    for pre in names:
        cols = labels_arr == pre
        for post in names:
            rows = labels_arr == post
            sel = valid[np.ix_(rows, cols)]
            values = W[np.ix_(rows, cols)][sel]
            count = int(values.size)
            if count:
                mean = float(values.mean())
                mean_abs = float(np.abs(values).mean())
                frac = float(np.mean(np.abs(values) > tol))
            else:
                mean = mean_abs = frac = float("nan")
            blocks[f"{pre}->{post}"] = BlockStats(post, pre, count, mean, mean_abs, frac)

    exc_input = Wv[:, sign == 1].sum(axis=1)
    inh_input = Wv[:, sign == -1].sum(axis=1)
    positive = exc_input > 0
    balance = (
        float(np.mean(np.abs(inh_input[positive]) / exc_input[positive]))
        if positive.any()
        else float("nan")
    )

    wrong = nonzero & (sign[None, :] != 0) & (np.sign(W) * sign[None, :] < 0)
    violating = np.flatnonzero(wrong.any(axis=0))

    return EIStructure(
        groups=names,
        group_sizes={g: labels.count(g) for g in names},
        n_excitatory=int(np.sum(sign == 1)),
        n_inhibitory=int(np.sum(sign == -1)),
        blocks=blocks,
        excitatory_input=exc_input,
        inhibitory_input=inh_input,
        excitatory_input_mean=float(exc_input.mean()),
        excitatory_input_std=float(exc_input.std()),
        inhibitory_input_mean=float(inh_input.mean()),
        inhibitory_input_std=float(inh_input.std()),
        balance_ratio=balance,
        balance_units=int(positive.sum()),
        dale_violations=int(violating.size),
        dale_violating_units=tuple(int(j) for j in violating),
        dale_violating_weights=int(wrong.sum()),
    )


@dataclass(frozen=True)
class ConnectivityReport:
    """Result of :func:`connectivity_report`.

    Attributes
    ----------
    n_units : int
        Matrix size n.
    tol : float
        Threshold below which (``|w| <= tol``) a weight is no edge.
    n_edges : int
        Off-diagonal edges.
    n_self_loops : int
        Diagonal entries with ``|w| > tol``.
    density : float
        ``n_edges / (n (n - 1))`` (``nan`` for n = 1).
    asymmetry_index : float
        See :func:`asymmetry_index`.
    symmetric_fraction : float
        See :func:`symmetric_fraction`.
    reciprocity : float
        See :func:`reciprocity`.
    motifs : MotifCensus or None
        Dyad counts and triadic census (None when not asked for).
    ei : EIStructure or None
        E/I structure when signs were given.
    spectral_radius : float
        Largest eigenvalue modulus of W.
    max_real_eigenvalue : float
        Largest real part of the eigenvalues of W.
    """

    n_units: int
    tol: float
    n_edges: int
    n_self_loops: int
    density: float
    asymmetry_index: float
    symmetric_fraction: float
    reciprocity: float
    motifs: MotifCensus | None
    ei: EIStructure | None
    spectral_radius: float
    max_real_eigenvalue: float

    def to_dict(self) -> dict:
        """Report as plain JSON types."""
        return {
            "n_units": self.n_units,
            "tol": self.tol,
            "n_edges": self.n_edges,
            "n_self_loops": self.n_self_loops,
            "density": _json_float(self.density),
            "asymmetry_index": _json_float(self.asymmetry_index),
            "symmetric_fraction": _json_float(self.symmetric_fraction),
            "reciprocity": _json_float(self.reciprocity),
            "motifs": None if self.motifs is None else self.motifs.to_dict(),
            "ei": None if self.ei is None else self.ei.to_dict(),
            "spectral_radius": _json_float(self.spectral_radius),
            "max_real_eigenvalue": _json_float(self.max_real_eigenvalue),
        }


def connectivity_report(
    W: Any,
    signs: Any | None = None,
    groups: Sequence[str] | None = None,
    tol: float = 0.0,
    motifs: bool = True,
) -> ConnectivityReport:
    """All connectivity statistics of a weight matrix.

    Parameters
    ----------
    W : array_like or Tensor
        Weight matrix ``W[post, pre]``, shape [n, n].
    signs : array_like or Tensor, optional
        Declared sign per presynaptic unit; enables the E/I structure (:func:`ei_structure`).
    groups : sequence of str, optional
        Group name per unit for the E/I blocks (only used with ``signs``).
    tol : float
        Entries with ``|w| <= tol`` are no edge / zero.
    motifs : bool
        Count the triads (:func:`motif_census`); networkx's triadic census takes of the order
        of ``n**3`` steps, hours for a dense circuit of a thousand units.

    Returns
    -------
    ConnectivityReport
    """
    W = _as_matrix(W)
    tol = _check_tol(tol)
    n = W.shape[0]
    A = _adjacency(W, tol)
    n_edges = int(A.sum())
    eig = np.linalg.eigvals(W)
    return ConnectivityReport(
        n_units=n,
        tol=tol,
        n_edges=n_edges,
        n_self_loops=int(np.sum(np.abs(np.diag(W)) > tol)),
        density=n_edges / (n * (n - 1)) if n > 1 else float("nan"),
        asymmetry_index=asymmetry_index(W),
        symmetric_fraction=symmetric_fraction(W),
        reciprocity=reciprocity(W, tol),
        motifs=motif_census(W, tol) if motifs else None,
        ei=None if signs is None else ei_structure(W, signs, groups, tol),
        spectral_radius=float(np.abs(eig).max()),
        max_real_eigenvalue=float(eig.real.max()),
    )
