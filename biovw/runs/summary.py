"""A run's summary.json: training facts, connectivity and the headline numbers of its
evaluation, and the one line a user reads at the end of a run; :func:`finish_run`, the end of
a run after training, the same for ``biovw train``, ``biovw resume`` and every trial of a sweep:
evaluate, draw the figures, write summary.json (and, with ``train.tensorboard``, the figures as
TensorBoard images)."""

from __future__ import annotations

import json
from collections.abc import Callable

from torch import nn

from biovw.analysis.connectivity import connectivity_report
from biovw.circuits import RateCircuitSpec
from biovw.config import Config
from biovw.data import DataSplits
from biovw.runs.evaluation import Evaluation, proposal_words
from biovw.runs.kinds import MODEL_KINDS
from biovw.runs.rundir import RunDir
from biovw.runs.tensorboard import log_figures


def write_summary(cfg: Config, run: RunDir, evaluation: dict, elapsed: float,
                  n_parameters: int, model: nn.Module) -> dict:
    """Write summary.json and return the summary.

    For a rate circuit the summary also holds the learned recurrent weights' asymmetry index,
    E/I balance and Dale violations (:func:`biovw.analysis.connectivity_report`)."""
    kind = MODEL_KINDS[cfg.model]
    metrics = run.read_metrics()
    summary = {
        "name": cfg.name,
        "model": cfg.model,
        "iterations": kind.iterations(cfg),
        "train_seconds": round(elapsed, 2),
        "n_parameters": n_parameters,
        **kind.training_summary(metrics),
    }
    if metrics and "alignment_angle" in metrics[-1]:
        summary["alignment"] = {k: v for k, v in metrics[-1].items() if k.startswith("alignment")}
    spec = kind.circuit_spec(model)
    if spec is not None:
        summary["connectivity"] = _connectivity_summary(spec)
    summary.update(evaluation_summary(evaluation))
    run.write_json(run.summary, summary)
    return summary


def evaluation_summary(evaluation: dict) -> dict:
    """The summary.json fields that come from an evaluation (eval.json's contents): held-out
    split, bound and log-likelihood with their standard errors, the IS verdict, the
    independent baseline and the sample quality."""
    loglik = evaluation["loglik"]
    held = loglik[loglik["split"]]
    out: dict = {"heldout_split": loglik["split"]}
    if "is_loglik" in held:
        out.update({
            "heldout_bound": held["bound"],
            "heldout_bound_se": held["bound_se"],
            "heldout_loglik": held["is_loglik"],
            "heldout_loglik_se": held["is_se"],
            "loglik_method": f"importance sampling, {held['n_trajectories']} trajectories"
                             + proposal_words(held),
            "loglik_converged": held.get("converged"),
            "loglik_ess_median": held.get("ess_median"),
        })
    else:
        out.update({
            "heldout_loglik": held["mean"],
            "heldout_loglik_se": held["se"],
            "loglik_method": loglik["method"],
        })
    out.update({
        "independent_baseline": loglik["independent_baseline"],
        "unit": "nats/example",
        "sample_quality": evaluation["sample_quality"],
    })
    return out


def refresh_summary(run: RunDir, evaluation: dict) -> dict:
    """Replace the evaluation fields of an existing summary.json by those of ``evaluation``
    (after ``biovw evaluate``), keeping the training fields."""
    summary = json.loads(run.summary.read_text()) if run.summary.is_file() else {}
    summary.update(evaluation_summary(evaluation))
    run.write_json(run.summary, summary)
    return summary


def headline(summary: dict) -> str:
    """One line a user reads at the end of a run."""
    q = summary["sample_quality"]
    last = max((k for k in q if k != "data_floor"), key=int)
    parts = []
    if "heldout_bound" in summary:
        parts.append(f"held-out bound {summary['heldout_bound']:.3f} ± "
                     f"{summary['heldout_bound_se']:.3f}")
    unit = MODEL_KINDS[summary.get("model", "walkback")].chain_steps
    parts += [
        f"log-likelihood ({summary['loglik_method']}) {summary['heldout_loglik']:.3f} ± "
        f"{summary['heldout_loglik_se']:.3f} nats/example"
        + {True: "", False: " (not converged)", None: ""}[summary.get("loglik_converged")],
        f"independent baseline {summary['independent_baseline']['loglik']:.3f}",
        f"sliced W2 {q[last]['sliced_wasserstein']:.3f} after {last} {unit}"
        f" (data floor {q['data_floor']['sliced_wasserstein']:.3f})",
    ]
    if q[last].get("near_mode_fraction") is not None:
        parts.append(f"{100 * q[last]['near_mode_fraction']:.1f}% near a mode")
    return "; ".join(parts)


def _connectivity_summary(spec: RateCircuitSpec) -> dict:
    report = connectivity_report(spec.weight, signs=spec.signs, motifs=False).to_dict()
    keep = {k: report[k] for k in ("asymmetry_index", "symmetric_fraction", "reciprocity",
                                   "density", "spectral_radius")}
    if report.get("ei"):
        keep["ei_balance_ratio"] = report["ei"]["balance_ratio"]
        keep["dale_violations"] = report["ei"]["dale_violations"]
    return keep


DrawFigures = Callable[[RunDir, Evaluation, str, dict, dict], None]
"""``draw(run, evaluation, chain_steps, loss_curve, fields)``: writes a run's figures into
``run.figures`` (the command line passes one built from :mod:`biovw.plots`; ``chain_steps``
is what the sampler's steps are called, ``loss_curve`` the keyword arguments of the training
figure, :meth:`biovw.runs.kinds.ModelKind.loss_curve`, and ``fields`` the blocks of weights to
show as images when the data are images, :meth:`biovw.runs.kinds.ModelKind.weight_fields`)."""


def finish_run(cfg: Config, run: RunDir, model: nn.Module, data: DataSplits, elapsed: float,
               seed: int, *, progress: bool | None = None,
               draw: DrawFigures | None = None) -> dict:
    """Evaluate a trained run, draw its figures and write its summary.json.

    Parameters
    ----------
    cfg, run, model, data
        The run as trained.
    elapsed : float
        Training seconds.
    seed : int
        Evaluation seed.
    progress : bool or None
        See :class:`biovw.runs.progress.Progress`.
    draw : callable or None
        Draws the figures (see :data:`DrawFigures`); None draws none.

    Returns
    -------
    dict
        The summary (summary.json's contents).
    """
    kind = MODEL_KINDS[cfg.model]
    evaluation = kind.evaluate(cfg, run, model, data, seed, progress=progress)
    if draw is not None:
        draw(run, evaluation, kind.chain_steps, kind.loss_curve(cfg), kind.weight_fields(model))
    n_params = sum(p.numel() for p in model.parameters())
    summary = write_summary(cfg, run, evaluation.result, elapsed, n_params, model)
    log_figures(cfg, run, kind.iterations(cfg))
    return summary
