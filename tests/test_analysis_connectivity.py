"""Connectivity statistics of weight matrices against hand-computed and brute-force truths."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch

from biovw.analysis.connectivity import (
    TRIAD_NAMES,
    asymmetry_index,
    connectivity_report,
    ei_structure,
    motif_census,
    reciprocity,
    symmetric_fraction,
    weight_graph,
)


def random_sparse(n, p, rng, diagonal=False):
    W = rng.normal(size=(n, n)) * (rng.random((n, n)) < p)
    if not diagonal:
        np.fill_diagonal(W, 0.0)
    return W


def triad_code(edge, a, b, c):
    """MAN code of the triad {a, b, c}, where ``edge(x, y)`` says whether x -> y."""
    nodes = (a, b, c)
    mutual, asym = [], []
    for x, y in itertools.combinations(nodes, 2):
        if edge(x, y) and edge(y, x):
            mutual.append((x, y))
        elif edge(x, y):
            asym.append((x, y))
        elif edge(y, x):
            asym.append((y, x))
    m, a_ = len(mutual), len(asym)
    out_deg = {v: sum(src == v for src, _ in asym) for v in nodes}
    in_deg = {v: sum(dst == v for _, dst in asym) for v in nodes}
    if (m, a_) == (0, 0):
        return "003"
    if (m, a_) == (0, 1):
        return "012"
    if (m, a_) == (1, 0):
        return "102"
    if (m, a_) == (0, 2):
        if max(out_deg.values()) == 2:
            return "021D"
        if max(in_deg.values()) == 2:
            return "021U"
        return "021C"
    if (m, a_) == (1, 1):
        third = (set(nodes) - set(mutual[0])).pop()
        return "111D" if asym[0][0] == third else "111U"
    if (m, a_) == (0, 3):
        return "030C" if all(d == 1 for d in out_deg.values()) else "030T"
    if (m, a_) == (2, 0):
        return "201"
    if (m, a_) == (1, 2):
        third = (set(nodes) - set(mutual[0])).pop()
        if out_deg[third] == 2:
            return "120D"
        if in_deg[third] == 2:
            return "120U"
        return "120C"
    if (m, a_) == (2, 1):
        return "210"
    assert (m, a_) == (3, 0)
    return "300"


def brute_force_census(W):
    n = W.shape[0]

    def edge(pre, post):
        return W[post, pre] != 0

    census = dict.fromkeys(TRIAD_NAMES, 0)
    for a, b, c in itertools.combinations(range(n), 3):
        census[triad_code(edge, a, b, c)] += 1
    return census


# Each triad type on nodes A=0, B=1, C=2 as (pre, post) edges.
TRIAD_PATTERNS = {
    "003": [],
    "012": [(0, 1)],
    "102": [(0, 1), (1, 0)],
    "021D": [(1, 0), (1, 2)],
    "021U": [(0, 1), (2, 1)],
    "021C": [(0, 1), (1, 2)],
    "111D": [(0, 1), (1, 0), (2, 1)],
    "111U": [(0, 1), (1, 0), (1, 2)],
    "030T": [(0, 1), (2, 1), (0, 2)],
    "030C": [(2, 1), (1, 0), (0, 2)],
    "201": [(0, 1), (1, 0), (1, 2), (2, 1)],
    "120D": [(1, 0), (1, 2), (0, 2), (2, 0)],
    "120U": [(0, 1), (2, 1), (0, 2), (2, 0)],
    "120C": [(0, 1), (1, 2), (0, 2), (2, 0)],
    "210": [(0, 1), (1, 2), (2, 1), (0, 2), (2, 0)],
    "300": [(0, 1), (1, 0), (1, 2), (2, 1), (0, 2), (2, 0)],
}


def from_edges(n, edges, weight=0.7):
    W = np.zeros((n, n))
    for pre, post in edges:
        W[post, pre] = weight
    return W


# --- orientation -------------------------------------------------------------------------


def test_orientation_post_pre():
    W = np.zeros((3, 3))
    W[1, 0] = 0.5
    graph = weight_graph(W)
    assert list(graph.edges) == [(0, 1)]
    assert graph[0][1]["weight"] == 0.5
    # out-star from unit 1 (W[0, 1], W[2, 1] set) is 021D, its transpose the in-star 021U
    out_star = from_edges(3, [(1, 0), (1, 2)])
    assert motif_census(out_star).triads["021D"] == 1
    assert motif_census(out_star.T).triads["021U"] == 1


def test_graph_tolerance_and_self_loops():
    W = np.array([[0.3, 1e-8, 0.0], [0.2, 0.0, -0.5], [0.0, 0.0, 0.0]])
    assert sorted(weight_graph(W).edges) == [(0, 1), (1, 0), (2, 1)]
    assert sorted(weight_graph(W, tol=1e-6).edges) == [(0, 1), (2, 1)]
    assert (0, 0) in weight_graph(W, self_loops=True).edges


def test_torch_input_matches_numpy():
    rng = np.random.default_rng(0)
    W = random_sparse(12, 0.4, rng)
    Wt = torch.tensor(W, dtype=torch.float32, requires_grad=True)
    W32 = Wt.detach().double().numpy()
    assert asymmetry_index(Wt) == pytest.approx(asymmetry_index(W32), rel=1e-12)
    assert reciprocity(Wt) == reciprocity(W32)
    assert connectivity_report(Wt).to_dict() == connectivity_report(W32).to_dict()


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="square"):
        asymmetry_index(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        reciprocity(np.array([[0.0, np.nan], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="tol"):
        reciprocity(np.eye(2), tol=-1.0)
    with pytest.raises(ValueError, match="signs"):
        ei_structure(np.eye(2), [1, 2])
    with pytest.raises(ValueError, match="groups"):
        ei_structure(np.eye(2), [1, -1], groups=["E"])


# --- asymmetry ---------------------------------------------------------------------------


def test_asymmetry_symmetric_and_antisymmetric():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 20))
    assert asymmetry_index(X + X.T) == pytest.approx(0.0, abs=1e-15)
    assert symmetric_fraction(X + X.T) == pytest.approx(1.0)
    assert asymmetry_index(X - X.T) == pytest.approx(2.0)
    assert symmetric_fraction(X - X.T) == pytest.approx(0.0, abs=1e-15)


def test_asymmetry_identity_and_iid_limit():
    rng = np.random.default_rng(2)
    for _ in range(5):
        W = rng.normal(size=(15, 15)) + rng.normal() * np.eye(15)
        a, s = asymmetry_index(W), symmetric_fraction(W)
        assert 0 <= a <= 2 and 0 <= s <= 1
        assert a**2 == pytest.approx(4 * (1 - s))
    # i.i.d. entries: off-diagonal mass splits evenly between symmetric and antisymmetric parts
    W = rng.normal(size=(300, 300))
    assert symmetric_fraction(W) == pytest.approx(0.5, abs=0.01)
    assert asymmetry_index(W) == pytest.approx(math.sqrt(2), abs=0.02)


def test_asymmetry_zero_matrix_is_nan():
    assert math.isnan(asymmetry_index(np.zeros((3, 3))))
    assert math.isnan(symmetric_fraction(np.zeros((3, 3))))


# --- reciprocity -------------------------------------------------------------------------


def test_reciprocity_symmetric_dense_is_one():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(10, 10))
    W = X + X.T
    np.fill_diagonal(W, 0.0)
    assert reciprocity(W) == 1.0


def test_reciprocity_matches_numpy_and_ignores_self_loops():
    rng = np.random.default_rng(4)
    for p in (0.1, 0.3, 0.7):
        W = random_sparse(25, p, rng, diagonal=True)
        A = W != 0
        np.fill_diagonal(A, False)
        expected = np.sum(A & A.T) / np.sum(A)
        assert reciprocity(W) == pytest.approx(expected, rel=1e-12)


def test_reciprocity_tolerance():
    W = np.array([[0.0, 1.0, 0.0], [1e-9, 0.0, 1.0], [0.0, 1.0, 0.0]])
    assert reciprocity(W) == 1.0
    assert reciprocity(W, tol=1e-6) == pytest.approx(2 / 3)
    assert math.isnan(reciprocity(np.eye(3)))


def test_reciprocity_random_graph_equals_density():
    rng = np.random.default_rng(5)
    p = 0.05
    W = random_sparse(400, p, rng)
    # mutual pairs ~ Binomial(n(n-1)/2, p^2): the std of the estimate is about 0.0035
    assert reciprocity(W) == pytest.approx(p, abs=0.015)


# --- motifs ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TRIAD_NAMES)
def test_each_triad_pattern(name):
    W = from_edges(3, TRIAD_PATTERNS[name])
    census = motif_census(W)
    assert census.triads == {t: int(t == name) for t in TRIAD_NAMES}
    assert triad_code(lambda x, y: W[y, x] != 0, 0, 1, 2) == name


def test_triad_census_matches_brute_force():
    rng = np.random.default_rng(6)
    seen = set()
    for trial in range(30):
        p = 0.15 + 0.7 * trial / 29
        W = random_sparse(7, p, rng, diagonal=True)
        census = motif_census(W)
        assert census.triads == brute_force_census(W)
        assert sum(census.triads.values()) == math.comb(7, 3)
        seen |= {name for name, count in census.triads.items() if count}
    assert seen == set(TRIAD_NAMES)


def test_dyad_counts():
    rng = np.random.default_rng(7)
    n = 30
    W = random_sparse(n, 0.3, rng, diagonal=True)
    census = motif_census(W)
    A = W != 0
    mutual = sum(A[i, j] and A[j, i] for i, j in itertools.combinations(range(n), 2))
    asym = sum(A[i, j] != A[j, i] for i, j in itertools.combinations(range(n), 2))
    assert (census.mutual, census.asymmetric) == (mutual, asym)
    assert census.mutual + census.asymmetric + census.null == math.comb(n, 2)
    assert sum(census.triads.values()) == math.comb(n, 3)
    # edge count from the dyads: every mutual pair contributes two edges
    assert 2 * census.mutual + census.asymmetric == int(A.sum() - np.trace(A))
    d = census.to_dict()
    assert list(d["triads"]) == list(TRIAD_NAMES)
    assert d["dyads"] == {"mutual": mutual, "asymmetric": asym, "null": census.null}


# --- E/I structure -----------------------------------------------------------------------

W_EI = np.array([
    [0.0, 1.0, -2.0, 0.0],
    [3.0, 0.0, 0.0, -4.0],
    [2.0, 1.0, 0.0, -1.0],
    [0.0, 5.0, -3.0, 0.0],
])
SIGNS_EI = [1, 1, -1, -1]


def test_ei_blocks_by_hand():
    ei = ei_structure(W_EI, SIGNS_EI)
    assert ei.groups == ("E", "I")
    assert ei.group_sizes == {"E": 2, "I": 2}
    assert (ei.n_excitatory, ei.n_inhibitory) == (2, 2)
    expected = {  # key pre->post: (mean, mean |w|, fraction nonzero) of block W[post, pre]
        "E->E": (1.0, 1.0, 0.5),  # [[0, 1], [3, 0]]
        "E->I": (2.0, 2.0, 0.75),  # [[2, 1], [0, 5]]
        "I->E": (-1.5, 1.5, 0.5),  # [[-2, 0], [0, -4]]
        "I->I": (-1.0, 1.0, 0.5),  # [[0, -1], [-3, 0]]
    }
    assert list(ei.blocks) == list(expected)
    for key, (mean, mean_abs, frac) in expected.items():
        block = ei.blocks[key]
        assert (block.pre, block.post) == tuple(key.split("->"))
        assert block.n_weights == 4
        assert block.mean == pytest.approx(mean)
        assert block.mean_abs == pytest.approx(mean_abs)
        assert block.fraction_nonzero == pytest.approx(frac)


def test_ei_inputs_and_balance_by_hand():
    ei = ei_structure(torch.tensor(W_EI), torch.tensor(SIGNS_EI, dtype=torch.float32))
    np.testing.assert_allclose(ei.excitatory_input, [1.0, 3.0, 3.0, 5.0])
    np.testing.assert_allclose(ei.inhibitory_input, [-2.0, -4.0, -1.0, -3.0])
    assert ei.excitatory_input_mean == pytest.approx(3.0)
    assert ei.excitatory_input_std == pytest.approx(math.sqrt(2.0))
    assert ei.inhibitory_input_mean == pytest.approx(-2.5)
    assert ei.inhibitory_input_std == pytest.approx(math.sqrt(1.25))
    assert ei.balance_ratio == pytest.approx((2 / 1 + 4 / 3 + 1 / 3 + 3 / 5) / 4)
    assert ei.balance_units == 4
    assert ei.dale_violations == 0


def test_ei_balance_skips_units_without_excitation():
    W = np.array([[0.0, -1.0], [2.0, 0.0]])
    ei = ei_structure(W, [1, -1])
    # unit 0 receives no excitation; only unit 1 (|0| / 2) counts
    assert ei.balance_units == 1
    assert ei.balance_ratio == 0.0
    assert math.isnan(ei_structure(W, [-1, -1]).balance_ratio)


def test_ei_diagonal_and_groups():
    W = W_EI.copy()
    W[0, 0] = 7.0
    with_diag = ei_structure(W, SIGNS_EI)
    without = ei_structure(W, SIGNS_EI, include_diagonal=False)
    assert with_diag.blocks["E->E"].mean == pytest.approx(11 / 4)
    assert without.blocks["E->E"].n_weights == 2
    assert without.blocks["E->E"].mean == pytest.approx(2.0)
    assert without.blocks["E->E"].fraction_nonzero == 1.0
    assert with_diag.excitatory_input[0] == 8.0 and without.excitatory_input[0] == 1.0

    # a visible population with its own label (excitatory by sign)
    groups = ["V", "E", "I", "I"]
    ei = ei_structure(W_EI, SIGNS_EI, groups=groups)
    assert ei.groups == ("V", "E", "I")
    assert ei.group_sizes == {"V": 1, "E": 1, "I": 2}
    assert len(ei.blocks) == 9
    assert ei.blocks["V->I"].mean == pytest.approx(1.0)  # W[2:4, 0] = [2, 0]
    assert ei.blocks["V->I"].fraction_nonzero == 0.5
    assert ei.blocks["E->V"].mean == pytest.approx(1.0)  # W[0, 1]
    np.testing.assert_allclose(ei.excitatory_input, [1.0, 3.0, 3.0, 5.0])


def test_dale_violations():
    rng = np.random.default_rng(8)
    signs = np.array([1, 1, -1, -1, 0])
    W = rng.uniform(0.5, 1.5, size=(5, 5)) * signs[None, :]
    W[:, 4] *= np.array([1, -1, 1, -1, 1])  # unsigned unit: mixed signs are allowed
    assert ei_structure(W, signs).dale_violations == 0
    W[2, 0] = -0.3  # excitatory unit 0 with one inhibitory synapse
    W[0, 2] = 0.4  # inhibitory unit 2 with two excitatory synapses
    W[1, 2] = 0.1
    W[3, 1] = -1e-9  # below tolerance
    W[4, 3] = 0.0  # zero weights never violate
    ei = ei_structure(W, signs, tol=1e-6)
    assert ei.dale_violations == 2
    assert ei.dale_violating_units == (0, 2)
    assert ei.dale_violating_weights == 3
    strict = ei_structure(W, signs)
    assert strict.dale_violating_units == (0, 1, 2)
    assert strict.dale_violating_weights == 4
    # a wrong-signed self-connection counts only with the diagonal included
    W[3, 3] = 0.2
    assert 3 in ei_structure(W, signs, tol=1e-6).dale_violating_units
    assert 3 not in ei_structure(W, signs, tol=1e-6, include_diagonal=False).dale_violating_units


# --- report ------------------------------------------------------------------------------


def test_report_known_matrix():
    # directed 3-cycle 0 -> 1 -> 2 -> 0 with weight 2: eigenvalues 2 * cube roots of unity
    W = from_edges(3, [(0, 1), (1, 2), (2, 0)], weight=2.0)
    report = connectivity_report(W)
    assert report.n_edges == 3 and report.n_self_loops == 0
    assert report.density == pytest.approx(0.5)
    assert report.reciprocity == 0.0
    # W and W^T have disjoint supports: ||W - W^T||^2 = 2 ||W||^2
    assert report.asymmetry_index == pytest.approx(math.sqrt(2))
    assert report.symmetric_fraction == pytest.approx(0.5)
    assert report.spectral_radius == pytest.approx(2.0)
    assert report.max_real_eigenvalue == pytest.approx(2.0)
    assert report.motifs.triads["030C"] == 1
    assert report.ei is None

    rotation = np.array([[0.0, -1.0], [1.0, 0.0]])
    report = connectivity_report(rotation)
    assert report.spectral_radius == pytest.approx(1.0)
    assert report.max_real_eigenvalue == pytest.approx(0.0, abs=1e-12)
    assert report.reciprocity == 1.0


def test_report_bundles_everything_and_is_json():
    rng = np.random.default_rng(9)
    n = 40
    signs = np.where(np.arange(n) < 30, 1, -1)
    W = np.abs(random_sparse(n, 0.2, rng)) * signs[None, :]
    groups = ["V"] * 10 + ["E"] * 20 + ["I"] * 10
    report = connectivity_report(W, signs=signs, groups=groups, tol=0.0)
    A = W != 0
    assert report.n_units == n
    assert report.n_edges == int(A.sum())
    assert report.density == pytest.approx(A.sum() / (n * (n - 1)))
    assert report.asymmetry_index == asymmetry_index(W)
    assert report.symmetric_fraction == symmetric_fraction(W)
    assert report.reciprocity == reciprocity(W)
    assert report.motifs == motif_census(W)
    assert report.ei is not None and report.ei.dale_violations == 0
    assert report.ei.groups == ("V", "E", "I")
    eig = np.linalg.eigvals(W)
    assert report.spectral_radius == pytest.approx(np.abs(eig).max())
    assert report.max_real_eigenvalue == pytest.approx(eig.real.max())
    d = report.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert set(d["ei"]["blocks"]) == {f"{a}->{b}" for a in "VEI" for b in "VEI"}


def test_report_zero_matrix_to_dict():
    d = connectivity_report(np.zeros((4, 4)), signs=[1, 1, -1, -1]).to_dict()
    json.dumps(d, allow_nan=False)
    assert d["asymmetry_index"] is None and d["reciprocity"] is None
    assert d["ei"]["balance_ratio"] is None
    assert d["motifs"]["triads"]["003"] == 4
    assert d["spectral_radius"] == 0.0


def test_report_without_the_triadic_census():
    """The run summary skips the census: networkx's triadic census takes hours on a dense
    circuit of a thousand units."""
    W = np.random.default_rng(0).normal(size=(6, 6))
    report = connectivity_report(W, motifs=False)
    assert report.motifs is None and report.to_dict()["motifs"] is None
    assert report.asymmetry_index == connectivity_report(W).asymmetry_index
