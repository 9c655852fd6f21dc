"""Sweeps: a grid of settings times seeds, each point an ordinary run trained as a Ray task.

:func:`biovw.runs.sweep_plan.plan_sweep` expands ``--grid KEY=V1,V2,...`` options and seeds
into trials, each with its validated configuration and a run directory under the sweep's folder
named from its grid point and seed (``rule.name=fa,train.lr=1e-3,seed=0``), so ``biovw resume``,
``evaluate`` and ``analyze`` work on it. :func:`run_sweep` trains and evaluates every trial that
is not finished as a Ray task calling the same path as ``biovw train`` (:func:`run_trial`:
training, then :func:`biovw.runs.summary.finish_run`), on a local Ray cluster it starts and stops
(sized to this machine) or on an existing one (``address``). A trial that fails (an exception,
a divergence, a crashed worker) is recorded and reported and the others go on. Running the same
sweep again skips the finished trials (checkpoint marked finished, eval.json and summary.json
present) and resumes the others from their checkpoints. ``sweep.json`` in the sweep's folder
records the configuration, the grid, the seeds and each trial's status; at the end
:func:`biovw.runs.sweep_table.sweep_table` writes one row per grid point with the mean ± sd over
seeds of the ``biovw compare`` rows (``sweep.md``, ``sweep.csv``; the per-trial rows go to
``comparison.md`` and ``.csv``).

Ray (the ``sweep`` extra) is imported only when a sweep runs.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from biovw.config import ConfigError, config_from_dict
from biovw.data import DataError
from biovw.runs.build import build_run, open_run
from biovw.runs.checkpoint import CheckpointError, load_checkpoint
from biovw.runs.kinds import MODEL_KINDS
from biovw.runs.rundir import RunDir, finite_json, write_text_atomic
from biovw.runs.stop import TrainingInterrupted
from biovw.runs.summary import DrawFigures, finish_run
from biovw.runs.sweep_plan import SweepPlan
from biovw.runs.sweep_table import SweepTable, sweep_table
from biovw.runs.train import TrainingDiverged

FORMAT = "biovw-sweep"
VERSION = 1


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
        Draws the run's figures (:data:`biovw.runs.summary.DrawFigures`).

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


CONNECT_TIMEOUT = 10.0
"""Seconds :func:`_check_reachable` waits for the cluster's port to accept a connection."""


def _bootstrap_address(address: str) -> str | None:
    """``host:port`` that ``ray.init(address=address)`` would connect to (None: unknown)."""
    if address.startswith("ray://"):
        return address[len("ray://"):].split("/", 1)[0]
    if address == "auto" or os.environ.get("RAY_ADDRESS"):
        try:
            from ray._private.services import canonicalize_bootstrap_address_or_die
        except ImportError:  # a Ray without the helper: let ray.init find it
            return None
        try:
            return canonicalize_bootstrap_address_or_die(address)
        except (ConnectionError, ValueError) as exc:
            raise ConfigError(f"--address {address}: no running Ray cluster to connect to "
                              f"({' '.join(str(exc).split())[:160]})") from exc
    return address


def _check_reachable(address: str) -> None:
    """Refuse an address whose port does not accept a connection within
    :data:`CONNECT_TIMEOUT` seconds: ``ray.init`` would otherwise retry for many minutes."""
    target = _bootstrap_address(address)
    if target is None:
        return
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"--address {address}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        raise ConfigError(f"--address {address}: nothing answers at {target} "
                          f"({exc.strerror or type(exc).__name__}); is the Ray cluster "
                          f"running?") from exc


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
            _check_reachable(address)
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
        Draws each run's figures (:data:`biovw.runs.summary.DrawFigures`), in the trial's
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
