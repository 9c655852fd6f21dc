"""Run-level evaluation: held-out likelihood estimates, samples and their quality."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from biovw.config import Config
from biovw.data import DataSplits
from biovw.quality import sample_quality
from biovw.walkback import (
    BernoulliPrior,
    GaussianPrior,
    WalkbackModel,
    estimate_log_likelihood,
    sample_chain,
)


def held_out(cfg: Config, data: DataSplits) -> torch.Tensor:
    """The evaluation split named by ``cfg.eval.split``."""
    return data.test if cfg.eval.split == "test" else data.valid


def evaluate_likelihood(cfg: Config, model: WalkbackModel, data: DataSplits, seed: int,
                        n_examples: int | None = None,
                        n_trajectories: int | None = None) -> dict:
    """Bound and IS log-likelihood (nats/example, with standard errors) on held-out data.

    Also reports the same estimates on as many training examples, so a gap between the two
    shows over-fitting.
    """
    device = next(model.parameters()).device
    n = n_examples or cfg.eval.n_examples
    k = n_trajectories or cfg.eval.n_trajectories
    result = {"split": cfg.eval.split}
    started = time.perf_counter()
    for name, x in ((cfg.eval.split, held_out(cfg, data)), ("train", data.train)):
        gen = torch.Generator(device=device).manual_seed(seed)
        est = estimate_log_likelihood(model, x[:n].to(device), k, gen, cfg.eval.batch_size)
        result[name] = est.to_dict()
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["independent_baseline"] = independent_baseline(data, held_out(cfg, data)[:n])
    return result


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


def draw_samples(cfg: Config, model: WalkbackModel, n: int, snapshots: list[int], seed: int,
                 progress: Callable[[int], None] | None = None) -> dict[int, torch.Tensor]:
    """Samples after the cool-down and after the chosen numbers of extra T_1 steps."""
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    return sample_chain(model, n, snapshots, gen, cfg.eval.batch_size, progress)


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
