"""A sweep's plan: ``--grid KEY=V1,V2,...`` options and seeds expanded into trials, each with
its validated configuration and the name of its run directory (``rule.name=fa,train.lr=1e-3,
seed=0``)."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from biovw.config import Config, ConfigError, config_from_dict
from biovw.runs.tensorboard import check_tensorboard

_SAFE = re.compile(r"[^A-Za-z0-9._+-]")
_MAX_NAME = 200


@dataclass(frozen=True)
class Trial:
    """One grid point at one seed.

    Attributes
    ----------
    name : str
        Its run directory's name under the sweep's folder.
    point : dict of str to str
        Grid key -> value as given on the command line.
    seed : int
    config : Config
        Its validated configuration.
    """

    name: str
    point: dict[str, str]
    seed: int
    config: Config

    @property
    def label(self) -> str:
        """The grid point without the seed, e.g. ``rule.name=fa, train.lr=1e-3``."""
        return ", ".join(f"{k}={v}" for k, v in self.point.items()) or "(base config)"


@dataclass(frozen=True)
class SweepPlan:
    """A sweep's base configuration (after ``--set``), grid, seeds and trials."""

    base: Config
    grid: dict[str, list[str]]
    seeds: list[int]
    trials: list[Trial]

    def identity(self) -> dict[str, Any]:
        """What makes two sweeps the same sweep (compared with an existing sweep.json)."""
        return {"config": self.base.to_dict(), "grid": self.grid, "seeds": self.seeds}


def _split_values(text: str) -> list[str]:
    """Split at commas outside brackets and braces: ``1,[0, 3],x`` -> 3 values."""
    values, depth, current = [], 0, ""
    for char in text:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == "," and depth == 0:
            values.append(current.strip())
            current = ""
        else:
            current += char
    values.append(current.strip())
    return values


def parse_grid(options: Sequence[str]) -> dict[str, list[str]]:
    """``["rule.name=fa,kp", "train.lr=1e-3,3e-4"]`` -> ``{"rule.name": ["fa", "kp"], ...}``.

    Values are split at commas outside brackets (``eval.snapshots=[0, 3],[0, 10]`` gives two
    values) and parsed later as YAML, as ``--set`` values are.

    Raises
    ------
    ConfigError
        For an option without ``=``, an empty key or value, a key given twice, a repeated
        value or the key ``seed`` (use ``--seeds``).
    """
    grid: dict[str, list[str]] = {}
    for text in options:
        key, sep, rest = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--grid {text!r} must look like section.key=V1,V2,...")
        if key == "seed":
            raise ConfigError("--grid seed=...: give the seeds with --seeds 0,1,2")
        if key in grid:
            raise ConfigError(f"--grid {key} is given twice")
        values = _split_values(rest)
        if not all(values):
            raise ConfigError(f"--grid {text!r} has an empty value")
        if len(set(values)) < len(values):
            raise ConfigError(f"--grid {text!r} repeats a value")
        grid[key] = values
    return grid


def parse_seeds(text: str | None, default: int) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]``; None -> ``[default]``."""
    if text is None:
        return [default]
    try:
        seeds = [int(t) for t in text.split(",")]
    except ValueError as exc:
        raise ConfigError(f"--seeds: expected comma-separated integers, got {text!r}") from exc
    if len(set(seeds)) < len(seeds):
        raise ConfigError(f"--seeds {text!r} repeats a seed")
    return seeds


def trial_name(point: dict[str, str], seed: int) -> str:
    """The run directory name of a grid point at a seed: ``key=value,...,seed=N`` with every
    character other than letters, digits and ``._+-`` of a value replaced by ``_``."""
    parts = [f"{k}={_SAFE.sub('_', v)}" for k, v in point.items()] + [f"seed={seed}"]
    name = ",".join(parts)
    if len(name) > _MAX_NAME:
        digest = json.dumps(parts).encode()
        name = f"{name[:_MAX_NAME - 17]}-{hashlib.sha256(digest).hexdigest()[:16]}"
    return name


def _absolute_paths(cfg: Config) -> Config:
    """``cfg`` with ``data.path`` made absolute: a trial may run in another directory."""
    if not cfg.data.path:
        return cfg
    path = str(Path(cfg.data.path).expanduser().resolve())
    return replace(cfg, data=replace(cfg.data, path=path))


def plan_sweep(base: Config, grid: dict[str, list[str]], seeds: Sequence[int]) -> SweepPlan:
    """Expand ``grid`` x ``seeds`` into validated trials, grid keys varying slowest first and
    seeds fastest.

    Raises
    ------
    ConfigError
        Naming the trial and the field, if any trial's configuration is invalid, or if two
        trials would share a directory name.
    """
    base = _absolute_paths(base)
    trials, names = [], set()
    for values in itertools.product(*grid.values()):
        point = dict(zip(grid, values, strict=True))
        for seed in seeds:
            name = trial_name(point, seed)
            overrides = [f"{k}={v}" for k, v in point.items()] + [f"seed={seed}"]
            try:
                cfg = _absolute_paths(config_from_dict(base.to_dict(), overrides))
            except ConfigError as exc:
                raise ConfigError(f"sweep trial {name}: {exc}") from exc
            if name in names:
                raise ConfigError(f"two sweep trials would share the directory {name}; use "
                                  "grid values that differ in letters, digits or ._+-")
            names.add(name)
            trials.append(Trial(name, point, seed, cfg))
    for trial in trials:
        check_tensorboard(trial.config)
    return SweepPlan(base, {k: list(v) for k, v in grid.items()}, list(seeds), trials)
