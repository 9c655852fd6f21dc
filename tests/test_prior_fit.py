"""p* is fitted to the heated states at the end of each walk, never to the data: during
training (with its momentum) and in the final refit. The expected moments come from re-running
the same heating trajectories with a copy of the model and of the noise generator."""

import copy

import torch

from biovw.config import config_from_dict
from biovw.runs import build_run
from biovw.runs.train import new_state, refit_prior, train_iteration
from biovw.walkback import heat


def small(online: bool = False):
    cfg = config_from_dict({"name": "prior"}, [
        "train.batch_size=256", "circuit.kind=mlp", "circuit.hidden=16", "walkback.num_steps=4",
        "walkback.temperature_factor=3", "walkback.sigma=0.5", "data.n_samples=600",
        f"walkback.online_updates={online}", "walkback.prior_momentum=0.5"])
    data, model = build_run(cfg, torch.device("cpu"))
    return cfg, data, model


def heated_last(model, x, gen_state, num_steps):
    """Last states of the heating trajectories the training loop draws next."""
    gen = torch.Generator().set_state(gen_state)
    with torch.no_grad():
        return heat(copy.deepcopy(model), x, num_steps, gen).states[-1]


def test_prior_follows_the_heated_states_during_training():
    cfg, data, model = small()
    state = new_state(cfg, model, data)
    x = data.train[:cfg.train.batch_size]
    for step, momentum in ((0, 0.0), (1, 0.5)):
        state.step = step
        before = (model.prior.mean.clone(), model.prior.var.clone())
        last = heated_last(model, x, state.noise_generator.get_state(), cfg.walkback.num_steps)
        train_iteration(cfg, state, x)
        mean = momentum * before[0] + (1 - momentum) * last.mean(0)
        var = momentum * before[1] + (1 - momentum) * last.var(0, unbiased=False)
        assert torch.allclose(model.prior.mean, mean, atol=1e-5)
        assert torch.allclose(model.prior.var, var, rtol=1e-4)
    # and not to the data batch: heating at T_K = 27 spreads the states far beyond it
    assert (model.prior.var > 4 * x.var(0)).all()


def test_prior_of_online_updates_is_fitted_to_heated_states():
    cfg, data, model = small(online=True)
    state = new_state(cfg, model, data)
    x = data.train[:cfg.train.batch_size]
    train_iteration(cfg, state, x)
    assert (model.prior.var > 4 * x.var(0)).all()
    assert not torch.allclose(model.prior.mean, x.mean(0), atol=0.05)


def test_final_refit_uses_the_heated_training_data():
    cfg, data, model = small()
    gen = torch.Generator().manual_seed(11)
    last = heated_last(model, data.train[:5000], gen.get_state(), model.num_steps)
    refit_prior(model, data, gen)
    assert torch.allclose(model.prior.mean, last.mean(0), atol=1e-5)
    assert torch.allclose(model.prior.var, last.var(0, unbiased=False), rtol=1e-4)
    assert model.prior.var.min() > 4 * data.train.var(0).max()
