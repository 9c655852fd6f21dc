"""Sweeps: a grid of settings times seeds, each point an ordinary run trained as a Ray task.

:func:`plan_sweep` expands ``--grid KEY=V1,V2,...`` options and seeds into trials, each with its
validated configuration and a run directory under the sweep's folder named from its grid point
and seed (``rule.name=fa,train.lr=1e-3,seed=0``), so ``biovw resume``, ``evaluate`` and
``analyze`` work on it. :func:`run_sweep` trains and evaluates every trial that is not finished
as a Ray task calling the same path as ``biovw train`` (:func:`run_trial`: training, then
:func:`biovw.runs.finish.finish_run`), on a local Ray cluster it starts and stops (sized to this
machine) or on an existing one (``address``). A trial that fails (an exception, a divergence, a
crashed worker) is recorded and reported and the others go on. Running the same sweep again
skips the finished trials (checkpoint marked finished, eval.json and summary.json present) and
resumes the others from their checkpoints. ``sweep.json`` in the sweep's folder records the
configuration, the grid, the seeds and each trial's status; at the end :func:`sweep_table`
writes one row per grid point with the mean ± sd over seeds of the ``biovw compare`` rows
(``sweep.md``, ``sweep.csv``; the per-trial rows go to ``comparison.md`` and ``.csv``).

Ray (the ``sweep`` extra) is imported only when a sweep runs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import logging
import math
import os
import re
import signal
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from biovw.config import Config, ConfigError, config_from_dict
from biovw.data import DataError
from biovw.runs.build import build_run, open_run
from biovw.runs.checkpoint import CheckpointError, load_checkpoint
from biovw.runs.compare import NA, compare_runs
from biovw.runs.finish import DrawFigures, finish_run
from biovw.runs.kinds import MODEL_KINDS
from biovw.runs.rundir import RunDir, finite_json, write_text_atomic
from biovw.runs.stop import TrainingInterrupted
from biovw.runs.tensorboard import check_tensorboard
from biovw.runs.train import TrainingDiverged

FORMAT = "biovw-sweep"
VERSION = 1

METRICS: dict[str, str] = {
    "loglik": "held-out log-lik",
    "bound": "bound",
    "sliced_w2": "sliced W2",
    "mmd": "MMD",
    "ep": "EP (nats/step)",
    "steps_to_mix": "steps to mix",
    "train_seconds": "train (s)",
}
"""Columns of the ``biovw compare`` rows averaged over seeds -> their heading in sweep.md."""

_DIGITS = {"mmd": 4, "steps_to_mix": 0, "train_seconds": 1}
"""Decimals shown in sweep.md where not 3."""

_SAFE = re.compile(r"[^A-Za-z0-9._+-]")
_MAX_NAME = 200


# ----------------------------------------------------------------------------- the plan


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


# ----------------------------------------------------------------------------- one trial


def trial_state(run: RunDir) -> str:
    """``new`` (nothing there), ``finished`` (checkpoint marked finished, eval.json and
    summary.json written) or ``unfinished`` (anything else: it is resumed)."""
    if not run.root.exists() or not any(run.root.iterdir()):
        return "new"
    if run.eval.is_file() and run.summary.is_file() and run.checkpoint.is_file():
        try:
            payload = load_checkpoint(run.checkpoint)
        except CheckpointError:
            return "unfinished"
        if payload.get("finished"):
            return "finished"
    return "unfinished"


def trial_states(plan: SweepPlan, out: str | Path) -> dict[str, str]:
    """Trial name -> :func:`trial_state` of its directory under ``out``."""
    return {t.name: trial_state(RunDir(Path(out) / t.name)) for t in plan.trials}


def run_trial(config: dict, root: str, threads: int, device: str,
              draw: DrawFigures | None = None) -> dict[str, Any]:
    """Train and evaluate one trial as ``biovw train`` does, or continue it as ``biovw resume``
    does when its directory holds an unfinished run; never raises.

    Parameters
    ----------
    config : dict
        The trial's configuration (:meth:`Config.to_dict`).
    root : str
        Its run directory.
    threads : int
        torch's intra-op threads.
    device : str
        ``cpu`` or ``cuda``.
    draw : callable or None
        Draws the run's figures (:data:`biovw.runs.finish.DrawFigures`).

    Returns
    -------
    dict
        ``status`` (``finished``, ``diverged``, ``interrupted`` or ``failed``), ``message``
        (one line; for a finished trial its held-out log-likelihood), ``resumed_from`` (the
        iteration it continued from, or None), ``seconds`` and, for an unexpected error,
        ``traceback``.
    """
    torch.set_num_threads(max(1, threads))
    started = time.perf_counter()
    outcome: dict[str, Any] = {"resumed_from": None}
    try:
        cfg = config_from_dict(config)
        run = RunDir(root)
        if trial_state(run) == "new":
            data, model = build_run(cfg, torch.device(device))
            resume = False
        else:
            opened = open_run(root, device, allow_fresh=True)
            if opened.cfg.to_dict() != cfg.to_dict():
                raise CheckpointError(f"{root} holds a run of another configuration than this "
                                      "trial's; move it away to train the trial again")
            data, model, resume = opened.data, opened.model, opened.payload is not None
            outcome["resumed_from"] = opened.step
        model, elapsed = MODEL_KINDS[cfg.model].train(cfg, run, model, data, resume=resume,
                                                      progress=False)
        summary = finish_run(cfg, run, model, data, elapsed, cfg.seed, progress=False,
                             draw=draw)
        outcome.update(status="finished",
                       message=f"held-out log-likelihood {summary['heldout_loglik']:.3f} ± "
                               f"{summary['heldout_loglik_se']:.3f} nats/example")
    except TrainingDiverged as exc:
        outcome.update(status="diverged", message=str(exc))
    except TrainingInterrupted as exc:
        outcome.update(status="interrupted", message=str(exc))
    except (ConfigError, DataError, CheckpointError, OSError) as exc:
        outcome.update(status="failed", message=str(exc))
    except Exception as exc:  # a bug: keep its traceback in sweep.json
        outcome.update(status="failed", message=f"{type(exc).__name__}: {exc}",
                       traceback=traceback.format_exc())
    outcome["message"] = " ".join(str(outcome["message"]).split())
    outcome["seconds"] = round(time.perf_counter() - started, 2)
    return outcome


# ----------------------------------------------------------------------------- the manifest


@dataclass
class SweepResult:
    """What a sweep did.

    Attributes
    ----------
    manifest : dict
        The contents of sweep.json.
    table : SweepTable
        The table over grid points.
    manifest_path : Path
    """

    manifest: dict[str, Any]
    table: SweepTable
    manifest_path: Path

    @property
    def failed(self) -> list[dict[str, Any]]:
        """The trials that did not finish."""
        return [t for t in self.manifest["trials"] if t["status"] != "finished"]


def _read_manifest(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the sweep's manifest ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"{path} is not a biovw sweep manifest")
    return data


def _check_same_sweep(path: Path, plan: SweepPlan) -> None:
    old = _read_manifest(path)
    if old is None:
        return
    mine = json.loads(json.dumps(finite_json(plan.identity())))
    differ = [k for k in ("config", "grid", "seeds") if old.get(k) != mine[k]]
    if differ:
        raise ConfigError(f"{path.parent} holds another sweep (its {' and '.join(differ)} "
                          "differ); re-run the same command to continue it, or choose another "
                          "--out")


def _write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    write_text_atomic(path, json.dumps(finite_json(manifest), indent=2, allow_nan=False) + "\n")


# ----------------------------------------------------------------------------- Ray


def _import_ray():
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("biovw sweep needs Ray: install it with pip install -e '.[sweep]'") \
            from exc
    return ray


def _start_ray(ray, address: str | None) -> bool:
    """Connect to ``address`` or start a local cluster sized to this machine; whether this
    call started or connected (and must shut down). The process keeps its own SIGTERM handler
    (Ray's would abort it without shutting down)."""
    if ray.is_initialized():
        return False
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main_thread else None
    options = {"include_dashboard": False, "log_to_driver": False,
               "logging_level": logging.ERROR}
    try:
        if address is None:
            ray.init(num_cpus=os.cpu_count(), **options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = "start a local Ray cluster" if address is None else f"reach Ray at {address}"
        raise ConfigError(f"--address: cannot {where} ({' '.join(str(exc).split())[:200]})") \
            from exc
    finally:
        if main_thread and previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return True


def _check_resources(ray, cpus: int, gpus: float) -> str:
    """Refuse trials the cluster can never schedule; describe the cluster."""
    total = ray.cluster_resources()
    n_cpus, n_gpus = total.get("CPU", 0), total.get("GPU", 0)
    if cpus > n_cpus or gpus > n_gpus:
        raise ConfigError(f"a trial asks for {cpus} CPUs and {gpus:g} GPUs but the Ray cluster "
                          f"has {n_cpus:g} CPUs and {n_gpus:g} GPUs; lower --cpus-per-trial or "
                          "--gpus-per-trial")
    return f"{n_cpus:g} CPUs" + (f", {n_gpus:g} GPUs" if n_gpus else "")


def run_sweep(plan: SweepPlan, out: str | Path, *, address: str | None = None,
              cpus_per_trial: int = 1, gpus_per_trial: float = 0.0,
              draw: DrawFigures | None = None,
              report: Callable[[str], None] = print) -> SweepResult:
    """Run every unfinished trial of ``plan`` as a Ray task, then write the tables.

    Parameters
    ----------
    plan : SweepPlan
    out : str or Path
        The sweep's folder: one run directory per trial, sweep.json, sweep.md/.csv and
        comparison.md/.csv.
    address : str or None
        An existing Ray cluster (``auto``, ``ray://HOST:PORT``); None starts a local one with
        this machine's cores and stops it at the end.
    cpus_per_trial : int
        CPUs Ray reserves for a trial, and torch's threads in it.
    gpus_per_trial : float
        GPUs Ray reserves for a trial; above 0 the trial trains on ``cuda``.
    draw : callable or None
        Draws each run's figures (:data:`biovw.runs.finish.DrawFigures`), in the trial's
        process.
    report : callable
        Receives one line per event (start, each trial's end).

    Returns
    -------
    SweepResult

    Raises
    ------
    ConfigError
        Before any trial runs: ``out`` holds another sweep, Ray is missing or unreachable, or
        the cluster cannot hold one trial.
    """
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise ConfigError(f"--out: {root} exists and is not a directory")
    manifest_path = root / "sweep.json"
    _check_same_sweep(manifest_path, plan)
    ray = _import_ray()
    states = trial_states(plan, root)
    manifest = {"format": FORMAT, "version": VERSION, **plan.identity(),
                "resources": {"cpus_per_trial": cpus_per_trial, "gpus_per_trial": gpus_per_trial},
                "trials": [{"name": t.name, "point": t.point, "seed": t.seed,
                            "status": "finished" if states[t.name] == "finished" else "pending",
                            "message": "already finished" if states[t.name] == "finished"
                            else None}
                           for t in plan.trials]}
    entries = {e["name"]: e for e in manifest["trials"]}
    todo = [t for t in plan.trials if states[t.name] != "finished"]
    started = _start_ray(ray, address) if todo else False
    try:
        if todo:
            cluster = _check_resources(ray, cpus_per_trial, gpus_per_trial)
        root.mkdir(parents=True, exist_ok=True)
        _write_manifest(manifest_path, manifest)
        n_resume = sum(states[t.name] == "unfinished" for t in todo)
        where = "" if not todo else (
            f" on {'a local Ray cluster' if address is None else f'Ray at {address}'} "
            f"({cluster})")
        report(f"sweep: {len(plan.trials)} trials ({len(plan.trials) - len(todo)} already "
               f"finished, {n_resume} to resume, {len(todo) - n_resume} new){where}; manifest "
               f"{manifest_path}")
        if todo:
            _run_tasks(ray, plan, todo, root, entries, manifest, manifest_path, cpus_per_trial,
                       gpus_per_trial, draw, report)
    finally:
        if started:
            ray.shutdown()
    table = sweep_table(plan, root, manifest)
    _write_manifest(manifest_path, manifest)
    return SweepResult(manifest, table, manifest_path)


def _run_tasks(ray, plan, todo, root, entries, manifest, manifest_path, cpus, gpus, draw,
               report) -> None:
    task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=0)(run_trial)
    device = "cuda" if gpus > 0 else "cpu"
    pending = {}
    for trial in todo:
        ref = task.remote(trial.config.to_dict(), str((root / trial.name).resolve()), cpus,
                          device, draw)
        pending[ref] = trial
        entries[trial.name].update(status="running", message=None)
    _write_manifest(manifest_path, manifest)
    done_count = 0
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            done_count = _collect(ray, ready, pending, entries, manifest, manifest_path, done_count,
                                  len(todo), report)
    except BaseException:  # stopped by a signal: the trials still running resume next time
        for trial in pending.values():
            entries[trial.name].update(status="interrupted",
                                       message="the sweep was stopped while it ran")
        _write_manifest(manifest_path, manifest)
        raise


def _collect(ray, ready, pending, entries, manifest, manifest_path, done_count, total,
             report) -> int:
    """Record and report the trials whose tasks are ``ready``; the new count of done ones."""
    for ref in ready:
        trial = pending.pop(ref)
        try:
            outcome = ray.get(ref)
        except ray.exceptions.RayError as exc:  # the worker died (killed, out of memory)
            text = " ".join(str(exc).split())
            outcome = {"status": "failed", "resumed_from": None,
                       "message": f"its worker process died ({type(exc).__name__}: "
                                  f"{text[:200]}); the next run of the sweep resumes it from "
                                  "its checkpoint"}
        entries[trial.name].update(outcome)
        _write_manifest(manifest_path, manifest)
        done_count += 1
        how = ("" if outcome.get("resumed_from") is None
               else f", resumed from iteration {outcome['resumed_from']}")
        seconds = f" in {outcome['seconds']:.1f} s" if "seconds" in outcome else ""
        report(f"[{done_count}/{total}] {trial.name}: {outcome['status']}{seconds}{how}: "
               f"{outcome['message']}")
    return done_count


# ----------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class SweepTable:
    """Mean ± sd over seeds of every grid point, and where it was written.

    Attributes
    ----------
    rows : list of dict
        One per grid point: ``point`` (grid key -> value), ``label``, ``n_seeds``,
        ``n_finished``, ``failed`` (names of its trials that did not finish), ``values``
        (metric -> per-seed values of its finished trials), ``<metric>_mean`` and
        ``<metric>_sd`` for each of :data:`METRICS` (None when no value; sd None below two).
    markdown : str
    markdown_path, csv_path : Path
    per_trial : dict of str to dict
        The ``biovw compare`` row of each finished trial, by trial name.
    """

    rows: list[dict[str, Any]]
    markdown: str
    markdown_path: Path
    csv_path: Path
    per_trial: dict[str, dict[str, Any]] = field(default_factory=dict)


def _mean_sd(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _cell(mean: float | None, sd: float | None, digits: int = 3) -> str:
    if mean is None:
        return NA

    def fmt(v: float) -> str:
        if v != 0 and (abs(v) < 10 ** -digits or abs(v) >= 10**5):
            return f"{v:.2e}"
        return f"{v:.{digits}f}"
    return fmt(mean) if sd is None else f"{fmt(mean)} ± {fmt(sd)}"


def sweep_table(plan: SweepPlan, root: Path, manifest: dict[str, Any]) -> SweepTable:
    """The per-trial ``biovw compare`` rows of the finished trials (comparison.md and .csv
    in ``root``, scored on different held-out data when seeds differ) averaged over seeds per
    grid point into sweep.md and sweep.csv."""
    status = {e["name"]: e["status"] for e in manifest["trials"]}
    finished = [t for t in plan.trials if status[t.name] == "finished"]
    per_trial: dict[str, dict[str, Any]] = {}
    if finished:
        compared = compare_runs([root / t.name for t in finished], root, allow_mixed=True)
        per_trial = {t.name: row for t, row in zip(finished, compared.rows, strict=True)}
    rows = []
    for values in itertools.product(*plan.grid.values()):
        point = dict(zip(plan.grid, values, strict=True))
        trials = [t for t in plan.trials if t.point == point]
        done = [t for t in trials if t.name in per_trial]
        row: dict[str, Any] = {
            "point": point, "label": trials[0].label, "n_seeds": len(trials),
            "n_finished": len(done), "failed": [t.name for t in trials if t.name not in per_trial],
            "values": {},
        }
        for metric in METRICS:
            series = [per_trial[t.name][metric] for t in done
                      if per_trial[t.name][metric] is not None]
            row["values"][metric] = [float(v) for v in series]
            row[f"{metric}_mean"], row[f"{metric}_sd"] = _mean_sd(row["values"][metric])
        rows.append(row)
    markdown = _markdown(plan, rows)
    markdown_path, csv_path = root / "sweep.md", root / "sweep.csv"
    write_text_atomic(markdown_path, markdown)
    write_text_atomic(csv_path, _csv(plan, rows))
    return SweepTable(rows, markdown, markdown_path, csv_path, per_trial)


def _markdown(plan: SweepPlan, rows: list[dict[str, Any]]) -> str:
    header = [*plan.grid, "seeds finished", *METRICS.values()]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        done = f"{row['n_finished']}/{row['n_seeds']}"
        if row["failed"]:
            done += f" ({len(row['failed'])} failed)"
        cells = [*row["point"].values(), done]
        cells += [_cell(row[f"{m}_mean"], row[f"{m}_sd"], _DIGITS.get(m, 3)) for m in METRICS]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    seeds = ", ".join(str(s) for s in plan.seeds)
    notes = [
        "",
        f"Mean ± sample standard deviation over the finished seeds ({seeds}) of each grid "
        "point's runs, as `biovw compare` reports them one by one (comparison.md beside this "
        "file); no ± with a single finished seed, n/a without any. Log-likelihoods and bounds "
        "in nats per held-out example (each seed is scored on its own held-out split); sample "
        "quality at the last snapshot; EP only for runs analysed with `biovw analyze`.",
    ]
    failed = [name for row in rows for name in row["failed"]]
    if failed:
        notes.append(f"Not finished (see sweep.json): {', '.join(failed)}.")
    return "\n".join(lines + notes) + "\n"


def _csv(plan: SweepPlan, rows: list[dict[str, Any]]) -> str:
    columns = [*plan.grid, "n_seeds", "n_finished", "n_failed"]
    columns += [f"{m}_{s}" for m in METRICS for s in ("mean", "sd")]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        out = {**row["point"], "n_seeds": row["n_seeds"], "n_finished": row["n_finished"],
               "n_failed": len(row["failed"])}
        for m in METRICS:
            for s in ("mean", "sd"):
                value = row[f"{m}_{s}"]
                out[f"{m}_{s}"] = NA if value is None else value
        writer.writerow(out)
    return buffer.getvalue()
