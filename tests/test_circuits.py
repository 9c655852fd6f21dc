"""Rate-circuit constraints and dynamics against hand-written references."""

import pytest
import torch

from biovw.circuits import RateCircuit
from biovw.circuits.connectivity import dale_signs
from biovw.config import config_from_dict
from biovw.walkback import build_model, heat, walkback_log_prob


def _train(model, iterations: int, lr: float = 0.05) -> None:
    """A few walk-back updates on random data."""
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    x = torch.randn(64, model.circuit.dim)
    for _ in range(iterations):
        traj = heat(model, x, model.num_steps, None)
        loss = -walkback_log_prob(model, traj.states).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


@pytest.mark.parametrize("rule", ["backprop", "fa", "sign_symmetry", "kp", "dfa"])
def test_dale_signs_mask_and_autapses_hold_after_training(rule):
    cfg = config_from_dict({"circuit": {"hidden": 20, "density": 0.5},
                            "rule": {"name": rule}, "walkback": {"num_steps": 3}})
    model = build_model(cfg, 2)
    circuit = model.circuit
    before = circuit.w_raw.detach().clone()
    _train(model, 30 if rule == "backprop" else 5)
    w = circuit.weight().detach()
    signs = dale_signs(2, 20, 0.8)
    assert torch.equal(signs, circuit.signs)
    assert (w[:, signs > 0] >= 0).all() and (w[:, signs < 0] <= 0).all()
    assert (w[circuit.mask == 0] == 0).all()
    assert (torch.diagonal(w) == 0).all()
    assert 0.3 < circuit.mask.mean() < 0.7
    assert (signs < 0).sum() == 4  # 20% of the hidden units are inhibitory
    assert not torch.equal(before, circuit.w_raw.detach())


def test_balanced_initialisation_has_the_requested_spectral_radius_and_zero_mean_input():
    c = RateCircuit(2, 200, 3, spectral_radius=0.7, seed=1)
    w = c.weight().detach().double()
    assert abs(torch.linalg.eigvals(w).abs().max().item() - 0.7) < 1e-6
    hidden_cols = w[:, 2:]
    exc, inh = hidden_cols[:, :160].sum(1), hidden_cols[:, 160:].sum(1)
    # inhibitory columns are scaled so that excitation and inhibition balance on average
    assert abs((exc + inh).mean().item()) < 0.1 * exc.mean().item()


def test_symmetric_circuit_ties_weights():
    c = RateCircuit(2, 10, 3, dale=False, symmetric=True, density=0.6, seed=2)
    w = c.weight().detach()
    assert torch.equal(w, w.T) and (torch.diagonal(w) == 0).all()


def test_settling_matches_an_explicit_euler_loop():
    c = RateCircuit(3, 7, 2, dale=True, settle_steps=4, dt=0.5, tau=2.0, seed=3)
    s = torch.randn(5, 3)
    step = 1
    w = c.weight()
    drive_h = c.drive_norm(s @ c.w_in.T + c.b_in, step)
    h = torch.cat([s, torch.zeros(5, 7)], 1)
    u = torch.cat([c.visible_bias[step].expand(5, 3), drive_h], 1)
    for _ in range(4):
        r = h.clone()
        r[:, 3:] = torch.tanh(h[:, 3:])
        # unit by unit, the slow way
        h = torch.stack([h[:, i] + 0.25 * (-h[:, i] + (r * w[i]).sum(1) + u[:, i])
                         for i in range(10)], 1)
    assert torch.allclose(c(s, step), h[:, :3], atol=1e-5)


def _grads(circuit, s):
    circuit.zero_grad()
    circuit(s, 1).pow(2).sum().backward()
    return circuit.w_raw.grad.clone(), circuit.w_in.grad.clone()


def test_feedback_alignment_with_feedback_equal_to_w_is_backprop_in_the_circuit():
    s = torch.randn(16, 3, dtype=torch.float64)
    exact = RateCircuit(3, 9, 2, rule="backprop", seed=4).double()
    fa = RateCircuit(3, 9, 2, rule="fa", seed=4).double()
    fa.load_state_dict(exact.state_dict(), strict=False)
    with torch.no_grad():
        fa.rule.feedback_matrix.copy_(fa.weight())
    for a, b in zip(_grads(exact, s), _grads(fa, s), strict=True):
        assert torch.allclose(a, b, atol=1e-10)
    with torch.no_grad():
        fa.rule.feedback_matrix.normal_()
    assert not torch.allclose(_grads(fa, s)[1], _grads(exact, s)[1])


@pytest.mark.parametrize("freeze", ["none", "all", "hidden_rows", "readout"])
def test_freeze_holds_exactly_the_chosen_rows_of_w(freeze):
    dim, hidden = 2, 12
    cfg = config_from_dict({"circuit": {"hidden": hidden, "freeze": freeze},
                            "rule": {"name": "fa"}, "walkback": {"num_steps": 2}})
    model = build_model(cfg, dim)
    before = model.circuit.weight().detach().clone()
    w_in = model.circuit.w_in.detach().clone()
    # AdamW's decoupled decay would move a zero-gradient parameter: frozen rows must not move
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.1,
                            weight_decay=0.5)
    x = torch.randn(64, dim)
    for _ in range(2):
        traj = heat(model, x, model.num_steps, None)
        loss = -walkback_log_prob(model, traj.states).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = model.circuit.weight().detach()
    n = dim + hidden
    rows = {"none": [], "all": list(range(n)), "hidden_rows": list(range(dim, n)),
            "readout": list(range(dim))}[freeze]
    moving = [r for r in range(dim + hidden) if r not in rows]
    assert torch.equal(before[rows], after[rows])
    assert all(not torch.equal(before[r], after[r]) for r in moving)
    assert not torch.equal(w_in, model.circuit.w_in)
    # the frozen copy travels with the state, so a reload rebuilds the same weight
    clone = build_model(cfg, dim)
    clone.load_state_dict(model.state_dict())
    assert torch.equal(clone.circuit.weight(), after)


def test_fa_feedback_lives_on_the_synapses_of_w():
    circuit = RateCircuit(3, 10, 2, rule="fa", density=0.5, seed=1)
    b = circuit.feedback_matrix()
    assert (b[circuit.mask == 0] == 0).all()
    assert (torch.diagonal(b) == 0).all()
    assert (b[circuit.mask == 1] != 0).all()
