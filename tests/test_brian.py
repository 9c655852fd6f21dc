"""The Brian2 backend runs the same trained circuit as the torch sampler.

Noise off, the two backends' trajectories agree to float precision on every target; noise on,
their stationary means, covariances and kernel-exact entropy production agree within their
confidence intervals. The compiled targets build slowly, so the default run checks them on one
circuit and the full matrix is marked slow.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from biovw import brian
from biovw.circuits import RateSpec
from biovw.cli import main
from biovw.reports.agreement import (
    AGREEMENT_CIRCUITS,
    compare_with_noise,
    group_interval,
    noise_off_pair,
    relative_difference,
    state_mean,
    train_small,
)
from biovw.runs import open_run
from biovw.runs.simulate import run_spec, simulate_spec
from biovw.walkback import WalkbackModel, trajectories

STEPS = 200
RTOL = 1e-5


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Small batches gain nothing from threads, and busy-waiting threads stall when the
    machine is loaded."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One trained run of each circuit of :data:`AGREEMENT_CIRCUITS`, by name."""
    root = tmp_path_factory.mktemp("brian_runs")
    with torch.random.fork_rng(devices=[]):
        return {name: train_small(root / name, config, extra)
                for name, (config, extra) in AGREEMENT_CIRCUITS.items()}


@pytest.fixture(scope="module")
def specs(runs):
    return {name: run_spec(open_run(folder)) for name, folder in runs.items()}


def assert_same_trajectory(spec, target: str, recurrence: str, n_chains: int = 8) -> None:
    states, reference = noise_off_pair(spec, target, recurrence, n_chains, STEPS)
    assert states.shape == reference.shape == (n_chains, STEPS + 1, spec.circuit.n_visible)
    assert states.dtype == np.float64
    assert np.ptp(reference[:, -1]) > 0  # the chains do not all sit at one point
    np.testing.assert_allclose(states, reference, rtol=RTOL, atol=RTOL * 1e-3)
    assert relative_difference(states, reference) < RTOL


@pytest.mark.parametrize("name", sorted(AGREEMENT_CIRCUITS))
def test_noise_off_brian2_follows_torch_on_numpy(specs, name):
    assert_same_trajectory(specs[name], "numpy", "synapses")


def test_dense_recurrence_follows_torch_on_numpy(specs):
    assert_same_trajectory(specs["sparse"], "numpy", "matrix")


@pytest.mark.parametrize("recurrence", sorted(brian.RECURRENCES))
@pytest.mark.parametrize("target", ["cython", "cpp_standalone"])
def test_compiled_targets_follow_torch(specs, target, recurrence):
    if target in brian.unavailable_targets():
        pytest.skip(brian.unavailable_targets()[target])
    assert_same_trajectory(specs["dale"], target, recurrence)


@pytest.mark.slow
@pytest.mark.parametrize("recurrence", sorted(brian.RECURRENCES))
@pytest.mark.parametrize("target", ["numpy", "cython", "cpp_standalone"])
@pytest.mark.parametrize("name", ["sparse", "tied", "bernoulli"])
def test_every_circuit_on_every_target(specs, name, target, recurrence):
    if target in brian.unavailable_targets():
        pytest.skip(brian.unavailable_targets()[target])
    assert_same_trajectory(specs[name], target, recurrence)


def assert_intervals_overlap(a, b, what: str) -> None:
    (value_a, half_a), (value_b, half_b) = a, b
    gap = np.abs(value_a - value_b) - (half_a + half_b)
    assert (gap <= 0).all(), f"{what}: torch {value_a} ± {half_a}, brian2 {value_b} ± {half_b}"


def test_noise_on_stationary_statistics_agree(specs):
    result = compare_with_noise(specs["dale"], n_chains=600, n_steps=250, burn_in=50)
    torch_states, brian_states = result.states["torch"], result.states["brian2"]
    assert not np.allclose(torch_states[:, 1:], brian_states[:, 1:])  # independent noise
    for name, by_backend in result.statistics.items():
        assert_intervals_overlap(by_backend["torch"], by_backend["brian2"], name)
    value, half = result.statistics["entropy_production"]["torch"]
    assert value - half > 0  # measurable: the comparison means something


def test_bernoulli_noise_on_draws_binary_states_at_the_kernel_rates(specs):
    spec = specs["bernoulli"]
    torch_states = simulate_spec(spec, "torch", 600, 30, seed=5)
    brian_states = simulate_spec(spec, "brian2", 600, 30, seed=5)
    assert set(np.unique(brian_states)) <= {0.0, 1.0}
    level = 1 - 0.05 / spec.circuit.n_visible  # one interval per unit: Bonferroni
    assert_intervals_overlap(
        *[group_interval(x[:, 10:], state_mean, confidence=level)
          for x in (torch_states, brian_states)], "firing rates")


# ----------------------------------------------------------------------------- command line

@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    with torch.random.fork_rng(devices=[]):
        return train_small(tmp_path_factory.mktemp("mlp") / "mlp", "circuits/mlp_paper_mog.yaml",
                           ["train.steps=2"])


def test_simulate_writes_trajectories_that_analyze_reads(runs, tmp_path):
    out = {}
    for backend in ("torch", "brian2"):
        out[backend] = tmp_path / f"{backend}.npy"
        result = CliRunner().invoke(main, ["simulate", str(runs["dale"]), "--backend", backend,
                                           "--chains", "12", "--steps", "40", "--no-noise",
                                           "--seed", "4", "--out", str(out[backend])])
        assert result.exit_code == 0, result.output
        assert "wrote states [12, 41, 2]" in result.output
    states = np.load(out["brian2"], allow_pickle=False)
    assert states.shape == (12, 41, 2) and states.dtype == np.float64
    assert relative_difference(states, np.load(out["torch"])) < RTOL
    result = CliRunner().invoke(main, ["analyze", "--trajectory", str(out["brian2"])])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "brian2_analysis" / "analysis.json").is_file()


@pytest.mark.parametrize(("args", "needle"), [
    (["--backend", "nest"], "'nest' is not one of 'torch', 'brian2'"),
    (["--backend", "brian2", "--target", "gpu"], "Invalid value for '--target'"),
    (["--target", "cython"], "--target applies to --backend brian2 only"),
    (["--backend", "brian2", "--recurrence", "dense"], "Invalid value for '--recurrence'"),
    (["--out", "states.txt"], "--out must end in .npy"),
])
def test_simulate_bad_options_are_one_line(runs, tmp_path, args, needle):
    argv = ["simulate", str(runs["dale"]), "--steps", "2", "--out", str(tmp_path / "s.npy")]
    result = CliRunner().invoke(main, [*argv, *args])
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert not (tmp_path / "s.npy").exists()


@pytest.mark.parametrize("command", ["simulate", "export"])
def test_runs_without_a_rate_circuit_are_refused_in_one_line(mlp_run, tmp_path, command):
    out = tmp_path / ("s.npy" if command == "simulate" else "export")
    result = CliRunner().invoke(main, [command, str(mlp_run), "--out", str(out)])
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "VW MLP" in lines[0] and "need a rate circuit" in lines[0]
    assert not out.exists()


def test_export_refuses_a_folder_that_holds_files(runs, tmp_path):
    (tmp_path / "old.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["export", str(runs["dale"]), "--out", str(tmp_path)])
    assert result.exit_code != 0 and "not an empty folder" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.txt"]


# ----------------------------------------------------------------------------- export

def export_and_reference(run, folder, n_chains: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Export ``run`` into ``folder`` and save initial states there; the torch trajectory
    from them at T = 1 (no cool-down, as ``--initial`` starts) without noise."""
    result = CliRunner().invoke(main, ["export", str(run), "--out", str(folder)])
    assert result.exit_code == 0, result.output
    model = WalkbackModel.from_spec(RateSpec.load(folder / "circuit")).double()
    initial = model.prior.sample(n_chains, torch.Generator().manual_seed(8)).double()
    np.save(folder / "initial.npy", initial.numpy())
    return initial.numpy(), trajectories(model, initial, STEPS, None, noise=False,
                                         cool=False).numpy()


def run_exported(python: str, folder, *extra: str, block: tuple[str, ...] = ()) -> np.ndarray:
    """Run the exported script with ``python`` in ``folder``, without noise from the saved
    initial states; modules in ``block`` cannot be imported."""
    argv = ["simulate_circuit.py", "--no-noise", "--initial", "initial.npy",
            "--steps", str(STEPS), "--out", "states.npy", *extra]
    code = ("import runpy, sys\n"
            f"sys.modules.update(dict.fromkeys({list(block)!r}))\n"
            f"sys.argv = {argv!r}\n"
            "runpy.run_path('simulate_circuit.py', run_name='__main__')\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([python, "-c", code], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "wrote states" in proc.stdout
    return np.load(folder / "states.npy")


def test_exported_script_runs_without_biovw_or_torch(runs, tmp_path):
    folder = tmp_path / "export"
    _, reference = export_and_reference(runs["sparse"], folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        "brian_rate_network.py", "circuit", "initial.npy", "rate_spec.py", "simulate_circuit.py"]
    states = run_exported(sys.executable, folder, block=("biovw", "torch"))
    assert relative_difference(states, reference) < RTOL


@pytest.mark.slow
def test_exported_script_runs_in_a_fresh_venv_with_brian2_and_numpy_only(runs, tmp_path):
    folder = tmp_path / "export"
    _, reference = export_and_reference(runs["dale"], folder)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "brian2", "numpy<2.4"],
                         capture_output=True, text=True, timeout=1200)
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-2000:]
    python = str(venv / "bin" / "python")
    listed = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], check=True,
                            capture_output=True, text=True).stdout
    assert "torch" not in listed and "biovw" not in listed
    states = run_exported(python, folder)
    assert relative_difference(states, reference) < RTOL


def test_bench_measures_torch_and_every_brian2_recurrence():
    from biovw.runs.bench import bench_brian2

    result = bench_brian2(((30, 4, 6),), ("numpy",))
    (size,) = result["sizes"]
    assert size["synapses"] == 30 * 29  # dense, no autapses
    assert size["torch_float32"] > 0 and size["torch_float64"] > 0
    assert set(size["brian2"]["numpy"]) == set(brian.RECURRENCES)
    ratios = size["ratio_to_torch_float32"]["numpy"]
    for recurrence, rate in size["brian2"]["numpy"].items():
        assert rate > 0
        assert ratios[recurrence] == pytest.approx(rate / size["torch_float32"], rel=1e-2)


def test_the_printed_export_command_runs_from_a_path_with_spaces(runs, tmp_path):
    folder = tmp_path / "my exports" / "circuit one"
    result = CliRunner().invoke(main, ["export", str(runs["dale"]), "--out", str(folder)])
    assert result.exit_code == 0, result.output
    command = result.output.strip().split("run it with: ", 1)[1]
    command = command.replace("--steps 1000", "--steps 3").replace("--chains 100", "--chains 2")
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (folder / "states.npy").is_file()


@pytest.mark.parametrize("backend", ["torch", "brian2"])
def test_the_exported_script_retraces_simulate_from_the_draws_it_saves(runs, tmp_path, backend):
    """Same seed, noise off: ``biovw simulate`` saves the draws from p* it cooled down from,
    and the exported script given them (``--start``) follows the same trajectory to 1e-12."""
    out = tmp_path / "states.npy"
    result = CliRunner().invoke(main, ["simulate", str(runs["dale"]), "--backend", backend,
                                       "--chains", "4", "--steps", "30", "--no-noise",
                                       "--seed", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    start = tmp_path / "states.start.npy"
    assert f"--start {start.resolve()}" in result.output
    folder = tmp_path / "export"
    assert CliRunner().invoke(main, ["export", str(runs["dale"]), "--out",
                                     str(folder)]).exit_code == 0
    done = subprocess.run([sys.executable, "simulate_circuit.py", "--start", str(start),
                           "--steps", "30", "--no-noise", "--seed", "5", "--out",
                           str(tmp_path / "script.npy")], cwd=folder, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    ours, script = np.load(out), np.load(tmp_path / "script.npy")
    assert ours.shape == script.shape == (4, 31, ours.shape[-1])
    assert np.abs(ours - script).max() <= 1e-12 * np.abs(ours).max()
    assert np.ptp(ours[:, -1]) > 0
