"""RBM baselines checked against independent truths: brute-force enumeration, numerical
quadrature, exact transition matrices and autograd."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.special import logsumexp

from biovw.baselines import (
    BernoulliRBM,
    GaussianBernoulliRBM,
    ais_log_partition,
    beta_schedule,
    exact_log_partition,
    fit_rbm,
    log_likelihood,
    paper_betas,
    pseudo_log_likelihood,
    reverse_ais_log_partition,
    sample_exact,
    time_against_sklearn,
)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny matrices: one intra-op thread avoids contention on shared cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _randomise(rbm, std: float, seed: int, bias_std: float = 0.5):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        rbm.weight.copy_(std * torch.randn(rbm.weight.shape, generator=gen))
        rbm.visible_bias.copy_(bias_std * torch.randn(rbm.n_visible, generator=gen))
        rbm.hidden_bias.copy_(bias_std * torch.randn(rbm.n_hidden, generator=gen))
    return rbm


def _all_states(n: int) -> np.ndarray:
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def _params(rbm):
    return (
        rbm.weight.detach().double().numpy(),
        rbm.visible_bias.detach().double().numpy(),
        rbm.hidden_bias.detach().double().numpy(),
    )


def _binary_digits() -> np.ndarray:
    from sklearn.datasets import load_digits

    return (load_digits().data / 16.0 > 0.5).astype(np.float32)


# ---------------------------------------------------------------- exact partition functions


def test_exact_log_z_visible_and_hidden_enumeration_agree():
    rbm = _randomise(BernoulliRBM(9, 7), std=0.7, seed=1)
    by_visible = exact_log_partition(rbm, layer="visible")
    by_hidden = exact_log_partition(rbm, layer="hidden", chunk=16)
    assert by_visible == pytest.approx(by_hidden, abs=1e-9)
    assert exact_log_partition(rbm) == pytest.approx(by_hidden, abs=1e-12)


def test_exact_log_z_matches_double_enumeration_of_the_energy():
    rbm = _randomise(BernoulliRBM(4, 3), std=1.0, seed=2)
    w, b, c = _params(rbm)
    v, h = _all_states(4), _all_states(3)
    neg_energy = (v @ b)[:, None] + (h @ c)[None, :] + v @ w.T @ h.T
    truth = logsumexp(neg_energy)
    assert exact_log_partition(rbm, layer="visible") == pytest.approx(truth, abs=1e-10)
    assert exact_log_partition(rbm, layer="hidden") == pytest.approx(truth, abs=1e-10)
    # log p(v) of each state from the same double enumeration
    truth_v = logsumexp(neg_energy, axis=1) - truth
    ll = log_likelihood(rbm, torch.tensor(v[5:6]), exact_log_partition(rbm))
    assert ll.mean == pytest.approx(truth_v[5], abs=1e-6)
    assert ll.n == 1


def test_exact_log_z_refuses_large_layers():
    with pytest.raises(ValueError, match="at most 20"):
        exact_log_partition(BernoulliRBM(21, 22))
    with pytest.raises(ValueError, match="Gaussian"):
        exact_log_partition(GaussianBernoulliRBM(2, 3), layer="visible")
    with pytest.raises(ValueError, match="at most 20"):
        exact_log_partition(GaussianBernoulliRBM(2, 21))


def _gb_neg_free_energy_np(v: np.ndarray, rbm: GaussianBernoulliRBM) -> np.ndarray:
    """log sum_h exp(-E(v, h)) straight from the energy, v of shape [n, n_visible]."""
    w, b, c = _params(rbm)
    sigma = rbm.sigma.detach().double().numpy()
    h = _all_states(rbm.n_hidden)
    quad = (((v - b) ** 2) / (2 * sigma**2)).sum(-1)
    cross = (v / sigma**2) @ w.T @ h.T
    return logsumexp(-quad[:, None] + (h @ c)[None, :] + cross, axis=1)


def test_gaussian_bernoulli_log_z_matches_quadrature_one_visible():
    rbm = _randomise(GaussianBernoulliRBM(1, 3, sigma=0.7), std=0.8, seed=3)

    def density(x: float) -> float:
        return math.exp(_gb_neg_free_energy_np(np.array([[x]]), rbm)[0])

    value, _ = integrate.quad(density, -30, 30, points=[0.0], limit=200)
    assert exact_log_partition(rbm) == pytest.approx(math.log(value), abs=1e-7)
    v = torch.linspace(-2, 2, 7, dtype=torch.float64)[:, None]
    free = rbm.double().free_energy(v).detach().numpy()
    np.testing.assert_allclose(-free, _gb_neg_free_energy_np(v.numpy(), rbm), atol=1e-10)


def test_gaussian_bernoulli_log_z_matches_grid_integral_two_visible():
    sigma = torch.tensor([0.5, 1.5])
    rbm = _randomise(GaussianBernoulliRBM(2, 3, sigma=sigma), std=0.8, seed=4)
    grid = np.linspace(-12.0, 12.0, 481)
    xx, yy = np.meshgrid(grid, grid, indexing="ij")
    pts = np.stack([xx.ravel(), yy.ravel()], 1)
    log_density = _gb_neg_free_energy_np(pts, rbm).reshape(xx.shape)
    step = grid[1] - grid[0]
    truth = logsumexp(log_density) + 2 * math.log(step)
    assert exact_log_partition(rbm) == pytest.approx(truth, abs=1e-6)


# ---------------------------------------------------------------- Gibbs chain


def _conditional_matrix(probs: np.ndarray, states: np.ndarray) -> np.ndarray:
    """P[a, s] = prod_j probs[a, j]^s_j (1 - probs[a, j])^(1 - s_j)."""
    return np.prod(
        np.where(states[None, :, :] == 1, probs[:, None, :], 1 - probs[:, None, :]), axis=-1
    )


def test_visible_gibbs_chain_is_reversible_with_respect_to_p_v():
    rbm = _randomise(BernoulliRBM(4, 3), std=1.5, seed=5, bias_std=1.0).double()
    v, h = _all_states(4), _all_states(3)
    with torch.no_grad():
        ph = rbm.hidden_probs(torch.tensor(v)).numpy()
        pv = rbm.visible_probs(torch.tensor(h)).numpy()
        log_pv = -rbm.free_energy(torch.tensor(v)).numpy()
    p_h_given_v = _conditional_matrix(ph, h)
    p_v_given_h = _conditional_matrix(pv, v)
    np.testing.assert_allclose(p_h_given_v.sum(1), 1, atol=1e-12)
    T = p_h_given_v @ p_v_given_h
    p = np.exp(log_pv - logsumexp(log_pv))
    np.testing.assert_allclose(p @ T, p, atol=1e-12)
    flow = p[:, None] * T
    np.testing.assert_allclose(flow, flow.T, atol=1e-12)
    # and the sampled kernel is that matrix
    gen = torch.Generator().manual_seed(0)
    reps = 10000
    start = torch.tensor(v).repeat_interleave(reps, 0)
    nxt = rbm.gibbs_step(start, gen).numpy()
    codes = (nxt @ (2 ** np.arange(3, -1, -1))).astype(int).reshape(16, reps)
    empirical = np.stack([np.bincount(row, minlength=16) for row in codes]) / reps
    assert np.abs(empirical - T).max() < 0.03


def test_gaussian_visible_sampling_moments():
    sigma = torch.tensor([0.5, 2.0, 1.0])
    rbm = _randomise(GaussianBernoulliRBM(3, 2, sigma=sigma), std=0.8, seed=6)
    h = torch.tensor([[1.0, 0.0]]).repeat(50000, 1)
    v = rbm.sample_visible(h, torch.Generator().manual_seed(1))
    expected = rbm.visible_bias + rbm.weight[0]
    torch.testing.assert_close(v.mean(0), expected.detach(), atol=0.05, rtol=0)
    torch.testing.assert_close(v.std(0), sigma, atol=0.05, rtol=0)


def test_exact_samples_follow_p_v():
    rbm = _randomise(BernoulliRBM(4, 6), std=1.0, seed=7)
    v = torch.tensor(_all_states(4), dtype=torch.float32)
    with torch.no_grad():
        p = torch.softmax(-rbm.double().free_energy(v.double()), 0).numpy()
    rbm.float()
    for layer in ("visible", "hidden"):
        s = sample_exact(rbm, 40000, torch.Generator().manual_seed(2), layer=layer).numpy()
        codes = (s @ (2 ** np.arange(3, -1, -1))).astype(int)
        freq = np.bincount(codes, minlength=16) / codes.size
        assert 0.5 * np.abs(freq - p).sum() < 0.02


# ---------------------------------------------------------------- gradients and training


@pytest.mark.parametrize("kind", ["bernoulli", "gaussian"])
def test_statistics_are_the_free_energy_gradient(kind):
    if kind == "bernoulli":
        rbm = _randomise(BernoulliRBM(5, 4), std=0.5, seed=8).double()
        v = torch.bernoulli(torch.full((7, 5), 0.5, dtype=torch.float64))
    else:
        rbm = GaussianBernoulliRBM(5, 4, sigma=torch.rand(5) + 0.5, learn_sigma=True)
        rbm = _randomise(rbm, std=0.5, seed=8).double()
        v = torch.randn(7, 5, dtype=torch.float64)
    stats = rbm.statistics(v)
    (-rbm.free_energy(v).mean()).backward()
    names = {name for name, _ in rbm.named_parameters()}
    assert set(stats) == names
    for name, p in rbm.named_parameters():
        torch.testing.assert_close(stats[name], p.grad, msg=name)
    other = v[:3] + 1.0
    both = rbm.contrast(v, other)
    for name, value in rbm.statistics(other).items():
        torch.testing.assert_close(both[name], stats[name] - value, msg=name)


def test_pseudo_log_likelihood_matches_enumeration():
    rbm = _randomise(BernoulliRBM(5, 3), std=1.0, seed=9).double()
    v = torch.tensor(_all_states(5))
    with torch.no_grad():
        log_p = -rbm.free_energy(v)
    idx = {tuple(row.tolist()): k for k, row in enumerate(v)}
    truth = torch.zeros(len(v), dtype=torch.float64)
    for i in range(5):
        flipped = v.clone()
        flipped[:, i] = 1 - flipped[:, i]
        other = torch.tensor([idx[tuple(row.tolist())] for row in flipped])
        truth += log_p - torch.logaddexp(log_p, log_p[other])
    torch.testing.assert_close(pseudo_log_likelihood(rbm, v, chunk=7), truth)


def _prototype_data(n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    protos = torch.tensor(
        [[1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1], [1, 0, 1, 0, 1, 0, 1, 0]],
        dtype=torch.float32,
    )
    x = protos[torch.randint(3, (n,), generator=gen)]
    flip = torch.rand(x.shape, generator=gen) < 0.05
    return torch.where(flip, 1 - x, x)


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_training_increases_exact_log_likelihood(method):
    data = _prototype_data(300, seed=10)
    rbm = BernoulliRBM(8, 6, seed=1)
    before = log_likelihood(rbm, data, exact_log_partition(rbm)).mean
    seen = []
    history = fit_rbm(
        rbm,
        data,
        method=method,
        k=1,
        lr=0.1,
        epochs=30,
        batch_size=20,
        momentum=0.5,
        generator=torch.Generator().manual_seed(3),
        valid_data=data[:50],
        callback=lambda epoch, model, record: seen.append(record["epoch"]) and False,
    )
    after = log_likelihood(rbm, data, exact_log_partition(rbm)).mean
    assert after > before + 1.0
    assert history.epochs == 30 and seen == list(range(30))
    assert history.recon_error[-1] < history.recon_error[0]
    assert history.pseudo_loglik[-1] > history.pseudo_loglik[0]
    assert all(math.isfinite(g) for g in history.free_energy_gap)
    json.dumps(history.to_dict())


def test_training_gaussian_rbm_and_early_stop():
    gen = torch.Generator().manual_seed(4)
    centres = torch.tensor([[2.0, -2.0], [-2.0, 2.0]])
    data = centres[torch.randint(2, (400,), generator=gen)] + 0.3 * torch.randn(400, 2)
    rbm = GaussianBernoulliRBM(2, 4, sigma=0.5, seed=2)
    rbm.init_visible_bias(data)
    before = log_likelihood(rbm, data, exact_log_partition(rbm)).mean
    history = fit_rbm(
        rbm, data, method="pcd", k=1, lr=0.01, epochs=40, batch_size=20, generator=gen
    )
    after = log_likelihood(rbm, data, exact_log_partition(rbm)).mean
    assert after > before + 0.3
    assert all(math.isnan(p) for p in history.pseudo_loglik)
    stopped = fit_rbm(rbm, data, epochs=10, generator=gen, callback=lambda e, m, r: e == 2)
    assert stopped.epochs == 3


def test_init_visible_bias_is_clamped_log_odds():
    data = torch.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    rbm = BernoulliRBM(3, 2)
    rbm.init_visible_bias(data)
    expected = torch.tensor([math.log(0.999 / 0.001), math.log(0.001 / 0.999), 0.0])
    torch.testing.assert_close(rbm.visible_bias.detach(), expected, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- AIS


def test_beta_schedules():
    paper = paper_betas()
    assert paper.numel() == 14501 and paper[0] == 0 and paper[-1] == 1
    steps = paper.diff()
    assert bool((steps > 0).all())
    assert steps[0].item() == pytest.approx(1e-3) and steps[-1].item() == pytest.approx(1e-5)
    assert torch.equal(beta_schedule(14500), paper)
    assert torch.equal(beta_schedule(5500), paper_betas(fine_tail=False))
    assert beta_schedule(10).numel() == 11


@pytest.mark.parametrize(
    ("n_visible", "n_hidden", "std", "seed"),
    [(10, 8, 0.1, 0), (12, 6, 0.5, 1), (7, 14, 0.5, 2), (16, 10, 0.3, 3)],
)
def test_ais_and_reverse_ais_sandwich_exact_log_z(n_visible, n_hidden, std, seed):
    rbm = _randomise(BernoulliRBM(n_visible, n_hidden), std=std, seed=seed)
    exact = exact_log_partition(rbm)
    gen = torch.Generator().manual_seed(seed)
    fwd = ais_log_partition(rbm, n_betas=2000, n_runs=100, generator=gen)
    rev = reverse_ais_log_partition(rbm, n_betas=2000, n_runs=100, generator=gen)
    assert abs(fwd.log_z - exact) < 0.1
    assert abs(rev.log_z - exact) < 0.1
    assert fwd.log_z_low <= exact <= rev.log_z_high
    assert fwd.direction == "forward" and rev.direction == "reverse" and rev.exact_samples
    assert fwd.log_weights.shape == (100,)
    json.dumps(fwd.to_dict())


def test_ais_gaussian_bernoulli():
    sigma = torch.tensor([0.5, 1.0, 1.5, 1.0])
    rbm = _randomise(GaussianBernoulliRBM(4, 8, sigma=sigma), std=0.5, seed=11)
    exact = exact_log_partition(rbm)
    gen = torch.Generator().manual_seed(5)
    fwd = ais_log_partition(rbm, n_betas=2000, n_runs=100, generator=gen)
    rev = reverse_ais_log_partition(rbm, n_betas=2000, n_runs=100, generator=gen)
    assert abs(fwd.log_z - exact) < 0.1 and abs(rev.log_z - exact) < 0.1
    assert fwd.log_z_low <= exact <= rev.log_z_high
    moved = ais_log_partition(
        rbm, n_betas=2000, n_runs=100, base_rates=torch.full((4,), 0.3), generator=gen
    )
    assert abs(moved.log_z - exact) < 0.1


def test_ais_on_rbm_trained_on_binarized_digits():
    x = torch.from_numpy(_binary_digits())
    gen = torch.Generator().manual_seed(6)
    rbm = BernoulliRBM(64, 15, seed=3)
    rbm.init_visible_bias(x)
    fit_rbm(rbm, x, method="cd", k=1, lr=0.1, epochs=8, batch_size=50, generator=gen)
    assert rbm.weight.abs().max() > 0.5
    exact = exact_log_partition(rbm)
    base = x.mean(0)
    fwd = ais_log_partition(rbm, n_betas=4000, n_runs=100, base_rates=base, generator=gen)
    rev = reverse_ais_log_partition(rbm, n_betas=4000, n_runs=100, base_rates=base, generator=gen)
    assert abs(fwd.log_z - exact) < 0.1
    assert abs(rev.log_z - exact) < 0.1
    assert fwd.log_z_low <= exact <= rev.log_z_high
    ll_exact = log_likelihood(rbm, x, exact)
    ll_ais = log_likelihood(rbm, x, fwd)
    assert abs(ll_exact.mean - ll_ais.mean) < 0.1
    assert ll_exact.mean > -64 * math.log(2)


def test_time_against_sklearn_runs_and_reports():
    x = _binary_digits()[:300]
    out = time_against_sklearn(
        x, n_hidden=8, batch_size=10, lr=0.05, epochs=2, seed=0, ais_betas=500, ais_runs=20
    )
    assert out["sklearn_seconds_per_epoch"] > 0 and out["ours_seconds_per_epoch"] > 0
    assert out["ratio"] == pytest.approx(
        out["ours_seconds_per_epoch"] / out["sklearn_seconds_per_epoch"]
    )
    for name in ("sklearn", "ours"):
        res = out[name]
        assert abs(res["ais"]["log_z"] - res["log_z_exact"]) < 0.1
        assert math.isfinite(res["test_loglik_exact"]["mean"])
        assert res["test_loglik_ais"]["n"] == 60
    json.dumps(out)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_training_and_partition_functions_on_cuda():
    dev = torch.device("cuda")
    gen = torch.Generator(device=dev).manual_seed(0)
    data = _prototype_data(200, seed=1).to(dev)
    rbm = BernoulliRBM(8, 6).to(dev)
    before = log_likelihood(rbm, data, exact_log_partition(rbm)).mean
    fit_rbm(rbm, data, method="pcd", lr=0.1, epochs=10, batch_size=20, generator=gen)
    exact = exact_log_partition(rbm)
    assert log_likelihood(rbm, data, exact).mean > before
    fwd = ais_log_partition(rbm, n_betas=1000, n_runs=100, base_rates=data.mean(0), generator=gen)
    rev = reverse_ais_log_partition(rbm, n_betas=1000, n_runs=100, generator=gen)
    assert abs(fwd.log_z - exact) < 0.1 and abs(rev.log_z - exact) < 0.1
    gb = _randomise(GaussianBernoulliRBM(2, 4, sigma=0.5), std=0.5, seed=1).to(dev)
    fit_rbm(gb, torch.randn(100, 2, device=dev, generator=gen), epochs=2, generator=gen)
    gb_exact = exact_log_partition(gb)
    assert abs(ais_log_partition(gb, n_betas=1000, generator=gen).log_z - gb_exact) < 0.1


def test_rbm_gibbs_chain_has_zero_entropy_production_by_every_estimator():
    """Exact enumeration, kernel-exact and plug-in estimates all find detailed balance."""
    from biovw.analysis import (
        entropy_production_discrete,
        entropy_production_exact,
        entropy_production_kernel,
        simulate,
    )
    from biovw.baselines.kernel import GibbsKernel

    rbm = BernoulliRBM(6, 4, seed=0)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        rbm.weight.normal_(0.0, 1.5, generator=gen)
        rbm.visible_bias.normal_(0.0, 0.5, generator=gen)
    kernel = GibbsKernel(rbm)
    P = kernel.matrix()
    assert torch.allclose(P.sum(1), torch.ones(64, dtype=torch.float64), atol=1e-10)
    exact = entropy_production_exact(P.numpy())
    assert exact.entropy_production == pytest.approx(0.0, abs=1e-10) and exact.reversible
    start = (torch.rand(2000, 6, generator=gen) < 0.5).float()
    ep = entropy_production_kernel(kernel, start, 100, burn_in=50, generator=gen)
    assert ep.ci_low <= 0.0 <= ep.ci_high
    # The plug-in estimate on 64 states is biased upwards; its first-order correction removes
    # most of that bias but over-corrects slightly where many pairs have few counts.
    traj = simulate(kernel, start[:1000], 1000, gen).numpy()
    codes = (traj > 0.5).astype(np.int64) @ (2 ** np.arange(5, -1, -1))
    plug_in = entropy_production_discrete(codes, seed=0)
    assert plug_in.plugin > 0.002
    assert abs(plug_in.value) < 0.2 * plug_in.plugin


def test_gibbs_kernel_density_matches_enumerated_matrix():
    from biovw.analysis import binary_states
    from biovw.baselines.kernel import GibbsKernel

    rbm = BernoulliRBM(5, 3, seed=1)
    with torch.no_grad():
        rbm.weight.normal_(0.0, 1.0, generator=torch.Generator().manual_seed(1))
    kernel = GibbsKernel(rbm)
    P = kernel.matrix()
    v = binary_states(5)
    i, j = torch.randint(32, (40,)), torch.randint(32, (40,))
    with torch.no_grad():
        direct = kernel.log_prob(v[j], v[i], kernel.params(v[i]))
    assert torch.allclose(direct.double(), P[i, j].log(), atol=1e-5)


def test_rbm_training_is_one_record_that_the_config_fills():
    from biovw.baselines import RBMTraining
    from biovw.config import RBMConfig

    from_config = RBMTraining.of(RBMConfig(method="pcd", k=3, lr=0.01, epochs=2))
    assert (from_config.method, from_config.k, from_config.lr, from_config.epochs) == (
        "pcd", 3, 0.01, 2)
    assert from_config.n_persistent is None and from_config.monitor
    data = (torch.rand(120, 6, generator=torch.Generator().manual_seed(0)) < 0.4).float()
    runs = []
    for how in ({"training": from_config}, {"method": "pcd", "k": 3, "lr": 0.01, "epochs": 2}):
        rbm = BernoulliRBM(6, 4, seed=0)
        fit_rbm(rbm, data, generator=torch.Generator().manual_seed(1), **how)
        runs.append(rbm.weight.clone())
    assert torch.equal(*runs)
    with pytest.raises(ValueError, match="method"):
        RBMTraining(method="gibbs")


def test_raise_with_no_intermediate_distribution_scores_the_base_model():
    """With the path [0, 1] the annealed model is the base model itself: RAISE returns its
    log-likelihood exactly (independent Bernoulli units at the base rates)."""
    from biovw.baselines import raise_log_likelihood

    rbm = _randomise(BernoulliRBM(9, 5), std=0.5, seed=4)
    x = (torch.rand(20, 9, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    rates = torch.linspace(0.2, 0.8, 9)
    got = raise_log_likelihood(rbm, x, betas=torch.tensor([0.0, 1.0]), n_runs=3,
                               base_rates=rates)
    truth = (x * rates.log() + (1 - x) * (-rates).log1p()).sum(1).double()
    torch.testing.assert_close(got, truth, rtol=0, atol=1e-5)


def test_raise_and_ais_bracket_the_exact_log_likelihood_of_a_digits_rbm():
    """On an RBM trained on binarized digits (exact log Z by enumeration of its 15 hidden
    units), RAISE from held-out images is below the exact mean log-likelihood and forward AIS
    above it, each within its noise, and both are close to it."""
    from biovw.baselines import raise_log_likelihood

    x = torch.from_numpy(_binary_digits())
    train, held_out = x[:1500], x[1500:1600]
    gen = torch.Generator().manual_seed(6)
    rbm = BernoulliRBM(64, 15, seed=3)
    rbm.init_visible_bias(train)
    fit_rbm(rbm, train, method="cd", k=1, lr=0.1, epochs=8, batch_size=50, generator=gen)
    base = train.mean(0)
    exact = log_likelihood(rbm, held_out, exact_log_partition(rbm)).mean
    fwd = ais_log_partition(rbm, n_betas=2000, n_runs=100, base_rates=base, generator=gen)
    optimistic = log_likelihood(rbm, held_out, fwd).mean
    conservative = raise_log_likelihood(rbm, held_out, n_betas=2000, n_runs=10,
                                        base_rates=base, generator=gen)
    se = conservative.std().item() / math.sqrt(len(conservative))
    low = conservative.mean().item()
    assert low <= exact + 0.05 <= optimistic + 0.1
    assert exact - low < 0.1 and abs(optimistic - exact) < 0.1
    assert se < 2.0
