"""Command-line interface: ``biovw train | resume | sample | evaluate | analyze | compare |
simulate | export | bench``. Each command calls the composition root (:mod:`biovw.runs`),
prints what it returns and draws its figures (:mod:`biovw.plots`).

Exit codes: 0 done; 2 an error in the command line, a config, its data or a checkpoint (one
line on stderr, nothing written); 3 training diverged; 4 another process of a data-parallel
job (torchrun) stopped; 5 a sweep in which some trials did not finish (its table is written);
130 stopped by SIGINT (Ctrl-C) and 143 by SIGTERM, after writing a checkpoint when it happened
during training. Any other failure is a bug and shows its traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import json
import math
import shlex
import signal
import sys
import threading
import time
from pathlib import Path

import click
import torch

from biovw.analysis.mixing import mixing_line
from biovw.analysis.power import duration_text
from biovw.backends import BACKENDS
from biovw.config import MAX_SEED, ConfigError, config_from_dict, load_config
from biovw.data import DataError
from biovw.runs import (
    MODEL_KINDS,
    CheckpointError,
    RunDir,
    TrainingDiverged,
    build_run,
    open_run,
    resolve_device,
)
from biovw.runs.analyze import Analysis
from biovw.runs.build import check_fits
from biovw.runs.distributed import PeerLost, data_parallel
from biovw.runs.evaluation import Evaluation
from biovw.runs.progress import Progress
from biovw.runs.rundir import save_npy_atomic
from biovw.runs.stationarity import STARTS
from biovw.runs.stop import TrainingInterrupted
from biovw.runs.summary import finish_run, headline, refresh_summary
from biovw.runs.train import EXIT_DIVERGED
from biovw.walkback import SAMPLERS


class BinCount(click.ParamType):
    """``auto`` or a whole number of bins per axis of at least 2."""

    name = "auto|N"

    def convert(self, value, param, ctx):
        if value == "auto" or isinstance(value, int):
            return value
        try:
            count = int(value)
        except ValueError:
            count = 0
        if count < 2:
            self.fail(f"{value!r} is neither auto nor a whole number of at least 2", param, ctx)
        return count


class _LazyModule:
    """A module imported at its first use: the figures' libraries (matplotlib, seaborn, scipy's
    statistics) take over a second to import, and most commands draw nothing."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)


plots = _LazyModule("biovw.plots")

EXIT_ERROR = 2
EXIT_PEER_LOST = 4
EXIT_TRIALS_FAILED = 5
EXIT_SIGINT = 128 + signal.SIGINT
EXIT_SIGTERM = 128 + signal.SIGTERM
CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True}
SEED = click.IntRange(0, MAX_SEED)
PROGRESS_HELP = ("Progress bars (--progress) or silence (--no-progress) [default: bars when stderr "
                 "is a terminal, otherwise a line every train.log_every iterations and per "
                 "evaluation phase].")


class _Terminated(KeyboardInterrupt):
    """SIGTERM outside a training loop, raised where the process is, like Ctrl-C."""


def _terminate(signum, frame) -> None:
    raise _Terminated


class _Stopped(Exception):
    """A command stopped by a signal; the message says what was kept."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def _fail(message: str, code: int = EXIT_ERROR) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _guard(fn):
    """Turn the library's expected errors, and SIGINT or SIGTERM, into one line on stderr and
    the exit codes of the module's docstring."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
        try:
            return fn(*args, **kwargs)
        except (ConfigError, DataError, CheckpointError) as exc:
            _fail(str(exc))
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            _fail(f"{exc.strerror or exc}{where}")
        except TrainingDiverged as exc:
            _fail(str(exc), EXIT_DIVERGED)
        except PeerLost as exc:
            _fail(str(exc), EXIT_PEER_LOST)
        except TrainingInterrupted as exc:
            run = exc.checkpoint.parent.parent
            _fail(f"{exc}; continue with: biovw resume {run}", 128 + exc.signum)
        except _Stopped as exc:
            _fail(str(exc), exc.code)
        except _Terminated:
            _fail("stopped by SIGTERM", EXIT_SIGTERM)
        except KeyboardInterrupt:
            _fail("stopped by SIGINT (Ctrl-C)", EXIT_SIGINT)
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous)

    return wrapper


def _threads(fn):
    """The ``--threads`` option: torch's intra-op threads for the command."""

    @click.option("--threads", type=click.IntRange(min=1), default=None,
                  help="Threads torch computes with [default: torch's choice, usually one per "
                       "core]; lower it when other jobs share the machine.")
    @functools.wraps(fn)
    def wrapper(*args, threads, **kwargs):
        if threads is not None:
            torch.set_num_threads(threads)
        return fn(*args, **kwargs)

    return wrapper


SIMULATE_BACKENDS = tuple(BACKENDS)
"""``biovw simulate --backend`` choices: the keys of :data:`biovw.backends.BACKENDS`."""
BRIAN_TARGETS = ("numpy", "cython", "cpp_standalone")
"""``--target`` choices: :data:`biovw.brian.TARGETS`."""
BRIAN_RECURRENCES = ("synapses", "matrix")
"""``--recurrence`` choices: the keys of :data:`biovw.brian.RECURRENCES`."""


def _sampler_options(fn):
    """``--sampler`` and ``--cycle-steps``: the chain run after the start (the run's
    ``eval.sampler`` and ``eval.cycle_steps`` by default)."""
    fn = click.option("--cycle-steps", type=click.IntRange(min=0), default=None,
                      help="Temperature steps a cycle heats through (0: all) [default: the "
                           "run's eval.cycle_steps].")(fn)
    return click.option("--sampler", type=click.Choice(list(SAMPLERS)), default=None,
                        help="chain (the operator at T=1) or cycle (heat and cool back per "
                             "step) [default: the run's eval.sampler].")(fn)


def _start_options(fn):
    """``--start`` and ``--start-label`` (where the chains start), and the sampler options."""
    fn = _sampler_options(fn)
    fn = click.option("--start-label", type=click.IntRange(min=0), default=None,
                      help="The mode or class of --start one_mode [default: the "
                           "commonest].")(fn)
    return click.option("--start", type=click.Choice(list(STARTS)), default="cooldown",
                        help="Start after the cool-down, every chain on held-out examples of "
                             "one mode or class, or on held-out examples (from the split not "
                             "scored against).")(fn)


def _report_stem(name: str) -> str:
    """``name`` if it can be a file stem inside the run directory."""
    if not name or set(name) & set("/\\\0"):
        raise ConfigError(f"--name must be a file stem without '/' or '\\', got {name!r}")
    return name


class _Commands(click.Group):
    """A group whose usage errors (unknown option, bad value) are one line on stderr."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            hint = ""
            if isinstance(exc, click.UsageError) and exc.ctx is not None:
                hint = f" (see {exc.ctx.command_path} --help)"
            _fail(f"{exc.format_message()}{hint}", exc.exit_code)
        except click.Abort:
            _fail("stopped by SIGINT (Ctrl-C)", EXIT_SIGINT)
        sys.exit(code if isinstance(code, int) else 0)


def _draw_evaluation(run: RunDir, evaluation: Evaluation, chain_steps: str) -> None:
    plots.evaluation_figures(evaluation.samples, evaluation.reference, evaluation.image_shape,
                             evaluation.main_snapshot, run.figures,
                             split=evaluation.result["loglik"]["split"], steps=chain_steps)
    walk = evaluation.walk
    if walk is not None:
        plots.walk_figure(walk.heating, walk.cooling, walk.temperatures, evaluation.image_shape,
                          run.figures / "walkback_path.png", reference=evaluation.reference)


def _draw_currents(analysis: Analysis, figures: Path) -> None:
    if analysis.currents is not None:
        plots.current_field(analysis.currents, figures / "currents.png", analysis.title,
                            analysis.axes_labels)


def draw_run_figures(run: RunDir, evaluation: Evaluation, chain_steps: str,
                     loss_curve: dict, fields: dict | None = None) -> None:
    """A run's figures after its evaluation (:data:`biovw.runs.summary.DrawFigures`)."""
    try:
        _draw_evaluation(run, evaluation, chain_steps)
        plots.training_figures(run.read_metrics(), run.figures, **loss_curve)
        if fields and evaluation.image_shape is not None:
            plots.weight_fields(fields, evaluation.image_shape,
                                run.figures / "weight_fields.png")
    finally:
        plots.close_all()  # a drawing that failed leaves no figure open


def _finish(cfg, run, model, data, elapsed, seed, progress) -> None:
    try:
        summary = finish_run(cfg, run, model, data, elapsed, seed, progress=progress,
                             draw=draw_run_figures)
    except KeyboardInterrupt as exc:
        name, code = (("SIGTERM", EXIT_SIGTERM) if isinstance(exc, _Terminated) else
                      ("SIGINT", EXIT_SIGINT))
        raise _Stopped(f"stopped by {name} during the evaluation; training is complete and "
                       f"checkpointed: biovw resume {run.root} evaluates it", code) from exc
    click.echo(headline(summary))
    click.echo(f"run directory: {run.root}")


def _notes(opened) -> None:
    """Tell the user which config.yaml edits apply and whether the run is unfinished."""
    if opened.edits:
        click.echo(f"note: applying edits of {opened.run.config}: {'; '.join(opened.edits)}",
                   err=True)
    warning = opened.unfinished_warning()
    if warning:
        click.echo(warning, err=True)


@click.group(context_settings=CONTEXT, cls=_Commands)
@click.version_option(package_name="biovw")
def main() -> None:
    """Learn biologically plausible circuits as transition operators with Variational Walkback."""


@main.command(context_settings=CONTEXT)
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Override a config value (repeatable), e.g. --set train.steps=200.")
@click.option("--seed", type=SEED, default=None, help="Override the config's seed.")
@click.option("--device", default="cpu", help="cpu, cuda or cuda:N.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run directory [default: runs/NAME-YYYYmmdd-HHMMSS].")
@click.option("--dry-run", is_flag=True, help="Validate config and data, build the model, stop.")
@click.option("--progress/--no-progress", default=None, help=PROGRESS_HELP)
@_threads
@_guard
def train_cmd(config, overrides, seed, device, out, dry_run, progress):
    """Train the circuit described by CONFIG and evaluate it.

    Under torchrun (torchrun --nproc_per_node N -m biovw train CONFIG) the N processes train
    data-parallel on shares of the global batch train.batch_size; rank 0 writes the run."""
    extra = [*overrides, f"seed={seed}"] if seed is not None else list(overrides)
    cfg = load_config(config, extra)
    with contextlib.ExitStack() as held:  # the run's writer lock, to the end of the evaluation
        with data_parallel(resolve_device(device)) as (parallel, dev):
            data, model = build_run(cfg, dev)
            n_params = sum(p.numel() for p in model.parameters())
            kind = MODEL_KINDS[cfg.model]
            _check_parallel(kind, cfg, parallel)
            seconds = kind.seconds_per_iteration(cfg, model, data) * kind.iterations(cfg)
            if dry_run:
                threads = torch.get_num_threads()
                if parallel.is_main:
                    click.echo(f"config ok: {cfg.name}; data {data.name} train/valid/test "
                               f"{len(data.train)}/{len(data.valid)}/{len(data.test)}, dim "
                               f"{data.dim}; {kind.describe(cfg)} with {n_params} parameters "
                               f"on {dev} ({threads} thread{'s' * (threads != 1)}"
                               f"{_processes(parallel)}); {kind.iterations_key} = "
                               f"{kind.iterations(cfg)}; training about "
                               f"{duration_text(seconds)} (from timed updates)")
                    _warn_if_long(seconds, kind)
                return
            default = Path("runs") / f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}"
            run = RunDir(parallel.share(str(out or default)))
            if run.root.exists() and not run.root.is_dir():
                raise ConfigError(f"--out: {run.root} exists and is not a directory")
            _check_empty(run)
            held.enter_context(_writer(run, "train", parallel.is_main))
            _check_empty(run)  # another start may have begun between the check and the lock
            if parallel.is_main:
                click.echo(f"training into {run.root} (about {duration_text(seconds)})")
                _warn_if_long(seconds, kind)
            parallel.barrier()
            model, elapsed = kind.train(cfg, run, model, data, progress=progress,
                                        parallel=parallel)
        if parallel.is_main:  # after every process has left the process group
            _finish(cfg, run, model, data, elapsed, cfg.seed, progress)


LONG_TRAINING = 3600.0
"""Seconds of estimated training above which ``biovw train`` warns before it starts."""


def _warn_if_long(seconds: float, kind) -> None:
    """One warning line when the estimated training time exceeds :data:`LONG_TRAINING`."""
    if seconds > LONG_TRAINING:
        click.echo(f"warning: training will take about {duration_text(seconds)} (from timed "
                   f"updates); lower {kind.iterations_key} for a shorter run",
                   err=True)


def _analyze_recording(trajectory: str, out: str | None, options, bins: int,
                       current_bins: int | str, clusters: int,
                       seed: int) -> tuple[Path, list[str]]:
    """``biovw analyze --trajectory``: the analysis, its current figures and analysis.json in
    ``out`` (default: FILE_analysis beside the file)."""
    from biovw.runs.analyze import analyze_recording_file

    run = RunDir(out or Path(trajectory).with_suffix("").as_posix() + "_analysis")
    recording = analyze_recording_file(trajectory, options, bins=bins,
                                       current_bins=current_bins, clusters=clusters, seed=seed)
    scale = plots.arrow_scale(recording.fields.values())  # one key across the conditions
    for name, field in recording.fields.items():
        suffix = "" if len(recording.fields) == 1 else f"_{name}"
        plots.current_field(field, run.figures / f"currents{suffix}.png",
                            f"probability current, {name} ({recording.plane})", scale=scale)
    path = run.root / "analysis.json"
    run.write_json(path, recording.result)
    return path, recording.lines


def _analyze_run(opened, chains, steps, burn_in, bins, current_bins, clusters,
                 seed) -> tuple[Path, list]:
    """``biovw analyze RUN``: write analysis.json and the current figure; the lines to print."""
    run = opened.run
    analysis = opened.kind.analyze(opened.cfg, opened.model, opened.data, n_chains=chains,
                                   n_steps=steps, burn_in=burn_in, bins=bins,
                                   current_bins=current_bins,
                                   n_clusters=clusters, seed=seed)
    result = {**analysis.result, "source": str(run.root)}
    _draw_currents(analysis, run.figures)
    lines = []
    for method, ep in result["entropy_production"].items():
        bound = " (lower bound)" if method == "coarse_grained" else ""
        lines.append(f"entropy production [{method}]{bound}: {ep['value']:.4g} "
                     f"[{ep['ci_low']:.4g}, {ep['ci_high']:.4g}] nats/step")
    lines.append(mixing_line(result["mixing"]))
    path = run.root / "analysis.json"
    run.write_json(path, result)
    return path, lines


def _check_empty(run: RunDir) -> None:
    if not run.is_empty():
        raise ConfigError(f"--out: {run.root} exists and is not empty (continue that run "
                          f"with biovw resume {run.root}, or choose another --out)")


def _writer(run: RunDir, command: str, main_process: bool = True):
    """The run directory's writer lock (:meth:`RunDir.writing`) for this process, if it
    writes."""
    if not main_process:
        return contextlib.nullcontext()
    return run.writing(command, warn=lambda line: click.echo(line, err=True))


def _check_parallel(kind, cfg, parallel) -> None:
    if parallel.active and not kind.data_parallel:
        raise ConfigError(f"model {cfg.model!r} does not train data-parallel; run it without "
                          f"torchrun")


def _processes(parallel) -> str:
    return f" in each of {parallel.world_size} processes" if parallel.active else ""


train_cmd.name = "train"


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--steps", type=int, default=None,
              help="New total number of iterations [default: the run's train.steps].")
@click.option("--device", default="cpu", help="cpu, cuda or cuda:N.")
@click.option("--progress/--no-progress", default=None, help=PROGRESS_HELP)
@_threads
@_guard
def resume(run_dir, steps, device, progress):
    """Continue a stopped or killed run from its latest checkpoint, then evaluate it.

    The run continues with its checkpoint's configuration. Edits of RUN_DIR/config.yaml that
    change only logging, checkpointing, evaluation or (upwards) the number of iterations are
    applied and listed; any other edit is refused. A run killed before its first checkpoint
    starts again from its config.yaml. A latest checkpoint that cannot be read (damaged,
    truncated) is set aside as latest.pt.damaged and the run continues from the previous one.
    RBM baselines train deterministically in seconds and are trained again from the start.
    Under torchrun every process loads the checkpoint and training continues data-parallel."""
    if not Path(run_dir).is_dir():
        raise ConfigError(f"RUN_DIR: not a directory: {run_dir}")
    with contextlib.ExitStack() as held:  # the run's writer lock, to the end of the evaluation
        with data_parallel(resolve_device(device)) as (parallel, dev):
            if parallel.is_main:
                held.enter_context(_writer(RunDir(run_dir), "resume"))
            opened = open_run(run_dir, dev, allow_fresh=True, fallback=True)
            cfg, kind = opened.cfg, opened.kind
            _check_parallel(kind, cfg, parallel)
            if steps is not None:
                if steps < opened.step:
                    raise ConfigError(f"--steps {steps} is below the checkpoint's step "
                                      f"{opened.step}")
                cfg = config_from_dict(cfg.to_dict(), [f"{kind.iterations_key}={steps}"])
            total = kind.iterations(cfg)
            if parallel.is_main:
                if opened.fallback:
                    click.echo(opened.fallback, err=True)
                if opened.payload is None:
                    click.echo(f"{opened.run.root} has no checkpoint yet: training starts again "
                               f"from iteration 0 of {total} with its config.yaml")
                else:
                    edits = (f"applying edits of config.yaml: {'; '.join(opened.edits)}"
                             if opened.edits else "config.yaml matches")
                    click.echo(f"resuming {opened.run.root} at iteration {opened.step} of {total} "
                               f"with the configuration of its checkpoint ({edits})")
            model, elapsed = kind.train(cfg, opened.run, opened.model, opened.data,
                                        resume=opened.payload is not None, progress=progress,
                                        parallel=parallel)
        if parallel.is_main:  # after every process has left the process group
            _finish(cfg, opened.run, model, opened.data, elapsed, cfg.seed, progress)


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--n", "n", type=click.IntRange(min=1), default=None,
              help="Number of samples [default: 5000; with --initial, its number of rows].")
@click.option("--steps", type=click.IntRange(min=0), default=0,
              help="Sampler steps after the start (the cool-down, or --initial).")
@click.option("--initial", type=click.Path(dir_okay=False), default=None,
              help=".npy of states [N, D] to start the chains from at T=1, with no cool-down.")
@_sampler_options
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Output .npy file.")
@click.option("--seed", type=SEED, default=0, help="Sampling seed.")
@click.option("--device", default="cpu", help="cpu, cuda or cuda:N.")
@click.option("--progress/--no-progress", default=None, help=PROGRESS_HELP)
@_threads
@_guard
def sample(run_dir, n, steps, initial, sampler, cycle_steps, out, seed, device, progress):
    """Draw N samples from a trained run, STEPS sampler steps past the cool-down or past the
    states of --initial (for an RBM baseline: STEPS block-Gibbs steps, at least 1 after its
    own start)."""
    from biovw.data import load_states
    from biovw.quality import sample_quality
    from biovw.runs.evaluation import held_out

    if not out.endswith(".npy"):
        raise ConfigError(f"--out must end in .npy, got {out}")
    opened = open_run(run_dir, device)
    _notes(opened)
    cfg, data = _with_sampler(opened.cfg, sampler, cycle_steps), opened.data
    start = None
    if initial is not None:
        start = torch.as_tensor(load_states(initial, data.dim, data.kind == "binary"))
        if n is not None and n != start.shape[0]:
            raise ConfigError(f"--n {n} differs from the {start.shape[0]} rows of --initial")
    n = start.shape[0] if start is not None else (n or 5000)
    check_fits(3 * 4 * n * data.dim, f"{n:,} samples", "--n")  # the chains, output and .npy
    opened.model.eval()
    with Progress("sample", n, progress, unit="chain") as bar:
        samples = opened.kind.sample(cfg, opened.model, data, n, steps, seed, start, bar.update)
    save_npy_atomic(Path(out), samples.numpy())
    q = sample_quality(samples, held_out(cfg, data), modes=data.modes,
                       mode_radius=cfg.eval.mode_radius, seed=seed)
    began = "from --initial" if start is not None else "past the start"
    line = (f"wrote {n} samples ({steps} steps of the {opened.kind.sampler_name(cfg)} {began}) "
            f"to {out}; sliced W2 {q.sliced_wasserstein:.3f}")
    if q.mode_shares is not None:
        shares = ", ".join(f"{s:.3f}" for s in q.mode_shares)
        line += f"; {100 * q.near_mode_fraction:.1f}% near a mode; mode shares [{shares}]"
    click.echo(line)


def _with_sampler(cfg, sampler: str | None, cycle_steps: int | None):
    """``cfg`` with ``eval.sampler`` / ``eval.cycle_steps`` replaced where given."""
    changes = {k: v for k, v in (("sampler", sampler), ("cycle_steps", cycle_steps))
               if v is not None}
    return dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, **changes))


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--trajectories", type=click.IntRange(min=1), default=None,
              help="Heating trajectories per example for the IS estimate [default: config].")
@click.option("--examples", type=click.IntRange(min=1), default=None,
              help="Held-out examples [default: config eval.n_examples].")
@click.option("--samples", type=click.IntRange(min=2), default=None,
              help="Samples for sample quality [default: config eval.n_samples].")
@click.option("--split", type=click.Choice(["valid", "test"]), default=None,
              help="Held-out split [default: config eval.split]; report final numbers on test.")
@click.option("--proposal-temperatures", "proposals", default=None, metavar="T1,T2,...",
              help="IS proposals: the heating kernel at these multiples of each step's "
                   "temperature; with several, the best on validation examples scores "
                   "[default: config eval.proposal_temperatures].")
@click.option("--seed", type=SEED, default=0, help="Evaluation seed.")
@click.option("--device", default="cpu", help="cpu, cuda or cuda:N.")
@click.option("--progress/--no-progress", default=None, help=PROGRESS_HELP)
@_threads
@_guard
def evaluate(run_dir, trajectories, examples, samples, split, proposals, seed, device,
             progress):
    """Held-out bound, IS log-likelihood and sample quality of a run; writes RUN_DIR/eval.json."""
    opened = open_run(run_dir, device)
    _notes(opened)
    cfg, run = opened.cfg, opened.run
    if split is not None:
        cfg = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, split=split))
    if proposals is not None:
        cfg = dataclasses.replace(cfg, eval=dataclasses.replace(
            cfg.eval, proposal_temperatures=_temperatures(proposals)))
    with _writer(run, "evaluate"):
        evaluation = opened.kind.evaluate(cfg, run, opened.model, opened.data, seed,
                                          progress=progress, n_examples=examples,
                                          n_trajectories=trajectories, n_samples=samples)
        _draw_evaluation(run, evaluation, opened.kind.chain_steps)
        refresh_summary(run, evaluation.result)
    click.echo(f"{opened.kind.evaluation_line(evaluation.result['loglik'])}; wrote {run.eval}")


def _temperatures(text: str) -> list[float]:
    """``--proposal-temperatures``: positive numbers separated by commas."""
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        values = []
    if not values or not all(v > 0 and math.isfinite(v) for v in values):
        raise ConfigError(f"--proposal-temperatures: expected positive numbers separated by "
                          f"commas, got {text!r}")
    return values


def _int_list(text: str | None, option: str = "--units") -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError as exc:
        raise ConfigError(f"{option}: expected comma-separated integers, got {text!r}") from exc


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [t.strip() for t in text.split(",") if t.strip()]


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False), required=False)
@click.option("--trajectory", type=click.Path(dir_okay=False), default=None,
              help="Analyse a recording instead of a run: .npy/.npz/.h5 ([T, D] or "
                   "[chains, T, D]) or .nwb (spike times or a TimeSeries).")
@click.option("--discrete", is_flag=True,
              help="[recording] The trajectory holds integer states ([T] or [chains, T]).")
@click.option("--key", default=None,
              help="[recording] Array of an .npz, dataset of an HDF5 file, or TimeSeries of an "
                   "NWB file [default: the only one; NWB: the Units table].")
@click.option("--bin-ms", type=float, default=None,
              help="[recording] Bin width for NWB spike times, milliseconds.")
@click.option("--rates", is_flag=True,
              help="[recording] Binned spikes as rates (spikes/s), not counts.")
@click.option("--trials", default=None, is_flag=False, flag_value="trials",
              help="[recording] NWB intervals table whose intervals become separate chains "
                   "(--trials alone: 'trials').")
@click.option("--condition", default=None,
              help="[recording] Column of the --trials table: one analysis per condition.")
@click.option("--units", default=None,
              help="[recording] Comma-separated NWB unit ids or array columns.")
@click.option("--dt", type=float, default=None,
              help="[recording] Seconds per step, for rates per second [default: from the NWB "
                   "file].")
@click.option("--methods", default=None,
              help="[recording] Estimators: plugin, hkmeans, tur, var [default: plugin,tur,var; "
                   "plugin for --discrete].")
@click.option("--power", is_flag=True,
              help="[recording] Also estimate the recording length needed to detect the entropy "
                   "production at 80% power.")
@click.option("--chains", type=click.IntRange(min=2), default=1000,
              help="[run] Parallel chains for the kernel-exact estimate.")
@click.option("--steps", type=click.IntRange(min=10), default=500,
              help="[run] T=1 transitions per chain that are averaged.")
@click.option("--burn-in", type=click.IntRange(min=0), default=200,
              help="[run] T=1 transitions discarded after the cool-down.")
@click.option("--bins", type=click.IntRange(min=2), default=20,
              help="Grid bins per axis of the coarse-grained estimate of 2-D data.")
@click.option("--current-bins", type=BinCount(), default="auto",
              help="Grid bins per axis of the current figure, or auto: the width of a bin is "
                   "the chain's median one-step displacement.")
@click.option("--clusters", type=click.IntRange(min=2), default=50,
              help="k-means states for coarse-graining data of more than 2 dimensions.")
@click.option("--seed", type=SEED, default=0, help="Analysis seed.")
@click.option("--device", default="cpu", help="[run] cpu, cuda or cuda:N.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="[recording] Output folder [default: FILE_analysis beside the file].")
@_threads
@_guard
def analyze(run_dir, trajectory, chains, steps, burn_in, bins, current_bins, clusters, seed,
            device, out, **recording):
    """Entropy production, mixing, probability currents and connectivity of RUN_DIR's
    stationary chain, or of a recording (--trajectory); writes analysis.json and figures.

    Options marked [run] apply to RUN_DIR, [recording] to --trajectory; the others to both."""
    from biovw.runs.analyze import RecordingOptions

    if (run_dir is None) == (trajectory is None):
        raise ConfigError("give either RUN_DIR or --trajectory FILE")
    if trajectory is not None:
        options = RecordingOptions(**{**recording, "units": _int_list(recording["units"]),
                                      "methods": _names(recording["methods"])})
        path, lines = _analyze_recording(trajectory, out, options, bins, current_bins,
                                         clusters, seed)
    else:
        if recording["discrete"]:
            raise ConfigError("--discrete applies to --trajectory only")
        opened = open_run(run_dir, device)
        _notes(opened)
        opened.model.eval()
        with _writer(opened.run, "analyze"):
            path, lines = _analyze_run(opened, chains, steps, burn_in, bins, current_bins,
                                       clusters, seed)
    for line in lines:
        click.echo(line)
    click.echo(f"wrote {path}")


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--n", "n", type=click.IntRange(min=4), default=2000, help="Number of chains.")
@click.option("--steps", default="0,10,100,1000,10000",
              help="Comma-separated sampler steps at which the chains are scored.")
@click.option("--groups", type=click.IntRange(min=2), default=10,
              help="Disjoint groups of chains whose spread is the metrics' noise.")
@_start_options
@click.option("--split", type=click.Choice(["valid", "test"]), default=None,
              help="Held-out split the samples are scored against [default: the run's "
                   "eval.split]; report final numbers on test.")
@click.option("--seed", type=SEED, default=0, help="Seed of the chains and the metrics.")
@click.option("--name", default=None,
              help="File stem of the report and its figures [default: stationarity, with "
                   "_START and _SAMPLER unless cooldown and chain].")
@click.option("--device", default="cpu", help="cpu, cuda or cuda:N.")
@_threads
@_guard
def stationarity(run_dir, n, steps, groups, start, start_label, sampler, cycle_steps, split,
                 seed, name, device):
    """Sample quality of RUN_DIR's sampler against the number of steps from a start, with
    group-to-group noise, the paired change from the first to the last snapshot, the first
    snapshot whose mode or class shares are within the data's spread, and the share of chains
    that left their starting mode; writes RUN_DIR/NAME.json (stationarity[_START][_SAMPLER]) and
    its figures."""
    from biovw.runs.stationarity import check_stationarity, report_name

    opened = open_run(run_dir, device)
    _notes(opened)
    cfg = _with_sampler(opened.cfg, sampler, cycle_steps)
    if split is not None:
        cfg = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, split=split))
    counts = _int_list(steps, "--steps")
    run, name = opened.run, _report_stem(name or report_name(start, cfg.eval.sampler))
    with _writer(run, "stationarity"):
        try:
            report = check_stationarity(cfg, opened.model, opened.data, n, counts, seed,
                                        groups, start, start_label)
        except (TypeError, ValueError) as exc:
            raise ConfigError(str(exc)) from exc
        result = report.to_dict()
        run.write_json(run.root / f"{name}.json", result)
        curves = plots.stationarity_curves(result, run.figures / f"{name}.png")
        grids = plots.chain_over_time(report.samples, report.image_shape,
                                      run.figures / f"{name}_samples.png",
                                      reference=report.reference, split=report.split)
    for s in report.steps:
        g = report.groups[str(s)]
        click.echo(f"{s:>6} steps: " + ", ".join(
            f"{k} {v['mean']:.4g} ± {v['sd']:.2g}" for k, v in g.items()))
    reached = ", ".join(f"{k} within the data's spread at {v if v is not None else 'no'} step"
                        f"{'' if v == 1 else 's'}" for k, v in report.steps_to_data.items())
    click.echo(f"{report.verdict} ({report.n_chains} chains in {report.n_groups} groups, "
               f"start {start}, {report.sampler}, {report.seconds:.0f} s)"
               + (f"; {reached}" if reached else ""))
    click.echo(f"wrote {curves}, {grids} and {run.root / f'{name}.json'}")


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--chains", type=click.IntRange(min=2), default=200, help="Independent chains.")
@click.option("--steps", type=click.IntRange(min=3), default=1000,
              help="Recorded sampler steps per chain.")
@click.option("--burn-in", type=click.IntRange(min=0), default=0,
              help="Sampler steps run before recording.")
@_start_options
@click.option("--seed", type=SEED, default=0, help="Seed of the chains.")
@click.option("--name", default=None,
              help="File stem of the report [default: mixing, with _START and _SAMPLER "
                   "unless cooldown and chain].")
@click.option("--device", default="cpu", help="cpu, cuda or cuda:N.")
@_threads
@_guard
def mixing(run_dir, chains, steps, burn_in, start, start_label, sampler, cycle_steps, seed,
           name, device):
    """How fast RUN_DIR's sampler mixes: integrated autocorrelation time, effective samples
    per step, per transition and per second, split-R-hat and mode or class switches per step;
    writes RUN_DIR/NAME.json (mixing[_START][_SAMPLER])."""
    from biovw.runs.mixing import measure_mixing
    from biovw.runs.stationarity import report_name

    opened = open_run(run_dir, device)
    _notes(opened)
    cfg = _with_sampler(opened.cfg, sampler, cycle_steps)
    name = _report_stem(name or report_name(start, cfg.eval.sampler, "mixing"))
    path = opened.run.root / f"{name}.json"
    with _writer(opened.run, "mixing"):
        try:
            result = measure_mixing(opened.kind, cfg, opened.model, opened.data,
                                    n_chains=chains, n_steps=steps, burn_in=burn_in, seed=seed,
                                    start=start, start_label=start_label)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        opened.run.write_json(path, result)
    click.echo(f"{result['sampler']}, start {start}: {mixing_line(result)}; "
               f"{result['ess_per_transition']:.3g} effective samples per transition")
    click.echo(f"wrote {path}")


@main.command(context_settings=CONTEXT)
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), default="comparison",
              help="Folder for comparison.md, comparison.csv and comparison.png.")
@click.option("--allow-mixed", is_flag=True,
              help="Compare runs evaluated on different held-out data (numbers then differ "
                   "in meaning).")
@_guard
def compare(run_dirs, out, allow_mixed):
    """Put VW circuits and Boltzmann baselines side by side: held-out log-likelihood, sample
    quality, entropy production, steps to mix and training time."""
    from biovw.runs.compare import MixedHeldOut, compare_runs

    try:
        table = compare_runs(list(run_dirs), out, allow_mixed=allow_mixed)
    except MixedHeldOut as exc:
        raise ConfigError(f"{exc} (pass --allow-mixed to compare them anyway)") from exc
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    figure = plots.comparison_figure(table.rows, Path(out) / "comparison.png")
    click.echo(table.markdown)
    click.echo(f"wrote {table.markdown_path}, {table.csv_path} and {figure}")


@main.command(context_settings=CONTEXT)
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--grid", "grid", multiple=True, metavar="SECTION.KEY=V1,V2,...",
              help="A swept config key and its values (repeatable; the grid is their product), "
                   "e.g. --grid rule.name=fa,backprop,kp.")
@click.option("--seeds", default=None, metavar="S1,S2,...",
              help="Seeds of every grid point [default: the config's seed].")
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Override a config value for every trial (repeatable).")
@click.option("--address", default=None,
              help="An existing Ray cluster: auto or ray://HOST:PORT [default: start a local "
                   "cluster with this machine's cores and stop it at the end].")
@click.option("--cpus-per-trial", type=click.IntRange(min=1), default=1,
              help="CPUs Ray reserves for each trial; also its torch threads.")
@click.option("--gpus-per-trial", type=click.FloatRange(min=0), default=0.0,
              help="GPUs Ray reserves for each trial (a fraction shares one); above 0 trials "
                   "train on cuda.")
@click.option("--out", type=click.Path(file_okay=False), required=True,
              help="The sweep's folder: a run directory per trial, sweep.json, the tables and "
                   "the figure. Run the same command again to continue a sweep.")
@click.option("--dry-run", is_flag=True,
              help="Validate every trial's configuration, list the trials and what the sweep "
                   "would do with each (new, resume, finished), stop.")
@_guard
def sweep(config, grid, seeds, overrides, address, cpus_per_trial, gpus_per_trial, out,
          dry_run):
    """Train and evaluate CONFIG at every point of a grid and every seed, each trial a Ray task
    and an ordinary run directory under --out; then one table with the mean ± sd over seeds of
    every grid point (sweep.md, sweep.csv) and its figure (sweep.png). A failed trial is
    reported and the others go on; running the same command again skips finished trials and
    resumes the others from their checkpoints."""
    from biovw.runs.sweep import run_sweep, trial_states
    from biovw.runs.sweep_plan import parse_grid, parse_seeds, plan_sweep

    base = load_config(config, list(overrides))
    plan = plan_sweep(base, parse_grid(grid), parse_seeds(seeds, base.seed))
    if dry_run:
        what = {"new": "new", "unfinished": "resume", "finished": "finished, skipped"}
        for name, state in trial_states(plan, out).items():
            click.echo(f"{Path(out) / name}: {what[state]}")
        click.echo(f"config ok: {len(plan.trials)} trials")
        return
    terminated = []  # Ray's wait turns any KeyboardInterrupt into a plain one

    def on_sigterm(signum, frame):
        terminated.append(signum)
        raise _Terminated

    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        signal.signal(signal.SIGTERM, on_sigterm)  # _guard restores the previous handler
    try:
        result = run_sweep(plan, out, address=address, cpus_per_trial=cpus_per_trial,
                           gpus_per_trial=gpus_per_trial, draw=draw_run_figures,
                           report=click.echo)
    except KeyboardInterrupt as exc:
        name, code = (("SIGTERM", EXIT_SIGTERM) if terminated or isinstance(exc, _Terminated)
                      else ("SIGINT", EXIT_SIGINT))
        raise _Stopped(f"stopped by {name}; the trials keep their checkpoints and the same "
                       "command continues the sweep", code) from exc
    table = result.table
    figure = plots.sweep_figure(table.rows, Path(out) / "sweep.png")
    click.echo(table.markdown)
    click.echo(f"wrote {table.markdown_path}, {table.csv_path}, {figure} and "
               f"{result.manifest_path}")
    if result.failed:
        names = ", ".join(f"{t['name']} ({t['status']})" for t in result.failed)
        _fail(f"{len(result.failed)} of {len(result.manifest['trials'])} trials did not finish: "
              f"{names}; see {result.manifest_path}, fix the cause and run the same command "
              "again to continue", EXIT_TRIALS_FAILED)


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--backend", type=click.Choice(SIMULATE_BACKENDS), default="torch",
              help="torch (the batched sampler) or brian2.")
@click.option("--chains", type=click.IntRange(min=1), default=100, help="Independent chains.")
@click.option("--steps", type=click.IntRange(min=0), default=1000,
              help="Transitions at T=1 after the cool-down.")
@click.option("--no-noise", is_flag=True,
              help="Follow the kernel's mean (Gaussian mean, Bernoulli firing probabilities): "
                   "deterministic chains.")
@click.option("--target", type=click.Choice(BRIAN_TARGETS), default=None,
              help="Brian2 code generation [default: numpy].")
@click.option("--recurrence", type=click.Choice(BRIAN_RECURRENCES), default="synapses",
              help="Brian2 recurrent input: synapses (summed variable) or matrix (dense "
                   "product in a function).")
@click.option("--seed", type=SEED, default=0, help="Seed of the initial states and the noise.")
@click.option("--initial", type=click.Path(dir_okay=False), default=None,
              help=".npy of states [chains, D] to start from at T=1, with no cool-down "
                   "(sets --chains).")
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="Output .npy: states [chains, steps + 1, D] (float64).")
@click.option("--device", default="cpu", help="cpu, cuda or cuda:N (torch backend only).")
@_threads
@_guard
def simulate(run_dir, backend, chains, steps, no_noise, target, recurrence, seed, initial,
             out, device):
    """Run chains of RUN_DIR's trained rate circuit with torch or as a Brian2 network and save
    their states at T=1 from the cooled-down chain (or from --initial) on (for analyze
    --trajectory)."""
    from biovw.data import load_states
    from biovw.runs.simulate import prior_draws, run_spec, simulate_spec

    if not out.endswith(".npy"):
        raise ConfigError(f"--out must end in .npy, got {out}")
    dev = resolve_device(device)
    opened = open_run(run_dir)
    _notes(opened)
    spec = run_spec(opened)
    start = None if initial is None else load_states(
        initial, opened.data.dim, opened.data.kind == "binary")
    started = time.perf_counter()
    states = simulate_spec(spec, backend, chains, steps, noise=not no_noise, target=target,
                           recurrence=recurrence, seed=seed, device=dev, initial=start)
    seconds = time.perf_counter() - started
    save_npy_atomic(Path(out), states)
    how = backend if backend == "torch" else f"{backend} {target or 'numpy'}, {recurrence}"
    click.echo(f"wrote states {list(states.shape)} ({how}, noise {'off' if no_noise else 'on'}) "
               f"to {out} in {seconds:.1f} s")
    if start is None:  # the draws from p* it cooled down from, for the exported script
        drawn = Path(out[: -len(".npy")] + ".start.npy")
        save_npy_atomic(drawn, prior_draws(spec, chains, seed))
        click.echo(f"wrote the draws from p* it started from to {drawn}; the exported script "
                   f"retraces these chains with --start {shlex.quote(str(drawn.resolve()))}")


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), required=True,
              help="New folder for the description and the Brian2 script.")
@_guard
def export(run_dir, out):
    """Write RUN_DIR's trained rate circuit as a description (JSON + npz) with a standalone
    Brian2 script that runs it with brian2 and numpy alone."""
    from biovw.runs.simulate import export_run

    opened = open_run(run_dir)
    _notes(opened)
    written = export_run(opened, out)
    click.echo(f"wrote {', '.join(str(p.relative_to(out)) for p in written)} to {out}; run it "
               f"with: cd {shlex.quote(str(out))} && python simulate_circuit.py --chains 100 "
               f"--steps 1000")


@main.command(context_settings=CONTEXT)
@click.option("--out", type=click.Path(file_okay=False), required=True,
              help="Folder for results.json, results.csv, report.md and power.png.")
@click.option("--quick", is_flag=True,
              help="Two lengths (1000, 3000) and 6 recordings per cell (a smoke test).")
@click.option("--lengths", default=None,
              help="Comma-separated recording lengths [default: 1000,3000,10000].")
@click.option("--repeats", type=click.IntRange(min=2), default=None,
              help="Recordings per cell [default: 40, quick 6].")
@click.option("--run", "run_dir", type=click.Path(file_okay=False), default=None,
              help="Trained walk-back run whose kernel joins the benchmark [default: train a "
                   "small rate circuit].")
@click.option("--vw/--no-vw", default=True, help="Include a learned VW kernel.")
@click.option("--chains", "only", default=None,
              help="Comma-separated chains to run (ring, ising, rotating_ar1, driven_ou, iid, vw) "
                   "[default: all].")
@click.option("--page", "--readme", "readme", type=click.Path(dir_okay=False), default=None,
              help="Rewrite the block between <!-- results:epbench --> markers of this file.")
@click.option("--seed", type=SEED, default=0, help="Seed of the simulations.")
@_guard
def epbench(out, quick, lengths, repeats, run_dir, vw, only, readme, seed):
    """Benchmark entropy-production estimators on chains with exact answers: bias, interval
    coverage, power at alpha 0.05 and time, against the irreversibility package's tests."""
    from biovw.reports.pages import splice
    from biovw.runs.epbench import run_epbench

    sizes = _int_list(lengths, "--lengths") or ([1000, 3000] if quick else [1000, 3000, 10000])
    chosen = None if only is None else set(_names(only))
    command = "biovw epbench " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["epbench"] else (
        "biovw epbench")
    result = run_epbench(out, lengths=sizes, repeats=repeats or (6 if quick else 40),
                         chains=chosen, learned=vw, run_dir=run_dir, quick=quick, seed=seed,
                         command=command, progress=lambda line: click.echo(line, err=True))
    plots.power_curves(result.rows, Path(out) / "power.png")
    if readme is not None and not splice(Path(readme), "epbench", result.report + "\n"):
        raise ConfigError(f"--page: {readme} has no <!-- results:epbench --> block")
    click.echo(result.report)
    click.echo(f"wrote {Path(out) / 'results.json'}, results.csv, report.md and power.png")


@main.command(context_settings=CONTEXT)
@click.option("--out", type=click.Path(dir_okay=False), default="bench.json",
              help="JSON file for the results.")
@click.option("--device", default="cpu", help="cpu, cuda or cuda:N.")
@click.option("--quick", is_flag=True, help="Small sizes (a smoke test of the benchmarks).")
@_threads
@_guard
def bench(out, device, quick):
    """Measure speed as ratios taken in one process and write them as JSON: the kernel-exact
    estimator, the RBM against scikit-learn, torch against Brian2, the T=1 sampler and the IS
    evaluation against a same-shape matmul, and training against a same-shape matmul."""
    from biovw.runs import bench as benches
    from biovw.runs.provenance import environment
    from biovw.runs.rundir import write_text_atomic

    resolve_device(device)
    results = {"environment": environment()}
    size = 100_000 if quick else 1_000_000
    results["kernel_estimator"] = benches.bench_kernel_estimator(size, device=device)
    k = results["kernel_estimator"]
    click.echo(f"kernel-exact entropy production: {k['n_transitions']} transitions of a "
               f"{k['n_units']}-unit circuit in {k['seconds']} s "
               f"({k['ratio_to_matmul']:.2f} of plain matmul FLOP/s)")
    r = results["rbm_vs_sklearn"] = benches.bench_rbm(quick=quick)
    click.echo(f"RBM epoch time vs scikit-learn's BernoulliRBM (same hidden units, batch, lr, "
               f"epochs): ratio {r['ratio']:.3f}")
    sizes = {"sizes": ((40, 10, 20),), "targets": ("numpy",)} if quick else {}
    b = results["brian2_vs_torch"] = benches.bench_brian2(**sizes)
    for s in b["sizes"]:
        brian2 = "; ".join(f"{target} {rec} {v:g}" for target, by in s["brian2"].items()
                           for rec, v in by.items())
        click.echo(f"chain steps/s, {s['n_units']} units x {s['n_chains']} chains: torch "
                   f"{s['torch_float32']:g} (float32), {s['torch_float64']:g} (float64); "
                   f"brian2 {brian2}")
    sampling = results["sampling"] = benches.bench_sampling(device=device, quick=quick,
                                                            budget=1.0 if quick else 3.0)
    for name, r in sampling.items():
        click.echo(f"T=1 sampler, {name} circuit ({r['n_units']} units x {r['chains']} chains): "
                   f"{r['chain_steps_per_second']:.3g} chain steps/s, "
                   f"{r['ratio_to_matmul']:.2f} of matmul FLOP/s")
    lik = results["likelihood"] = benches.bench_likelihood(device=device, quick=quick,
                                                           budget=1.0 if quick else 3.0)
    click.echo(f"IS evaluation, default circuit: {lik['trajectories_per_second']:.3g} "
               f"trajectories/s, {lik['ratio_to_matmul']:.2f} of matmul FLOP/s")
    training = {"sizes": (32, 64), "budget": 1.0} if quick else {}
    t = results["training"] = benches.bench_training(device=device, **training)
    for hidden, by_rule in t.items():
        line = "; ".join(f"{rule} {r['iterations_per_second']:.3g} it/s, "
                         f"{r['ratio_to_matmul']:.2f} of matmul FLOP/s"
                         for rule, r in by_rule.items())
        click.echo(f"training, {hidden} hidden units (batch 256, 5 settle steps): {line}")
    write_text_atomic(Path(out), json.dumps(results, indent=2) + "\n")
    click.echo(f"wrote {out}")


if __name__ == "__main__":
    main()
