"""Command-line interface: ``biovw train | resume | sample | evaluate | analyze | compare |
simulate | export | bench``. Each command calls the composition root (:mod:`biovw.runs`),
prints what it returns and draws its figures (:mod:`biovw.plots`)."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import click

from biovw import plots
from biovw.config import ConfigError, config_from_dict, load_config
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
from biovw.runs.evaluation import Evaluation
from biovw.runs.rundir import save_npy_atomic
from biovw.runs.summary import headline, refresh_summary, write_summary

EXIT_DIVERGED = 3
CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True}


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _guard(fn):
    """Turn the library's expected errors into one line on stderr and a non-zero exit."""

    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ConfigError, DataError, CheckpointError) as exc:
            _fail(str(exc))
        except TrainingDiverged as exc:
            _fail(str(exc), EXIT_DIVERGED)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _draw_evaluation(run: RunDir, evaluation: Evaluation) -> None:
    plots.evaluation_figures(evaluation.samples, evaluation.reference, evaluation.image_shape,
                             evaluation.main_snapshot, run.figures)


def _draw_currents(analysis: Analysis, figures: Path) -> None:
    if analysis.currents is not None:
        plots.current_field(analysis.currents, figures / "currents.png", analysis.title)


def _finish(cfg, run, model, data, elapsed, seed, progress) -> None:
    kind = MODEL_KINDS[cfg.model]
    evaluation = kind.evaluate(cfg, run, model, data, seed, progress=progress)
    _draw_evaluation(run, evaluation)
    plots.training_figures(run.read_metrics(), run.figures, **kind.loss_curve(cfg))
    n_params = sum(p.numel() for p in model.parameters())
    summary = write_summary(cfg, run, evaluation.result, elapsed, n_params, model)
    click.echo(headline(summary))
    click.echo(f"run directory: {run.root}")


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="biovw")
def main() -> None:
    """Learn biologically plausible circuits as transition operators with Variational Walkback."""


@main.command(context_settings=CONTEXT)
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Override a config value (repeatable), e.g. --set train.steps=200.")
@click.option("--seed", type=int, default=None, help="Override the config's seed.")
@click.option("--device", default="cpu", help="cpu, cuda or cuda:N.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run directory [default: runs/NAME-YYYYmmdd-HHMMSS].")
@click.option("--dry-run", is_flag=True, help="Validate config and data, build the model, stop.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bars [default: on when stderr is a terminal].")
@_guard
def train_cmd(config, overrides, seed, device, out, dry_run, progress):
    """Train the circuit described by CONFIG and evaluate it."""
    extra = [*overrides, f"seed={seed}"] if seed is not None else list(overrides)
    cfg = load_config(config, extra)
    dev = resolve_device(device)
    data, model = build_run(cfg, dev)
    n_params = sum(p.numel() for p in model.parameters())
    kind = MODEL_KINDS[cfg.model]
    if dry_run:
        click.echo(f"config ok: {cfg.name}; data {data.name} train/valid/test "
                   f"{len(data.train)}/{len(data.valid)}/{len(data.test)}, dim {data.dim}; "
                   f"{kind.describe(cfg)} with {n_params} parameters on {dev}")
        return
    run = RunDir(out or Path("runs") / f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    if run.root.exists() and any(run.root.iterdir()):
        raise ConfigError(f"--out: {run.root} exists and is not empty (use biovw resume)")
    model, elapsed = kind.train(cfg, run, model, data, progress=progress)
    _finish(cfg, run, model, data, elapsed, cfg.seed, progress)


train_cmd.name = "train"


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--steps", type=int, default=None,
              help="New total number of iterations [default: the run's train.steps].")
@click.option("--device", default="cpu", help="cpu, cuda or cuda:N.")
@click.option("--progress/--no-progress", default=None, help="Progress bars.")
@_guard
def resume(run_dir, steps, device, progress):
    """Continue a stopped or killed run from its latest checkpoint, then evaluate it.

    RBM baselines train deterministically in seconds and are trained again from the start."""
    opened = open_run(run_dir, device)
    cfg, kind = opened.cfg, opened.kind
    if steps is not None:
        if steps < opened.payload["step"]:
            raise ConfigError(f"--steps {steps} is below the checkpoint's step "
                              f"{opened.payload['step']}")
        cfg = config_from_dict(cfg.to_dict(), [f"{kind.iterations_key}={steps}"])
    model, elapsed = kind.train(cfg, opened.run, opened.model, opened.data, resume=True,
                                progress=progress)
    _finish(cfg, opened.run, model, opened.data, elapsed, cfg.seed, progress)


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--n", "n", type=click.IntRange(min=1), default=5000, help="Number of samples.")
@click.option("--steps", type=click.IntRange(min=0), default=0,
              help="Extra T=1 steps after the cool-down.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Output .npy file.")
@click.option("--seed", type=int, default=0, help="Sampling seed.")
@click.option("--device", default="cpu", help="cpu, cuda or cuda:N.")
@_guard
def sample(run_dir, n, steps, out, seed, device):
    """Draw N samples from a trained run, STEPS extra steps past the cool-down (for an RBM
    baseline: STEPS block-Gibbs steps, at least 1)."""
    from biovw.quality import sample_quality
    from biovw.runs.evaluation import held_out

    if not out.endswith(".npy"):
        raise ConfigError(f"--out must end in .npy, got {out}")
    opened = open_run(run_dir, device)
    cfg, data = opened.cfg, opened.data
    opened.model.eval()
    samples = opened.kind.sample(cfg, opened.model, data, n, steps, seed)
    save_npy_atomic(Path(out), samples.numpy())
    q = sample_quality(samples, held_out(cfg, data), modes=data.modes,
                       mode_radius=cfg.eval.mode_radius, seed=seed)
    line = f"wrote {n} samples ({steps} extra steps) to {out}; sliced W2 {q.sliced_wasserstein:.3f}"
    if q.mode_shares is not None:
        shares = ", ".join(f"{s:.3f}" for s in q.mode_shares)
        line += f"; {100 * q.near_mode_fraction:.1f}% near a mode; mode shares [{shares}]"
    click.echo(line)


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
@click.option("--seed", type=int, default=0, help="Evaluation seed.")
@click.option("--device", default="cpu", help="cpu, cuda or cuda:N.")
@click.option("--progress/--no-progress", default=None, help="Progress bars.")
@_guard
def evaluate(run_dir, trajectories, examples, samples, split, seed, device, progress):
    """Held-out bound, IS log-likelihood and sample quality of a run; writes RUN_DIR/eval.json."""
    opened = open_run(run_dir, device)
    cfg, run = opened.cfg, opened.run
    if split is not None:
        cfg = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, split=split))
    evaluation = opened.kind.evaluate(cfg, run, opened.model, opened.data, seed,
                                      progress=progress, n_examples=examples,
                                      n_trajectories=trajectories, n_samples=samples)
    _draw_evaluation(run, evaluation)
    refresh_summary(run, evaluation.result)
    click.echo(f"{opened.kind.evaluation_line(evaluation.result['loglik'])}; wrote {run.eval}")


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False), required=False)
@click.option("--trajectory", type=click.Path(dir_okay=False), default=None,
              help="Analyse a trajectory .npy instead of a run: [T, D] or [chains, T, D].")
@click.option("--discrete", is_flag=True,
              help="The trajectory holds integer states ([T] or [chains, T]).")
@click.option("--chains", type=click.IntRange(min=2), default=1000,
              help="Parallel chains for the kernel-exact estimate.")
@click.option("--steps", type=click.IntRange(min=10), default=500,
              help="T=1 transitions per chain that are averaged.")
@click.option("--burn-in", type=click.IntRange(min=0), default=200,
              help="T=1 transitions discarded after the cool-down.")
@click.option("--bins", type=click.IntRange(min=2), default=20,
              help="Grid bins per axis (currents; grid coarse-graining of 2-D data).")
@click.option("--clusters", type=click.IntRange(min=2), default=50,
              help="k-means states for coarse-graining data of more than 2 dimensions.")
@click.option("--seed", type=int, default=0, help="Analysis seed.")
@click.option("--device", default="cpu", help="cpu, cuda or cuda:N.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output folder for --trajectory [default: FILE_analysis beside the file].")
@_guard
def analyze(run_dir, trajectory, discrete, chains, steps, burn_in, bins, clusters, seed,
            device, out):
    """Entropy production, probability currents and connectivity of RUN_DIR's stationary
    chain, or of a trajectory file (--trajectory); writes analysis.json and figures."""
    from biovw.runs.analyze import analyze_trajectory, load_trajectory

    if (run_dir is None) == (trajectory is None):
        raise ConfigError("give either RUN_DIR or --trajectory FILE.npy")
    if trajectory is not None:
        x = load_trajectory(trajectory, discrete)
        run = RunDir(out or Path(trajectory).with_suffix("").as_posix() + "_analysis")
        run.figures.mkdir(parents=True, exist_ok=True)
        analysis = analyze_trajectory(x, discrete=discrete, bins=bins, n_clusters=clusters,
                                      seed=seed)
        source = str(trajectory)
    else:
        if discrete:
            raise ConfigError("--discrete applies to --trajectory only")
        opened = open_run(run_dir, device)
        run = opened.run
        opened.model.eval()
        analysis = opened.kind.analyze(opened.cfg, opened.model, opened.data, n_chains=chains,
                                       n_steps=steps, burn_in=burn_in, bins=bins,
                                       n_clusters=clusters, seed=seed)
        source = str(run.root)
    result = {**analysis.result, "source": source}
    _draw_currents(analysis, run.figures)
    path = run.root / "analysis.json"
    run.write_json(path, result)
    for method, ep in result["entropy_production"].items():
        bound = " (lower bound)" if method == "coarse_grained" else ""
        click.echo(f"entropy production [{method}]{bound}: {ep['value']:.4g} "
                   f"[{ep['ci_low']:.4g}, {ep['ci_high']:.4g}] nats/step")
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
    from biovw.runs.compare import compare_runs

    try:
        table = compare_runs(list(run_dirs), out, allow_mixed=allow_mixed)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    figure = plots.comparison_figure(table.rows, Path(out) / "comparison.png")
    click.echo(table.markdown)
    click.echo(f"wrote {table.markdown_path}, {table.csv_path} and {figure}")


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--backend", default="torch", help="torch (the batched sampler) or brian2.")
@click.option("--chains", type=click.IntRange(min=1), default=100, help="Independent chains.")
@click.option("--steps", type=click.IntRange(min=0), default=1000,
              help="Transitions at T=1 after the cool-down.")
@click.option("--no-noise", is_flag=True,
              help="Follow the kernel's mean (Gaussian mean, Bernoulli firing probabilities): "
                   "deterministic chains.")
@click.option("--target", default=None,
              help="Brian2 code generation: numpy, cython or cpp_standalone [default: numpy].")
@click.option("--recurrence", default="synapses",
              help="Brian2 recurrent input: synapses (summed variable) or matrix (dense "
                   "product in a function).")
@click.option("--seed", type=int, default=0, help="Seed of the initial states and the noise.")
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="Output .npy: states [chains, steps + 1, D] (float64).")
@_guard
def simulate(run_dir, backend, chains, steps, no_noise, target, recurrence, seed, out):
    """Run chains of RUN_DIR's trained rate circuit with torch or as a Brian2 network and save
    their states at T=1 from the cooled-down chain on (for analyze --trajectory)."""
    from biovw.runs.simulate import run_spec, simulate_spec

    if not out.endswith(".npy"):
        raise ConfigError(f"--out must end in .npy, got {out}")
    spec = run_spec(open_run(run_dir))
    started = time.perf_counter()
    states = simulate_spec(spec, backend, chains, steps, noise=not no_noise, target=target,
                           recurrence=recurrence, seed=seed)
    seconds = time.perf_counter() - started
    save_npy_atomic(Path(out), states)
    how = backend if backend == "torch" else f"{backend} {target or 'numpy'}, {recurrence}"
    click.echo(f"wrote states {list(states.shape)} ({how}, noise {'off' if no_noise else 'on'}) "
               f"to {out} in {seconds:.1f} s")


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), required=True,
              help="New folder for the description and the Brian2 script.")
@_guard
def export(run_dir, out):
    """Write RUN_DIR's trained rate circuit as a description (JSON + npz) with a standalone
    Brian2 script that runs it with brian2 and numpy alone."""
    from biovw.runs.simulate import export_run

    written = export_run(open_run(run_dir), out)
    click.echo(f"wrote {', '.join(str(p.relative_to(out)) for p in written)} to {out}; run it "
               f"with: cd {out} && python simulate_circuit.py --chains 100 --steps 1000")


@main.command(context_settings=CONTEXT)
@click.option("--out", type=click.Path(dir_okay=False), default="bench.json",
              help="JSON file for the results.")
@click.option("--device", default="cpu", help="cpu, cuda or cuda:N.")
@click.option("--quick", is_flag=True, help="Small sizes (a smoke test of the benchmarks).")
@_guard
def bench(out, device, quick):
    """Measure speed as ratios taken in one process and write them as JSON."""
    from biovw.runs import bench as benches
    from biovw.runs.rundir import write_text_atomic

    resolve_device(device)
    results = {"environment": benches.environment()}
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
    write_text_atomic(Path(out), json.dumps(results, indent=2) + "\n")
    click.echo(f"wrote {out}")


if __name__ == "__main__":
    main()
