"""The equilibrium circuit: its exact log-likelihood, its samplers' detailed balance, its
training and its runs through the command line."""

import json
import math

import numpy as np
import pytest
import torch

from biovw.analysis.enumerate import binary_states
from biovw.analysis.kernel import entropy_production_kernel
from biovw.baselines.equilibrium import (
    EquilibriumCircuit,
    run_sampler,
    tune_step_size,
)
from biovw.baselines.kernel import EquilibriumGibbsKernel, LangevinKernel
from biovw.runs.equilibrium import negative_log_likelihood, pcd_surrogate
from tests.cli_support import invoke


def random_circuit(visible="gaussian", dim=2, groups=2, size=3, scale=1.0, seed=0):
    torch.manual_seed(seed)
    model = EquilibriumCircuit(dim, groups, size, visible, sigma=0.4, seed=seed)
    with torch.no_grad():
        model.weight.normal_(0, scale)
        model.hidden_bias.normal_()
        model.visible_bias.normal_(0, 0.3)
    return model


def test_gaussian_density_integrates_to_one():
    """Exact log Z against quadrature of exp(-F) on a grid (two groups, 9 hidden states)."""
    model = random_circuit()
    grid = torch.linspace(-8, 8, 801, dtype=torch.float64)
    step = (grid[1] - grid[0]).item()
    v = torch.cartesian_prod(grid, grid)
    with torch.no_grad():
        mass = model.double().log_prob(v).exp().sum().item() * step**2
    assert mass == pytest.approx(1.0, abs=1e-6)


def test_binary_probabilities_sum_to_one_and_exact_samples_follow_them():
    model = random_circuit("bernoulli", dim=6, groups=2, size=4).double()
    states = binary_states(6, torch.device("cpu")).double()
    with torch.no_grad():
        p = model.log_prob(states).exp()
        samples = model.sample(100_000, torch.Generator().manual_seed(1))
    assert p.sum().item() == pytest.approx(1.0, abs=1e-10)
    rates = (p[:, None] * states).sum(0)
    assert (samples.mean(0) - rates).abs().max() < 4 * 0.5 / math.sqrt(100_000)


def _balance_gap(kernel, model, v, v_next):
    """ln p(v) T(v' | v) - ln p(v') T(v | v'): zero for every pair under detailed balance."""
    with torch.no_grad():
        forward = model.log_prob(v) + kernel.log_prob(v_next, v, kernel.params(v))
        backward = model.log_prob(v_next) + kernel.log_prob(v, v_next, kernel.params(v_next))
    return (forward - backward).abs()


def test_mala_and_gibbs_kernels_obey_detailed_balance_pointwise_and_langevin_does_not():
    model = random_circuit(scale=0.5).double()
    model.step_size.fill_(1.2)
    gen = torch.Generator().manual_seed(0)
    v = model.sample(500, gen)
    for kernel in (LangevinKernel(model), EquilibriumGibbsKernel(model)):
        v_next = kernel.sample(v, kernel.params(v), gen)
        moved = (v_next != v).any(1)
        assert moved.float().mean() > 0.3
        assert _balance_gap(kernel, model, v[moved], v_next[moved]).max() < 1e-8
    unadjusted = LangevinKernel(model, metropolis=False)
    v_next = unadjusted.sample(v, unadjusted.params(v), gen)
    assert _balance_gap(unadjusted, model, v, v_next).median() > 1e-2


def test_acceptance_step_is_what_makes_the_entropy_production_zero():
    """The same energy and proposal: MALA's interval holds 0, the unadjusted chain's excludes
    it (a curved, two-mode energy and a large step)."""
    model = random_circuit(scale=0.5, seed=3).double()
    model.step_size.fill_(1.5)
    gen = torch.Generator().manual_seed(2)
    start = model.sample(400, gen)
    mala = entropy_production_kernel(LangevinKernel(model), start, 200, generator=gen)
    assert mala.ci_low <= 0 <= mala.ci_high and abs(mala.value) < 1e-3
    ula = entropy_production_kernel(LangevinKernel(model, metropolis=False), start, 200,
                                    burn_in=50, generator=gen)
    assert ula.ci_low > 0, ula


def test_samplers_keep_the_exact_distribution_and_the_step_size_is_tuned():
    model = random_circuit(scale=0.5)
    gen = torch.Generator().manual_seed(4)
    start = model.sample(10_000, gen)
    tune_step_size(model, start[:2000], gen)
    _, rate = run_sampler(model, "mala", start[2000:6000], 100, gen)
    assert abs(rate - 0.574) < 0.02, rate
    for sampler in ("mala", "gibbs"):
        after, _ = run_sampler(model, sampler, start, 50, gen)
        assert (after.mean(0) - start.mean(0)).abs().max() < 0.03, sampler
        assert (after.std(0) - start.std(0)).abs().max() < 0.03, sampler


def test_pcd_gradient_with_exact_negatives_matches_the_exact_gradient():
    """grad(mean F(x) - mean F(negatives)) estimates grad(-mean log p(x)) when the negatives
    are exact samples: a second computation of the log Z gradient."""
    model = random_circuit("bernoulli", dim=5, groups=2, size=3).double()
    gen = torch.Generator().manual_seed(5)
    x = model.sample(64, gen)
    negative_log_likelihood(model, x, {}, gen).backward()
    exact = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    state = {"sampler": "gibbs", "k": 1, "chains": model.sample(400_000, gen)}
    pcd_surrogate(model, x, state, gen).backward()
    for e, p in zip(exact, model.parameters(), strict=True):
        assert torch.allclose(p.grad, e, atol=0.03), (p.grad, e)


def test_mixture_run_through_the_command_line(tmp_path):
    """Train, evaluate, sample and analyse: exact maximum likelihood finds the nine modes and
    every entropy-production interval holds 0."""
    out = tmp_path / "eq"
    result = invoke(["train", "circuits/equilibrium_mog.yaml", "--out", out, "--set",
                     "data.n_samples=3000", "--set", "equilibrium.epochs=25", "--set",
                     "equilibrium.chain_steps=[20]", "--set", "eval.n_samples=500"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == "equilibrium" and summary["loglik_method"] == "exact"
    assert summary["heldout_loglik"] > 0.5  # the data's own: 0.95 nats/example
    quality = summary["sample_quality"]["20"]
    assert quality["near_mode_fraction"] > 0.95 and min(quality["mode_shares"]) > 0.07
    result = invoke(["analyze", out, "--chains", "300", "--steps", "200"])
    assert result.exit_code == 0, result.output
    ep = json.loads((out / "analysis.json").read_text())["entropy_production"]
    for name in ("kernel", "coarse_grained"):
        assert ep[name]["ci_low"] <= 0 <= ep[name]["ci_high"], (name, ep[name])
    result = invoke(["sample", out, "--n", "10", "--steps", "5", "--out", tmp_path / "s.npy"])
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "s.npy").shape == (10, 2)


def test_binary_units_with_a_langevin_sampler_are_refused_in_one_line(tmp_path):
    result = invoke(["train", "circuits/equilibrium_digits.yaml", "--out", tmp_path / "x",
                     "--set", "equilibrium.sampler=mala", "--dry-run"])
    assert result.exit_code != 0
    assert "equilibrium.sampler" in result.output and result.output.count("\n") <= 2


@pytest.mark.parametrize("circulation", [0.0, 1.5])
def test_circulating_langevin_on_a_gaussian_energy_matches_the_linear_chain(circulation):
    """With zero weights F(v) = |v|^2 / 2 and the unadjusted chain is x' = M x + noise with
    M = I - h (I + a J), noise N(0, 2h I): its entropy production is known in closed form
    (zero at a = 0), and so is the integrated autocorrelation time of x_0."""
    from biovw.analysis.exact_chains import LinearGaussianChain
    from biovw.analysis.mixing import exact_iat_linear, integrated_autocorrelation_time

    model = EquilibriumCircuit(3, 1, 2, "gaussian", sigma=1.0).double()
    with torch.no_grad():
        model.weight.zero_()
    model.step_size.fill_(0.6)
    model.circulation = circulation
    h = 0.5 * 0.6**2
    J = np.zeros((3, 3))
    J[0, 1], J[1, 0] = 1.0, -1.0
    M = np.eye(3) - h * (np.eye(3) + circulation * J)
    exact = LinearGaussianChain(M, 2 * h * np.eye(3)).entropy_production()
    gen = torch.Generator().manual_seed(6)
    start = torch.randn(1000, 3, generator=gen, dtype=torch.float64)
    kernel = LangevinKernel(model, metropolis=False)
    ep = entropy_production_kernel(kernel, start, 200, burn_in=50, generator=gen)
    assert ep.ci_low - 0.005 * exact <= exact <= ep.ci_high + 0.005 * exact, (ep, exact)
    assert (exact > 0.05) == (circulation > 0)
    traj, _ = run_sampler(model, "langevin", start[:200], 2000, gen, record=True)
    iat = float(integrated_autocorrelation_time(traj[:, 200:, :1].numpy())[0])
    truth = exact_iat_linear(M, 2 * h * np.eye(3), np.array([1.0, 0.0, 0.0]))
    assert abs(iat - truth) < 0.1 * truth, (iat, truth)


class _UnshiftedBias(EquilibriumCircuit):
    """The same energy family with the hidden bias used as it is (no offset)."""

    def bias(self):
        return self.hidden_bias


@pytest.mark.slow
def test_the_hidden_bias_offset_is_what_lets_the_mixture_learn_its_noise_level():
    """Exact maximum likelihood on the 3x3 mixture (sd 0.05), 60 epochs: with the offset sigma
    reaches the data's; without it, it stalls far above."""
    import dataclasses

    from biovw.config import load_config
    from biovw.runs.build import load_run_data
    from biovw.runs.equilibrium import build_equilibrium

    cfg = load_config("circuits/equilibrium_mog.yaml")
    cfg = dataclasses.replace(cfg, equilibrium=dataclasses.replace(cfg.equilibrium, epochs=60))
    data = load_run_data(cfg)
    found = {}
    for cls in (EquilibriumCircuit, _UnshiftedBias):
        model = build_equilibrium(cfg, data)
        model.__class__ = cls
        opt = torch.optim.Adam(model.parameters(), lr=cfg.equilibrium.lr)
        gen = torch.Generator().manual_seed(0)
        for _ in range(cfg.equilibrium.epochs):
            for batch in torch.randperm(len(data.train), generator=gen).split(256):
                opt.zero_grad()
                negative_log_likelihood(model, data.train[batch], {}, gen).backward()
                opt.step()
        found[cls.__name__] = model.sigma.max().item()
    assert found["EquilibriumCircuit"] < 0.06 and found["_UnshiftedBias"] > 0.1, found


def test_exact_samples_advanced_by_an_exact_kernel_stay_as_good():
    """The stationarity check on the equilibrium circuit, whose chains start exact and whose
    kernels leave p(v) invariant: no metric may come out worse after 100 steps."""
    import dataclasses

    from biovw.config import load_config
    from biovw.runs.build import load_run_data
    from biovw.runs.equilibrium import build_equilibrium, finish_training
    from biovw.runs.stationarity import check_stationarity

    cfg = load_config("circuits/equilibrium_mog.yaml")
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, n_samples=2000))
    data = load_run_data(cfg)
    model = build_equilibrium(cfg, data)
    finish_training(cfg, model, torch.Generator().manual_seed(0))
    for sampler in ("mala", "gibbs"):
        run_cfg = dataclasses.replace(
            cfg, equilibrium=dataclasses.replace(cfg.equilibrium, sampler=sampler))
        report = check_stationarity(run_cfg, model, data, 1000, [0, 100], seed=1)
        assert not any(c["worse"] for c in report.change.values()), (sampler, report.verdict)


def test_digits_run_draws_its_weights_as_images_and_samples_binary_states(tmp_path):
    out = tmp_path / "digits"
    result = invoke(["train", "circuits/equilibrium_digits.yaml", "--out", out, "--set",
                     "equilibrium.epochs=2", "--set", "equilibrium.group_size=8", "--set",
                     "equilibrium.chain_steps=[5]", "--set", "eval.n_samples=50"])
    assert result.exit_code == 0, result.output
    assert (out / "figures" / "weight_fields.png").is_file()
    loglik = json.loads((out / "eval.json").read_text())["loglik"]
    assert loglik["method"] == "exact" and loglik["sampler"]["name"] == "gibbs"
    samples = np.load(out / "samples" / "samples_step5.npy")
    assert samples.shape == (50, 64) and set(np.unique(samples)) <= {0.0, 1.0}


def test_field_grid_puts_the_strongest_unit_first_on_its_own_scale():
    from biovw.plots.fields import field_grid

    rows = np.zeros((3, 4))
    rows[0, 0], rows[1, :] = 0.5, [3.0, -6.0, 0.0, 1.0]
    grid = field_grid(rows, (2, 2), n=2)
    assert grid.shape == (7, 7)
    assert np.allclose(grid[1:3, 1:3], [[0.5, -1.0], [0.0, 1 / 6]])
    assert grid[1, 4] == 1.0  # the weaker unit, scaled to its own largest magnitude


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path):
    common = ["--set", "data.n_samples=1000", "--set", "equilibrium.chain_steps=[5]",
              "--set", "eval.n_samples=50", "--no-progress"]
    short, full = tmp_path / "short", tmp_path / "full"
    assert invoke(["train", "circuits/equilibrium_mog.yaml", "--out", short, "--set",
                   "equilibrium.epochs=2", *common]).exit_code == 0
    result = invoke(["resume", short, "--steps", "4", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert invoke(["train", "circuits/equilibrium_mog.yaml", "--out", full, "--set",
                   "equilibrium.epochs=4", *common]).exit_code == 0
    resumed, fresh = (json.loads((r / "summary.json").read_text()) for r in (short, full))
    assert resumed["heldout_loglik"] == fresh["heldout_loglik"]
    assert len((short / "metrics.jsonl").read_text().splitlines()) == 4


def test_divergence_stops_with_exit_3_and_one_line(tmp_path):
    result = invoke(["train", "circuits/equilibrium_mog.yaml", "--out", tmp_path / "d",
                     "--set", "equilibrium.lr=1e4", "--set", "equilibrium.epochs=3",
                     "--no-progress"])
    assert result.exit_code == 3 and "equilibrium.lr" in result.output
