"""``biovw analyze RUN_DIR``: entropy production, currents and connectivity of a trained run,
written as analysis.json plus figures (recordings: :mod:`biovw.analysis.report`)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from biovw import plots
from biovw.analysis import entropy_production_exact
from biovw.analysis.connectivity import connectivity_report
from biovw.analysis.currents import pca_project, probability_current_grid
from biovw.analysis.discrete import entropy_production_coarse, entropy_production_discrete
from biovw.analysis.enumerate import transition_matrix_binary
from biovw.analysis.kernel import entropy_production_kernel, simulate
from biovw.rundir import RunDir
from biovw.walkback import StationaryKernel, WalkbackModel, sample_chain

EXACT_MAX_UNITS = 12
FULL_STATE_MAX_UNITS = 20


def _plane(x: np.ndarray) -> tuple[np.ndarray, str]:
    """The 2-D plane currents are drawn in: the data plane, or the top-2 PCA plane."""
    if x.shape[-1] == 2:
        return x, "data plane"
    flat = x.reshape(-1, x.shape[-1])
    projected, _, _ = pca_project(flat, n_components=2)
    return np.asarray(projected).reshape(*x.shape[:-1], 2), "top-2 PCA plane"


def _currents(x: np.ndarray, bins: int, figures: Path, title: str) -> dict:
    plane, label = _plane(x)
    field = probability_current_grid(plane, bins=bins)
    plots.current_field(field, figures / "currents.png", f"{title} ({label})")
    return {**field.to_dict(), "plane": label, "bins": bins}


def analyze_model(model: WalkbackModel, figures: Path, *, n_chains: int = 1000,
                  n_steps: int = 500, burn_in: int = 200, record_chains: int = 200,
                  bins: int = 20, n_clusters: int = 50, seed: int = 0) -> dict:
    """Analyse the stationary chain of a trained model (T = 1, after the cool-down).

    Returns
    -------
    dict
        ``entropy_production.{kernel,exact,coarse_grained}`` each with value, CI and unit;
        ``currents`` (coarse-grained flux field summary); ``connectivity`` for rate circuits.
    """
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    kernel = StationaryKernel(model)
    result: dict = {"entropy_production": {}}
    started = time.perf_counter()
    with torch.no_grad():
        start = sample_chain(model, n_chains, [0], gen)[0].to(device)
        ep = entropy_production_kernel(kernel, start, n_steps, burn_in=burn_in, generator=gen)
        result["entropy_production"]["kernel"] = ep.to_dict()
        dim = start.shape[1]
        if model.binary and dim <= EXACT_MAX_UNITS:
            P = transition_matrix_binary(kernel.unit_log_probs, dim, device)
            exact = entropy_production_exact(P.numpy())
            result["entropy_production"]["exact"] = exact.to_dict()
        traj = simulate(kernel, start[:record_chains], n_steps, gen).numpy()
    result["entropy_production"]["coarse_grained"] = _coarse_grained(
        traj, model.binary, bins, n_clusters, seed)
    if dim >= 2:
        result["currents"] = _currents(traj, bins, figures, "stationary probability current")
    weight = getattr(model.circuit, "weight", None)
    if callable(weight):
        signs = getattr(model.circuit, "signs", None)
        signs = None if signs is None else signs.cpu().numpy()
        dim = model.circuit.dim
        groups = None if signs is None else (
            ["V"] * dim + ["E" if x > 0 else "I" for x in signs[dim:]])
        report = connectivity_report(weight().detach().cpu().numpy(), signs=signs,
                                     groups=groups)
        result["connectivity"] = report.to_dict()
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def analyze_rbm(rbm, data, figures: Path, *, n_chains: int = 1000, n_steps: int = 500,
                burn_in: int = 1000, record_chains: int = 200, bins: int = 20,
                n_clusters: int = 50, seed: int = 0) -> dict:
    """Analyse a Bernoulli RBM's visible-marginal Gibbs chain, which obeys detailed balance:
    every estimate should be zero within its interval (a check of the estimators)."""
    from biovw.baselines.kernel import MAX_HIDDEN, GibbsKernel
    from biovw.baselines.run import gibbs_samples

    device = rbm.weight.device
    gen = torch.Generator(device=device).manual_seed(seed)
    kernel = GibbsKernel(rbm)
    result: dict = {"entropy_production": {}}
    started = time.perf_counter()
    with torch.no_grad():
        start = gibbs_samples(rbm, data, n_chains, [burn_in], gen)[burn_in].to(device)
        if rbm.n_hidden <= MAX_HIDDEN:
            ep = entropy_production_kernel(kernel, start, n_steps, generator=gen)
            result["entropy_production"]["kernel"] = ep.to_dict()
            if rbm.n_visible <= EXACT_MAX_UNITS:
                exact = entropy_production_exact(kernel.matrix().cpu().numpy())
                result["entropy_production"]["exact"] = exact.to_dict()
        traj = simulate(kernel, start[:record_chains], n_steps, gen).numpy()
    result["entropy_production"]["coarse_grained"] = _coarse_grained(
        traj, True, bins, n_clusters, seed)
    result["currents"] = _currents(traj, bins, figures, "Gibbs chain probability current")
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def _coarse_grained(traj: np.ndarray, binary: bool, bins: int, n_clusters: int,
                    seed: int) -> dict:
    """Model-free estimate from recorded states: the full binary states when there are at
    most ``FULL_STATE_MAX_UNITS`` binary units, otherwise a grid (<= 2 dimensions) or k-means
    coarse graining, whose estimate is a lower bound."""
    dim = traj.shape[-1]
    if binary and dim <= FULL_STATE_MAX_UNITS:
        result = entropy_production_discrete(_binary_codes(traj), seed=seed).to_dict()
        return {**result, "discretization": "full binary states"}
    method = "grid" if dim <= 2 else "kmeans"
    result = entropy_production_coarse(traj, method=method, bins=bins, n_clusters=n_clusters,
                                       seed=seed).to_dict()
    return {**result, "discretization": method}


def _binary_codes(traj: np.ndarray) -> np.ndarray:
    """Integer code of each binary state (chains keep their leading shape)."""
    if traj.shape[-1] > 62:
        raise ValueError("binary states with more than 62 units cannot be coded as integers")
    weights = 2 ** np.arange(traj.shape[-1] - 1, -1, -1, dtype=np.int64)
    return (traj > 0.5).astype(np.int64) @ weights


def write_analysis(run: RunDir, result: dict) -> Path:
    """Write analysis.json into the run directory."""
    path = run.root / "analysis.json"
    run.write_json(path, result)
    return path
