"""Does a trained sampler reach and keep the data's distribution? Sample quality after many
sampler steps, from three starts, with its noise.

One set of chains is started once and advanced once; snapshots are taken on the way (the chains
are never restarted per step count). The chains start from one of :data:`STARTS`: right after
the cool-down (what the annealed sampler gives), every chain in one mode or class (a wrong
start: only a chain that mixes recovers the other modes), or held-out examples (the data
itself: a stationary sampler keeps them). Starting states come from the held-out split the
samples are *not* scored against, so a chain that never moves does not score as the data.

The chains are split into disjoint groups and every
snapshot of every group is scored against the same held-out examples, so each metric comes with
its group-to-group spread; the change from the first to the last snapshot is a paired
difference over the groups (the same chains at both times) with a Student-t interval. For a
labelled data set (digits, MNIST) a linear classifier trained on the training split reads the
samples' class shares: their total-variation distance from the held-out data's shares and the
smallest class share play the part the mode statistics play for the mixture toy.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats
from torch import nn

from biovw.config import Config
from biovw.data import DataSplits
from biovw.quality import LinearClassifier, class_share_distance, mode_shares, sample_quality
from biovw.runs.evaluation import held_out, snapshot_quality
from biovw.runs.kinds import MODEL_KINDS
from biovw.runs.labels import StateLabels, class_readout, state_labels

LOWER_IS_BETTER = ("sliced_wasserstein", "mmd", "energy_distance", "mode_tv", "class_tv")
"""Distances to the held-out data (``mode_tv``, ``class_tv``: total variation between the
samples' and the held-out data's mode or class shares): a larger value after more steps is
worse."""
SHARE_DISTANCES = ("mode_tv", "class_tv")
"""The share distances whose first snapshot within the data's own spread is reported."""
STARTS = ("cooldown", "one_mode", "heldout")
"""Where the chains start: after the cool-down from p*, every chain on held-out examples of one
mode or class, or on held-out examples."""
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
    start : str
        One of :data:`STARTS`, with ``start_label`` (the mode or class of ``one_mode``).
    sampler : str
        The sampler, in words, and ``transitions_per_step`` operator transitions per step.
    steps_to_data : dict
        ``{metric: step or None}`` for the share distances: the first snapshot whose mean over
        groups lies within the data floor's mean + 2 sd (None: none did).
    moved : dict
        ``{str(step): fraction}`` of the chains labelled at both times whose mode or class
        differs from the one they started in (labelled data only).
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
    start: str = "cooldown"
    start_label: int | None = None
    sampler: str = "the T = 1 chain"
    transitions_per_step: int = 1
    steps_to_data: dict = dataclasses.field(default_factory=dict)
    moved: dict = dataclasses.field(default_factory=dict)

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
            "verdict": self.verdict, "split": self.split, "start": self.start,
            "start_label": self.start_label, "sampler": self.sampler,
            "transitions_per_step": self.transitions_per_step,
            "steps_to_data": self.steps_to_data, "moved": self.moved,
        }


def _metrics(samples: torch.Tensor, reference: torch.Tensor, data: DataSplits, radius: float,
             seed: int, classifier: LinearClassifier | None) -> dict[str, float]:
    q = sample_quality(samples, reference, modes=data.modes, mode_radius=radius, seed=seed)
    out = {name: getattr(q, name) for name in ("sliced_wasserstein", "mmd", "energy_distance")}
    if q.mode_shares is not None:
        out["near_mode_fraction"] = q.near_mode_fraction
        out["min_mode_share"] = min(q.mode_shares)
        held, _ = mode_shares(reference, data.modes, radius=radius)
        out["mode_tv"] = float(0.5 * (torch.as_tensor(q.mode_shares) - held).abs().sum())
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


def report_name(start: str, sampler: str, stem: str = "stationarity") -> str:
    """File stem of a stationarity (or mixing) report: ``stem`` for the cool-down and the
    T = 1 chain, with ``_START`` and ``_SAMPLER`` added for the others."""
    return (stem + ("" if start == "cooldown" else f"_{start}")
            + ("" if sampler == "chain" else f"_{sampler}"))


def _other_split(cfg: Config, data: DataSplits) -> torch.Tensor:
    """The held-out split the samples are not scored against."""
    return data.valid if cfg.eval.split == "test" else data.test


def start_states(cfg: Config, data: DataSplits, start: str, n: int, seed: int,
                 labels: StateLabels | None, label: int | None) -> tuple[torch.Tensor | None,
                                                                         int | None]:
    """The chains' starting states ``[n, D]`` at T = 1 (None: the cool-down) and the mode or
    class they all start in (``one_mode``: ``label``, default the commonest held-out one).

    Raises
    ------
    ValueError
        For an unknown start, ``one_mode`` on data without modes or classes, or a label no
        held-out example has.
    """
    if start not in STARTS:
        raise ValueError(f"--start must be one of {', '.join(STARTS)}, got {start!r}")
    if start == "cooldown":
        return None, None
    pool = _other_split(cfg, data)
    if start == "one_mode":
        if labels is None:
            raise ValueError("--start one_mode needs data with modes or classes")
        found = torch.as_tensor(labels(pool.numpy()))
        known = found[found >= 0]
        label = int(torch.mode(known).values) if label is None and len(known) else label
        pool = pool[found == label]
        if len(pool) == 0:
            raise ValueError(f"--start-label: no held-out example is in mode or class {label}")
    gen = torch.Generator().manual_seed(seed + 7)
    return pool[torch.randint(len(pool), (n,), generator=gen)], label


def _steps_to_data(groups: dict, floor: dict, steps: list[int]) -> dict:
    """First snapshot whose share distance is within the data floor's mean + 2 sd."""
    out = {}
    for name in SHARE_DISTANCES:
        if name in floor:
            limit = floor[name]["mean"] + 2 * floor[name]["sd"]
            out[name] = next((s for s in steps if groups[str(s)][name]["mean"] <= limit), None)
    return out


def _moved(snaps: dict[int, torch.Tensor], labels: StateLabels | None) -> dict:
    """Fraction of chains (labelled at both times) out of their starting mode or class."""
    if labels is None:
        return {}
    first = labels(snaps[min(snaps)].numpy())
    out = {}
    for step, x in snaps.items():
        now = labels(x.numpy())
        both = (first >= 0) & (now >= 0)
        out[str(step)] = float((now[both] != first[both]).mean()) if both.any() else None
    return out


def check_stationarity(cfg: Config, model: nn.Module, data: DataSplits, n: int,
                       steps: Sequence[int], seed: int = 0, n_groups: int = 10,
                       start: str = "cooldown", start_label: int | None = None
                       ) -> Stationarity:
    """Start ``n`` chains, advance them with the run's sampler and score them at each of
    ``steps``.

    Parameters
    ----------
    cfg : Config
        The run's configuration (held-out split, mode radius, chains run together, sampler:
        ``eval.sampler``, ``eval.cycle_steps``).
    model : nn.Module
        The run's model, of the kind ``cfg.model`` names.
    data : DataSplits
    n : int
        Chains, split into ``n_groups`` disjoint groups of ``n // n_groups``.
    steps : sequence of int
        Sampler steps at which the chains are recorded (0 = the start); the verdict compares
        the largest with the smallest.
    seed : int
        Seed of the chains, of the starting states and of the randomised metrics.
    n_groups : int
        Groups of chains (at least 2) whose spread gives each metric's noise.
    start : str
        One of :data:`STARTS`.
    start_label : int or None
        The mode or class of ``start="one_mode"`` [default: the commonest in held-out data].

    Returns
    -------
    Stationarity

    Raises
    ------
    ValueError
        With fewer than two groups, fewer than two chains per group, fewer than two distinct
        step counts, or a start that the data cannot give.
    """
    keep = sorted(set(int(s) for s in steps))
    if len(keep) < 2 or keep[0] < 0:
        raise ValueError(f"--steps: give at least two distinct step counts >= 0, got {steps}")
    if n_groups < 2 or n // n_groups < 2:
        raise ValueError(f"--groups: need at least 2 groups of at least 2 chains; got {n} "
                         f"chains in {n_groups} groups")
    classifier = class_readout(cfg, data)
    labels = state_labels(cfg, data, classifier)
    initial, label = start_states(cfg, data, start, n, seed, labels, start_label)
    kind = MODEL_KINDS[cfg.model]
    model.eval()
    t0 = time.perf_counter()
    snaps = kind.snapshots(cfg, model, data, n, keep, seed, initial)
    seconds = time.perf_counter() - t0
    reference = held_out(cfg, data)
    quality = snapshot_quality(cfg, data, snaps, seed)
    size = n // n_groups

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
                        cfg.eval.split, data.image_shape, start, label,
                        *kind.chain_words(cfg, model),
                        _steps_to_data(groups, floor, keep), _moved(snaps, labels))
