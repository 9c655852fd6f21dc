"""Reading recordings (npy, npz, HDF5, NWB written here with pynwb) and the analyze command on
them: known spike trains give the expected entropy production; bad inputs give one line."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from biovw.analysis.exact_chains import ring_walk
from biovw.cli import main
from biovw.data import DataError
from biovw.data.recordings import read_recording

h5py = pytest.importorskip("h5py")
pynwb = pytest.importorskip("pynwb")

BIN = 0.01  # seconds


def _nwb(path, *, spikes=None, trials=None, series=None):
    """Write an NWB file: ``spikes`` list of spike-time arrays (one per unit), ``trials``
    list of (start, stop, condition), ``series`` dict name -> (data, rate)."""
    f = pynwb.NWBFile(session_description="test", identifier=str(path),
                      session_start_time=datetime.datetime(2024, 1, 1,
                                                           tzinfo=datetime.timezone.utc))
    for times in spikes or []:
        f.add_unit(spike_times=np.asarray(times, dtype=float))
    if trials:
        f.add_trial_column(name="condition", description="condition")
        for start, stop, cond in trials:
            f.add_trial(start_time=start, stop_time=stop, condition=cond)
    for name, (data, rate) in (series or {}).items():
        f.add_acquisition(pynwb.TimeSeries(name=name, data=data, unit="a.u.", rate=rate))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pynwb.NWBHDF5IO(str(path), "w") as io:
            io.write(f)
    return path


def _sequence_spikes(states: np.ndarray, n_units: int, offset: float = 0.0):
    """One spike of unit ``states[t]`` in the middle of bin ``t``."""
    times = offset + (np.arange(len(states)) + 0.5) * BIN
    return [times[states == u] for u in range(n_units)]


def test_arrays_npz_and_hdf5(tmp_path):
    x = np.random.default_rng(0).normal(size=(3, 50, 4))
    np.save(tmp_path / "a.npy", x)
    rec = read_recording(tmp_path / "a.npy", units=[0, 2])
    assert len(rec.chains) == 3 and rec.chains[0].shape == (50, 2) and rec.units == [0, 2]
    np.savez(tmp_path / "a.npz", x=x, y=x[0])
    assert read_recording(tmp_path / "a.npz", key="y").chains[0].shape == (50, 4)
    with pytest.raises(DataError, match="--key: required"):
        read_recording(tmp_path / "a.npz")
    with pytest.raises(DataError, match="not found"):
        read_recording(tmp_path / "a.npz", key="z")
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f["group/traj"] = x[0]
        f["other"] = np.arange(3)
    assert read_recording(tmp_path / "a.h5", key="group/traj").chains[0].shape == (50, 4)
    with pytest.raises(DataError, match="--key: required"):
        read_recording(tmp_path / "a.h5")
    with pytest.raises(DataError, match="--units"):
        read_recording(tmp_path / "a.npy", units=[7])
    np.save(tmp_path / "flat.npy", np.arange(10.0))
    with pytest.raises(DataError, match=r"\[T, D\]"):
        read_recording(tmp_path / "flat.npy")
    labels = read_recording(tmp_path / "flat.npy", discrete=True)
    assert labels.chains[0].shape == (10,)
    (tmp_path / "a.txt").write_text("1 2 3")
    with pytest.raises(DataError, match="expected one of"):
        read_recording(tmp_path / "a.txt")


def test_nwb_spikes_are_binned_by_unit_and_trial(tmp_path):
    rng = np.random.default_rng(1)
    spikes = [np.sort(rng.uniform(0, 2, size=n)) for n in (40, 7, 0, 90)]
    path = _nwb(tmp_path / "s.nwb", spikes=spikes,
                trials=[(0.0, 0.5, "a"), (0.5, 1.2, "b"), (1.3, 2.0, "a")])
    rec = read_recording(path, bin_ms=10, trials="trials", condition="condition")
    assert [c.shape for c in rec.chains] == [(50, 4), (70, 4), (70, 4)]
    assert rec.conditions == ["a", "b", "a"] and rec.dt == pytest.approx(0.01)
    assert rec.units == [0, 1, 2, 3]
    for (t0, _t1), chain in zip(rec.intervals, rec.chains, strict=True):
        for u, times in enumerate(spikes):
            expected, _ = np.histogram(times, bins=t0 + BIN * np.arange(len(chain) + 1))
            assert np.array_equal(chain[:, u], expected)
    rates = read_recording(path, bin_ms=10, rates=True, units=[3, 0])
    whole = read_recording(path, bin_ms=10, units=[3, 0])
    assert np.allclose(rates.chains[0], whole.chains[0] / BIN) and rates.units == [3, 0]
    assert whole.chains[0][:, 0].sum() == 90 and whole.chains[0][:, 1].sum() == 40
    assert set(whole.by_condition()) == {"all"} and set(rec.by_condition()) == {"a", "b"}


def test_nwb_errors(tmp_path):
    empty = _nwb(tmp_path / "empty.nwb", series={"lfp": (np.zeros((10, 2)), 100.0)})
    with pytest.raises(DataError, match="no Units table.*lfp"):
        read_recording(empty, bin_ms=10)
    spikes = _nwb(tmp_path / "s.nwb", spikes=[[0.1, 0.2, 0.3]],
                  trials=[(0.0, 0.2, "a"), (0.2, 0.2, "b")])
    with pytest.raises(DataError, match="interval 1 .* holds 0 bin"):
        read_recording(spikes, bin_ms=10, trials="trials")
    with pytest.raises(DataError, match="--bin-ms"):
        read_recording(spikes)
    with pytest.raises(DataError, match="no intervals table 'epochs'"):
        read_recording(spikes, bin_ms=10, trials="epochs")
    with pytest.raises(DataError, match="--condition"):
        read_recording(spikes, bin_ms=10, trials="trials", condition="stimulus")
    with pytest.raises(DataError, match="unit id"):
        read_recording(spikes, bin_ms=10, units=[5])
    with pytest.raises(DataError, match="no TimeSeries 'x'"):
        read_recording(spikes, key="x")
    (tmp_path / "broken.nwb").write_bytes(b"not hdf5")
    with pytest.raises(DataError, match="cannot read"):
        read_recording(tmp_path / "broken.nwb", bin_ms=10)


def test_nwb_time_series_and_its_trials(tmp_path):
    data = np.random.default_rng(2).normal(size=(300, 3))
    path = _nwb(tmp_path / "ts.nwb", series={"lfp": (data, 100.0)},
                trials=[(0.0, 1.0, "x"), (1.5, 3.0, "y")])
    rec = read_recording(path, key="lfp")
    assert rec.dt == pytest.approx(0.01) and np.allclose(rec.chains[0], data)
    split = read_recording(path, key="lfp", trials="trials", condition="condition",
                           units=[0, 2])
    assert [len(c) for c in split.chains] == [100, 150] and split.chains[0].shape[1] == 2
    assert np.allclose(split.chains[1], data[150:300][:, [0, 2]])


def _driven_sequence_nwb(tmp_path, n_trials=20, length=400):
    """Three neurons fire one spike per 10 ms bin in the order of a ring walk: forward with
    0.7, backward 0.1 (driven trials) or both 0.3 (rest trials)."""
    rng = np.random.default_rng(3)
    driven, rest = ring_walk(3, 0.7, 0.1), ring_walk(3, 0.3, 0.3)
    spikes = [[], [], []]
    trials = []
    start = 0.0
    for i in range(n_trials):
        chain = driven if i % 2 == 0 else rest
        states = chain.simulate(length, 1, rng)[0]
        for u, times in enumerate(_sequence_spikes(states, 3, start)):
            spikes[u].append(times)
        trials.append((start, start + length * BIN, "driven" if i % 2 == 0 else "rest"))
        start += length * BIN + 0.5
    path = _nwb(tmp_path / "seq.nwb", spikes=[np.concatenate(s) for s in spikes],
                trials=trials)
    return path, driven


def test_nwb_round_trip_gives_the_entropy_production_of_the_driven_sequence(tmp_path):
    """Binned spike patterns are the walk's states, so each condition's entropy production
    is the walk's: 0.6 ln 7 when driven, 0 at rest."""
    path, driven = _driven_sequence_nwb(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "analyze", "--trajectory", str(path), "--bin-ms", "10", "--trials", "--condition",
        "condition", "--methods", "plugin,tur", "--power", "--out", str(out)])
    assert result.exit_code == 0, result.output
    analysis = json.loads((out / "analysis.json").read_text())
    assert (out / "figures" / "currents_driven.png").is_file()
    found = analysis["conditions"]
    truth = driven.entropy_production()
    assert truth == pytest.approx(0.6 * np.log(7))
    plugin = found["driven"]["entropy_production"]["plugin"]
    assert plugin["ci_low"] <= truth <= plugin["ci_high"]
    assert plugin["settings"]["discretization"] == "patterns" and plugin["n_chains"] == 10
    assert plugin["per_second"]["value"] == pytest.approx(plugin["value"] / BIN)
    tur = found["driven"]["entropy_production"]["tur"]
    assert 0 < tur["ci_low"] and tur["value"] <= truth
    rest_plugin = found["rest"]["entropy_production"]["plugin"]
    assert rest_plugin["ci_low"] <= 0.0 <= rest_plugin["ci_high"]
    assert found["driven"]["power"]["plugin"]["transitions"] < 4000
    assert "needs about" in result.output


@pytest.mark.parametrize(
    ("content", "args", "needle"),
    [
        (np.full((50, 2), np.nan), [], "NaN"),
        (np.random.default_rng(0).normal(size=(50, 2)) * 1e300, [], "magnitude"),
        (np.random.default_rng(0).normal(size=(50, 2)) + 1j, [], "complex"),
        (np.ones((50, 2)), [], "constant"),
        (np.zeros((2, 3, 4, 5)), [], "shape"),
        (np.zeros(50, dtype=int), ["--discrete"], "single state"),
        (np.random.default_rng(0).normal(size=(50, 2)), ["--dt", "-1"], "--dt"),
        (np.random.default_rng(0).normal(size=(50, 2)), ["--methods", "magic"], "unknown"),
    ],
)
def test_bad_inputs_give_one_line_and_a_non_zero_exit(tmp_path, content, args, needle):
    path = tmp_path / "bad.npy"
    np.save(path, content)
    result = CliRunner().invoke(main, ["analyze", "--trajectory", str(path), "--out",
                                       str(tmp_path / "o"), *args])
    assert result.exit_code == 2 and result.exception is not None
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], lines


def test_nwb_without_units_or_with_an_empty_interval_via_the_cli(tmp_path):
    no_units = _nwb(tmp_path / "n.nwb", series={"lfp": (np.zeros((10, 2)), 100.0)})
    empty = _nwb(tmp_path / "e.nwb", spikes=[[0.1, 0.2]], trials=[(0.0, 0.005, "a")])
    result = CliRunner().invoke(main, ["analyze", "--trajectory", str(empty), "--bin-ms",
                                       "10", "--trials"])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and "interval 0" in lines[0]
    # and as a user sees it: one line on stderr, no traceback
    proc = subprocess.run([sys.executable, "-m", "biovw", "analyze", "--trajectory",
                           str(no_units), "--bin-ms", "10"], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Units table" in lines[0], proc.stderr


def test_nwb_script_writes_estimates_per_condition_and_current_plots(tmp_path):
    import importlib.util
    from pathlib import Path

    path, driven = _driven_sequence_nwb(tmp_path, n_trials=12, length=300)
    script = Path(__file__).resolve().parents[1] / "analysis" / "nwb_entropy.py"
    spec = importlib.util.spec_from_file_location("nwb_entropy", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    out = tmp_path / "ep"
    module.main([str(path), "--bin-ms", "10", "--condition", "condition", "--methods",
                 "plugin,tur", "--out", str(out)])
    import csv

    rows = list(csv.DictReader(open(out / "entropy_production.csv")))
    assert {(r["condition"], r["estimator"]) for r in rows} == {
        ("driven", "plugin"), ("driven", "tur"), ("rest", "plugin"), ("rest", "tur")}
    plug = next(r for r in rows if r["condition"] == "driven" and r["estimator"] == "plugin")
    assert float(plug["ci_low"]) <= driven.entropy_production() <= float(plug["ci_high"])
    assert float(plug["value_per_s"]) == pytest.approx(float(plug["value"]) / BIN)
    rest = next(r for r in rows if r["condition"] == "rest" and r["estimator"] == "plugin")
    assert float(rest["ci_low"]) <= 0 <= float(rest["ci_high"])
    for name in ("entropy_production.png", "currents_driven.png", "currents_rest.png",
                 "summary.json"):
        assert (out / name).is_file()


def test_default_estimators_skip_one_that_cannot_describe_the_data(tmp_path):
    """A deterministic rotation: the VAR(1) fit has singular noise. Among the default
    estimators it is skipped with its reason (the others report); asked for, it is an error."""
    angle = 2 * np.pi / 50
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    x = np.empty((2000, 2))
    x[0] = (1.0, 0.0)
    for t in range(1, len(x)):
        x[t] = rotation @ x[t - 1]
    path = tmp_path / "rotation.npy"
    np.save(path, x)
    result = CliRunner().invoke(main, ["analyze", "--trajectory", str(path)])
    assert result.exit_code == 0, result.output
    assert "entropy production [var]: skipped (" in result.output
    assert "entropy production [plugin]" in result.output
    report = json.loads((tmp_path / "rotation_analysis" / "analysis.json").read_text())
    entry = report["conditions"]["all"]
    assert "var" in entry["skipped"] and "var" not in entry["entropy_production"]
    assert "plugin" in entry["entropy_production"]
    chosen = CliRunner().invoke(main, ["analyze", "--trajectory", str(path), "--methods", "var",
                                       "--out", str(tmp_path / "var_only")])
    assert chosen.exit_code == 2 and "VAR(1)" in chosen.output


def test_one_way_transitions_are_named_on_the_terminal_and_withhold_the_sample_size(tmp_path):
    """Four units fire in a strict cycle A -> B -> C -> D -> A: every observed transition is
    one-way, so the plug-in sees none of the irreversibility (its value is 0 while the true
    entropy production is unbounded). The terminal says so with the count and gives no
    recording length for it; the current-based estimator detects the cycle."""
    states = np.arange(2000) % 4
    spikes = _sequence_spikes(states, 4)
    path = _nwb(tmp_path / "cycle.nwb", spikes=spikes)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["analyze", "--trajectory", str(path), "--bin-ms", "10",
                                       "--methods", "plugin,tur", "--power", "--out", str(out)])
    assert result.exit_code == 0, result.output
    analysis = json.loads((out / "analysis.json").read_text())
    condition = analysis["conditions"]["all"]
    one_way = condition["entropy_production"]["plugin"]["details"]["n_one_way_pairs"]
    assert one_way >= 4  # the cycle's four transitions, and binning's extra patterns
    warning = [line for line in result.output.splitlines() if line.startswith("warning [plugin]")]
    assert len(warning) == 1
    assert f"{one_way} observed transitions between states were never seen in reverse" in (
        warning[0])
    assert "plugin: no sample size" in result.output
    assert condition["power"]["plugin"]["withheld"].startswith(f"{one_way} observed")
    assert "withheld" not in condition["power"]["tur"]
    assert condition["entropy_production"]["tur"]["p_value"] < 0.05


def test_an_interval_and_a_p_value_that_point_different_ways_are_explained():
    from biovw.analysis.record import EntropyEstimate
    from biovw.analysis.report import disagreement

    both = EntropyEstimate("plugin", 0.01, 0.002, 0.02, 0.004, p_value=0.01)
    assert disagreement(both) is None  # rejects, and the interval excludes 0
    neither = EntropyEstimate("plugin", 0.0, -0.01, 0.01, 0.005, p_value=0.4)
    assert disagreement(neither) is None
    split = disagreement(EntropyEstimate("plugin", 0.004, -0.001, 0.01, 0.003, p_value=0.03))
    assert split.startswith("p = 0.03 < 0.05 while the 95% interval holds 0")
    other = disagreement(EntropyEstimate("tur", 0.004, 0.001, 0.01, 0.003, p_value=0.2))
    assert other.startswith("p = 0.2 >= 0.05 while the 95% interval excludes 0")
    assert disagreement(EntropyEstimate("var", 0.004, -0.001, 0.01, 0.003)) is None
