"""End-to-end CLI: train, sample, evaluate, resume; errors leave nothing behind."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

from biovw.cli import main

TINY = [
    "train.steps=6", "train.log_every=2", "train.checkpoint_every=3", "train.batch_size=64",
    "circuit.hidden=16", "walkback.num_steps=4", "data.n_samples=400",
    "eval.n_examples=20", "eval.n_trajectories=4", "eval.n_samples=50", "eval.snapshots=[0, 3]",
]


def _overrides(extra=()):
    return [a for o in [*TINY, *extra] for a in ("--set", o)]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    result = CliRunner().invoke(main, ["train", "circuits/rate_net.yaml", *_overrides(),
                                       "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    return out


def test_train_writes_the_run_directory(trained_run):
    for name in ("config.yaml", "metrics.jsonl", "checkpoints/latest.pt", "eval.json",
                 "summary.json", "samples/samples_step0.npy", "samples/samples_step3.npy",
                 "figures/loss_curve.png", "figures/samples_vs_data.png",
                 "figures/chain_over_time.png", "figures/alignment.png"):
        assert (trained_run / name).is_file(), name
    lines = (trained_run / "metrics.jsonl").read_text().splitlines()
    metrics = [json.loads(line) for line in lines]
    assert [m["step"] for m in metrics] == [2, 4, 6]
    cfg = yaml.safe_load((trained_run / "config.yaml").read_text())
    assert cfg["train"]["steps"] == 6 and cfg["circuit"]["hidden"] == 16
    summary = json.loads((trained_run / "summary.json").read_text())
    assert summary["unit"] == "nats/example" and np.isfinite(summary["heldout_bound"])
    assert summary["connectivity"]["dale_violations"] == 0
    assert 0 <= summary["connectivity"]["asymmetry_index"] <= 2
    assert 0 <= summary["alignment"]["alignment_angle"] <= 180
    assert np.load(trained_run / "samples/samples_step3.npy").shape == (50, 2)


def test_checkpoint_is_safe_to_load_and_self_describing(trained_run):
    payload = torch.load(trained_run / "checkpoints/latest.pt", weights_only=True)
    assert payload["format"] == "biovw-checkpoint" and payload["step"] == 6
    assert payload["config"]["circuit"]["hidden"] == 16
    assert {"model", "optimizer", "rng"} <= set(payload)


def test_sample_and_evaluate_commands(trained_run, tmp_path):
    out = tmp_path / "s.npy"
    result = CliRunner().invoke(main, ["sample", str(trained_run), "--n", "30", "--steps", "2",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert np.load(out).shape == (30, 2) and "mode shares" in result.output
    summary = json.loads((trained_run / "summary.json").read_text())
    assert summary["heldout_split"] == "valid"  # a training run scores the validation split
    result = CliRunner().invoke(main, ["evaluate", str(trained_run), "--trajectories", "3",
                                       "--examples", "10", "--samples", "20", "--split", "test",
                                       "--no-progress"])
    assert result.exit_code == 0, result.output
    ev = json.loads((trained_run / "eval.json").read_text())
    held = ev["loglik"]["test"]
    summary = json.loads((trained_run / "summary.json").read_text())
    assert summary["heldout_split"] == "test" and summary["heldout_loglik"] == held["is_loglik"]
    assert summary["iterations"] == 6  # training fields are kept
    assert held["n_trajectories"] == 12  # ladder k, 4k
    assert set(held["is_by_trajectories"]) == {"3", "12"}
    assert isinstance(held["converged"], bool) and 1 <= held["ess_median"] <= 12
    assert "converged" in result.output
    arrays = np.load(trained_run / "loglik_examples.npz", allow_pickle=False)
    assert arrays["test_loglik"].shape == (10,)
    assert np.mean(arrays["test_loglik"]) == pytest.approx(held["is_loglik"])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--set", "train.stepz=3"], "train.stepz"),
        (["--set", "walkback.kappa=2"], "walkback.kappa"),
        (["--set", "train.steps=abc"], "train.steps"),
        (["--set", "data.name=file", "--set", "data.path=/nope.npy"], "data.path"),
    ],
)
def test_bad_config_is_one_line_nonzero_and_writes_nothing(tmp_path, args, needle):
    out = tmp_path / "never"
    proc = subprocess.run(
        [sys.executable, "cli.py", "train", "circuits/rate_net.yaml", *args, "--out", str(out)],
        capture_output=True, text=True,
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert not out.exists()


def test_existing_run_directory_is_refused(trained_run):
    result = CliRunner().invoke(main, ["train", "circuits/rate_net.yaml", "--out",
                                       str(trained_run)])
    assert result.exit_code != 0 and "exists" in result.output


def test_resume_after_kill_matches_uninterrupted_run(tmp_path):
    """A run stopped after its first checkpoint and resumed ends bit-identical."""
    from biovw.config import config_from_dict
    from biovw.runs import build_run
    from biovw.runs.rundir import RunDir
    from biovw.runs.train import train

    cfg = config_from_dict({"name": "r"}, TINY)
    full_run, cut_run = RunDir(tmp_path / "full"), RunDir(tmp_path / "cut")
    data, model = build_run(cfg, torch.device("cpu"))
    train(cfg, full_run, model, data, progress=False)
    full_state = {k: v.clone() for k, v in model.state_dict().items()}

    data, model = build_run(cfg, torch.device("cpu"))
    train(cfg, cut_run, model, data, progress=False, stop_after=4)  # killed after iteration 4
    data, model = build_run(cfg, torch.device("cpu"))  # a fresh process
    train(cfg, cut_run, model, data, progress=False, resume=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, full_state[key]), key
    full, cut = full_run.read_metrics(), cut_run.read_metrics()
    assert full == [{**m, "time": f["time"]} for m, f in zip(cut, full, strict=True)]


def test_divergence_stops_with_last_good_checkpoint(tmp_path):
    out = tmp_path / "div"
    result = CliRunner().invoke(main, ["train", "circuits/rate_net.yaml",
                                       *_overrides(["train.divergence_threshold=1e-3",
                                                    "train.log_every=1"]),
                                       "--out", str(out), "--no-progress"])
    assert result.exit_code == 3
    assert "diverged" in result.output


def test_nan_mid_run_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    import biovw.runs.train as train_module
    from biovw.config import config_from_dict
    from biovw.runs import build_run
    from biovw.runs.checkpoint import load_checkpoint
    from biovw.runs.rundir import RunDir

    real = train_module.train_iteration

    def poisoned(cfg, state, x, *args):
        record = real(cfg, state, x, *args)
        return {**record, "loss": float("nan")} if state.step == 4 else record

    monkeypatch.setattr(train_module, "train_iteration", poisoned)
    cfg = config_from_dict({"name": "nan"}, TINY)
    data, model = build_run(cfg, torch.device("cpu"))
    run = RunDir(tmp_path / "nan")
    with pytest.raises(train_module.TrainingDiverged, match="iteration 5"):
        train_module.train(cfg, run, model, data, progress=False)
    good = load_checkpoint(run.last_good_checkpoint)
    assert good["step"] == 4
    assert all(torch.isfinite(v).all() for v in good["model"].values() if v.is_floating_point())


def test_stationarity_command_runs_on_a_trained_run(trained_run):
    result = CliRunner().invoke(main, ["stationarity", str(trained_run), "--n", "40",
                                       "--steps", "0,2,5", "--sampler", "chain"])
    assert result.exit_code == 0, result.output
    report = json.loads((trained_run / "stationarity.json").read_text())
    assert set(report["quality"]) == {"0", "2", "5", "data_floor"}
    assert report["verdict"].startswith("quality after 5 steps")
    for name in ("stationarity.png", "stationarity_samples.png"):
        assert (trained_run / "figures" / name).stat().st_size > 0
    result = CliRunner().invoke(main, ["stationarity", str(trained_run), "--n", "40",
                                       "--steps", "0,2", "--start", "one_mode", "--sampler",
                                       "cycle", "--cycle-steps", "2"])
    assert result.exit_code == 0, result.output
    report = json.loads((trained_run / "stationarity_one_mode_cycle.json").read_text())
    assert report["start"] == "one_mode" and report["transitions_per_step"] == 4
    assert "mode_tv" in report["steps_to_data"] and report["moved"]["0"] == 0.0
    assert (trained_run / "figures" / "stationarity_one_mode_cycle.png").is_file()
    bad = CliRunner().invoke(main, ["stationarity", str(trained_run), "--steps", "0,x"])
    assert bad.exit_code == 2 and "--steps" in bad.output


def test_metrics_log_the_feedback_alignment_angle(trained_run):
    metrics = [json.loads(x) for x in (trained_run / "metrics.jsonl").read_text().splitlines()]
    assert all(0 <= m["alignment_angle"] <= 180 for m in metrics)
    assert all(m["alignment_best_given_signs"] <= m["alignment_angle"] + 1e-9 for m in metrics)


def test_analyze_run_writes_entropy_production_currents_and_connectivity(trained_run):
    result = CliRunner().invoke(main, ["analyze", str(trained_run), "--chains", "60",
                                       "--steps", "20", "--burn-in", "5", "--bins", "6"])
    assert result.exit_code == 0, result.output
    analysis = json.loads((trained_run / "analysis.json").read_text())
    for method in ("kernel", "coarse_grained"):
        ep = analysis["entropy_production"][method]
        assert ep["unit"] == "nats/step" and ep["ci_low"] <= ep["value"] <= ep["ci_high"]
    assert analysis["connectivity"]["ei"]["dale_violations"] == 0
    assert (trained_run / "figures" / "currents.png").is_file()
    mixing = analysis["mixing"]
    assert mixing["n_chains"] > 1 and mixing["n_steps"] == 21 and len(mixing["iat"]) == 2
    assert mixing["switching"]["labelled"].startswith("mode")
    assert "mixing: IAT" in result.output


def test_analyze_user_trajectories(tmp_path):
    from biovw.analysis.models import LinearGaussianKernel, ring_walk_matrix

    kernel = LinearGaussianKernel(np.array([[0.6, -0.5], [0.5, 0.6]]), 0.5)
    gen = torch.Generator().manual_seed(0)
    x = [kernel.stationary_sample(50, gen)]
    for _ in range(199):
        x.append(kernel.sample(x[-1], kernel.params(x[-1]), gen))
    path = tmp_path / "traj.npy"
    np.save(path, torch.stack(x, 1).numpy())  # [chains, T, D]
    result = CliRunner().invoke(main, ["analyze", "--trajectory", str(path), "--bins", "6"])
    assert result.exit_code == 0, result.output
    analysis = json.loads((tmp_path / "traj_analysis" / "analysis.json").read_text())
    found = analysis["conditions"]["all"]
    coarse = found["entropy_production"]["plugin"]
    assert coarse["lower_bound"] and 0 < coarse["value"] < kernel.entropy_production()
    for method in ("tur", "var"):
        assert found["entropy_production"][method]["ci_low"] > 0
    var = found["entropy_production"]["var"]
    assert var["ci_low"] <= kernel.entropy_production() <= var["ci_high"]
    assert found["currents"]["circulation"] > 0  # counter-clockwise rotation
    # x' = M x + noise with M = r R(theta): every projection has rho_k = r^k cos(k theta), so
    # IAT = 1 + 2 Re(z / (1 - z)) with z = 0.6 + 0.5i
    z = 0.6 + 0.5j
    assert found["mixing"]["iat_summary"] == pytest.approx(1 + 2 * (z / (1 - z)).real, abs=0.25)
    assert "mixing: IAT" in result.output

    P = ring_walk_matrix(5, 0.5, 0.2)
    rng = np.random.default_rng(0)
    states = np.zeros((20, 2000), dtype=np.int64)
    for t in range(1, 2000):
        u = rng.random(20)
        cum = np.cumsum(P[states[:, t - 1]], axis=1)
        states[:, t] = (u[:, None] > cum).sum(1)
    path = tmp_path / "ring.npy"
    np.save(path, states)
    result = CliRunner().invoke(main, ["analyze", "--trajectory", str(path), "--discrete",
                                       "--out", str(tmp_path / "ring_out")])
    assert result.exit_code == 0, result.output
    ep = json.loads((tmp_path / "ring_out" / "analysis.json").read_text())
    ep = ep["conditions"]["all"]["entropy_production"]["plugin"]
    assert ep["ci_low"] <= 0.3 * np.log(2.5) <= ep["ci_high"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["analyze"], "RUN_DIR"),
        (["analyze", "--trajectory", "/nope.npy"], "--trajectory"),
        (["analyze", "--trajectory", "cli.py"], "--trajectory"),
    ],
)
def test_analyze_errors_are_one_line(args, needle):
    proc = subprocess.run([sys.executable, "cli.py", *args], capture_output=True, text=True)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_bench_quick_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(main, ["bench", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    bench = json.loads(out.read_text())
    assert bench["kernel_estimator"]["n_transitions"] >= 100_000
    assert bench["kernel_estimator"]["ratio_to_matmul"] > 0
    for hidden in ("32", "64"):
        for rule in ("backprop", "fa"):
            assert bench["training"][hidden][rule]["ratio_to_matmul"] > 0
    for name in ("default", "mnist"):
        assert bench["sampling"][name]["ratio_to_matmul"] > 0
        assert bench["sampling"][name]["flops_per_call"] > 0
    assert bench["likelihood"]["trajectories_per_second"] > 0


@pytest.mark.parametrize("rule", ["backprop", "fa"])
def test_training_flops_are_counted_in_every_matrix_product(rule):
    """The counted FLOPs of an online iteration match the settle loop's products: per
    temperature step a settle to draw the next state and a settle to score the step back,
    whose backward costs two more (the rule's own backward included), each settle step one
    [batch, N] x [N, N] product; W_in and the readout add a few percent at this size."""
    from biovw.runs.bench import training_speed

    r = training_speed(48, rule, batch=64, settle_steps=3, num_steps=2, budget=0.05)
    n = r["n_units"]
    settles = 4 * r["num_steps"] * r["settle_steps"]
    model = settles * 2 * r["batch"] * n * n
    assert 0.8 < r["flops_per_iteration"] / model < 1.25, (r["flops_per_iteration"], model)
    assert r["iterations"] >= 2 and r["ratio_to_matmul"] > 0


def test_rbm_config_trains_through_the_same_command(tmp_path):
    out = tmp_path / "rbm"
    result = CliRunner().invoke(main, [
        "train", "circuits/rbm_digits.yaml", "--out", str(out), "--set", "rbm.hidden=8",
        "--set", "rbm.epochs=2", "--set", "rbm.ais_betas=500", "--set", "rbm.ais_runs=20",
        "--set", "rbm.gibbs_steps=[5]", "--set", "eval.n_samples=50",
    ])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == "rbm" and summary["loglik_method"] == "exact log Z"
    loglik = json.loads((out / "eval.json").read_text())["loglik"]
    ev = loglik["log_partition"]
    assert abs(ev["ais"]["log_z"] - ev["exact"]) < 0.5
    # the bracket: RAISE from the held-out data below the exact log-likelihood (within its
    # noise), forward AIS beside it
    conservative = loglik["valid_raise"]
    assert conservative["n_betas"] == 1000 and conservative["n_runs"] == 10
    assert conservative["mean"] <= loglik["valid"]["mean"] + 3 * conservative["se"]
    assert loglik["valid"]["mean"] - conservative["mean"] < 1.0
    assert conservative["bracket"][1] == pytest.approx(loglik["valid_ais"]["mean"])
    result = CliRunner().invoke(main, ["sample", str(out), "--n", "10", "--steps", "3",
                                       "--out", str(tmp_path / "v.npy")])
    assert result.exit_code == 0, result.output
    assert set(np.unique(np.load(tmp_path / "v.npy"))) <= {0.0, 1.0}


def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path):
    """Kill a training process mid-run (SIGKILL), resume it, and compare with a full run."""
    import signal
    import time as _time

    slow = [*TINY, "train.steps=40", "train.checkpoint_every=5", "train.log_every=5",
            "circuit.hidden=24"]
    args = [a for o in slow for a in ("--set", o)]
    full, cut = tmp_path / "full", tmp_path / "cut"
    base = [sys.executable, "cli.py", "train", "circuits/rate_net.yaml", *args, "--no-progress"]
    subprocess.run([*base, "--out", str(full)], check=True, capture_output=True)
    proc = subprocess.Popen([*base, "--out", str(cut)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    ckpt = cut / "checkpoints" / "latest.pt"
    deadline = _time.time() + 120
    while not ckpt.exists() and _time.time() < deadline and proc.poll() is None:
        _time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    step = torch.load(ckpt, weights_only=True)["step"]
    assert step < 40, "the run finished before it could be killed"
    subprocess.run([sys.executable, "cli.py", "resume", str(cut), "--no-progress"], check=True,
                   capture_output=True)
    a = torch.load(full / "checkpoints" / "latest.pt", weights_only=True)["model"]
    b = torch.load(ckpt, weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((full / "summary.json").read_text())["heldout_loglik"] == json.loads(
        (cut / "summary.json").read_text())["heldout_loglik"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here")
def test_cuda_request_without_cuda_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "cli.py", "train", "circuits/rate_net.yaml",
                           "--device", "cuda", "--out", str(tmp_path / "x")],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "CUDA is not available" in lines[0]
    assert not (tmp_path / "x").exists()


def test_run_files_are_strict_json(tmp_path):
    from biovw.runs.rundir import RunDir

    run = RunDir(tmp_path)
    run.write_json(tmp_path / "x.json", {"a": float("nan"), "b": [np.float64(1.5), np.inf],
                                         "c": np.int64(3), "d": np.bool_(True)})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": None, "b": [1.5, None],
                                                             "c": 3, "d": True}
    run.append_metrics({"step": 1, "loss": float("-inf")})
    assert run.read_metrics() == [{"step": 1, "loss": None}]


def test_cli_sample_and_simulate_start_from_initial_states(trained_run, tmp_path):
    start = np.random.default_rng(0).normal(size=(9, 2)).astype(np.float32)
    np.save(tmp_path / "start.npy", start)
    out = tmp_path / "s.npy"
    runner = CliRunner()
    result = runner.invoke(main, ["sample", str(trained_run), "--initial",
                                  str(tmp_path / "start.npy"), "--steps", "0",
                                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert np.array_equal(np.load(out), start) and "from --initial" in result.output
    result = runner.invoke(main, ["sample", str(trained_run), "--initial",
                                  str(tmp_path / "start.npy"), "--steps", "2", "--sampler",
                                  "cycle", "--cycle-steps", "3", "--out", str(out)])
    assert result.exit_code == 0 and "cycle sampler" in result.output
    assert np.load(out).shape == (9, 2)
    # torch and Brian2 run the same chains from the same states (no noise)
    runs = {}
    for backend in ("torch", "brian2"):
        path = tmp_path / f"{backend}.npy"
        result = runner.invoke(main, ["simulate", str(trained_run), "--backend", backend,
                                      "--initial", str(tmp_path / "start.npy"), "--steps", "4",
                                      "--no-noise", "--out", str(path)])
        assert result.exit_code == 0, result.output
        runs[backend] = np.load(path)
    assert runs["torch"].shape == (9, 5, 2)
    assert np.allclose(runs["torch"][:, 0], start, atol=1e-6)
    assert np.allclose(runs["torch"], runs["brian2"], rtol=1e-9, atol=1e-9)


def test_cli_initial_errors(trained_run, tmp_path):
    np.save(tmp_path / "start.npy", np.zeros((9, 2), dtype=np.float32))
    np.save(tmp_path / "bad.npy", np.zeros((9, 3), dtype=np.float32))
    runner = CliRunner()
    result = runner.invoke(main, ["sample", str(trained_run), "--initial",
                                  str(tmp_path / "start.npy"), "--n", "3", "--out",
                                  str(tmp_path / "o.npy")])
    assert result.exit_code == 2 and "differs from the 9 rows" in result.output
    result = runner.invoke(main, ["sample", str(trained_run), "--initial",
                                  str(tmp_path / "bad.npy"), "--out", str(tmp_path / "o.npy")])
    assert result.exit_code == 2 and "--initial" in result.output and "3 coordinates" in (
        result.output)
    assert not (tmp_path / "o.npy").exists()


def test_mixing_command_reports_the_sampler_from_each_start(trained_run):
    runner = CliRunner()
    result = runner.invoke(main, ["mixing", str(trained_run), "--chains", "20", "--steps", "30",
                                  "--start", "one_mode", "--sampler", "cycle",
                                  "--cycle-steps", "2", "--burn-in", "2"])
    assert result.exit_code == 0, result.output
    report = json.loads((trained_run / "mixing_one_mode_cycle.json").read_text())
    assert report["transitions_per_step"] == 4 and report["n_steps"] == 31
    assert report["ess_per_transition"] == pytest.approx(report["ess_per_step"] / 4)
    assert report["switching"]["labelled"].startswith("mode") and report["burn_in"] == 2
    assert report["start"] == "one_mode" and "switches" in result.output
    result = runner.invoke(main, ["mixing", str(trained_run), "--chains", "20", "--steps", "30",
                                  "--sampler", "chain"])
    assert result.exit_code == 0, result.output
    assert json.loads((trained_run / "mixing.json").read_text())["transitions_per_step"] == 1
    result = runner.invoke(main, ["mixing", str(trained_run), "--chains", "20", "--steps", "30"])
    assert result.exit_code == 0, result.output       # the run's own sampler: cycles
    assert json.loads((trained_run / "mixing_cycle.json").read_text())["transitions_per_step"] > 1


def test_sample_refuses_more_samples_than_memory_holds(trained_run, tmp_path):
    result = CliRunner().invoke(main, ["sample", str(trained_run), "--n", "100000000000",
                                       "--out", str(tmp_path / "s.npy")])
    assert result.exit_code == 2 and "--n: 100,000,000,000 samples would need" in result.output
    assert not (tmp_path / "s.npy").exists()
