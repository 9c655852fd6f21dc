"""Walk-back training loop.

One iteration draws a batch, heats it through the temperature schedule and trains the operator
to walk each step back. With ``walkback.online_updates`` the optimiser steps after every
temperature step (the next heating step is drawn with the updated operator); otherwise once per
trajectory. p* follows the states reached at the last step. Every ``train.log_every``
iterations the loss is also measured on a fixed batch of the validation split
(``heldout_loss``), and every ``train.ep_every`` iterations the entropy production of the
T = 1 chain (``ep``, with its interval). SIGINT or SIGTERM stop the loop at the end of the
current iteration with a checkpoint (:class:`biovw.runs.stop.TrainingInterrupted`).

An iteration leaves its numbers on the model's device: they are read (one synchronisation of
host and device) only at logged iterations, before a checkpoint and at the end, where the
divergence check looks at every iteration since the last read. Under ``torchrun`` the
processes share the global batch (:mod:`biovw.runs.distributed`).
"""

from __future__ import annotations

import copy
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass

import torch

from biovw.config import Config, ConfigError
from biovw.data import DataSplits
from biovw.runs.checkpoint import load_run_checkpoint, save_checkpoint, save_run_checkpoint
from biovw.runs.distributed import SINGLE, DataParallel, PeerLost
from biovw.runs.precision import matmul_precision
from biovw.runs.progress import Progress
from biovw.runs.rundir import RunDir
from biovw.runs.stop import TrainingInterrupted, stop_requests
from biovw.runs.tensorboard import TensorBoardLog, check_tensorboard, tensorboard_log
from biovw.walkback import (
    WalkbackModel,
    chain_entropy_production,
    heat,
    log_weights,
    walkback_log_prob,
)

HELDOUT_BATCH = 256
"""Validation examples on which the loss is measured at every logged iteration."""


class TrainingDiverged(RuntimeError):
    """The loss became non-finite or exceeded ``train.divergence_threshold``."""


EXIT_DIVERGED = 3
"""The exit code of a command whose training diverged (the last good state is kept)."""


@dataclass
class TrainState:
    """Everything that changes during training, as saved in a checkpoint."""

    model: WalkbackModel
    optimizer: torch.optim.Optimizer
    batch_generator: torch.Generator
    noise_generator: torch.Generator
    step: int = 0
    elapsed: float = 0.0
    finished: bool = False

    def payload(self, cfg: Config) -> dict:
        """Checkpoint contents (plain containers and tensors only)."""
        return {
            "config": cfg.to_dict(),
            "step": self.step,
            "finished": self.finished,
            "elapsed": self.elapsed,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": {
                "batch": self.batch_generator.get_state(),
                "noise": self.noise_generator.get_state(),
            },
        }

    def restore(self, payload: dict) -> None:
        """Load a checkpoint payload into this state."""
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.batch_generator.set_state(payload["rng"]["batch"].cpu())
        self.noise_generator.set_state(payload["rng"]["noise"].cpu())
        self.step = int(payload["step"])
        self.elapsed = float(payload["elapsed"])
        self.finished = bool(payload.get("finished", False))


def new_state(cfg: Config, model: WalkbackModel, data: DataSplits) -> TrainState:
    """Fresh optimiser and seeded generators; p* starts from the data's moments."""
    device = next(model.parameters()).device
    optimizer = build_optimizer(cfg, model)
    batch_gen = torch.Generator().manual_seed(cfg.seed + 1)
    noise_gen = torch.Generator(device=device).manual_seed(cfg.seed + 2)
    model.prior.update(data.train.to(device))
    return TrainState(model, optimizer, batch_gen, noise_gen)


def build_optimizer(cfg: Config, model: WalkbackModel) -> torch.optim.Optimizer:
    """AdamW over the model's parameter groups (:meth:`WalkbackModel.param_groups`): no weight
    decay, except the decoupled decay ``rule.kp_decay`` of a recurrent weight whose feedback
    matrix learns with it (Kolen-Pollack), so that their difference decays. With zero decay
    AdamW's update is Adam's."""
    return torch.optim.AdamW(model.param_groups(cfg.rule.kp_decay), lr=cfg.train.lr)


def current_num_steps(cfg: Config, step: int) -> int:
    """Number of temperature steps used at iteration ``step`` (grows when annealed)."""
    wb = cfg.walkback
    if not wb.anneal_steps:
        return wb.num_steps
    ramp = max(1, int(wb.anneal_fraction * cfg.train.steps))
    frac = min(1.0, step / ramp)
    return min(wb.num_steps, wb.anneal_start + int(frac * (wb.num_steps - wb.anneal_start + 1)))


def learning_rate(cfg: Config, step: int) -> float:
    """Learning rate at iteration ``step``: constant, or cosine decay from ``train.lr`` to
    ``train.lr * train.lr_min_factor`` over the run."""
    lr = cfg.train.lr
    if cfg.train.lr_schedule == "constant":
        return lr
    floor = lr * cfg.train.lr_min_factor
    return floor + 0.5 * (lr - floor) * (1 + math.cos(math.pi * step / cfg.train.steps))


def _optimizer_step(cfg: Config, state: TrainState, loss: torch.Tensor,
                    parallel: DataParallel) -> None:
    state.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    parallel.average_gradients([p for p in state.model.parameters() if p.requires_grad])
    if cfg.train.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(state.model.parameters(), cfg.train.grad_clip)
    state.optimizer.step()


def train_iteration(cfg: Config, state: TrainState, x: torch.Tensor,
                    parallel: DataParallel = SINGLE) -> dict[str, float | torch.Tensor]:
    """One walk-back iteration on the batch ``x``; returns the logged quantities.

    The logged ``loss`` is the negative variational bound of the batch (nats/example) with
    the operator as it was when each step was scored; it and ``walkback_nll`` are 0-d tensors
    on the model's device (reading them synchronises host and device). Under data-parallel
    training ``x`` is this process's shard of the global batch, gradients are averaged over
    the processes at every optimiser step and p* and the logged numbers are those of the
    global batch.
    """
    model = state.model
    shard = parallel.shard(cfg.train.batch_size)
    num_steps = current_num_steps(cfg, state.step)
    for group in state.optimizer.param_groups:
        group["lr"] = learning_rate(cfg, state.step)
    if cfg.walkback.online_updates:
        s, log_q, walk = x, x.new_zeros(x.shape[0]), x.new_zeros(x.shape[0])
        for step in range(num_steps):
            s_next, log_p = model.transition_with_log_prob(s, step, state.noise_generator,
                                                           shard)
            back = model.log_prob(s, s_next, step)
            _optimizer_step(cfg, state, -back.mean(), parallel)
            log_q += log_p
            walk += back.detach()
            s = s_next
        last = s
    else:
        traj = heat(model, x, num_steps, state.noise_generator, shard)
        back = walkback_log_prob(model, traj.states)
        _optimizer_step(cfg, state, -back.mean(), parallel)
        log_q, walk, last = traj.log_q, back.detach(), traj.states[-1]
    with torch.no_grad():
        model.prior.update(parallel.gather_rows(last),
                           cfg.walkback.prior_momentum if state.step > 0 else 0.0)
        bound = model.prior.log_prob(last) + walk - log_q
        sums = parallel.sum(torch.stack([bound.sum(), walk.sum()])) / cfg.train.batch_size
    return {
        "loss": -sums[0],
        "walkback_nll": -sums[1] / num_steps,
        "num_steps": num_steps,
        "lr": state.optimizer.param_groups[0]["lr"],
    }


def seconds_per_iteration(cfg: Config, model: WalkbackModel, data: DataSplits) -> float:
    """Wall seconds of one training iteration at the largest number of temperature steps,
    timed on a copy of ``model`` (after one warm-up iteration) with generators of its own:
    the model, its run and torch's global generators are left as they were."""
    state = new_state(cfg, copy.deepcopy(model), data)
    state.step = cfg.train.steps  # the last iteration walks the most temperature steps
    device = next(model.parameters()).device
    x = data.train[:cfg.train.batch_size].to(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), \
            matmul_precision(cfg.train.matmul_precision):
        train_iteration(cfg, state, x)
        started = synced_time(device)
        train_iteration(cfg, state, x)
        return synced_time(device) - started


def synced_time(device: torch.device) -> float:
    """``time.perf_counter()`` once the device's queued work is done."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def refit_prior(model: WalkbackModel, data: DataSplits, generator: torch.Generator,
                max_examples: int = 5000) -> None:
    """Refit p* by moment matching to the last heating states of the training data."""
    device = next(model.parameters()).device
    x = data.train[:max_examples].to(device)
    traj = heat(model, x, model.num_steps, generator)
    model.prior.update(traj.states[-1], 0.0)


def heldout_loss(model: WalkbackModel, x: torch.Tensor, num_steps: int, seed: int) -> float:
    """The training loss (negative bound, nats/example) on the held-out batch ``x``, with a
    generator of its own seeded with ``seed``: the same trajectories' noise at every call, and
    training's random streams untouched."""
    gen = torch.Generator(device=x.device).manual_seed(seed)
    return -log_weights(model, x, gen, num_steps).mean().item()


def train(
    cfg: Config,
    run: RunDir,
    model: WalkbackModel,
    data: DataSplits,
    *,
    resume: bool = False,
    stop_after: int | None = None,
    progress: bool | None = None,
    parallel: DataParallel = SINGLE,
) -> TrainState:
    """Train ``model`` on ``data`` as configured, writing metrics and checkpoints to ``run``.

    Parameters
    ----------
    cfg : Config
    run : RunDir
        Run directory (config.yaml is written here; on a fresh start that fails before its
        first checkpoint, what was written is removed again).
    model : WalkbackModel
        Freshly built model on its device.
    data : DataSplits
    resume : bool
        Continue from the run's latest checkpoint, or from the previous one when the latest
        cannot be read.
    stop_after : int or None
        Stop (as if killed) after this many iterations of this call, without the final refit.
    progress : bool or None
        A progress bar (True), nothing (False), or None: a bar when stderr is a terminal and
        one line every ``train.log_every`` iterations otherwise.
    parallel : DataParallel
        This process's place in a data-parallel job (:mod:`biovw.runs.distributed`); only
        rank 0 writes to ``run``.

    Returns
    -------
    TrainState
        The final state.

    Raises
    ------
    TrainingDiverged
        When the loss is non-finite or above ``train.divergence_threshold``; the state of the
        last logged finite iteration is then saved as ``checkpoints/last_good.pt``.
    TrainingInterrupted
        On SIGINT or SIGTERM, after finishing the current iteration and writing its checkpoint.
    PeerLost
        When another process of a data-parallel job stopped; its message names the command
        that continues the run.
    ConfigError
        When a fresh start (``resume=False``) would write into a run that holds a checkpoint:
        the library follows the command line's rule and never overwrites a run.
    """
    parallel.check_batch(cfg.train.batch_size)
    check_tensorboard(cfg)
    writes = parallel.is_main
    if writes and not resume and run.has_checkpoint:
        raise ConfigError(f"{run.root} already holds a trained run; continue it with "
                          f"resume=True (biovw resume {run.root}) or train into a new folder")
    state = new_state(cfg, model, data)
    if resume:
        payload, path, _ = load_run_checkpoint(run, next(model.parameters()).device)
        state.restore(payload)
        state.finished = bool(payload.get("finished", state.step >= cfg.train.steps))
        if writes:
            if path != run.checkpoint and run.checkpoint.is_file():
                run.checkpoint.replace(run.checkpoint.with_name("latest.pt.damaged"))
            run.truncate_metrics(state.step)
    fresh = run.fresh_start() if writes and not resume else nullcontext()
    board_start = state.step if resume else None
    try:
        with fresh, stop_requests() as stop, matmul_precision(cfg.train.matmul_precision):
            if writes:
                run.write_config(cfg)
                if not resume:
                    run.metrics.unlink(missing_ok=True)
            parallel.barrier()
            board = tensorboard_log(cfg, run, board_start) if writes else nullcontext(
                TensorBoardLog())
            with board as log:
                _train_loop(cfg, run, state, data, stop, stop_after, progress, parallel, log)
    except PeerLost as exc:
        raise PeerLost(f"{exc}; continue from the last checkpoint with: biovw resume "
                       f"{run.root}") from exc
    if writes and resume and state.finished and payload["config"] != cfg.to_dict():
        save_run_checkpoint(run, state.payload(cfg))  # the config it now belongs to
    return state


class _Losses:
    """The losses of the iterations since they were last read, kept on the device: reading
    them once per logged iteration (not once per iteration) keeps the host from waiting on the
    device."""

    def __init__(self, threshold: float):
        self.threshold = threshold
        self.pending: list[tuple[int, torch.Tensor | float]] = []

    def add(self, step: int, loss: torch.Tensor | float) -> None:
        self.pending.append((step, loss))

    def check(self) -> float | None:
        """The last loss (None if none is pending); :class:`TrainingDiverged` names the first
        iteration whose loss is non-finite or above the threshold."""
        if not self.pending:
            return None
        device = next((v.device for _, v in self.pending if isinstance(v, torch.Tensor)), None)
        values = torch.stack([torch.as_tensor(v, dtype=torch.float64, device=device)
                              for _, v in self.pending]).tolist()
        steps = [step for step, _ in self.pending]
        self.pending = []
        for step, loss in zip(steps, values, strict=True):
            if not math.isfinite(loss) or abs(loss) > self.threshold:
                raise TrainingDiverged(f"training diverged at iteration {step} (loss {loss:.4g})")
        return values[-1]


def _train_loop(cfg: Config, run: RunDir, state: TrainState, data: DataSplits, stop,
                stop_after: int | None, progress: bool | None, parallel: DataParallel,
                board: TensorBoardLog) -> None:
    model = state.model
    device = next(model.parameters()).device
    train_x = data.train.to(device)
    valid_x = data.valid[:HELDOUT_BATCH].to(device)
    ep_examples = (data.valid if len(data.valid) else data.train).to(device)
    shard = parallel.shard(cfg.train.batch_size)
    writes = parallel.is_main
    bar = Progress("train", cfg.train.steps, progress if writes else False,
                   every=cfg.train.log_every, initial=state.step)
    losses = _Losses(cfg.train.divergence_threshold)
    last_good = None

    def checked() -> float | None:
        try:
            return losses.check()
        except TrainingDiverged as exc:
            if last_good is not None and writes:
                save_checkpoint(run.last_good_checkpoint, last_good)
            where = run.last_good_checkpoint if last_good is not None else "none saved"
            raise TrainingDiverged(f"{exc}; last good checkpoint: {where}") from None

    def save() -> None:
        checked()
        if writes:
            save_run_checkpoint(run, state.payload(cfg))

    started, done_here = time.perf_counter(), 0
    base_elapsed = state.elapsed
    with bar:
        if state.step < cfg.train.steps:
            state.finished = False
        while state.step < cfg.train.steps:
            if stop_after is not None and done_here >= stop_after:
                checked()
                return
            idx = torch.randint(train_x.shape[0], (cfg.train.batch_size,),
                                generator=state.batch_generator)
            if shard is not None:
                idx = idx[shard.start:shard.stop]
            x = train_x[idx.to(device, non_blocking=True)]  # no wait for the device
            record = train_iteration(cfg, state, x, parallel)
            state.step += 1
            done_here += 1
            state.elapsed = base_elapsed + time.perf_counter() - started
            losses.add(state.step, record["loss"])
            info = {}
            if state.step % cfg.train.log_every == 0 or state.step == cfg.train.steps:
                record["loss"] = checked()
                record["walkback_nll"] = float(record["walkback_nll"])
                info["loss"] = f"{record['loss']:.3f}"
                if writes:
                    record.update(model.circuit.alignment())
                    if len(valid_x):
                        record["heldout_loss"] = heldout_loss(model, valid_x,
                                                              record["num_steps"], cfg.seed + 3)
                        info["held-out"] = f"{record['heldout_loss']:.3f}"
                    # the first logged iteration at or after each multiple of ep_every
                    if cfg.train.ep_every and (
                            state.step % cfg.train.ep_every < cfg.train.log_every
                            or state.step == cfg.train.steps):
                        record.update(chain_entropy_production(
                            model, ep_examples, n_chains=cfg.train.ep_chains,
                            n_steps=cfg.train.ep_steps, seed=cfg.seed + 5))
                        info["EP"] = f"{record['ep']:.4f}"
                    run.append_metrics({"step": state.step, **record,
                                        "time": round(state.elapsed, 3)})
                    board.log(state.step, record)
                    last_good = copy.deepcopy(state.payload(cfg))
            stop.signum = parallel.any_stop(stop.signum)
            if stop and state.step < cfg.train.steps:
                save()
                raise TrainingInterrupted(stop.signum, state.step, run.checkpoint)
            if state.step % cfg.train.checkpoint_every == 0 and state.step < cfg.train.steps:
                save()
            bar.update(1, **info)
    checked()
    if not state.finished:
        bar.line("refitting p* to the training data's heated states")
        refit_prior(model, data, state.noise_generator)
        state.finished = True
        save()
    if stop:
        raise TrainingInterrupted(stop.signum, state.step, run.checkpoint)
