"""Every learning rule's parameter gradients on the rate circuit, inside a walk-back model,
against a backward pass written out by hand micro-step by micro-step.

The reference below never calls a learning rule. It runs the Euler micro-steps itself,
differentiates the operator's log-density by hand (Gaussian and Bernoulli), and sends the error
back through every micro-step with the feedback matrix the rule prescribes (``W`` for
backprop, the stored random matrix for fa and kp, ``c sign(W)`` for sign symmetry, the output
error projected by a fixed matrix for dfa). Only the rule-independent ends use autograd: the
elementwise map from raw to effective weight (Dale's signs, mask) and the afferent drive
normalisation. A rule that acts on only some micro-steps gives different gradients.
"""

from __future__ import annotations

import pytest
import torch

from biovw.config import config_from_dict
from biovw.runs import build_model

DIM, HIDDEN, SETTLE, STEP = 3, 7, 4, 1


def _model(rule: str, operator: str):
    cfg = config_from_dict({
        "circuit": {"hidden": HIDDEN, "settle_steps": SETTLE, "dt": 0.5, "tau": 2.0,
                    "density": 0.7, "nonlinearity": "tanh"},
        "rule": {"name": rule},
        "walkback": {"operator": operator, "num_steps": 3, "kappa": 0.3, "sigma": 0.4,
                     "temperature_factor": 1.7},
        "seed": 5,
    })
    model = build_model(cfg, DIM).double()
    with torch.no_grad():  # non-trivial per-step parameters
        model.circuit.visible_bias.normal_(0.0, 0.3)
        model.circuit.b_in.normal_(0.0, 0.3)
    return model


def _states(operator: str, n: int = 11):
    g = torch.Generator().manual_seed(2)
    if operator == "bernoulli":
        s = (torch.rand(n, DIM, generator=g) < 0.5).double()
        x = (torch.rand(n, DIM, generator=g) < 0.5).double()
    else:
        s = torch.randn(n, DIM, generator=g, dtype=torch.float64)
        x = torch.randn(n, DIM, generator=g, dtype=torch.float64)
    return s, x


def _output_error(model, s, x, out):
    """d log p_T(x | s) / d out, by hand."""
    kappa = model.operator.kappa
    temperature = model.temperatures[STEP]
    if model.binary:
        sig = torch.sigmoid(out / temperature)
        p = kappa * s + (1 - kappa) * sig
        dp = x / p - (1 - x) / (1 - p)
        return dp * (1 - kappa) * sig * (1 - sig) / temperature
    var = temperature * model.operator.sigma().detach() ** 2
    mean = kappa * s + (1 - kappa) * out
    return (1 - kappa) * (x - mean) / var


def _feedback(circuit, rule: str, weight):
    if rule == "backprop":
        return weight
    if rule == "sign_symmetry":  # config default: match_norm, scale 1
        signs = torch.sign(weight)
        return signs * (weight.norm() / signs.norm())
    if rule in ("fa", "kp"):
        return circuit.rule.feedback_matrix.detach() * circuit.mask
    raise ValueError(rule)


def _reference(model, rule: str, s, x) -> dict[str, torch.Tensor]:
    """Parameter gradients of sum_i log p(x_i | s_i) under ``rule``, by hand."""
    c = model.circuit
    weight = c.weight()
    hidden_drive = c.drive_norm(s @ c.w_in.T + c.b_in, STEP)
    drive = torch.cat([c.visible_bias[STEP].expand(s.shape[0], -1), hidden_drive], 1)
    w, u = weight.detach(), drive.detach()
    a = c.alpha
    # forward, keeping every micro-step's activity
    hs = [torch.cat([s, s.new_zeros(s.shape[0], HIDDEN)], 1)]
    rates, slopes = [], []
    for _ in range(SETTLE):
        h = hs[-1]
        rate = torch.cat([h[:, :DIM], torch.tanh(h[:, DIM:])], 1)
        slope = torch.cat([torch.ones_like(h[:, :DIM]), 1 - torch.tanh(h[:, DIM:]) ** 2], 1)
        rates.append(rate)
        slopes.append(slope)
        hs.append(h + a * (-h + rate @ w.T + u))
    error = _output_error(model, s, x, hs[-1][:, :DIM])
    g = torch.cat([error, torch.zeros(s.shape[0], HIDDEN, dtype=s.dtype)], 1)
    grad_w = torch.zeros_like(w)
    grad_u = torch.zeros_like(u)
    if rule == "dfa":
        # error at the output state, e B at every intermediate state, nothing through W^T
        b = c.rule.feedback_matrix.detach()
        for k in reversed(range(SETTLE)):
            grad_w += a * g.T @ rates[k]
            grad_u += a * g
            g = error @ b
    else:
        b = _feedback(c, rule, w)
        for k in reversed(range(SETTLE)):
            grad_w += a * g.T @ rates[k]
            grad_u += a * g
            g = (1 - a) * g + a * (g @ b) * slopes[k]
    params = dict(c.named_parameters())
    targets = {name: p for name, p in params.items() if p.requires_grad}
    grads = torch.autograd.grad([weight, drive], list(targets.values()), [grad_w, grad_u],
                                allow_unused=True)
    out = {name: (torch.zeros_like(p) if gr is None else gr)
           for (name, p), gr in zip(targets.items(), grads, strict=True)}
    if rule == "kp":  # the feedback matrix receives the weight's local gradient
        out["rule.feedback_matrix"] = grad_w * c.mask
    return out


def _autograd(model, s, x) -> dict[str, torch.Tensor]:
    model.zero_grad()
    model.log_prob(x, s, STEP).sum().backward()
    return {name: p.grad.clone() for name, p in model.circuit.named_parameters()
            if p.requires_grad}


@pytest.mark.parametrize("operator", ["gaussian", "bernoulli"])
@pytest.mark.parametrize("rule", ["backprop", "fa", "sign_symmetry", "kp", "dfa"])
def test_rule_gradients_on_the_circuit_match_a_hand_written_backward(rule, operator):
    model = _model(rule, operator)
    s, x = _states(operator)
    got = _autograd(model, s, x)
    want = _reference(model, rule, s, x)
    assert set(got) == set(want)
    assert {"w_raw", "w_in", "b_in", "visible_bias"} <= set(got)
    for name in got:
        assert torch.allclose(got[name], want[name], rtol=1e-9, atol=1e-12), name
    assert got["w_raw"].abs().max() > 1e-3  # the comparison is not between zeros


@pytest.mark.parametrize("rule", ["fa", "sign_symmetry", "kp", "dfa"])
def test_the_reference_tells_rules_apart(rule):
    # the reference is only worth something if backprop's gradient differs from the rule's
    model = _model(rule, "gaussian")
    s, x = _states("gaussian")
    rule_grads = _reference(model, rule, s, x)
    exact = _reference(model, "backprop", s, x)
    assert not torch.allclose(rule_grads["w_raw"], exact["w_raw"], rtol=1e-3)
    assert not torch.allclose(rule_grads["w_in"], exact["w_in"], rtol=1e-3)
