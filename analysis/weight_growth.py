"""How large did a rate circuit's recurrent weight grow? Spectral radius of ``W`` and spectral
norm of its readout block (synapses from hidden onto visible units), read from checkpoints.

Usage::

    python analysis/weight_growth.py CHECKPOINT [CHECKPOINT ...] [--out weight_growth.json]

A checkpoint may be any of a run's ``checkpoints/*.pt`` files, including the ``last_good.pt``
that a diverged run keeps, so the weight a run reached just before it diverged can be set
beside the weights of runs that trained to the end. The visible units are linear, so the
settle steps amplify a readout with a large norm; the script measures how large it is.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from biovw.config import config_from_dict
from biovw.runs import build_model
from biovw.runs.checkpoint import load_checkpoint


def weight_growth(path: str | Path) -> dict[str, float | int | str]:
    """Spectral radius of the effective ``W`` and spectral norm of ``W[visible, hidden]``.

    Parameters
    ----------
    path : str or Path
        A rate circuit's checkpoint (loaded with ``weights_only=True``).

    Returns
    -------
    dict
        ``checkpoint``, ``step`` (training iterations it holds), ``spectral_radius`` and
        ``readout_norm``.
    """
    payload = load_checkpoint(path)
    cfg = config_from_dict(payload["config"])
    if cfg.circuit.kind != "rate":
        raise SystemExit(f"error: {path}: circuit.kind is {cfg.circuit.kind!r}, not 'rate'")
    dim = int(payload["model"]["circuit.w_in"].shape[1])
    model = build_model(cfg, dim)
    model.load_state_dict(payload["model"])
    with torch.no_grad():
        w = model.circuit.weight()
        radius = torch.linalg.eigvals(w).abs().max().item()
        readout = torch.linalg.matrix_norm(w[:dim, dim:], ord=2).item()
    return {"checkpoint": str(path), "step": int(payload["step"]),
            "spectral_radius": radius, "readout_norm": readout}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rows = [weight_growth(p) for p in args.checkpoints]
    for r in rows:
        print(f"{r['checkpoint']}: step {r['step']}, spectral radius "
              f"{r['spectral_radius']:.1f}, readout norm {r['readout_norm']:.1f}")
    if args.out is not None:
        args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
