"""What a finished training run writes: evaluation, samples, figures and the summary."""

from __future__ import annotations

import json
import sys

import torch
from tqdm.auto import tqdm

from biovw import plots
from biovw.analysis.connectivity import connectivity_report
from biovw.config import Config
from biovw.data import DataSplits
from biovw.evaluate import draw_samples, evaluate_likelihood, held_out, snapshot_quality
from biovw.rundir import RunDir
from biovw.walkback import WalkbackModel


def evaluate_run(cfg: Config, run: RunDir, model: WalkbackModel, data: DataSplits, seed: int,
                 progress: bool | None = None, n_examples: int | None = None,
                 n_trajectories: int | None = None, n_samples: int | None = None) -> dict:
    """Evaluate a trained model, save samples and figures, and write eval.json.

    Returns
    -------
    dict
        The contents of eval.json: ``loglik`` (bound and IS estimates on the held-out split
        and on training examples) and ``sample_quality`` per snapshot.
    """
    show = sys.stderr.isatty() if progress is None else progress
    model.eval()
    loglik, per_example = evaluate_likelihood(cfg, model, data, seed, n_examples, n_trajectories)
    n = n_samples or cfg.eval.n_samples
    with tqdm(total=n, desc="sample", disable=not show, dynamic_ncols=True) as bar:
        snaps = draw_samples(cfg, model, n, cfg.eval.snapshots, seed, bar.update)
    return write_evaluation(cfg, run, data, loglik, snaps, seed, main_snapshot=min(snaps),
                            per_example=per_example)


def write_evaluation(cfg: Config, run: RunDir, data: DataSplits, loglik: dict,
                     snaps: dict[int, torch.Tensor], seed: int, main_snapshot: int,
                     per_example: dict | None = None) -> dict:
    """Save the samples, write eval.json (``loglik`` plus the sample quality of every
    snapshot), the per-example log-likelihoods (``loglik_examples.npz``) and draw the sample
    figures: ``samples_vs_data.png`` from ``main_snapshot``, one more from the last snapshot if
    it differs, and the chain over time."""
    arrays = {k: v.numpy() for k, v in snaps.items()}
    run.write_samples(arrays)
    if per_example:
        run.write_arrays(run.loglik_examples, per_example)
    quality = snapshot_quality(cfg, data, snaps, seed)
    result = {"seed": seed, "loglik": loglik, "sample_quality": quality}
    run.write_json(run.eval, result)
    reference = held_out(cfg, data).numpy()
    last = max(arrays)
    plots.samples_vs_data(arrays[main_snapshot], reference, data.image_shape,
                          run.figures / "samples_vs_data.png")
    plots.chain_over_time(arrays, data.image_shape, run.figures / "chain_over_time.png")
    if last != main_snapshot:
        plots.samples_vs_data(arrays[last], reference, data.image_shape,
                              run.figures / f"samples_vs_data_step{last}.png")
    return result


def write_summary(cfg: Config, run: RunDir, evaluation: dict, elapsed: float,
                  n_parameters: int, model=None) -> dict:
    """Write summary.json and the training figures; return the summary.

    For a rate circuit the summary also holds the learned recurrent weights' asymmetry index,
    E/I balance and Dale violations (:func:`biovw.analysis.connectivity_report`)."""
    metrics = run.read_metrics()
    if metrics and cfg.model == "walkback":
        plots.loss_curve(metrics, run.figures / "loss_curve.png")
        if "alignment_angle" in metrics[-1]:
            plots.alignment_curves(metrics, run.figures / "alignment.png")
    elif metrics:
        key = "pseudo_loglik" if cfg.rbm.visible == "bernoulli" else "recon_error"
        plots.loss_curve(metrics, run.figures / "loss_curve.png", key=key,
                         ylabel=key.replace("_", " "), xlabel="epoch")
    summary = {
        "name": cfg.name,
        "model": cfg.model,
        "iterations": cfg.train.steps if cfg.model == "walkback" else cfg.rbm.epochs,
        "train_seconds": round(elapsed, 2),
        "n_parameters": n_parameters,
    }
    if cfg.model == "walkback":
        summary["final_loss"] = metrics[-1]["loss"] if metrics else None
    if metrics and "alignment_angle" in metrics[-1]:
        summary["alignment"] = {k: v for k, v in metrics[-1].items() if k.startswith("alignment")}
    weight = getattr(getattr(model, "circuit", None), "weight", None)
    if callable(weight):
        summary["connectivity"] = _connectivity_summary(model.circuit)
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
            "loglik_method": f"importance sampling, {held['n_trajectories']} trajectories",
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
    unit = "extra steps" if summary.get("model", "walkback") == "walkback" else "Gibbs steps"
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


def _connectivity_summary(circuit) -> dict:
    signs = None if circuit.signs is None else circuit.signs.cpu().numpy()
    report = connectivity_report(circuit.weight().detach().cpu().numpy(), signs=signs).to_dict()
    keep = {k: report[k] for k in ("asymmetry_index", "symmetric_fraction", "reciprocity",
                                   "density", "spectral_radius")}
    if report.get("ei"):
        keep["ei_balance_ratio"] = report["ei"]["balance_ratio"]
        keep["dale_violations"] = report["ei"]["dale_violations"]
    return keep
