"""An RBM baseline as a run: train with CD/PCD, estimate log Z, sample by block Gibbs, and
write the same run directory as a walk-back circuit (config.yaml, metrics.jsonl, checkpoint,
samples, eval.json), so that ``biovw compare`` can put both side by side."""

from __future__ import annotations

import copy
import functools
import math
import time

import torch

from biovw.baselines.partition import (
    MAX_ENUMERATED_UNITS,
    ais_log_partition,
    exact_log_partition,
    log_likelihood,
    per_example_log_likelihood,
    raise_log_likelihood,
    reverse_ais_log_partition,
)
from biovw.baselines.rbm import AnyRBM, BernoulliRBM, GaussianBernoulliRBM
from biovw.baselines.training import RBMTraining, fit_rbm, pseudo_log_likelihood
from biovw.config import Config, ConfigError
from biovw.data import DataSplits
from biovw.runs.checkpoint import save_run_checkpoint
from biovw.runs.evaluation import (
    Evaluation,
    examples_fingerprint,
    held_out,
    independent_baseline,
    write_evaluation,
)
from biovw.runs.progress import Progress
from biovw.runs.rundir import RunDir
from biovw.runs.stop import TrainingInterrupted, stop_requests
from biovw.runs.train import TrainingDiverged, synced_time


def check_rbm_data(cfg: Config, data: DataSplits) -> None:
    """Binary visible units need binary data."""
    if cfg.rbm.visible == "bernoulli" and data.kind != "binary":
        raise ConfigError("rbm.visible is 'bernoulli' but the data are continuous; set "
                          "data.binarize: true or rbm.visible: gaussian")


def build_rbm(cfg: Config, data: DataSplits) -> AnyRBM:
    """The RBM described by ``cfg.rbm`` for ``data`` (visible bias from the training data;
    :func:`check_rbm_data` has checked the data)."""
    r = cfg.rbm
    if r.visible == "bernoulli":
        rbm: AnyRBM = BernoulliRBM(data.dim, r.hidden, seed=cfg.seed)
    else:
        rbm = GaussianBernoulliRBM(data.dim, r.hidden, sigma=r.sigma, seed=cfg.seed,
                                   learn_sigma=r.learn_sigma)
    rbm.init_visible_bias(data.train)
    return rbm


@torch.no_grad()
def heldout_monitor(rbm: AnyRBM, x: torch.Tensor) -> dict[str, float]:
    """The logged training quantities on held-out examples ``x``: reconstruction error and,
    for binary visible units, the pseudo-log-likelihood (nats/example)."""
    if not len(x):
        return {}
    recon = rbm.visible_probs(rbm.hidden_probs(x))
    out = {"heldout_recon_error": ((recon - x) ** 2).mean().item()}
    if isinstance(rbm, BernoulliRBM):
        out["heldout_pseudo_loglik"] = pseudo_log_likelihood(rbm, x).mean().item()
    return out


def seconds_per_epoch(cfg: Config, rbm: AnyRBM, data: DataSplits, batches: int = 5) -> float:
    """About the wall seconds of one training epoch, timed on a copy of ``rbm`` with a
    generator of its own: up to ``batches`` minibatches of updates (after one warm-up
    minibatch), scaled to the training split's number of minibatches, plus the epoch's
    monitor (the held-out monitor, counted twice: :func:`fit_rbm`'s own monitor of the
    training examples does about as much work)."""
    size, device = cfg.rbm.batch_size, rbm.weight.device
    x = data.train[: min(len(data.train), (batches + 1) * size)].to(device)
    copied = copy.deepcopy(rbm)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        gen = torch.Generator(device=device).manual_seed(cfg.seed)
        fit = functools.partial(fit_rbm, copied, training=RBMTraining.of(cfg.rbm),
                                generator=gen, epochs=1, monitor=False)
        fit(x[:size])  # warm-up
        started = synced_time(device)
        timed = x[size:] if len(x) > size else x
        fit(timed)
        updates = synced_time(device) - started
        heldout_monitor(copied, data.valid[:1000].to(device))
        monitor = synced_time(device) - started - updates
    return updates * math.ceil(len(data.train) / size) / math.ceil(len(timed) / size) \
        + 2 * monitor


def train_rbm(cfg: Config, run: RunDir, rbm: AnyRBM, data: DataSplits,
              progress: bool | None = None) -> float:
    """Train with the configured CD/PCD settings; log one metrics record per epoch (with the
    held-out monitor of :func:`heldout_monitor` on up to 1,000 validation examples) and write a
    checkpoint after each. Returns the training seconds.

    Training is deterministic given the seed; an interrupted RBM run is resumed by training
    again from the start (epochs take seconds). On SIGINT or SIGTERM training stops after the
    current epoch's checkpoint (:class:`biovw.runs.stop.TrainingInterrupted`).
    """
    device = rbm.weight.device
    gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    r = cfg.rbm
    valid = data.valid if len(data.valid) else None
    heldout = data.valid[:1000].to(device)

    def log_epoch(epoch: int, model: AnyRBM, record: dict) -> None:
        if not all(torch.isfinite(p).all() for p in model.parameters()):
            where = run.checkpoint if epoch > 0 else "none saved"
            raise TrainingDiverged(f"RBM training diverged in epoch {epoch + 1} (non-finite "
                                   f"parameters; lower rbm.lr); last good checkpoint: {where}")
        record = {**record, **heldout_monitor(model, heldout)}
        run.append_metrics({"step": epoch + 1, **record})
        save_run_checkpoint(run, rbm_payload(cfg, model, epoch + 1))
        info = {k: f"{v:.4g}" for k, v in record.items()
                if k in ("pseudo_loglik", "recon_error", "heldout_pseudo_loglik")}
        bar.update(1, **info)
        if stop and epoch + 1 < r.epochs:
            raise TrainingInterrupted(stop.signum, epoch + 1, run.checkpoint)

    started = time.perf_counter()
    with run.fresh_start(), stop_requests() as stop, \
            Progress("train", r.epochs, progress, unit="epoch") as bar:
        run.write_config(cfg)
        run.metrics.unlink(missing_ok=True)
        try:
            fit_rbm(rbm, data.train.to(device), RBMTraining.of(r), generator=gen,
                    callback=log_epoch, valid_data=valid)
        except RuntimeError as exc:  # sampling from non-finite probabilities mid-epoch
            if all(torch.isfinite(p).all() for p in rbm.parameters()):
                raise
            raise TrainingDiverged(f"RBM training diverged (non-finite parameters; lower "
                                   f"rbm.lr); last good checkpoint: {run.checkpoint}") from exc
        if stop:
            raise TrainingInterrupted(stop.signum, r.epochs, run.checkpoint)
    return time.perf_counter() - started


def rbm_payload(cfg: Config, rbm: AnyRBM, step: int) -> dict:
    """Checkpoint contents of an RBM run (``finished`` after the last epoch)."""
    return {"config": cfg.to_dict(), "step": step, "finished": step >= cfg.rbm.epochs,
            "elapsed": 0.0, "model": rbm.state_dict()}


@torch.no_grad()
def gibbs_samples(rbm: AnyRBM, data: DataSplits, n: int, steps: list[int],
                  generator: torch.Generator,
                  initial: torch.Tensor | None = None) -> dict[int, torch.Tensor]:
    """Block-Gibbs chains started from the independent-unit fit of the training data (or from
    the visible states ``initial``); the visible states (means for Gaussian visibles' last
    half-step are not used) after each number of steps."""
    device = rbm.weight.device
    rates = data.train.mean(0).to(device)
    if initial is not None:
        v = initial.to(device)
    elif data.kind == "binary":
        v = (torch.rand(n, data.dim, generator=generator, device=device) < rates).float()
    else:
        std = data.train.std(0).to(device)
        v = rates + std * torch.randn(n, data.dim, generator=generator, device=device)
    out, done = {}, 0
    for target in sorted(set(steps)):
        for _ in range(target - done):
            v = rbm.gibbs_step(v, generator)
        done = target
        out[target] = v.cpu()
    return out


def evaluate_rbm(cfg: Config, run: RunDir, rbm: AnyRBM, data: DataSplits, seed: int,
                 n_examples: int | None = None, n_samples: int | None = None,
                 progress: bool | None = False) -> Evaluation:
    """Held-out log-likelihood (AIS, plus exact log Z and reverse AIS when a layer has at most
    20 units), Gibbs samples and their quality; writes eval.json and the samples. ``progress``
    as in :class:`biovw.runs.progress.Progress` (a line per phase in a log)."""
    device = rbm.weight.device
    gen = torch.Generator(device=device).manual_seed(seed)
    r = cfg.rbm
    rates = data.train.mean(0).to(device)
    started = time.perf_counter()
    log = Progress("evaluate", 1, progress)
    log.line(f"AIS log Z ({r.ais_betas} intermediate distributions x {r.ais_runs} runs)")
    ais = ais_log_partition(rbm, n_betas=r.ais_betas, n_runs=r.ais_runs, base_rates=rates,
                            generator=gen)
    partition = {"ais": ais.to_dict()}
    best = ais.log_z
    method = "AIS"
    if min(rbm.n_visible, rbm.n_hidden) <= MAX_ENUMERATED_UNITS:
        best = exact_log_partition(rbm)
        method = "exact log Z"
        partition["exact"] = best
        rev = reverse_ais_log_partition(rbm, n_betas=r.ais_betas, n_runs=r.ais_runs,
                                        base_rates=rates, generator=gen)
        partition["reverse_ais"] = rev.to_dict()
    n = n_examples or cfg.eval.n_examples
    x = held_out(cfg, data)[:n].to(device)
    x_train = data.train[:n]
    loglik = {
        "split": cfg.eval.split, "method": method, "log_partition": partition,
        cfg.eval.split: {**log_likelihood(rbm, x, best).to_dict(),
                         "examples_sha256": examples_fingerprint(x)},
        "train": {**log_likelihood(rbm, x_train.to(device), best).to_dict(),
                  "examples_sha256": examples_fingerprint(x_train)},
        "independent_baseline": independent_baseline(data, held_out(cfg, data)[:n]),
    }
    per_example = {
        f"{cfg.eval.split}_loglik": per_example_log_likelihood(rbm, x, best).cpu().numpy(),
        "train_loglik": per_example_log_likelihood(rbm, x_train.to(device), best).cpu().numpy(),
    }
    if method != "AIS":
        loglik[f"{cfg.eval.split}_ais"] = log_likelihood(rbm, x, ais).to_dict()
    log.line(f"RAISE from the held-out examples ({r.raise_betas} intermediate distributions x "
             f"{r.raise_runs} runs each)")
    conservative = raise_log_likelihood(  # its own stream: the Gibbs samples stay as they were
        rbm, x, n_betas=r.raise_betas, n_runs=r.raise_runs, base_rates=rates,
        generator=torch.Generator(device=device).manual_seed(seed))
    loglik[f"{cfg.eval.split}_raise"] = {
        "mean": conservative.mean().item(),
        "se": conservative.std().item() / max(len(conservative), 2) ** 0.5,
        "n": len(conservative), "n_betas": r.raise_betas, "n_runs": r.raise_runs,
        "unit": "nats/example",
        "bracket": [conservative.mean().item(), log_likelihood(rbm, x, ais).mean]}
    loglik["seconds"] = round(time.perf_counter() - started, 3)
    log.line(f"{method}: held-out log-likelihood {loglik[cfg.eval.split]['mean']:.3f} "
             f"nats/example (RAISE, conservative: {conservative.mean().item():.3f}); "
             f"Gibbs samples after {', '.join(map(str, r.gibbs_steps))} steps")
    snaps = gibbs_samples(rbm, data, n_samples or cfg.eval.n_samples, r.gibbs_steps, gen)
    log.close()
    return write_evaluation(cfg, run, data, loglik, snaps, seed, main_snapshot=max(snaps),
                            per_example=per_example)
