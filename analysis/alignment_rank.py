"""Why does only the readout block of W align with its feedback under fa? A test of the
low-rank-error hypothesis on trained runs.

Usage::

    python analysis/alignment_rank.py RUN_DIR [RUN_DIR ...] [--out alignment_rank.json]

Under feedback alignment the error that reaches a hidden unit started as the D-dimensional
output error ``e`` and travelled back through at most ``S`` micro-steps of the fixed feedback
matrix ``B``. Whatever ``e`` is, it lies in the Krylov space
``K = span{B_vh^T e, B_hh^T B_vh^T e, ..., (B_hh^T)^(S-1) B_vh^T e}`` of dimension at most
``D * S`` (``B_vh``: visible rows, hidden columns of ``B``). Every gradient of the hidden block
``W_hh`` is an outer product whose postsynaptic factor lies in ``K``, so the learned change
``dW_hh = W_hh(end) - W_hh(start)`` can only correlate with the part of ``B_hh`` whose rows lie in
``K``. If the hypothesis holds, the gradient's change lies in ``K`` and
``cos(dW_hh, B_hh) <= ||P_K B_hh|| / ||B_hh||``, about ``sqrt(D S / H)``, which keeps the angle
of the whole block near 90 degrees. Adam's elementwise step normalisation and Dale's sign
constraint break the exact outer-product structure, so the script measures rather than
assumes: the fraction of ``dW_hh``'s energy whose postsynaptic side lies in ``K``, the same
fraction for a random subspace of that dimension, the angle between ``dW_hh`` and ``B_hh``, and
the bound.
"""

from __future__ import annotations

import argparse
import json
import math

import torch

from biovw.rules import alignment_angle
from biovw.runs import build_model, open_run
from biovw.walkback import heat, walkback_log_prob


def krylov_basis(b: torch.Tensor, dim: int, settle_steps: int) -> torch.Tensor:
    """Orthonormal basis (columns, [H, r]) of the space the hidden units' error can reach."""
    b_vh, b_hh = b[:dim, dim:], b[dim:, dim:]
    block = b_vh.T  # [H, D]: errors sent by the visible units to the hidden ones
    columns = [block]
    for _ in range(settle_steps - 1):
        block = b_hh.T @ block
        columns.append(block)
    q, r = torch.linalg.qr(torch.cat(columns, 1))
    keep = r.diagonal().abs() > 1e-8 * r.diagonal().abs().max()
    return q[:, keep]


def energy_in(rows_basis: torch.Tensor, matrix: torch.Tensor) -> float:
    """Fraction of ``||matrix||^2`` whose columns (postsynaptic side) lie in the basis."""
    projected = rows_basis @ (rows_basis.T @ matrix)
    return float(projected.norm() ** 2 / matrix.norm() ** 2)


def hidden_block_gradient(model, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The walk-back loss's gradient (under the run's rule) with respect to the effective
    ``W``'s hidden block, on one batch of heating trajectories from ``x``."""
    c = model.circuit
    leaf = c.weight().detach().clone().requires_grad_(True)
    c.weight = lambda: leaf  # the forward pass reads this leaf instead of recomputing W
    try:
        traj = heat(model, x, model.num_steps, generator)
        (-walkback_log_prob(model, traj.states).mean()).backward()
    finally:
        del c.weight
    return leaf.grad[c.dim:, c.dim:].double()


def measure(run_dir: str) -> dict:
    """The hypothesis's measurements for one trained rate-circuit run."""
    opened = open_run(run_dir)
    cfg, data, model = opened.cfg, opened.data, opened.model
    start = build_model(cfg, data.dim)  # same seed: the initial weights
    c, c0 = model.circuit, start.circuit
    dim, s = c.dim, c.settle_steps
    w, w0 = c.weight().detach().double(), c0.weight().detach().double()
    b = c.feedback_matrix().detach().double()
    d_hh, b_hh = (w - w0)[dim:, dim:], b[dim:, dim:]
    basis = krylov_basis(b, dim, s)
    gen = torch.Generator().manual_seed(0)
    random_basis, _ = torch.linalg.qr(torch.randn(c.hidden, basis.shape[1], generator=gen,
                                                  dtype=torch.float64))
    cos_bound = math.sqrt(energy_in(basis, b_hh))
    grad_hh = hidden_block_gradient(model, data.train[:512], gen)
    return {
        "run": str(run_dir),
        "rule": cfg.rule.name,
        "hidden": c.hidden,
        "krylov_dim": int(basis.shape[1]),
        "gradient_energy_in_krylov": energy_in(basis, grad_hh),
        "gradient_angle_to_B_hh": alignment_angle(-grad_hh, b_hh),
        "dW_energy_in_krylov": energy_in(basis, d_hh),
        "dW_energy_in_random_subspace": energy_in(random_basis, d_hh),
        "B_energy_in_krylov": energy_in(basis, b_hh),
        "angle_dW_hh_B_hh": alignment_angle(d_hh, b_hh),
        "angle_bound_from_krylov": math.degrees(math.acos(min(1.0, cos_bound))),
        "angle_W_hh_B_hh": alignment_angle(w[dim:, dim:], b_hh),
        "angle_W0_hh_B_hh": alignment_angle(w0[dim:, dim:], b_hh),
        "relative_change_hh": float(d_hh.norm() / w0[dim:, dim:].norm()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+")
    parser.add_argument("--out", default="alignment_rank.json")
    args = parser.parse_args()
    rows = [measure(r) for r in args.run_dirs]
    with open(args.out, "w") as fh:
        json.dump(rows, fh, indent=2)
    for r in rows:
        print(f"{r['run']}: Krylov dim {r['krylov_dim']} of {r['hidden']}; gradient energy in K "
              f"{r['gradient_energy_in_krylov']:.3f} (angle to B_hh "
              f"{r['gradient_angle_to_B_hh']:.1f} deg); "
              f"dW_hh energy in K "
              f"{r['dW_energy_in_krylov']:.3f} (random subspace "
              f"{r['dW_energy_in_random_subspace']:.3f}); angle(dW_hh, B_hh) "
              f"{r['angle_dW_hh_B_hh']:.1f} deg, bound from K {r['angle_bound_from_krylov']:.1f}; "
              f"angle(W_hh, B_hh) {r['angle_W0_hh_B_hh']:.1f} -> {r['angle_W_hh_B_hh']:.1f}; "
              f"|dW_hh|/|W0_hh| {r['relative_change_hh']:.3f}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
