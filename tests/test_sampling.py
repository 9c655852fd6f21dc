"""The samplers run after the cool-down, against the closed-form stationary law of a
linear-Gaussian model, and chains started from given states (``--initial``)."""

import numpy as np
import pytest
import torch
from cli_support import linear_walkback_model
from scipy.linalg import solve_discrete_lyapunov

from biovw.walkback import Sampler, sample_chain, trajectories


def affine_law(model, steps) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``s' = G s + g + eta``, ``eta ~ N(0, Q)``: the composition of the operator's affine
    Gaussian maps at the temperature steps ``steps``, in order."""
    dim = model.circuit.matrix.shape[1]
    G, g, Q = np.eye(dim), np.zeros(dim), np.zeros((dim, dim))
    kappa = model.operator.kappa
    noise = np.diag(model.operator.sigma().detach().double().numpy() ** 2)
    for step in steps:
        M = kappa * np.eye(dim) + (1 - kappa) * model.circuit.matrix[step].detach().double().numpy()
        d = (1 - kappa) * model.circuit.offset[step].detach().double().numpy()
        G, g = M @ G, M @ g + d
        Q = M @ Q @ M.T + float(model.temperatures[step]) * noise
    return G, g, Q


@pytest.mark.parametrize("kind,cycle_steps", [("chain", 0), ("cycle", 0), ("cycle", 2)])
def test_sampler_reaches_the_closed_form_stationary_law(kind, cycle_steps):
    model = linear_walkback_model()
    sampler = Sampler(kind, cycle_steps)
    k = sampler.depth(model)
    steps = [0] if kind == "chain" else [*range(k), *reversed(range(k))]
    G, g, Q = affine_law(model, steps)
    mean = np.linalg.solve(np.eye(2) - G, g)
    cov = solve_discrete_lyapunov(G, Q)
    assert sampler.transitions(model) == len(steps)
    start = torch.full((20000, 2), 5.0)                 # far from the stationary law
    with torch.no_grad():
        x = sample_chain(model, 0, [60], torch.Generator().manual_seed(1), sampler=sampler,
                         initial=start)[60].double().numpy()
    assert x.mean(0) == pytest.approx(mean, abs=0.03 * np.sqrt(cov.diagonal().max()) + 0.01)
    assert np.cov(x.T) == pytest.approx(cov, rel=0.05, abs=0.01 * cov.diagonal().max())


def test_initial_states_are_the_start_and_skip_the_cool_down():
    model = linear_walkback_model()
    start = torch.randn(7, 2, generator=torch.Generator().manual_seed(2))
    out = sample_chain(model, 0, [0, 3], None, initial=start)
    assert torch.equal(out[0], start)
    traj = trajectories(model, start, 3, None, noise=False, cool=False)
    assert torch.equal(traj[:, 0], start)
    G, g, _ = affine_law(model, [0])
    expected = start.double().numpy() @ G.T + g
    assert traj[:, 1].double().numpy() == pytest.approx(expected, abs=1e-5)


def test_sampler_names_are_checked():
    with pytest.raises(ValueError, match="sampler must be one of"):
        Sampler("gibbs")
