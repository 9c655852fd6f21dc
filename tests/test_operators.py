"""Operator log-densities against torch.distributions; samples carry no gradient."""

import math

import pytest
import torch

from biovw.config import Config, config_from_dict
from biovw.runs import build_model
from biovw.walkback import BernoulliOperator, GaussianOperator


@pytest.mark.parametrize("temperature", [1.0, 3.7])
@pytest.mark.parametrize("learn_sigma", [False, True])
def test_gaussian_log_prob_matches_torch(temperature, learn_sigma):
    op = GaussianOperator(3, kappa=0.3, sigma=0.2, learn_sigma=learn_sigma)
    s, out, x = torch.randn(50, 3), torch.randn(50, 3), torch.randn(50, 3)
    ref = torch.distributions.Normal(0.3 * s + 0.7 * out, math.sqrt(temperature) * 0.2)
    expected = ref.log_prob(x).sum(-1)
    assert torch.allclose(op.log_prob(x, s, out, temperature), expected, atol=1e-5)


@pytest.mark.parametrize("kappa", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_bernoulli_log_prob_matches_torch(kappa, temperature):
    op = BernoulliOperator(6, kappa=kappa)
    s = (torch.rand(200, 6) < 0.5).float()
    out = 4 * torch.randn(200, 6)
    x = (torch.rand(200, 6) < 0.5).float()
    probs = kappa * s.double() + (1 - kappa) * torch.sigmoid(out.double() / temperature)
    expected = torch.distributions.Bernoulli(probs=probs).log_prob(x.double()).sum(-1)
    got = op.log_prob(x, s, out, temperature)
    assert torch.allclose(got.double(), expected, atol=1e-4)


def test_bernoulli_samples_follow_probabilities():
    op = BernoulliOperator(2, kappa=0.4)
    s = torch.tensor([[1.0, 0.0]]).repeat(40000, 1)
    out = torch.tensor([[-1.0, 2.0]]).repeat(40000, 1)
    x = op.sample(s, out, 2.0, torch.Generator().manual_seed(1))
    expected = op.mean(s[:1], out[:1], 2.0)[0]
    assert torch.allclose(x.mean(0), expected, atol=4 * 0.5 / math.sqrt(40000))
    assert set(x.unique().tolist()) <= {0.0, 1.0}


def test_gaussian_samples_follow_mean_and_variance():
    op = GaussianOperator(2, kappa=0.5, sigma=0.1)
    s = torch.ones(50000, 2)
    out = -torch.ones(50000, 2)
    x = op.sample(s, out, 4.0, torch.Generator().manual_seed(2))
    assert torch.allclose(x.mean(0), torch.zeros(2), atol=0.005)
    assert torch.allclose(x.std(0), torch.full((2,), 0.2), rtol=0.02)


@pytest.mark.parametrize("kind", ["rate", "mlp"])
def test_sampled_states_carry_no_gradient(kind):
    cfg = config_from_dict({"circuit": {"kind": kind, "hidden": 16}})
    model = build_model(cfg, 2)
    s = torch.randn(8, 2, requires_grad=True)
    s_next = model.transition(s, 3, None)
    assert not s_next.requires_grad and s_next.grad_fn is None
    s_next, log_p = model.transition_with_log_prob(s, 0, None)
    assert s_next.grad_fn is None and log_p.grad_fn is None
    assert isinstance(cfg, Config)


@pytest.mark.parametrize("kind", ["rate", "mlp"])
def test_initialisation_follows_the_config_seed(kind):
    def params(seed):
        torch.manual_seed(1234 + seed)  # the global generator must not matter
        cfg = config_from_dict({"seed": seed, "circuit": {"kind": kind, "hidden": 8}})
        return torch.cat([p.flatten() for p in build_model(cfg, 2).parameters()])

    assert torch.equal(params(0), params(0))
    assert not torch.equal(params(0), params(1))


@pytest.mark.parametrize("sigma", [0.05, 3.0, 25.0, 1e6])
def test_gaussian_step_scale_is_the_sigma_asked_for_at_any_size(sigma):
    """Found by the property suite: sigma = 1e6 overflowed math.expm1 when the softplus
    parameter was set up."""
    raw = GaussianOperator(2, 0.5, sigma).sigma_raw
    value = torch.nn.functional.softplus(raw.double())
    assert torch.allclose(value, torch.full((2,), sigma, dtype=torch.float64), rtol=1e-6)
