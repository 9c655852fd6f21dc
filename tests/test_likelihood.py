"""The bound and IS estimates against an exact marginal and the data's true entropy."""

import math

import pytest
import torch
from cli_support import linear_walkback_model

from biovw.config import config_from_dict
from biovw.runs import build_model
from biovw.walkback import estimate_log_likelihood, heat, walkback_log_prob
from biovw.walkback.analytic import linear_gaussian_log_density


def test_importance_sampling_converges_to_exact_log_density():
    model = linear_walkback_model(dim=1, num_steps=4)
    x = 1.5 * torch.randn(200, 1, generator=torch.Generator().manual_seed(5))
    exact = linear_gaussian_log_density(model, x).mean().item()
    estimates = {}
    for k in (1, 10, 100, 1000):
        gen = torch.Generator().manual_seed(k)
        estimates[k] = estimate_log_likelihood(model, x, k, gen, batch_size=50000)
    # k = 1 is the bound itself; IS is a stochastic lower bound that tightens with k
    assert estimates[1].is_loglik == pytest.approx(estimates[1].bound, abs=1e-9)
    gaps = [exact - estimates[k].is_loglik for k in (1, 10, 100, 1000)]
    assert all(g > -3 * estimates[1000].is_se for g in gaps)
    assert gaps[0] > gaps[1] > gaps[2] > gaps[3]
    assert gaps[3] < 0.05 * gaps[0]
    assert abs(gaps[3]) < 0.1


def test_bound_below_exact_log_density_per_example():
    model = linear_walkback_model(seed=3)
    x = torch.randn(100, 2, generator=torch.Generator().manual_seed(1))
    est = estimate_log_likelihood(model, x, 400, torch.Generator().manual_seed(0))
    exact = linear_gaussian_log_density(model, x)
    per_example_bound_gap = exact.mean().item() - est.bound
    assert per_example_bound_gap > 0
    assert est.is_loglik <= exact.mean().item() + 3 * est.is_se


@pytest.mark.parametrize("kind", ["linear", "mlp", "rate"])
def test_heldout_bound_never_beats_true_entropy(kind):
    """Train briefly on 1-D Gaussian data: E[bound] <= E log p_model <= E log p_data."""
    mu, sd = 0.3, 0.5
    gen = torch.Generator().manual_seed(0)
    train_x = mu + sd * torch.randn(4000, 1, generator=gen)
    test_x = mu + sd * torch.randn(1000, 1, generator=gen)
    true_loglik = -0.5 * math.log(2 * math.pi * math.e * sd**2)
    cfg = config_from_dict({
        "circuit": {"kind": kind, "hidden": 32, "dale": False},
        "walkback": {"num_steps": 5, "sigma": 0.3, "temperature_factor": 1.5},
    })
    model = build_model(cfg, 1)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.prior.update(train_x)
    for _ in range(150):
        x = train_x[torch.randint(4000, (256,), generator=gen)]
        traj = heat(model, x, model.num_steps, gen)
        loss = -walkback_log_prob(model, traj.states).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.prior.update(traj.states[-1], 0.9)
    est = estimate_log_likelihood(model, test_x, 20, gen)
    assert est.bound <= true_loglik + est.bound_se
    assert est.is_loglik <= true_loglik + est.is_se
    assert est.is_loglik >= est.bound - 1e-6
    # and it learned something: better than the untrained start by a clear margin
    assert est.is_loglik > true_loglik - 1.0


def test_independent_baseline_matches_a_direct_fit():
    from biovw.data import load_data
    from biovw.runs.evaluation import independent_baseline

    data = load_data("digits", binarize=True, seed=0)
    rates = data.train.double().mean(0).clamp(1e-3, 1 - 1e-3)
    direct = torch.distributions.Bernoulli(probs=rates).log_prob(data.test.double()).sum(1)
    got = independent_baseline(data, data.test)
    assert got["loglik"] == pytest.approx(direct.mean().item(), abs=1e-4)
    assert got["model"] == "independent Bernoulli"


def test_ladder_flags_an_unconverged_estimate_whose_gap_shrinks_with_k():
    # 2-D, K = 4: the importance weights have infinite variance, so IS creeps up slowly
    model = linear_walkback_model(dim=2, num_steps=4)
    x = 1.5 * torch.randn(200, 2, generator=torch.Generator().manual_seed(5))
    exact = linear_gaussian_log_density(model, x).mean().item()
    gaps = []
    for k in (2, 20, 200):
        est = estimate_log_likelihood(model, x, [k, 4 * k], torch.Generator().manual_seed(k),
                                      batch_size=100000)
        assert not est.converged
        assert est.increase > 2 * est.increase_se  # 4k trajectories clearly beat k
        assert set(est.is_by_trajectories) == {str(k), str(4 * k)}
        assert est.is_loglik == est.is_by_trajectories[str(4 * k)]["mean"]
        assert 1 <= est.ess_median <= 4 * k
        gaps.append(exact - est.is_loglik)
    assert gaps[0] > gaps[1] > gaps[2] > -3 * est.is_se


def _exact_posterior_model(sigma=0.4, prior_mean=0.7, prior_var=1.3):
    """One-step 1-D walk-back whose heating step is the exact posterior of its generative
    model: every log-weight equals log p(x), so any number of trajectories is exact.

    q(s|x) = N(b x + d, sigma^2) and p(x|s) = N(b s + d, sigma^2), prior N(m, v). The posterior
    of s given x has variance 1 / (1/v + b^2/sigma^2) and mean sigma_post^2 m / v + b (x - d)
    when that variance is sigma^2, i.e. b^2 = 1 - sigma^2 / v and d (1 + b) = sigma^2 m / v.
    """
    cfg = config_from_dict({
        "circuit": {"kind": "linear"},
        "walkback": {"num_steps": 1, "kappa": 0.5, "sigma": sigma},
    })
    model = build_model(cfg, 1).double()
    b = math.sqrt(1 - sigma**2 / prior_var)
    d = sigma**2 * prior_mean / (prior_var * (1 + b))
    kappa = 0.5
    with torch.no_grad():  # b = kappa + (1 - kappa) M, d = (1 - kappa) o
        model.circuit.matrix.fill_((b - kappa) / (1 - kappa))
        model.circuit.offset.fill_(d / (1 - kappa))
        model.prior.mean.fill_(prior_mean)
        model.prior.var.fill_(prior_var)
    return model


def test_ladder_declares_an_exact_posterior_converged():
    model = _exact_posterior_model()
    x = torch.randn(100, 1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    exact = linear_gaussian_log_density(model, x).mean().item()
    est = estimate_log_likelihood(model, x, [5, 20], torch.Generator().manual_seed(0))
    assert est.converged
    assert est.bound == pytest.approx(exact, abs=1e-9)
    assert est.is_loglik == pytest.approx(exact, abs=1e-9)
    assert est.ess_median == pytest.approx(20, rel=1e-9)
    # perturb the operator: the posterior is no longer exact and the ladder sees it
    with torch.no_grad():
        model.circuit.matrix.add_(0.8)
    assert not estimate_log_likelihood(model, x, [5, 20], torch.Generator().manual_seed(0),
                                       ).converged


def test_rungs_reuse_disjoint_blocks_and_ess_has_its_limits():
    from biovw.walkback import effective_sample_size, importance_estimates, trajectory_ladder

    logw = torch.randn(3, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    est = importance_estimates(logw, [2, 8])
    blocks = [torch.logsumexp(logw[:, i:i + 2], 1) - math.log(2) for i in range(0, 8, 2)]
    assert torch.allclose(est[2], torch.stack(blocks).mean(0))
    assert torch.allclose(est[8], torch.logsumexp(logw, 1) - math.log(8))
    flat = torch.zeros(2, 10, dtype=torch.float64)
    peaked = torch.tensor([[0.0] + [-1e3] * 9], dtype=torch.float64)
    assert torch.allclose(effective_sample_size(flat), torch.full((2,), 10.0, dtype=flat.dtype))
    assert effective_sample_size(peaked).item() == pytest.approx(1.0)
    assert trajectory_ladder(50, [4, 1]) == [50, 200]
    with pytest.raises(ValueError, match="divide"):
        trajectory_ladder(10, [1, 3, 4])


def _increases(mean: float, se: float, n: int = 50) -> torch.Tensor:
    """Per-example increases with exactly this mean and standard error of the mean."""
    z = torch.randn(n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    z = (z - z.mean()) / z.std()
    return mean + z * se * math.sqrt(n)


def test_the_verdict_counts_an_increase_only_beyond_its_noise():
    """A small mean increase whose noise reaches past the tolerance is not convergence: a
    verdict that ignored the standard error, or subtracted it, would call it converged."""
    from biovw.walkback import ladder_verdict

    increase, se, converged = ladder_verdict(_increases(0.05, 0.04), tolerance=0.1)
    assert increase == pytest.approx(0.05) and se == pytest.approx(0.04)
    assert not converged  # 0.05 + 2 x 0.04 > 0.1
    assert ladder_verdict(_increases(0.05, 0.02), tolerance=0.1)[2]  # 0.09 <= 0.1
    assert not ladder_verdict(_increases(0.05, 0.03), tolerance=0.1)[2]  # 0.11 > 0.1
    assert not ladder_verdict(_increases(0.15, 0.0), tolerance=0.1)[2]


def test_a_wider_proposal_gives_finite_variance_weights_and_reaches_the_exact_value():
    """2-D, K = 4: the heating path's weights have infinite variance (the ESS fraction falls
    as trajectories are added and IS stays 0.2 nats below exact at 3,200). Proposing at 3x
    each step's temperature keeps the ESS fraction and lands on the exact log-density."""
    model = linear_walkback_model(dim=2, num_steps=4).double()
    x = 1.5 * torch.randn(200, 2, generator=torch.Generator().manual_seed(5),
                          dtype=torch.float64)
    exact = linear_gaussian_log_density(model, x)

    def run(temperature):
        est = estimate_log_likelihood(model, x, [800, 3200], torch.Generator().manual_seed(7),
                                      batch_size=200000, proposal_temperature=temperature)
        gap = torch.tensor(est.per_example_is, dtype=torch.float64) - exact
        return est, gap.mean().item(), gap.std().item() / len(gap) ** 0.5

    narrow, narrow_gap, _ = run(1.0)
    wide, wide_gap, wide_se = run(3.0)
    assert narrow_gap < -0.1 and narrow.ess_median < 0.025 * 3200
    assert abs(wide_gap) < 3 * wide_se + 0.005 and wide.ess_median > 0.05 * 3200
    assert wide.converged and not narrow.converged
    assert wide.proposal_temperature == 3.0 and narrow.proposal_temperature == 1.0
    # the bound is the heating path's in both (separate trajectories for the wide proposal)
    assert abs(wide.bound - narrow.bound) < 3 * (wide.bound_se**2 + narrow.bound_se**2) ** 0.5
