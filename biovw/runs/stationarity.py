"""Does a trained sampler stay put? Sample quality after many extra T=1 steps, with its noise.

One set of chains is cooled down and advanced once; snapshots are taken on the way (the chains
are never restarted per step count). The chains are split into disjoint groups and every
snapshot of every group is scored against the same held-out examples, so each metric comes with
its group-to-group spread; the change from the first to the last snapshot is a paired
difference over the groups (the same chains at both times) with a Student-t interval. For a
labelled data set (digits, MNIST) a linear classifier trained on the training split reads the
samples' class shares: their total-variation distance from the held-out data's shares and the
smallest class share play the part the mode statistics play for the mixture toy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from biovw.config import Config
from biovw.data import DataSplits
from biovw.quality import LinearClassifier, class_share_distance, sample_quality
from biovw.runs.evaluation import draw_samples, held_out, snapshot_quality
from biovw.runs.labels import class_readout
from biovw.walkback import WalkbackModel

LOWER_IS_BETTER = ("sliced_wasserstein", "mmd", "energy_distance")
"""Distances to the held-out data: a larger value after more steps is worse."""
HIGHER_IS_BETTER = ("near_mode_fraction", "min_mode_share", "min_class_share")
"""Mode statistics of the mixture toy and the smallest class share of labelled data: a smaller
value after more steps is worse (``class_tv``, a distance, is worse when larger)."""


@dataclass(frozen=True)
class Stationarity:
    """Sample quality against the number of extra T=1 steps past the cool-down.

    Attributes
    ----------
    steps : list of int
        The snapshots, in increasing order.
    quality : dict
        ``{str(step): SampleQuality dict of all chains}`` plus ``data_floor`` (as many training
        examples scored against the same held-out split).
    groups : dict
        ``{str(step): {metric: {"mean", "sd", "values"}}}``: each metric on each of the
        disjoint groups of chains.
    floor : dict
        ``{metric: {"mean", "sd", "values"}}``: the same on disjoint groups of as many training
        examples (as many groups as the training split holds, up to ``n_groups``): what an
        exact sampler scores at this group size.
    change : dict
        ``{metric: {"first", "last", "diff", "se", "ci_low", "ci_high", "worse"}}``: the mean
        over groups at the last snapshot minus the first, its standard error over groups and
        95% t interval; ``worse`` when the interval lies entirely on the worse side of zero.
    verdict : str
        One sentence: the last snapshot's quality is, or is not, worse than the first's
        beyond the estimators' noise.
    n_chains : int
    n_groups : int
    seconds : float
        Time spent advancing the chains.
    samples : dict of int to ndarray
        ``{step: [n_chains, dim]}``, the chains at each snapshot (not in :meth:`to_dict`).
    reference : ndarray
        The held-out examples the samples were scored against (not in :meth:`to_dict`).
    split : str
        Which split ``reference`` is.
    image_shape : tuple of int or None
        Shape of one example as an image, when the data are images.
    """

    steps: list[int]
    quality: dict
    groups: dict
    floor: dict
    change: dict
    verdict: str
    n_chains: int
    n_groups: int
    seconds: float
    samples: dict[int, np.ndarray]
    reference: np.ndarray
    split: str
    image_shape: tuple[int, ...] | None

    @property
    def stationary(self) -> bool:
        """Whether no metric got worse beyond its noise from the first to the last snapshot."""
        return not any(c["worse"] for c in self.change.values())

    def to_dict(self) -> dict:
        """Plain containers for ``stationarity.json``."""
        return {
            "steps": self.steps, "n_chains": self.n_chains, "n_groups": self.n_groups,
            "seconds": round(self.seconds, 3), "quality": self.quality, "groups": self.groups,
            "floor": self.floor, "change": self.change, "stationary": self.stationary,
            "verdict": self.verdict, "split": self.split,
        }


def _metrics(samples: torch.Tensor, reference: torch.Tensor, data: DataSplits, radius: float,
             seed: int, classifier: LinearClassifier | None) -> dict[str, float]:
    q = sample_quality(samples, reference, modes=data.modes, mode_radius=radius, seed=seed)
    out = {name: getattr(q, name) for name in LOWER_IS_BETTER}
    if q.mode_shares is not None:
        out["near_mode_fraction"] = q.near_mode_fraction
        out["min_mode_share"] = min(q.mode_shares)
    if classifier is not None:
        out["class_tv"], out["min_class_share"] = class_share_distance(samples, reference,
                                                                       classifier)
    return out


def paired_change(first: Sequence[float], last: Sequence[float], higher_is_better: bool,
                  level: float = 0.95) -> dict:
    """Mean change ``last - first`` over paired groups with its t interval.

    ``worse`` is true when the whole interval lies on the worse side of zero (above it for a
    distance, below it for a mode share).
    """
    a, b = np.asarray(first, dtype=float), np.asarray(last, dtype=float)
    d = b - a
    g = len(d)
    se = float(d.std(ddof=1) / math.sqrt(g)) if g > 1 else math.inf
    half = float(stats.t.ppf(0.5 + level / 2, g - 1)) * se if g > 1 else math.inf
    diff = float(d.mean())
    lo, hi = diff - half, diff + half
    worse = hi < 0 if higher_is_better else lo > 0
    return {"first": float(a.mean()), "last": float(b.mean()), "diff": diff, "se": se,
            "ci_low": lo, "ci_high": hi, "worse": bool(worse)}


def _verdict(change: dict, first: int, last: int) -> str:
    worse = [name for name, c in change.items() if c["worse"]]
    if worse:
        return (f"quality after {last:,} steps is worse than after {first:,} beyond noise "
                f"(95% interval of the paired change excludes zero: {', '.join(worse)})")
    return f"quality after {last:,} steps no worse than after {first:,} beyond noise"


def check_stationarity(cfg: Config, model: WalkbackModel, data: DataSplits, n: int,
                       steps: Sequence[int], seed: int = 0, n_groups: int = 10) -> Stationarity:
    """Advance ``n`` chains past the cool-down and score them at each of ``steps``.

    Parameters
    ----------
    cfg : Config
        The run's configuration (held-out split, mode radius, chains run together).
    model : WalkbackModel
    data : DataSplits
    n : int
        Chains, split into ``n_groups`` disjoint groups of ``n // n_groups``.
    steps : sequence of int
        Extra T=1 steps at which the chains are recorded (0 = right after the cool-down); the
        verdict compares the largest with the smallest.
    seed : int
        Seed of the chains and of the randomised metrics.
    n_groups : int
        Groups of chains (at least 2) whose spread gives each metric's noise.

    Returns
    -------
    Stationarity

    Raises
    ------
    TypeError
        If ``model`` is not a walk-back model (an RBM's Gibbs chain is reversible by
        construction).
    ValueError
        With fewer than two groups, fewer than two chains per group or fewer than two
        distinct step counts.
    """
    if not isinstance(model, WalkbackModel):
        raise TypeError(f"stationarity needs a walk-back run, not a {type(model).__name__}")
    keep = sorted(set(int(s) for s in steps))
    if len(keep) < 2 or keep[0] < 0:
        raise ValueError(f"--steps: give at least two distinct step counts >= 0, got {steps}")
    if n_groups < 2 or n // n_groups < 2:
        raise ValueError(f"--groups: need at least 2 groups of at least 2 chains; got {n} "
                         f"chains in {n_groups} groups")
    model.eval()
    t0 = time.perf_counter()
    snaps = draw_samples(cfg, model, n, keep, seed)
    seconds = time.perf_counter() - t0
    reference = held_out(cfg, data)
    quality = snapshot_quality(cfg, data, snaps, seed)
    size = n // n_groups
    classifier = class_readout(cfg, data)

    def grouped(x: torch.Tensor, count: int) -> dict:
        per = [_metrics(x[g * size:(g + 1) * size], reference, data, cfg.eval.mode_radius, seed,
                        classifier) for g in range(count)]
        return {name: {"mean": float(np.mean([p[name] for p in per])),
                       "sd": float(np.std([p[name] for p in per], ddof=1)) if count > 1 else 0.0,
                       "values": [p[name] for p in per]} for name in per[0]}

    groups = {str(k): grouped(snaps[k], n_groups) for k in keep}
    floor = grouped(data.train, min(n_groups, len(data.train) // size)) \
        if len(data.train) >= size else {}
    first, last = groups[str(keep[0])], groups[str(keep[-1])]
    change = {name: paired_change(first[name]["values"], last[name]["values"],
                                  name in HIGHER_IS_BETTER) for name in first}
    return Stationarity(keep, quality, groups, floor, change,
                        _verdict(change, keep[0], keep[-1]), n, n_groups, seconds,
                        {k: v.numpy() for k, v in snaps.items()}, reference.numpy(),
                        cfg.eval.split, data.image_shape)
