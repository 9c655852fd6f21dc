"""Learning rules against autograd and hand-written backward passes."""

from __future__ import annotations

import math

import pytest
import torch

from biovw.circuits import RateCircuit
from biovw.circuits.connectivity import connection_mask, constrained_weight, dale_signs
from biovw.rules import (
    RULES,
    DirectFeedbackAlignment,
    FeedbackAlignmentRule,
    KolenPollackRule,
    SignSymmetryRule,
    alignment_angle,
    best_sign_constrained_alignment,
    build_rule,
    sign_constrained_projection,
)

DT = torch.float64
ALPHA = 0.4
STEPS = 3


def _problem(batch=5, n=6, dim=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    w = (torch.randn(n, n, generator=g, dtype=DT) / n**0.5).requires_grad_()
    w_in = (torch.randn(n, dim, generator=g, dtype=DT) / dim**0.5).requires_grad_()
    x = torch.randn(batch, dim, generator=g, dtype=DT).requires_grad_()
    h0 = torch.randn(batch, n, generator=g, dtype=DT)
    target = torch.randn(batch, n, generator=g, dtype=DT)
    return w, w_in, x, h0, target


def _unrolled(w, w_in, x, h0, rec, inp):
    """``STEPS`` steps of ``h <- h + a (-h + tanh(h) W^T + x W_in^T)`` with matmul callables."""
    h = h0
    for _ in range(STEPS):
        h = h + ALPHA * (-h + rec(torch.tanh(h), w) + inp(x, w_in))
    return h


def _plain(x, w):
    return x @ w.T


def _grads(loss, *tensors):
    return torch.autograd.grad(loss, tensors, allow_unused=True)


def test_registry_and_builder():
    assert set(RULES) == {"backprop", "fa", "sign_symmetry", "kp", "dfa"}
    for name, cls in RULES.items():
        assert isinstance(build_rule(name, (3, 4), torch.Generator().manual_seed(0)), cls)
    with pytest.raises(ValueError):
        build_rule("hebb", (3, 4))
    with pytest.raises(ValueError):
        build_rule("fa", (3, 4))(torch.randn(2, 5), torch.randn(3, 5))


def test_backprop_rule_equals_autograd_through_unrolled_recurrence():
    w, w_in, x, h0, target = _problem()
    ref = _grads(0.5 * (_unrolled(w, w_in, x, h0, _plain, _plain) - target).pow(2).sum(),
                 w, w_in, x)
    rec, inp = build_rule("backprop", (6, 6)), build_rule("backprop", (6, 4))
    got = _grads(0.5 * (_unrolled(w, w_in, x, h0, rec, inp) - target).pow(2).sum(), w, w_in, x)
    for a, b in zip(got, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_backprop_rule_on_dale_constrained_weight_reaches_the_raw_parameter():
    n = 8
    g = torch.Generator().manual_seed(1)
    signs, mask = dale_signs(3, 5, 0.6).to(DT), connection_mask(n, 0.6, g).to(DT)
    raw = torch.randn(n, n, generator=g, dtype=DT).requires_grad_()
    w_in = torch.randn(n, 4, generator=g, dtype=DT).requires_grad_()
    x, h0 = torch.randn(5, 4, dtype=DT), torch.randn(5, n, dtype=DT)
    rec, inp = build_rule("backprop", (n, n)), build_rule("backprop", (n, 4))

    def loss(r, i):
        w = constrained_weight(raw, mask, signs, symmetric=False)
        return _unrolled(w, w_in, x, h0, r, i).pow(2).sum()

    for a, b in zip(_grads(loss(rec, inp), raw, w_in), _grads(loss(_plain, _plain), raw, w_in),
                    strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_fa_with_feedback_set_to_the_weight_is_backprop():
    w, w_in, x, h0, target = _problem(seed=2)
    rec = FeedbackAlignmentRule((6, 6), init=w.detach())
    inp = FeedbackAlignmentRule((6, 4)).double()
    inp.feedback_matrix.copy_(w_in.detach())
    got = _grads((_unrolled(w, w_in, x, h0, rec, inp) - target).pow(2).sum(), w, w_in, x)
    ref = _grads((_unrolled(w, w_in, x, h0, _plain, _plain) - target).pow(2).sum(), w, w_in, x)
    for a, b in zip(got, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_fa_unrolled_gradients_match_a_hand_written_backward_pass():
    w, w_in, x, h0, target = _problem(seed=3)
    gen = torch.Generator().manual_seed(7)
    rec = FeedbackAlignmentRule((6, 6), gen).double()
    inp = FeedbackAlignmentRule((6, 4), gen).double()
    h_final = _unrolled(w, w_in, x, h0, rec, inp)
    got = _grads(0.5 * (h_final - target).pow(2).sum(), w, w_in, x)

    b_rec, b_in = rec.feedback_matrix, inp.feedback_matrix
    w_, w_in_, x_ = w.detach(), w_in.detach(), x.detach()
    states = [h0]
    for _ in range(STEPS):
        h = states[-1]
        states.append(h + ALPHA * (-h + torch.tanh(h) @ w_.T + x_ @ w_in_.T))
    err = states[-1] - target
    d_w, d_w_in, d_x = torch.zeros_like(w_), torch.zeros_like(w_in_), torch.zeros_like(x_)
    for t in range(STEPS, 0, -1):
        prev = states[t - 1]
        d_w += ALPHA * err.T @ torch.tanh(prev)
        d_w_in += ALPHA * err.T @ x_
        d_x += ALPHA * err @ b_in
        err = (1 - ALPHA) * err + ALPHA * (err @ b_rec) * (1 - torch.tanh(prev) ** 2)
    for a, b in zip(got, (d_w, d_w_in, d_x), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    # with a random B the result differs from backprop
    ref = _grads(0.5 * (_unrolled(w, w_in, x, h0, _plain, _plain) - target).pow(2).sum(), w)
    assert (got[0] - ref[0]).abs().max() > 1e-3


@pytest.mark.parametrize("name", sorted(RULES))
def test_weight_gradient_of_every_rule_is_the_local_outer_product(name):
    gen = torch.Generator().manual_seed(0)
    shape = (3, 5)
    rule = build_rule(name, shape, gen).double()
    w = torch.randn(*shape, dtype=DT).requires_grad_()
    x = torch.randn(2, 4, 5, dtype=DT).requires_grad_()  # leading dims are summed over
    grad_y = torch.randn(2, 4, 3, dtype=DT)
    y = rule(x, w)
    torch.testing.assert_close(y, x @ w.T, rtol=0, atol=0)
    y.backward(grad_y)
    outer = grad_y.reshape(-1, 3).T @ x.detach().reshape(-1, 5)
    torch.testing.assert_close(w.grad, outer, rtol=0, atol=1e-12)
    if name == "dfa":
        assert x.grad is None  # no error travels through the weights
    else:
        feedback = rule.feedback(w.detach()).detach()
        torch.testing.assert_close(x.grad, grad_y @ feedback, rtol=0, atol=1e-12)
    if name == "kp":
        torch.testing.assert_close(rule.feedback_matrix.grad, outer, rtol=0, atol=1e-12)


@pytest.mark.parametrize("scale, match_norm", [(1.0, False), (0.25, False), (2.0, True)])
def test_sign_symmetry_sends_the_error_through_exactly_sign_w(scale, match_norm):
    kw = {} if scale == 1.0 else {"scale": scale}
    rule = build_rule("sign_symmetry", (4, 6), match_norm=match_norm, **kw)
    assert isinstance(rule, SignSymmetryRule)
    raw = torch.randn(4, 6, dtype=DT, requires_grad=True)
    signs = torch.tensor([1.0, 1.0, -1.0, 1.0, -1.0, 1.0], dtype=DT)
    mask = (torch.rand(4, 6) < 0.7).to(DT)
    w = raw.abs() * signs * mask  # Dale's law: sign(W) = sign[pre] * mask
    x = torch.randn(3, 6, dtype=DT, requires_grad=True)
    grad_y = torch.randn(3, 4, dtype=DT)
    rule(x, w).backward(grad_y)
    factor = scale * (w.detach().norm() / mask.norm() if match_norm else 1.0)
    expected = torch.sign(w.detach()) * factor
    assert torch.equal(torch.sign(w.detach()), signs * mask)
    torch.testing.assert_close(rule.feedback(w), expected, rtol=0, atol=0)
    torch.testing.assert_close(x.grad, grad_y @ expected, rtol=0, atol=0)
    if scale == 1.0 and not match_norm:
        assert torch.equal(x.grad, grad_y @ torch.sign(w.detach()))


def test_fa_feedback_is_a_fixed_buffer():
    rule = FeedbackAlignmentRule((3, 4), torch.Generator().manual_seed(0))
    assert list(rule.parameters()) == []
    assert "feedback_matrix" in rule.state_dict()
    before = rule.feedback_matrix.clone()
    w = torch.nn.Parameter(torch.randn(3, 4))
    opt = torch.optim.SGD([w], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        rule(torch.randn(5, 4, requires_grad=True), w).pow(2).sum().backward()
        opt.step()
    assert torch.equal(rule.feedback_matrix, before)
    assert abs(rule.feedback_matrix.std().item() - 0.5) < 0.3  # scale 1/sqrt(in)


def test_kp_feedback_gets_the_same_sgd_update_as_the_weight():
    rule = KolenPollackRule((3, 4), torch.Generator().manual_seed(0)).double()
    w = torch.nn.Parameter(torch.randn(3, 4, dtype=DT))
    opt = torch.optim.SGD([w, *rule.parameters()], lr=0.05, weight_decay=0.1)
    for _ in range(4):
        w0, b0 = w.detach().clone(), rule.feedback_matrix.detach().clone()
        opt.zero_grad()
        x = torch.randn(6, 4, dtype=DT)
        rule(x, w).sin().sum().backward()
        opt.step()
        grad = w.grad  # identical for both
        torch.testing.assert_close(rule.feedback_matrix.grad, grad, rtol=0, atol=0)
        torch.testing.assert_close(w - rule.feedback_matrix, (1 - 0.05 * 0.1) * (w0 - b0))


def test_kp_mirror_holds_for_a_dale_constrained_masked_weight_under_adamw():
    n = 7
    g = torch.Generator().manual_seed(3)
    signs, mask = dale_signs(2, 5, 0.6).to(DT), connection_mask(n, 0.7, g).to(DT)
    raw = torch.nn.Parameter(torch.randn(n, n, generator=g, dtype=DT).sign() * 0.5
                             + torch.randn(n, n, generator=g, dtype=DT) * 0.1)
    rule = KolenPollackRule((n, n), g, mask=mask).double()
    opt = torch.optim.AdamW([raw, *rule.parameters()], lr=1e-3, weight_decay=0.2)
    for _ in range(5):
        w0 = constrained_weight(raw, mask, signs, False).detach()
        b0 = rule.feedback(w0).detach()
        opt.zero_grad()
        h = torch.randn(4, n, dtype=DT)
        w = constrained_weight(raw, mask, signs, False)
        torch.tanh(rule(torch.tanh(rule(h, w)), w)).sum().backward()
        opt.step()
        w1 = constrained_weight(raw, mask, signs, False).detach()
        b1 = rule.feedback(w1).detach()
        torch.testing.assert_close(w1 - b1, (1 - 1e-3 * 0.2) * (w0 - b0), rtol=0, atol=1e-12)
        assert (b1[mask == 0] == 0).all()


def test_kp_brings_weight_and_feedback_into_alignment_during_training():
    g = torch.Generator().manual_seed(0)
    teacher1, teacher2 = torch.randn(16, 8, generator=g), torch.randn(4, 16, generator=g)
    x = torch.randn(128, 8, generator=g)
    y = torch.tanh(x @ teacher1.T / 8**0.5) @ teacher2.T / 4
    w1 = torch.nn.Parameter(torch.randn(16, 8, generator=g) / 8**0.5)
    w2 = torch.nn.Parameter(torch.randn(4, 16, generator=g) / 16**0.5)
    r1, r2 = KolenPollackRule((16, 8), g), KolenPollackRule((4, 16), g)
    params = [w1, w2, *r1.parameters(), *r2.parameters()]
    opt = torch.optim.SGD(params, lr=0.1, weight_decay=0.05)
    angles, losses = [], []
    for step in range(601):
        if step % 150 == 0:
            angles.append(alignment_angle(w2, r2.feedback_matrix))
        opt.zero_grad()
        loss = (r2(torch.tanh(r1(x, w1)), w2) - y).pow(2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(a > b for a, b in zip(angles[:-1], angles[1:], strict=True)), angles
    assert angles[0] > 60 and angles[-1] < 30, angles
    assert losses[-1] < 0.5 * losses[0]


def _two_layer(x, w1, b1, w2, b2, rule):
    context = rule.context()
    h1 = rule.hidden(torch.tanh(rule(x, w1) + b1), context)
    return context.output(rule(h1, w2) + b2)


def test_dfa_matches_the_hand_written_two_layer_update():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(32, 5, generator=g, dtype=DT).requires_grad_()
    target = torch.randn(32, 3, generator=g, dtype=DT)
    w1 = torch.randn(8, 5, generator=g, dtype=DT).requires_grad_()
    b1 = torch.randn(8, generator=g, dtype=DT).requires_grad_()
    w2 = torch.randn(3, 8, generator=g, dtype=DT).requires_grad_()
    b2 = torch.randn(3, generator=g, dtype=DT).requires_grad_()
    rule = DirectFeedbackAlignment((3, 8), g).double()
    y = _two_layer(x, w1, b1, w2, b2, rule)
    (0.5 * (y - target).pow(2).sum(1).mean()).backward()

    # Nøkland (2016): e at the output, B^T e times f'(a) at the hidden layer
    bmat = rule.feedback_matrix
    h1 = torch.tanh(x.detach() @ w1.detach().T + b1.detach())
    e = (h1 @ w2.detach().T + b2.detach() - target) / 32
    delta1 = (e @ bmat) * (1 - h1**2)
    expected = {"w2": e.T @ h1, "b2": e.sum(0), "w1": delta1.T @ x.detach(),
                "b1": delta1.sum(0)}
    for name, p in {"w2": w2, "b2": b2, "w1": w1, "b1": b1}.items():
        torch.testing.assert_close(p.grad, expected[name], rtol=0, atol=1e-12)
    assert x.grad is None
    # DFA is not backprop: the hidden-layer update uses B, not W2
    backprop_delta1 = (e @ w2.detach()) * (1 - h1**2)
    assert (w1.grad - backprop_delta1.T @ x.detach()).abs().max() > 1e-3


def test_dfa_in_an_unrolled_loop_matches_the_hand_written_update():
    g = torch.Generator().manual_seed(5)
    n, d, dx = 7, 2, 3
    w = (torch.randn(n, n, generator=g, dtype=DT) / n**0.5).requires_grad_()
    w_in = torch.randn(n, dx, generator=g, dtype=DT).requires_grad_()
    x = torch.randn(6, dx, generator=g, dtype=DT)
    h0 = torch.randn(6, n, generator=g, dtype=DT)
    target = torch.randn(6, d, generator=g, dtype=DT)
    rule = DirectFeedbackAlignment((d, n), g).double()

    def rate(h):
        return torch.cat([h[:, :d], torch.tanh(h[:, d:])], dim=1)

    context = rule.context()
    drive = rule(x, w_in)
    h = h0
    for t in range(1, STEPS + 1):
        h = h + ALPHA * (-h + rule(rate(h), w) + drive)
        if t < STEPS:
            h = rule.hidden(h, context)
    out = context.output(h[:, :d])
    (0.5 * (out - target).pow(2).sum()).backward()

    states = [h0]
    for _ in range(STEPS):
        s = states[-1]
        states.append(s + ALPHA * (-s + rate(s) @ w.detach().T + x @ w_in.detach().T))
    e = states[-1][:, :d] - target
    errors = [e @ rule.feedback_matrix] * (STEPS - 1)
    errors.append(torch.cat([e, torch.zeros(6, n - d, dtype=DT)], dim=1))
    d_w = sum(ALPHA * gt.T @ rate(states[t]) for t, gt in enumerate(errors))
    d_w_in = sum(ALPHA * gt for gt in errors).T @ x
    torch.testing.assert_close(w.grad, d_w, rtol=0, atol=1e-12)
    torch.testing.assert_close(w_in.grad, d_w_in, rtol=0, atol=1e-12)


def test_dfa_hidden_without_an_output_error_raises():
    rule = DirectFeedbackAlignment((2, 3))
    h = torch.randn(4, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="not recorded"):
        rule.hidden(h, rule.context()).sum().backward()
    context = rule.context()
    context.output(h)
    with pytest.raises(ValueError):
        context.output(h)


def test_alignment_angle_reference_values():
    w = torch.randn(5, 4)
    assert alignment_angle(w, w) == pytest.approx(0.0, abs=1e-5)
    assert alignment_angle(w, 3.0 * w) == pytest.approx(0.0, abs=1e-5)
    assert alignment_angle(w, -w) == pytest.approx(180.0, abs=1e-5)
    other = torch.randn(5, 4)
    other = other - (other * w).sum() / (w * w).sum() * w  # Gram-Schmidt
    assert alignment_angle(w, other) == pytest.approx(90.0, abs=1e-4)
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 1.0]])
    assert alignment_angle(a, b) == pytest.approx(45.0, abs=1e-6)
    with pytest.raises(ValueError):
        alignment_angle(w, torch.zeros(5, 4))


def test_best_sign_constrained_alignment_is_the_minimum_over_feasible_matrices():
    g = torch.Generator().manual_seed(6)
    n = 6
    signs = torch.tensor([1.0, 1.0, 1.0, 1.0, -1.0, -1.0])
    mask = connection_mask(n, 0.7, g)
    pattern = signs[None, :] * mask
    b = torch.randn(n, n, generator=g, dtype=DT)
    best = best_sign_constrained_alignment(pattern, b)
    proj = sign_constrained_projection(pattern, b)
    assert ((proj * pattern) >= 0).all() and (proj[mask == 0] == 0).all()
    assert alignment_angle(proj, b) == pytest.approx(best, abs=1e-9)
    assert best == pytest.approx(math.degrees(math.acos(proj.norm() / b.norm())), abs=1e-9)
    # random feasible matrices, and feasible perturbations of the projection, never do better
    feasible = torch.rand(2000, n, n, generator=g, dtype=DT) * pattern.to(DT)
    dirs = feasible.reshape(2000, -1)
    cos = dirs @ b.reshape(-1) / (dirs.norm(dim=1) * b.norm())
    assert torch.rad2deg(torch.acos(cos)).min().item() >= best - 1e-9
    for _ in range(200):
        m = proj + 0.05 * torch.rand(n, n, generator=g, dtype=DT) * pattern.to(DT)
        assert alignment_angle(m, b) >= best - 1e-9
    # an unconstrained sign pattern reaches B itself
    assert best_sign_constrained_alignment(torch.sign(b), b) == pytest.approx(0.0, abs=1e-6)
    # no allowed entry agrees with B: the best is a single entry of smallest magnitude
    b2 = torch.tensor([[-1.0, -2.0], [3.0, 0.5]], dtype=DT)
    s2 = torch.tensor([[1.0, 1.0], [-1.0, 0.0]])
    expected = math.degrees(math.acos(-1.0 / b2.norm().item()))
    assert best_sign_constrained_alignment(s2, b2) == pytest.approx(expected, abs=1e-9)


def _circuit_with_rules(circuit, s, step, rec, inp):
    """The rate circuit's forward pass with its two matrix products taken by learning rules."""
    direct = getattr(rec, "direct", False)
    context = rec.context() if direct else None
    hidden_drive = circuit.drive_norm(inp(s, circuit.w_in) + circuit.b_in, step)
    drive = torch.cat([circuit.visible_bias[step].expand(s.shape[0], -1), hidden_drive], dim=1)
    h = torch.cat([s, s.new_zeros(s.shape[0], circuit.hidden)], dim=1)
    weight = circuit.weight()
    for t in range(1, circuit.settle_steps + 1):
        rate = torch.cat([h[:, : circuit.dim], circuit.phi(h[:, circuit.dim :])], dim=1)
        h = h + circuit.alpha * (-h + rec(rate, weight) + drive)
        if direct and t < circuit.settle_steps:
            h = rec.hidden(h, context)
    out = h[:, : circuit.dim]
    return context.output(out) if direct else out


@pytest.mark.parametrize("name", sorted(RULES))
def test_rules_drive_a_dale_constrained_rate_circuit(name):
    circuit = RateCircuit(2, 6, 3, density=0.7, seed=0).double()
    n = circuit.dim + circuit.hidden
    g = torch.Generator().manual_seed(0)
    if name == "dfa":
        rec = inp = build_rule("dfa", (circuit.dim, n), g).double()
    else:
        kw = {"mask": circuit.mask} if name == "kp" else {}
        rec = build_rule(name, (n, n), g, **kw).double()
        inp = build_rule(name, (circuit.hidden, circuit.dim), g).double()
    s = torch.randn(5, 2, dtype=DT)
    out = _circuit_with_rules(circuit, s, 1, rec, inp)
    torch.testing.assert_close(out, circuit(s, 1), rtol=0, atol=1e-12)
    params = [circuit.w_raw, circuit.w_in]
    got = _grads(out.pow(2).sum(), *params)
    assert all(gr is not None and torch.isfinite(gr).all() for gr in got)
    if name == "backprop":
        ref = _grads(circuit(s, 1).pow(2).sum(), *params)
        for a, b in zip(got, ref, strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
