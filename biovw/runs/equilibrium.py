"""The equilibrium circuit as a run: build it from the data, train it by exact maximum
likelihood (or PCD), score it exactly, sample it with a reversible kernel and write the same
run directory as any other model (config.yaml, metrics.jsonl, checkpoint, samples, eval.json).

Training is deterministic given the seed and takes seconds to minutes: an interrupted run is
resumed by training again from the start, as for an RBM."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable

import torch
from torch import Tensor

from biovw.baselines.equilibrium import (
    MAX_HIDDEN_STATES,
    EquilibriumCircuit,
    run_sampler,
    tune_step_size,
)
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


def check_equilibrium_data(cfg: Config, data: DataSplits) -> None:
    """Binary visible units need binary data, Langevin samplers continuous units, and the
    exact ``log Z`` at most :data:`MAX_HIDDEN_STATES` hidden states."""
    e = cfg.equilibrium
    if e.visible == "bernoulli" and data.kind != "binary":
        raise ConfigError("equilibrium.visible is 'bernoulli' but the data are continuous; set "
                          "data.binarize: true or equilibrium.visible: gaussian")
    if e.visible == "bernoulli" and e.sampler != "gibbs":
        raise ConfigError(f"equilibrium.sampler {e.sampler!r} needs continuous visible units; "
                          f"binary units are sampled with equilibrium.sampler: gibbs")
    if e.group_size**e.groups > MAX_HIDDEN_STATES:
        raise ConfigError(f"equilibrium.group_size ** equilibrium.groups = "
                          f"{e.group_size}**{e.groups} hidden states exceed "
                          f"{MAX_HIDDEN_STATES:,} (the exact log Z enumerates them)")


def build_equilibrium(cfg: Config, data: DataSplits) -> EquilibriumCircuit:
    """The circuit of ``cfg.equilibrium`` for ``data``: visible bias and ``sigma`` from the
    training split, each hidden unit's weights pointing from the data mean to a training
    example (spread over the data by :func:`spread_picks`, shared out over the groups)."""
    e = cfg.equilibrium
    x = data.train
    mean = x.mean(0)
    sigma = e.sigma if e.sigma is not None else x.std(0).mean().item()
    model = EquilibriumCircuit(data.dim, e.groups, e.group_size, e.visible, sigma,
                               e.learn_sigma, seed=cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    picks = spread_picks(x[:5000], e.groups * e.group_size, gen).view(e.groups, e.group_size, -1)
    with torch.no_grad():
        if model.binary:
            rates = mean.clamp(0.02, 0.98)
            model.visible_bias.copy_(torch.log(rates / (1 - rates)))
            model.weight.copy_(2.0 * (picks - mean) / e.groups)
        else:
            model.visible_bias.copy_(mean)
            model.weight.copy_((picks - mean) / e.groups)
        if e.step_size is not None:
            model.step_size.fill_(e.step_size)
    model.circulation = e.circulation
    return model


def spread_picks(x: Tensor, n: int, gen: torch.Generator) -> Tensor:
    """``n`` rows of ``x`` drawn by k-means++ seeding: each next row with probability
    proportional to its squared distance from the nearest row drawn so far."""
    picks = [x[torch.randint(len(x), (1,), generator=gen)]]
    nearest = ((x - picks[0]) ** 2).sum(1)
    for _ in range(n - 1):
        weights = nearest if nearest.sum() > 0 else torch.ones_like(nearest)
        picks.append(x[torch.multinomial(weights, 1, generator=gen)])
        nearest = torch.minimum(nearest, ((x - picks[-1]) ** 2).sum(1))
    return torch.cat(picks)


def negative_log_likelihood(model: EquilibriumCircuit, x: Tensor, state: dict,
                            generator: torch.Generator) -> Tensor:
    """Exact ``-mean log p(x)`` (its gradient is the exact maximum-likelihood gradient)."""
    return -model.log_prob(x).mean()


def pcd_surrogate(model: EquilibriumCircuit, x: Tensor, state: dict,
                  generator: torch.Generator) -> Tensor:
    """``mean F(x) - mean F(negatives)``: its gradient is the PCD estimate of the
    negative log-likelihood's, with negatives from persistent chains advanced ``k`` steps of
    the configured sampler (``state`` holds the chains and the settings)."""
    chains, _ = run_sampler(model, state["sampler"], state["chains"], state["k"], generator)
    state["chains"] = chains
    return model.free_energy(x).mean() - model.free_energy(chains).mean()


GRADIENTS: dict[str, Callable[[EquilibriumCircuit, Tensor, dict, torch.Generator], Tensor]] = {
    "exact": negative_log_likelihood, "pcd": pcd_surrogate,
}
"""Training objectives by ``equilibrium.method``."""


def _epoch(model: EquilibriumCircuit, x: Tensor, cfg: Config, opt: torch.optim.Optimizer,
           state: dict, gen: torch.Generator) -> None:
    """One pass over ``x`` in shuffled minibatches."""
    objective = GRADIENTS[cfg.equilibrium.method]
    order = torch.randperm(len(x), generator=gen, device=x.device)
    for batch in order.split(cfg.equilibrium.batch_size):
        opt.zero_grad(set_to_none=True)
        objective(model, x[batch], state, gen).backward()
        opt.step()


def _training_state(cfg: Config, model: EquilibriumCircuit, gen: torch.Generator) -> dict:
    e = cfg.equilibrium
    state = {"sampler": e.sampler if e.method == "pcd" else "gibbs", "k": e.k}
    if e.method == "pcd":
        with torch.no_grad():
            state["chains"] = model.sample(e.pcd_chains, gen)
    return state


@torch.no_grad()
def _monitor(model: EquilibriumCircuit, data: DataSplits) -> dict[str, float]:
    """Exact mean log-likelihood of up to 5,000 training and all validation examples."""
    out = {"train_loglik": model.log_prob(data.train[:5000].to(model.weight.device))
           .mean().item()}
    if len(data.valid):
        out["valid_loglik"] = model.log_prob(data.valid.to(model.weight.device)).mean().item()
    return out


def _finite(model: EquilibriumCircuit) -> bool:
    return all(torch.isfinite(p).all() for p in model.parameters())


def train_equilibrium(cfg: Config, run: RunDir, model: EquilibriumCircuit, data: DataSplits,
                      progress: bool | None = None) -> float:
    """Train with Adam for ``equilibrium.epochs`` epochs, one metrics record (exact train and
    validation log-likelihood) and checkpoint per epoch; then tune the MALA step size on exact
    samples (unless ``equilibrium.step_size`` fixes it). Returns the training seconds."""
    e = cfg.equilibrium
    device = model.weight.device
    gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    opt = torch.optim.Adam(model.parameters(), lr=e.lr)
    state = _training_state(cfg, model, gen)
    x = data.train.to(device)
    started = time.perf_counter()
    with run.fresh_start(), stop_requests() as stop, \
            Progress("train", e.epochs, progress, unit="epoch") as bar:
        run.write_config(cfg)
        run.metrics.unlink(missing_ok=True)
        for epoch in range(e.epochs):
            _epoch(model, x, cfg, opt, state, gen)
            if not _finite(model):
                where = run.checkpoint if epoch > 0 else "none saved"
                raise TrainingDiverged(
                    f"equilibrium training diverged in epoch {epoch + 1} (non-finite "
                    f"parameters; lower equilibrium.lr); last good checkpoint: {where}")
            if epoch + 1 == e.epochs:
                finish_training(cfg, model, gen)
            record = _monitor(model, data)
            run.append_metrics({"step": epoch + 1, **record})
            save_run_checkpoint(run, equilibrium_payload(cfg, model, epoch + 1))
            bar.update(1, **{k: f"{v:.4g}" for k, v in record.items()})
            if stop and epoch + 1 < e.epochs:
                raise TrainingInterrupted(stop.signum, epoch + 1, run.checkpoint)
    return time.perf_counter() - started


def finish_training(cfg: Config, model: EquilibriumCircuit, gen: torch.Generator) -> None:
    """Tune the MALA step size on 2,000 exact samples (Gaussian visible units, unless
    ``equilibrium.step_size`` is given), so that every sampler can be chosen afterwards."""
    if cfg.equilibrium.step_size is None and not model.binary:
        tune_step_size(model, model.sample(2000, gen), gen)


def equilibrium_payload(cfg: Config, model: EquilibriumCircuit, step: int) -> dict:
    """Checkpoint contents (``finished`` after the last epoch)."""
    return {"config": cfg.to_dict(), "step": step, "finished": step >= cfg.equilibrium.epochs,
            "elapsed": 0.0, "model": model.state_dict()}


def seconds_per_epoch(cfg: Config, model: EquilibriumCircuit, data: DataSplits) -> float:
    """Wall seconds of one training epoch, timed on a copy of ``model`` (one warm-up
    minibatch, then up to 10 timed minibatches scaled to the epoch)."""
    size = cfg.equilibrium.batch_size
    copied = copy.deepcopy(model)
    device = model.weight.device
    x = data.train[: 11 * size].to(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        gen = torch.Generator(device=device).manual_seed(cfg.seed)
        opt = torch.optim.Adam(copied.parameters(), lr=cfg.equilibrium.lr)
        state = _training_state(cfg, copied, gen)
        _epoch(copied, x[:size], cfg, opt, state, gen)
        started = synced_time(device)
        timed = x[size:] if len(x) > size else x
        _epoch(copied, timed, cfg, opt, state, gen)
        seconds = synced_time(device) - started
    return seconds * math.ceil(len(data.train) / size) / math.ceil(len(timed) / size)


def start_states(model: EquilibriumCircuit, n: int, gen: torch.Generator,
                 initial: Tensor | None = None) -> Tensor:
    """Exact samples, or the given states."""
    if initial is not None:
        return initial.to(model.weight.device)
    with torch.no_grad():
        return model.sample(n, gen)


def chain_snapshots(cfg: Config, model: EquilibriumCircuit, n: int, steps: list[int],
                    gen: torch.Generator,
                    initial: Tensor | None = None) -> tuple[dict[int, Tensor], float]:
    """States of ``n`` chains of the configured sampler after each number of ``steps`` (from
    exact samples or ``initial``), and the acceptance rate."""
    v = start_states(model, n, gen, initial)
    out, done, rates = {}, 0, []
    for target in sorted(set(steps)):
        v, rate = run_sampler(model, cfg.equilibrium.sampler, v, target - done, gen)
        rates += [rate] * (target - done)
        done = target
        out[target] = v.cpu()
    return out, sum(rates) / max(len(rates), 1)


def _loglik(model: EquilibriumCircuit, x: Tensor) -> tuple[dict, Tensor]:
    values = model.log_prob(x.to(model.weight.device)).detach().cpu()
    return ({"mean": values.mean().item(),
             "se": values.std().item() / max(len(values), 2) ** 0.5,
             "n": len(values), "unit": "nats/example", "examples_sha256": examples_fingerprint(x)},
            values)


@torch.no_grad()
def evaluate_equilibrium(cfg: Config, run: RunDir, model: EquilibriumCircuit, data: DataSplits,
                         seed: int, n_examples: int | None = None, n_samples: int | None = None,
                         progress: bool | None = False) -> Evaluation:
    """Exact held-out log-likelihood, samples of the configured sampler after
    ``equilibrium.chain_steps`` steps from exact samples (step 0) and their quality; writes
    eval.json and the samples."""
    gen = torch.Generator(device=model.weight.device).manual_seed(seed)
    n = n_examples or cfg.eval.n_examples
    x, x_train = held_out(cfg, data)[:n], data.train[:n]
    log = Progress("evaluate", 1, progress)
    held, held_values = _loglik(model, x)
    train, train_values = _loglik(model, x_train)
    steps = [0, *cfg.equilibrium.chain_steps]
    log.line(f"exact log-likelihood {held['mean']:.3f} nats/example; {cfg.equilibrium.sampler} "
             f"samples after {', '.join(map(str, steps))} steps")
    snaps, acceptance = chain_snapshots(cfg, model, n_samples or cfg.eval.n_samples, steps, gen)
    loglik = {"split": cfg.eval.split, "method": "exact", cfg.eval.split: held, "train": train,
              "log_partition": {"exact": model.log_partition().item()},
              "sampler": {"name": cfg.equilibrium.sampler, "acceptance": acceptance,
                          "step_size": float(model.step_size)},
              "independent_baseline": independent_baseline(data, x)}
    log.close()
    per_example = {f"{cfg.eval.split}_loglik": held_values.numpy(),
                   "train_loglik": train_values.numpy()}
    return write_evaluation(cfg, run, data, loglik, snaps, seed, main_snapshot=max(snaps),
                            per_example=per_example)
