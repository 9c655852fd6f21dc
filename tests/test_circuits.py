"""Rate-circuit constraints and dynamics against hand-written references."""

import pytest
import torch

from biovw.circuits import RateCircuit
from biovw.circuits.connectivity import dale_signs
from biovw.config import config_from_dict
from biovw.runs import build_model
from biovw.walkback import heat, walkback_log_prob


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


def test_functional_core_reproduces_the_module_and_uses_the_product_at_every_micro_step():
    from biovw.circuits import RateState, rate_step, settle, transition_output
    from biovw.rules import Recurrence

    c = RateCircuit(3, 7, 2, settle_steps=4, dt=0.5, tau=2.0, seed=3)
    s = torch.randn(5, 3)
    p, drive = c.rate_parameters(), c.drive_parameters()
    assert torch.equal(transition_output(s, 1, p, drive, c.settle_steps), c(s, 1))
    calls = []

    def product(rate, weight):
        calls.append(rate.shape)
        return rate @ weight.T

    u = torch.randn(5, 10)
    start = RateState(torch.randn(5, 10))
    before = start.h.clone()
    end = settle(start, u, p, 4, Recurrence(product))
    assert len(calls) == 4  # the rule's product takes part in every micro-step
    assert torch.equal(start.h, before)  # pure: the input state is not modified
    h = start.h
    for _ in range(4):
        h = rate_step(RateState(h), u, p).h
    assert torch.equal(end.h, h)


def test_param_groups_put_kp_weight_and_feedback_together_with_decay():
    kp = RateCircuit(2, 6, 2, rule="kp", seed=0)
    decayed, rest = kp.param_groups(0.3)
    assert decayed["weight_decay"] == 0.3 and rest["weight_decay"] == 0.0
    assert decayed["params"][0] is kp.w_raw and decayed["params"][1] is kp.rule.feedback_matrix
    every = [p for p in kp.parameters() if p.requires_grad]
    assert len(decayed["params"]) + len(rest["params"]) == len(every)
    (group,) = RateCircuit(2, 6, 2, rule="fa", freeze="all", seed=0).param_groups(0.3)
    assert group["weight_decay"] == 0.0 and all(p.requires_grad for p in group["params"])
    assert len(group["params"]) == 5  # W frozen: W_in, b, gain, shift, visible bias


@pytest.mark.parametrize(("rule", "dale", "keys"), [
    ("backprop", True, 0), ("dfa", True, 0), ("fa", False, 3), ("fa", True, 6),
    ("sign_symmetry", True, 6), ("kp", True, 6)])
def test_alignment_reports_each_block_for_rules_with_a_feedback_matrix(rule, dale, keys):
    circuit = RateCircuit(2, 10, 2, rule=rule, dale=dale, seed=1)
    angles = circuit.alignment()
    assert len(angles) == keys
    assert all(0 <= v <= 180 for v in angles.values())
    if keys:
        assert {"alignment_angle", "alignment_angle_readout", "alignment_angle_hidden"} <= set(
            angles)


def test_the_config_fills_the_one_record_of_rate_settings_and_the_circuit_takes_it():
    import dataclasses

    from biovw.config import CircuitConfig, load_config
    from biovw.runs import build_run
    from biovw.spec import RATE_DEFAULTS, RateSettings

    assert RateSettings.of(CircuitConfig()) == RATE_DEFAULTS  # one set of defaults
    cfg = load_config("circuits/rate_net.yaml", ["circuit.hidden=8", "circuit.density=0.5",
                                                 "circuit.nonlinearity=softplus"])
    _, model = build_run(cfg, torch.device("cpu"))
    assert model.circuit.settings == RateSettings.of(cfg.circuit)
    assert model.circuit.settings.density == 0.5 and model.circuit.nonlinearity == "softplus"
    changed = RateCircuit(2, 8, 3, dale=False)
    assert changed.settings == dataclasses.replace(RATE_DEFAULTS, dale=False)
    assert changed.signs is None
    with pytest.raises(TypeError):
        RateCircuit(2, 8, 3, dayle=False)
