"""The backend-neutral circuit description: round trip, completeness and bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from biovw.circuits import RateCircuit, RateSpec, SpecError
from biovw.spec import ARRAYS_NAME, JSON_NAME
from biovw.walkback import WalkbackModel, operator_and_prior, temperature_schedule

DIM, HIDDEN, K = 3, 9, 4

CIRCUITS = {
    "dale": {},
    "sparse": {"density": 0.3},
    "tied": {"dale": False, "symmetric": True, "density": 0.6},
    "frozen_rows": {"freeze": "hidden_rows", "nonlinearity": "softplus"},
    "no_norm": {"step_norm": False, "nonlinearity": "sigmoid", "settle_steps": 3},
}


def _model(circuit: dict, operator: str = "gaussian", learn_sigma: bool = False,
           seed: int = 0) -> WalkbackModel:
    """A model whose every parameter and buffer holds non-trivial values."""
    c = RateCircuit(DIM, HIDDEN, K, seed=seed, dt=0.5, tau=1.5, **circuit)
    op, prior = operator_and_prior(operator, DIM, 0.3, 0.2, learn_sigma)
    model = WalkbackModel(c, op, prior, temperature_schedule(K, 1.0, 1.3))
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name != "circuit.w_raw":
                p.add_(0.3 * torch.randn(p.shape, generator=g))
        model.circuit.w_raw.mul_(1 + 0.5 * torch.rand(c.w_raw.shape, generator=g))
        data = torch.rand(50, DIM, generator=g)
        model.prior.update(data.round() if operator == "bernoulli" else data)
    return model


def _states(operator: str, n: int = 20) -> torch.Tensor:
    g = torch.Generator().manual_seed(7)
    s = torch.randn(n, DIM, generator=g)
    return (s > 0).float() if operator == "bernoulli" else s


@pytest.mark.parametrize("name", sorted(CIRCUITS))
def test_saved_and_loaded_description_rebuilds_the_same_kernel(tmp_path, name):
    model = _model(CIRCUITS[name], learn_sigma=name == "dale")
    model.spec().save(tmp_path / "c")
    rebuilt = WalkbackModel.from_spec(RateSpec.load(tmp_path / "c"))
    s, s_next = _states("gaussian"), _states("gaussian", 20).flip(0)
    with torch.no_grad():
        for step in range(K):
            assert torch.equal(rebuilt.circuit(s, step), model.circuit(s, step)), step
            torch.testing.assert_close(rebuilt.log_prob(s_next, s, step),
                                       model.log_prob(s_next, s, step), rtol=1e-6, atol=1e-5)
    assert torch.equal(rebuilt.prior.mean, model.prior.mean)
    assert rebuilt.temperatures == model.temperatures
    torch.testing.assert_close(rebuilt.operator.sigma(), model.operator.sigma())


def test_bernoulli_description_round_trips(tmp_path):
    model = _model({"density": 0.5}, operator="bernoulli")
    model.spec().save(tmp_path)
    rebuilt = WalkbackModel.from_spec(RateSpec.load(tmp_path))
    s = _states("bernoulli")
    with torch.no_grad():
        for step in range(K):
            assert torch.equal(rebuilt.log_prob(s.flip(0), s, step),
                               model.log_prob(s.flip(0), s, step))
    assert torch.equal(rebuilt.prior.probs, model.prior.probs)
    assert rebuilt.operator.kind == "bernoulli"


def test_float64_description_round_trips_in_float64():
    model = _model({}).double()
    rebuilt = WalkbackModel.from_spec(model.spec())
    s = _states("gaussian").double()
    with torch.no_grad():
        assert torch.equal(rebuilt.circuit(s, 2), model.circuit(s, 2))


def _numpy_transition(spec: RateSpec, s: np.ndarray, t: int) -> np.ndarray:
    """The kernel's mean (or firing probability) from the description alone, following the
    equations stated in biovw.spec: what a second backend has to compute."""
    c, o = spec.circuit, spec.operator
    phi = {"tanh": np.tanh, "softplus": lambda x: np.logaddexp(0.0, x),
           "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "relu": lambda x: np.maximum(x, 0.0)}
    a = s @ c.w_in.T + c.b_in
    if c.drive_normalize:
        a = (a - a.mean(1, keepdims=True)) / np.sqrt(a.var(1, keepdims=True) + c.drive_eps)
    u = np.concatenate([np.broadcast_to(c.visible_bias[t], s.shape),
                        a * c.drive_gain[t] + c.drive_shift[t]], 1)
    h = np.concatenate([s, np.zeros((s.shape[0], c.n_hidden))], 1)
    for _ in range(c.settle_steps):
        r = np.concatenate([h[:, : c.n_visible], phi[c.nonlinearity](h[:, c.n_visible :])], 1)
        h = h + c.dt / c.tau * (-h + r @ c.weight.T + u)
    out = h[:, : c.n_visible]
    if o.kind == "bernoulli":
        return o.kappa * s + (1 - o.kappa) / (1 + np.exp(-out / o.temperatures[t]))
    return o.kappa * s + (1 - o.kappa) * out


@pytest.mark.parametrize("name", sorted(CIRCUITS))
@pytest.mark.parametrize("operator", ["gaussian", "bernoulli"])
def test_description_alone_reproduces_the_kernel(tmp_path, name, operator):
    model = _model(CIRCUITS[name], operator=operator).double()
    model.spec().save(tmp_path)
    spec = RateSpec.load(tmp_path)
    s = _states(operator).double()
    for t in range(K):
        with torch.no_grad():
            out = model.circuit(s, t)
            expected = (model.operator.mean(s, out, model.temperatures[t]) if model.binary
                        else model.operator.mean(s, out))
        np.testing.assert_allclose(_numpy_transition(spec, s.numpy(), t), expected.numpy(),
                                   rtol=1e-10, atol=1e-12)
    if operator == "gaussian":
        np.testing.assert_allclose(spec.operator.sigma, model.operator.sigma().detach().numpy())


def test_description_files_are_plain_json_and_arrays(tmp_path):
    _model({"density": 0.3}).spec().save(tmp_path)
    meta = json.loads((tmp_path / JSON_NAME).read_text())
    assert meta["format"] == "biovw-rate-circuit" and meta["version"] == 1
    assert meta["circuit"]["drive_normalization"]["eps"] == 1e-5
    assert meta["units"]["time"] == "ms"
    with np.load(tmp_path / ARRAYS_NAME, allow_pickle=False) as arrays:
        assert arrays["weight"].shape == (DIM + HIDDEN, DIM + HIDDEN)
        assert set(meta["arrays"]) == set(arrays.files)
        w, mask = arrays["weight"], arrays["mask"]
        assert (w[mask == 0] == 0).all() and (np.diag(mask) == 0).all()
        signs = arrays["signs"]
        assert (w * signs[None, :] >= 0).all()  # Dale's law in the stored weight


def _arrays(folder) -> dict[str, np.ndarray]:
    with np.load(folder / ARRAYS_NAME) as data:
        return dict(data)


def _saved(tmp_path):
    _model({}).spec().save(tmp_path)
    return json.loads((tmp_path / JSON_NAME).read_text())


@pytest.mark.parametrize(("damage", "needle"), [
    (lambda p, m: (p / JSON_NAME).unlink(), "no circuit description"),
    (lambda p, m: (p / JSON_NAME).write_text("{not json"), "unreadable JSON"),
    (lambda p, m: (p / JSON_NAME).write_text(json.dumps({**m, "format": "other"})),
     "not a biovw circuit description"),
    (lambda p, m: (p / JSON_NAME).write_text(json.dumps({**m, "version": 99})), "version 99"),
    (lambda p, m: (p / ARRAYS_NAME).write_bytes(b"garbage"), "cannot read the circuit's arrays"),
    (lambda p, m: np.savez(p / ARRAYS_NAME, weight=np.zeros(2)), "arrays missing"),
    (lambda p, m: np.savez(p / ARRAYS_NAME, **{k: np.array([object()]) for k in m["arrays"]}),
     "not an npz of plain arrays"),
    (lambda p, m: (p / JSON_NAME).write_text(json.dumps({**m, "circuit": {}})),
     "missing or malformed field"),
    (lambda p, m: np.savez(p / ARRAYS_NAME, **{k: np.zeros(3) for k in m["arrays"]}),
     "w_in must be a 2-D array"),
    (lambda p, m: np.savez(p / ARRAYS_NAME, **{**_arrays(p), "weight": np.zeros((2, 2))}),
     "weight has shape (2, 2)"),
])
def test_bad_files_give_one_line_errors(tmp_path, damage, needle):
    meta = _saved(tmp_path)
    damage(tmp_path, meta)
    with pytest.raises(SpecError) as err:
        RateSpec.load(tmp_path)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_only_rate_circuits_have_a_description():
    from biovw.circuits import MLPCircuit

    op, prior = operator_and_prior("gaussian", DIM, 0.5, 0.1)
    model = WalkbackModel(MLPCircuit(DIM, 8, K), op, prior, temperature_schedule(K, 1.0, 1.1))
    with pytest.raises(TypeError, match="only rate circuits"):
        model.spec()
