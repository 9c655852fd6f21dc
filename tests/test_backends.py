"""The circuit description and its backend registry sit above the backends: reading them, or
running the Brian2 backend, imports no torch; every registered backend runs a description."""

from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pytest

from biovw.backends import BACKENDS

COMMON = ("spec", "initial", "n_steps", "noise", "cool_down", "seed")


@pytest.mark.parametrize("module", ["biovw.brian", "biovw.spec", "biovw.backends"])
def test_importing_the_description_side_leaves_torch_out(module):
    code = f"import sys, {module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", list(BACKENDS))
def test_every_backend_takes_the_common_signature_and_its_options(name):
    backend = BACKENDS[name]
    assert backend.name == name and backend.available()
    params = inspect.signature(backend.load()).parameters
    assert set(COMMON + backend.options) <= set(params)


@pytest.fixture(scope="module")
def tiny_spec():
    """A description with non-trivial weights (see tests/test_spec.py), in float64."""
    from test_spec import _model

    return _model({"density": 0.5}).double().spec()


def test_both_backends_follow_the_same_mean_path(tiny_spec):
    """Without noise the kernel's mean path is deterministic, so the two backends must agree to
    float precision from the same prior draws."""
    initial = np.random.default_rng(0).normal(size=(3, tiny_spec.circuit.n_visible))
    paths = [BACKENDS[name].load()(tiny_spec, initial, 4, noise=False, cool_down=True, seed=0)
             for name in BACKENDS]
    assert paths[0].shape == (3, 5, tiny_spec.circuit.n_visible)
    np.testing.assert_allclose(paths[0], paths[1], atol=1e-9)
