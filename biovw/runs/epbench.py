"""``biovw epbench``: the entropy-production benchmark with exact answers
(:mod:`biovw.analysis.epbench`), joined by the kernel of a learned walk-back circuit.

A learned kernel's truth is its kernel-exact entropy production (with a batch-means standard
error); its recordings are chains of the trained model at T = 1 after a burn-in, and a matched
control reverses blocks of them at random, so its power can be size-adjusted like the exact
chains'.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from biovw.analysis import epbench as bench
from biovw.analysis.epbench import BenchCase, Observation
from biovw.analysis.kernel import entropy_production_kernel, simulate
from biovw.config import ConfigError, config_from_dict
from biovw.runs.build import build_run, open_run
from biovw.runs.rundir import RunDir
from biovw.runs.train import train
from biovw.walkback import StationaryKernel, WalkbackModel, sample_chain

BURN_IN = 200
CHECKED_CHAINS = ("ring", "driven_ou")
CHECKED_ESTIMATORS = ("plugin", "tur", "var")


@dataclass(frozen=True)
class BenchmarkResult:
    """What :func:`run_epbench` returns: the benchmark's rows (for the power figure) and its
    Markdown report (also written to ``out/report.md``)."""

    rows: list[dict]
    report: str


def learned_case(run_dir: str | Path | None, *, quick: bool = False, seed: int = 0) -> BenchCase:
    """A benchmark case from a learned walk-back kernel: the run's at ``run_dir``, or a small
    rate circuit (32 hidden units) trained here in a scratch folder that is removed."""
    if run_dir is not None:
        model = open_run(run_dir, "cpu").model
        if not isinstance(model, WalkbackModel):
            raise ConfigError("--run must be a walk-back run (an RBM's Gibbs chain is "
                              "reversible)")
    else:
        cfg = config_from_dict({"name": "epbench_vw", "seed": seed,
                                "circuit": {"kind": "rate", "hidden": 32},
                                "train": {"steps": 60 if quick else 200}})
        data, model = build_run(cfg, torch.device("cpu"))
        with tempfile.TemporaryDirectory() as scratch:
            train(cfg, RunDir(Path(scratch) / "vw_run"), model, data, progress=False)
    model.eval()
    kernel = StationaryKernel(model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        start = sample_chain(model, 300 if quick else 1000, [BURN_IN], gen)[BURN_IN]
        truth = entropy_production_kernel(kernel, start, 500 if quick else 1000, generator=gen)

    def simulate_vw(n_steps: int, reps: int, rng: np.random.Generator) -> list[Observation]:
        g = torch.Generator().manual_seed(int(rng.integers(2**31)))
        with torch.no_grad():
            first = sample_chain(model, reps, [BURN_IN], g)[BURN_IN]
            traj = simulate(kernel, first, n_steps - 1, g).double().numpy()
        return [Observation(None, np.ascontiguousarray(x)) for x in traj]

    origin = f"run {run_dir}" if run_dir else "32 hidden units, trained here"
    return BenchCase("vw", "full", False, truth.value, truth.value, simulate_vw, markov=False,
                     truth_se=truth.se,
                     description=f"learned VW rate circuit ({origin}), kernel-exact truth "
                                 f"{truth.value:.4g} +- {truth.se:.2g} (batch-means se)")


def run_epbench(out: str | Path, *, lengths: Sequence[int], repeats: int,
                chains: set[str] | None = None, learned: bool = True,
                run_dir: str | Path | None = None, quick: bool = False, seed: int = 0,
                command: str = "biovw epbench",
                progress: Callable[[str], None] | None = None) -> BenchmarkResult:
    """Run the benchmark on one thread and write ``results.json``, ``results.csv`` and
    ``report.md`` into ``out``.

    Parameters
    ----------
    lengths, repeats
        Recording lengths and recordings per cell.
    chains
        Chain names to run (``ring``, ``ising``, ``rotating_ar1``, ``driven_ou``, ``vw``);
        None for all.
    learned, run_dir
        Whether a learned kernel joins (``vw``), and whose (None: a small one trained here).
    quick
        Skip the sample-size checks and use a smaller learned kernel.
    """
    cases = [c for c in bench.default_cases() if chains is None or c.chain in chains]
    if learned and (chains is None or "vw" in chains):
        case = learned_case(run_dir, quick=quick, seed=seed)
        cases += [case, bench.reversed_blocks_control(case)]
    if not cases:
        raise ConfigError(f"--chains: no benchmark chain among {sorted(chains or ())}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with threadpool_limits(1):
        rows = bench.run_benchmark(cases, list(lengths), repeats, seed=seed, progress=progress)
        checks = [] if quick else [
            bench.power_check(case, estimator, 3000, repeats, seed)
            for case in cases if case.setting == "full" and not case.control
            and case.chain in CHECKED_CHAINS for estimator in CHECKED_ESTIMATORS]
    meta = {"command": command, "peer": bench.peer_package(), "lengths": list(lengths),
            "repeats": repeats, "threads": 1,
            "seconds": round(time.perf_counter() - started, 1),
            "chains": {c.chain: c.description for c in cases}}
    return BenchmarkResult(rows, bench.save_results(out, rows, checks, meta))
