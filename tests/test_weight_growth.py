"""analysis/weight_growth.py against numpy's eigenvalues and singular values of the weight."""

from pathlib import Path

import numpy as np
import pytest
import torch
from cli_support import load_script

from biovw.config import load_config
from biovw.runs import build_model
from biovw.runs.checkpoint import save_checkpoint

REPO = Path(__file__).resolve().parents[1]


def _module():
    return load_script("weight_growth")


def test_radius_and_readout_norm_of_a_checkpoint(tmp_path):
    cfg = load_config(REPO / "circuits" / "rate_net.yaml", ["circuit.hidden=12", "seed=3"])
    model = build_model(cfg, 2)
    with torch.no_grad():  # a grown readout, as a diverging run leaves it
        model.circuit.w_raw[:2, 2:] *= 7.0
    path = tmp_path / "last_good.pt"
    save_checkpoint(path, {"config": cfg.to_dict(), "step": 42, "model": model.state_dict()})
    w = model.circuit.weight().detach().double().numpy()
    got = _module().weight_growth(path)
    assert got["step"] == 42
    assert got["spectral_radius"] == pytest.approx(np.abs(np.linalg.eigvals(w)).max(), rel=1e-5)
    assert got["readout_norm"] == pytest.approx(np.linalg.svd(w[:2, 2:])[1][0], rel=1e-5)
    assert got["readout_norm"] > 1.0


def test_refuses_a_circuit_without_recurrent_weight(tmp_path):
    cfg = load_config(REPO / "circuits" / "mlp_paper_mog.yaml")
    model = build_model(cfg, 2)
    path = tmp_path / "mlp.pt"
    save_checkpoint(path, {"config": cfg.to_dict(), "step": 1, "model": model.state_dict()})
    with pytest.raises(SystemExit, match="not 'rate'"):
        _module().weight_growth(path)
