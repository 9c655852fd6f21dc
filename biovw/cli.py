"""Command-line interface: ``biovw train | resume | sample | evaluate``."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import click
import torch

from biovw.assemble import assemble, resolve_device
from biovw.checkpoint import CheckpointError
from biovw.config import ConfigError, config_from_dict, load_config
from biovw.data import DataError
from biovw.finish import evaluate_run, headline, refresh_summary, write_summary
from biovw.rundir import RunDir, save_npy_atomic
from biovw.train import TrainingDiverged, load_trained, train

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


def _open_run(run_dir: str, device: str):
    run = RunDir(run_dir)
    if not run.root.is_dir():
        raise ConfigError(f"RUN_DIR: not a directory: {run_dir}")
    dev = resolve_device(device)
    cfg, payload = load_trained(run, dev)
    data, model = assemble(cfg, dev)
    model.load_state_dict(payload["model"])
    return run, cfg, payload, data, model


def _finish(cfg, run, model, data, elapsed, seed, progress) -> None:
    if cfg.model == "rbm":
        from biovw.baselines.run import evaluate_rbm

        evaluation = evaluate_rbm(cfg, run, model, data, seed)
    else:
        evaluation = evaluate_run(cfg, run, model, data, seed, progress)
    n_params = sum(p.numel() for p in model.parameters())
    summary = write_summary(cfg, run, evaluation, elapsed, n_params, model)
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
    data, model = assemble(cfg, dev)
    n_params = sum(p.numel() for p in model.parameters())
    if dry_run:
        click.echo(f"config ok: {cfg.name}; data {data.name} train/valid/test "
                   f"{len(data.train)}/{len(data.valid)}/{len(data.test)}, dim {data.dim}; "
                   f"{cfg.circuit.kind if cfg.model == 'walkback' else 'RBM'} with {n_params} "
                   f"parameters on {dev}")
        return
    run = RunDir(out or Path("runs") / f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    if run.root.exists() and any(run.root.iterdir()):
        raise ConfigError(f"--out: {run.root} exists and is not empty (use biovw resume)")
    _finish(cfg, run, model, data, _train(cfg, run, model, data, progress), cfg.seed, progress)


train_cmd.name = "train"


def _train(cfg, run, model, data, progress, resume=False) -> float:
    """Train a walk-back circuit or an RBM baseline; returns the training seconds."""
    if cfg.model == "rbm":
        from biovw.baselines.run import train_rbm

        return train_rbm(cfg, run, model, data, progress=bool(progress))
    return train(cfg, run, model, data, resume=resume, progress=progress).elapsed


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
    run, cfg, payload, data, model = _open_run(run_dir, device)
    if steps is not None:
        if steps < payload["step"]:
            raise ConfigError(f"--steps {steps} is below the checkpoint's step {payload['step']}")
        key = "train.steps" if cfg.model == "walkback" else "rbm.epochs"
        cfg = config_from_dict(cfg.to_dict(), [f"{key}={steps}"])
    if cfg.model == "rbm":
        data, model = assemble(cfg, model.weight.device)
    elapsed = _train(cfg, run, model, data, progress, resume=True)
    _finish(cfg, run, model, data, elapsed, cfg.seed, progress)


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
    from biovw.evaluate import draw_samples, held_out
    from biovw.quality import sample_quality

    if not out.endswith(".npy"):
        raise ConfigError(f"--out must end in .npy, got {out}")
    run, cfg, _, data, model = _open_run(run_dir, device)
    model.eval()
    if cfg.model == "rbm":
        from biovw.baselines.run import gibbs_samples

        gen = torch.Generator(device=model.weight.device).manual_seed(seed)
        samples = gibbs_samples(model, data, n, [max(steps, 1)], gen)[max(steps, 1)]
    else:
        samples = draw_samples(cfg, model, n, [steps], seed)[steps]
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
    run, cfg, _, data, model = _open_run(run_dir, device)
    if split is not None:
        cfg = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, split=split))
    if cfg.model == "rbm":
        from biovw.baselines.run import evaluate_rbm

        result = evaluate_rbm(cfg, run, model, data, seed, examples, samples)
        refresh_summary(run, result)
        ll = result["loglik"][result["loglik"]["split"]]
        click.echo(f"{result['loglik']['split']}: log-likelihood ({result['loglik']['method']}) "
                   f"{ll['mean']:.3f} ± {ll['se']:.3f} nats/example; wrote {run.eval}")
        return
    result = evaluate_run(cfg, run, model, data, seed, progress, examples, trajectories, samples)
    refresh_summary(run, result)
    ll = result["loglik"][result["loglik"]["split"]]
    click.echo(f"{result['loglik']['split']}: bound {ll['bound']:.3f} ± {ll['bound_se']:.3f}, "
               f"IS ({ll['n_trajectories']} trajectories) {ll['is_loglik']:.3f} ± "
               f"{ll['is_se']:.3f} nats/example, {_convergence(ll)}; wrote {run.eval}")


def _convergence(ll: dict) -> str:
    """How the IS ladder moved, in words."""
    rungs = ", ".join(f"{k}: {v['mean']:.3f}" for k, v in ll["is_by_trajectories"].items())
    verdict = "converged" if ll["converged"] else "NOT converged"
    return f"{verdict} (IS by trajectories {rungs}; median ESS {ll['ess_median']:.1f})"


def _int_list(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError as exc:
        raise ConfigError(f"--units: expected comma-separated integers, got {text!r}") from exc


@main.command(context_settings=CONTEXT)
@click.argument("run_dir", type=click.Path(file_okay=False), required=False)
@click.option("--trajectory", type=click.Path(dir_okay=False), default=None,
              help="Analyse a recording instead of a run: .npy/.npz/.h5 ([T, D] or "
                   "[chains, T, D]) or .nwb (spike times or a TimeSeries).")
@click.option("--discrete", is_flag=True,
              help="The trajectory holds integer states ([T] or [chains, T]).")
@click.option("--key", default=None,
              help="Array of an .npz, dataset of an HDF5 file, or TimeSeries of an NWB file "
                   "[default: the only one; NWB: the Units table].")
@click.option("--bin-ms", type=float, default=None,
              help="Bin width for NWB spike times, milliseconds.")
@click.option("--rates", is_flag=True, help="Binned spikes as rates (spikes/s), not counts.")
@click.option("--trials", default=None, is_flag=False, flag_value="trials",
              help="NWB intervals table whose intervals become separate chains "
                   "(--trials alone: 'trials').")
@click.option("--condition", default=None,
              help="Column of the --trials table: one analysis per condition.")
@click.option("--units", default=None, help="Comma-separated NWB unit ids or array columns.")
@click.option("--dt", type=float, default=None,
              help="Seconds per step, for rates per second [default: from the NWB file].")
@click.option("--methods", default=None,
              help="Estimators: plugin, hkmeans, tur, var [default: plugin,tur,var; plugin "
                   "for --discrete].")
@click.option("--power", is_flag=True,
              help="Also estimate the recording length needed to detect the entropy "
                   "production at 80% power.")
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
def analyze(run_dir, trajectory, discrete, key, bin_ms, rates, trials, condition, units, dt,
            methods, power, chains, steps, burn_in, bins, clusters, seed, device, out):
    """Entropy production, probability currents and connectivity of RUN_DIR's stationary
    chain, or of a recording (--trajectory); writes analysis.json and figures."""
    from biovw.analyze import analyze_model

    if (run_dir is None) == (trajectory is None):
        raise ConfigError("give either RUN_DIR or --trajectory FILE")
    if trajectory is not None:
        run = RunDir(out or Path(trajectory).with_suffix("").as_posix() + "_analysis")
        result, lines = _analyze_recording(
            trajectory, run, discrete=discrete, key=key, bin_ms=bin_ms, rates=rates,
            trials=trials, condition=condition, units=_int_list(units), dt=dt,
            methods=methods, power=power, bins=bins, clusters=clusters, seed=seed)
    else:
        if discrete:
            raise ConfigError("--discrete applies to --trajectory only")
        run, cfg, _, data, model = _open_run(run_dir, device)
        model.eval()
        if cfg.model == "rbm":
            from biovw.analyze import analyze_rbm

            if cfg.rbm.visible != "bernoulli":
                raise ConfigError("analyze supports Bernoulli RBMs (rbm.visible: bernoulli)")
            result = analyze_rbm(model, data, run.figures, n_chains=chains, n_steps=steps,
                                 burn_in=max(burn_in, 1), bins=bins, n_clusters=clusters,
                                 seed=seed)
        else:
            result = analyze_model(model, run.figures, n_chains=chains, n_steps=steps,
                                   burn_in=burn_in, bins=bins, n_clusters=clusters, seed=seed)
        result["source"] = str(run.root)
        lines = []
        for method, ep in result["entropy_production"].items():
            bound = " (lower bound)" if method == "coarse_grained" else ""
            lines.append(f"entropy production [{method}]{bound}: {ep['value']:.4g} "
                         f"[{ep['ci_low']:.4g}, {ep['ci_high']:.4g}] nats/step")
    path = run.root / "analysis.json"
    run.write_json(path, result)
    for line in lines:
        click.echo(line)
    click.echo(f"wrote {path}")


def _analyze_recording(trajectory, run, *, discrete, key, bin_ms, rates, trials, condition,
                       units, dt, methods, power, bins, clusters, seed):
    """Read a recording, estimate its entropy production per condition and draw the
    currents; returns analysis.json's content and the lines to print."""
    from biovw import plots
    from biovw.analysis.report import analyze_recording, summary_lines
    from biovw.data.recordings import read_recording

    if dt is not None and not dt > 0:
        raise ConfigError(f"--dt must be positive, got {dt}")
    recording = read_recording(trajectory, key=key, discrete=discrete, bin_ms=bin_ms,
                               rates=rates, trials=trials, condition=condition, units=units)
    names = None if methods is None else [m.strip() for m in methods.split(",") if m.strip()]
    try:
        report = analyze_recording(recording.chains, discrete=discrete,
                                   dt=dt or recording.dt, conditions=recording.conditions,
                                   methods=names, power=power, bins=bins, clusters=clusters,
                                   seed=seed)
    except ValueError as exc:
        raise DataError(f"--trajectory: {' '.join(str(exc).split())}") from exc
    run.figures.mkdir(parents=True, exist_ok=True)
    for name, field in report.fields.items():
        suffix = "" if len(report.fields) == 1 else f"_{name}"
        plots.current_field(field, run.figures / f"currents{suffix}.png",
                            f"probability current, {name} ({report.result['plane']})")
    result = {**report.result, "source": recording.source, "units": recording.units}
    return result, summary_lines(report)


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
    from biovw.compare import compare_runs

    try:
        table = compare_runs(list(run_dirs), out, allow_mixed=allow_mixed)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    click.echo(table.markdown)
    click.echo(f"wrote {table.markdown_path}, {table.csv_path} and {table.figure_path}")


def _vw_case(run_dir, quick: bool, seed: int):
    """A benchmark case from a learned VW kernel: a trained run's, or a small rate circuit
    trained here; truth is its kernel-exact entropy production (with a batch-means CI)."""
    import tempfile

    import numpy as np

    from biovw.analysis.epbench import BenchCase, Observation
    from biovw.analysis.kernel import entropy_production_kernel, simulate
    from biovw.walkback import StationaryKernel, sample_chain

    if run_dir is not None:
        _, cfg, _, _, model = _open_run(run_dir, "cpu")
        if cfg.model != "walkback":
            raise ConfigError("--run must be a walk-back run (an RBM is reversible)")
    else:
        cfg = config_from_dict({"name": "epbench_vw", "seed": seed,
                                "circuit": {"kind": "rate", "hidden": 32},
                                "train": {"steps": 60 if quick else 200}})
        data, model = assemble(cfg, torch.device("cpu"))
        with tempfile.TemporaryDirectory() as scratch:  # the run's files are not kept
            train(cfg, RunDir(Path(scratch) / "vw_run"), model, data, progress=False)
    model.eval()
    kernel = StationaryKernel(model)
    gen = torch.Generator().manual_seed(seed)
    burn = 200
    with torch.no_grad():
        start = sample_chain(model, 300 if quick else 1000, [burn], gen)[burn]
        truth = entropy_production_kernel(kernel, start, 500 if quick else 1000, generator=gen)

    def simulate_vw(n_steps, reps, rng):
        g = torch.Generator().manual_seed(int(rng.integers(2**31)))
        with torch.no_grad():
            first = sample_chain(model, reps, [burn], g)[burn]
            traj = simulate(kernel, first, n_steps - 1, g).double().numpy()
        return [Observation(None, np.ascontiguousarray(x)) for x in traj]

    origin = f"run {run_dir}" if run_dir else "32 hidden units, trained here"
    return BenchCase("vw", "full", False, truth.value, truth.value, simulate_vw, markov=False,
                     truth_se=truth.se,
                     description=f"learned VW rate circuit ({origin}), kernel-exact truth "
                                 f"{truth.value:.4g} +- {truth.se:.2g} (batch-means se)")


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
              help="Comma-separated chains to run (ring, ising, rotating_ar1, driven_ou, vw) "
                   "[default: all].")
@click.option("--readme", type=click.Path(dir_okay=False), default=None,
              help="Rewrite the block between <!-- results:epbench --> markers of this file.")
@click.option("--seed", type=int, default=0, help="Seed of the simulations.")
@_guard
def epbench(out, quick, lengths, repeats, run_dir, vw, only, readme, seed):
    """Benchmark entropy-production estimators on chains with exact answers: bias, interval
    coverage, power at alpha 0.05 and time, against the irreversibility package's tests."""
    from threadpoolctl import threadpool_limits

    from biovw import plots
    from biovw.analysis import epbench as bench

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sizes = _int_list(lengths) or ([1000, 3000] if quick else [1000, 3000, 10000])
    repeats = repeats or (6 if quick else 40)
    chosen = None if only is None else {c.strip() for c in only.split(",") if c.strip()}
    cases = [c for c in bench.default_cases() if chosen is None or c.chain in chosen]
    if vw and (chosen is None or "vw" in chosen):
        learned = _vw_case(run_dir, quick, seed)
        cases += [learned, bench.reversed_blocks_control(learned)]
    if not cases:
        raise ConfigError(f"--chains: no benchmark chain among {sorted(chosen)}")
    command = "biovw epbench " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["epbench"] else (
        "biovw epbench")
    started = time.perf_counter()
    with threadpool_limits(1):
        rows = bench.run_benchmark(cases, sizes, repeats, seed=seed,
                                   progress=lambda line: click.echo(line, err=True))
        checks = [] if quick else [
            bench.power_check(case, est, 3000, repeats, seed)
            for case in cases if case.setting == "full" and not case.control
            and case.chain in ("ring", "driven_ou") for est in ("plugin", "tur", "var")]
    meta = {"command": command, "lengths": sizes, "repeats": repeats, "threads": 1,
            "seconds": round(time.perf_counter() - started, 1),
            "chains": {c.chain: c.description for c in cases}}
    report = bench.save_results(out, rows, checks, meta)
    plots.power_curves(rows, out / "power.png")
    if readme is not None:
        _rewrite_block(Path(readme), "epbench", report)
    click.echo(report)
    click.echo(f"wrote {out / 'results.json'}, results.csv, report.md and power.png")


def _rewrite_block(path: Path, name: str, text: str) -> None:
    content = path.read_text()
    start, stop = f"<!-- results:{name} -->", f"<!-- /results:{name} -->"
    if start not in content or stop not in content:
        raise ConfigError(f"--readme: {path} has no {start} ... {stop} block")
    head, rest = content.split(start, 1)
    path.write_text(f"{head}{start}\n{text}\n{stop}{rest.split(stop, 1)[1]}")


@main.command(context_settings=CONTEXT)
@click.option("--out", type=click.Path(dir_okay=False), default="bench.json",
              help="JSON file for the results.")
@click.option("--device", default="cpu", help="cpu, cuda or cuda:N.")
@click.option("--quick", is_flag=True, help="Small sizes (a smoke test of the benchmarks).")
@_guard
def bench(out, device, quick):
    """Measure speed as ratios taken in one process and write them as JSON."""
    from biovw import bench as benches
    from biovw.rundir import write_text_atomic

    resolve_device(device)
    results = {"environment": benches.environment()}
    size = 100_000 if quick else 1_000_000
    results["kernel_estimator"] = benches.bench_kernel_estimator(size, device=device)
    k = results["kernel_estimator"]
    click.echo(f"kernel-exact entropy production: {k['n_transitions']} transitions of a "
               f"{k['n_units']}-unit circuit in {k['seconds']} s "
               f"({k['ratio_to_matmul']:.2f} of plain matmul FLOP/s)")
    from biovw.baselines.compare_sklearn import bench_rbm

    r = results["rbm_vs_sklearn"] = bench_rbm(quick=quick)
    click.echo(f"RBM epoch time vs scikit-learn's BernoulliRBM (same hidden units, batch, lr, "
               f"epochs): ratio {r['ratio']:.3f}")
    write_text_atomic(Path(out), json.dumps(results, indent=2) + "\n")
    click.echo(f"wrote {out}")


if __name__ == "__main__":
    main()
