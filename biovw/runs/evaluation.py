"""Run-level evaluation: held-out likelihood estimates, samples and their quality, written as
eval.json."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from biovw.config import Config
from biovw.data import DataSplits
from biovw.quality import sample_quality
from biovw.runs.precision import matmul_precision
from biovw.runs.progress import Progress
from biovw.runs.rundir import RunDir
from biovw.walkback import (
    BernoulliPrior,
    GaussianPrior,
    Sampler,
    WalkbackModel,
    cooling_path,
    estimate_log_likelihood,
    heat,
    sample_chain,
    trajectory_ladder,
)


@dataclass(frozen=True)
class WalkPath:
    """The walk-back of a few examples: heated from the data, and a cool-down from p*.

    Attributes
    ----------
    heating : ndarray
        ``[K + 1, n, dim]``: the data ``s_0 = x``, then ``s_t`` at ``T_1, ..., T_K``.
    cooling : ndarray
        ``[K + 1, n, dim]``: draws from p*, then their states at ``T_K, ..., T_1``.
    temperatures : list of float
        ``T_1, ..., T_K``.
    """

    heating: np.ndarray
    cooling: np.ndarray
    temperatures: list[float]


def walk_path(model: WalkbackModel, x: torch.Tensor, seed: int) -> WalkPath:
    """Heat the examples ``x`` through the whole schedule and cool as many draws of p* down
    (the two halves of what training and sampling do), with a generator seeded ``seed``."""
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    heated = heat(model, x.to(device), model.num_steps, gen).states
    cooled = cooling_path(model, model.prior.sample(len(x), gen), gen)
    return WalkPath(torch.stack([s.cpu() for s in heated]).numpy(), cooled.numpy(),
                    list(model.temperatures))


@dataclass(frozen=True)
class Evaluation:
    """What an evaluation wrote and what its figures show.

    Attributes
    ----------
    result : dict
        The contents of eval.json.
    samples : dict of int to ndarray
        Samples after each number of extra steps (Gibbs steps for an RBM).
    main_snapshot : int
        The snapshot the headline figure shows.
    reference : ndarray
        The held-out examples the samples were scored against.
    image_shape : tuple of int or None
        Shape of one example as an image, when the data are images.
    walk : WalkPath or None
        Heating and cooling trajectories (walk-back models only).
    """

    result: dict
    samples: dict[int, np.ndarray]
    main_snapshot: int
    reference: np.ndarray
    image_shape: tuple[int, ...] | None
    walk: WalkPath | None = None


WALK_EXAMPLES = 5
"""Held-out points whose heating and cooling paths the evaluation draws for data in the plane
(one for images)."""


def held_out(cfg: Config, data: DataSplits) -> torch.Tensor:
    """The evaluation split named by ``cfg.eval.split``."""
    return data.test if cfg.eval.split == "test" else data.valid


def evaluate_likelihood(cfg: Config, model: WalkbackModel, data: DataSplits, seed: int,
                        n_examples: int | None = None, n_trajectories: int | None = None,
                        progress: bool | None = False) -> tuple[dict, dict[str, np.ndarray]]:
    """Bound and IS log-likelihood (nats/example, with standard errors) on held-out data.

    IS runs on the ladder ``k * m`` for ``m`` in ``cfg.eval.ladder`` (k is ``n_trajectories``
    or ``cfg.eval.n_trajectories``); each split's entry holds ``is_by_trajectories``,
    ``ess_median`` and the ``converged`` verdict (see
    :class:`biovw.walkback.estimates.LikelihoodEstimate`) and the fingerprint of the examples
    scored, so paired comparisons can check that two runs saw the same ones. Also reports the
    same estimates on as many training examples, so a gap between the two shows over-fitting.
    ``progress`` is that of :class:`biovw.runs.progress.Progress` (a bar per split on a
    terminal, a line per split in a log).

    Returns
    -------
    dict
        The ``loglik`` section of eval.json.
    dict of str to ndarray
        Per-example values: ``<split>_loglik`` (IS at the largest rung) and ``<split>_bound``.
    """
    device = next(model.parameters()).device
    n = n_examples or cfg.eval.n_examples
    rungs = trajectory_ladder(n_trajectories or cfg.eval.n_trajectories, cfg.eval.ladder)
    result: dict = {"split": cfg.eval.split}
    arrays: dict[str, np.ndarray] = {}
    started = time.perf_counter()
    result["proposal"] = choose_proposal(cfg, model, data.valid, rungs, seed)
    temperature = result["proposal"]["temperature"]
    for name, x in ((cfg.eval.split, held_out(cfg, data)), ("train", data.train)):
        gen = torch.Generator(device=device).manual_seed(seed)
        examples = x[:n]
        with Progress(f"IS log-likelihood ({name})", len(examples), progress,
                      unit="example") as bar:
            bar.line(f"{len(examples)} {name} examples x {rungs[-1]} trajectories")
            est = estimate_log_likelihood(model, examples.to(device), rungs, gen,
                                          cfg.eval.batch_size, cfg.eval.converged_tol,
                                          progress=bar.update,
                                          proposal_temperature=temperature)
            bar.line(f"bound {est.bound:.3f}, IS {est.is_loglik:.3f} nats/example")
        result[name] = {**est.to_dict(), "examples_sha256": examples_fingerprint(examples)}
        arrays[f"{name}_loglik"] = np.asarray(est.per_example_is)
        arrays[f"{name}_bound"] = np.asarray(est.per_example_bound)
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["independent_baseline"] = independent_baseline(data, held_out(cfg, data)[:n])
    return result, arrays


PILOT_EXAMPLES = 100
"""Validation examples on which the IS proposal is chosen."""


def choose_proposal(cfg: Config, model: WalkbackModel, valid: torch.Tensor, rungs: list[int],
                    seed: int) -> dict:
    """The IS proposal of ``cfg.eval.proposal_temperatures`` that scores the evaluation: the
    only one, or the one with the highest IS estimate at the ladder's largest rung on up to
    :data:`PILOT_EXAMPLES` validation examples, each candidate with trajectories of its own
    (the generator is seeded apart from the evaluation's). An IS estimate is a lower bound of
    ``log p(x)`` in expectation whatever the proposal, so the highest is the least biased.

    Returns
    -------
    dict
        ``temperature`` and, when chosen, ``pilot`` (``{temperature: IS}``) with the number of
        ``pilot_examples`` of the validation split.
    """
    candidates = [float(t) for t in cfg.eval.proposal_temperatures]
    if len(candidates) == 1:
        return {"temperature": candidates[0]}
    device = next(model.parameters()).device
    x = valid[:PILOT_EXAMPLES].to(device)
    pilot = {}
    for temperature in candidates:
        gen = torch.Generator(device=device).manual_seed(seed + 1_000_003)
        est = estimate_log_likelihood(model, x, rungs, gen, cfg.eval.batch_size,
                                      cfg.eval.converged_tol, proposal_temperature=temperature)
        pilot[str(temperature)] = est.is_loglik
    best = max(candidates, key=lambda t: pilot[str(t)])
    return {"temperature": best, "pilot": pilot, "pilot_examples": len(x)}


def proposal_words(estimate: dict) -> str:
    """How a split's IS estimate (eval.json) names a proposal other than the heating path:
    ``", proposal at 1.5 x each temperature"``, or nothing."""
    temperature = estimate.get("proposal_temperature", 1.0)
    return "" if temperature == 1.0 else f", proposal at {temperature:g} x each temperature"


def examples_fingerprint(x: torch.Tensor) -> str:
    """Short SHA-256 of the examples' float64 values: equal for the same examples in the
    same order."""
    values = np.ascontiguousarray(x.detach().cpu().double().numpy())
    return hashlib.sha256(values.tobytes()).hexdigest()[:16]


def independent_baseline(data: DataSplits, x: torch.Tensor) -> dict:
    """Held-out log-likelihood of the best factorised model fitted to the training split.

    Independent base rates for binary data, a diagonal Gaussian for continuous data: a model
    that learned anything about the dependencies between units must beat it.
    """
    model = BernoulliPrior(data.dim) if data.kind == "binary" else GaussianPrior(data.dim)
    model.update(data.train)
    values = model.log_prob(x).double()
    return {
        "model": "independent Bernoulli" if data.kind == "binary" else "diagonal Gaussian",
        "loglik": values.mean().item(),
        "se": values.std().item() / values.numel() ** 0.5,
        "unit": "nats/example",
    }


def run_sampler(cfg: Config) -> Sampler:
    """The chain a run samples with after the cool-down (``eval.sampler``)."""
    return Sampler(cfg.eval.sampler, cfg.eval.cycle_steps)


def draw_samples(cfg: Config, model: WalkbackModel, n: int, snapshots: list[int], seed: int,
                 progress: Callable[[int], None] | None = None,
                 initial: torch.Tensor | None = None,
                 sampler: Sampler | None = None) -> dict[int, torch.Tensor]:
    """Samples at the start (after the cool-down, or ``initial`` ``[n, dim]`` at T_1) and
    after the chosen numbers of sampler steps (``sampler``, default the run's own)."""
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    return sample_chain(model, n, snapshots, gen, cfg.eval.batch_size, progress,
                        sampler or run_sampler(cfg), initial)


def snapshot_quality(cfg: Config, data: DataSplits, snapshots: dict[int, torch.Tensor],
                     seed: int) -> dict:
    """Sample quality of each snapshot against the held-out split, plus the data floor.

    ``data_floor`` compares as many training examples as there are samples with the same
    held-out split: the distance an exact sampler would reach with this many samples.
    """
    reference = held_out(cfg, data)
    modes, radius = data.modes, cfg.eval.mode_radius
    out = {str(k): sample_quality(v, reference, modes=modes, mode_radius=radius, seed=seed)
           .to_dict() for k, v in snapshots.items()}
    n = min(len(next(iter(snapshots.values()))), data.train.shape[0])
    out["data_floor"] = sample_quality(data.train[:n], reference, modes=modes,
                                       mode_radius=radius, seed=seed).to_dict()
    return out


def evaluate_run(cfg: Config, run: RunDir, model: WalkbackModel, data: DataSplits, seed: int,
                 progress: bool | None = None, n_examples: int | None = None,
                 n_trajectories: int | None = None, n_samples: int | None = None) -> Evaluation:
    """Evaluate a trained walk-back model, save its samples and write eval.json.

    Returns
    -------
    Evaluation
        Its ``result`` is the contents of eval.json: ``loglik`` (bound and IS estimates on
        the held-out split and on training examples) and ``sample_quality`` per snapshot.
    The likelihood is computed at full float32 matrix-product precision, whatever
    ``train.matmul_precision`` is.
    """
    model.eval()
    with matmul_precision("highest"):
        loglik, per_example = evaluate_likelihood(cfg, model, data, seed, n_examples,
                                                  n_trajectories, progress)
    n = n_samples or cfg.eval.n_samples
    with Progress("sample", n, progress, unit="chain") as bar:
        bar.line(f"{n} chains, cool-down and up to {max(cfg.eval.snapshots)} extra steps")
        snaps = draw_samples(cfg, model, n, cfg.eval.snapshots, seed, bar.update)
    evaluation = write_evaluation(cfg, run, data, loglik, snaps, seed,
                                  main_snapshot=min(snaps), per_example=per_example)
    n_walks = WALK_EXAMPLES if data.image_shape is None else 1
    walk = walk_path(model, held_out(cfg, data)[:n_walks], seed)
    return dataclasses.replace(evaluation, walk=walk)


def write_evaluation(cfg: Config, run: RunDir, data: DataSplits, loglik: dict,
                     snaps: dict[int, torch.Tensor], seed: int, main_snapshot: int,
                     per_example: dict | None = None) -> Evaluation:
    """Save the samples, write eval.json (``loglik`` plus the sample quality of every
    snapshot) and the per-example log-likelihoods (``loglik_examples.npz``)."""
    arrays = {k: v.numpy() for k, v in snaps.items()}
    run.write_samples(arrays)
    if per_example:
        run.write_arrays(run.loglik_examples, per_example)
    quality = snapshot_quality(cfg, data, snaps, seed)
    result = {"seed": seed, "loglik": loglik, "sample_quality": quality}
    run.write_json(run.eval, result)
    return Evaluation(result, arrays, main_snapshot, held_out(cfg, data).numpy(),
                      data.image_shape)
