"""Property-based checks (hypothesis): random configs, ``--set`` overrides, data files,
trajectories and checkpoint files never give a traceback and never leave a partial run
directory. Each property runs a bounded, derandomised number of examples in the default test run
and many random ones under ``-m slow``."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import typing
from pathlib import Path

import numpy as np
import pytest
import yaml
from cli_support import invoke, set_args
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from biovw.config import CHOICES, Config
from biovw.runs import RunDir

TINY = [
    "train.steps=4", "train.log_every=2", "train.checkpoint_every=2", "train.batch_size=16",
    "circuit.hidden=6", "walkback.num_steps=2", "data.n_samples=60", "eval.n_examples=6",
    "eval.n_trajectories=1", "eval.n_samples=12", "eval.snapshots=[0, 1]",
    "rbm.epochs=2", "rbm.hidden=4", "rbm.ais_betas=50", "rbm.ais_runs=4", "rbm.gibbs_steps=[1]",
]


def _keys(tree: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in tree.items():
        out += _keys(value, f"{prefix}{key}.") if isinstance(value, dict) else [prefix + key]
    return out


KEYS = _keys(Config().to_dict())
SECTIONS = [f.name for f in dataclasses.fields(Config) if f.name not in ("name", "seed", "model")]

SCALARS = st.one_of(
    st.integers(-5, 40), st.sampled_from([2**31, 2**63, -(2**63), 10**30]),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
    st.text(max_size=10),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=5)


def _yaml(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix(
        "...").strip()


def _plausible(key: str):
    """Values of the key's own type, mostly in range, so that runs get past validation."""
    section, _, name = key.rpartition(".")
    record = getattr(Config(), section) if section else Config()
    tp = typing.get_type_hints(type(record))[name]
    if key in CHOICES:
        return st.sampled_from(CHOICES[key])
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(-1, 12)
    if tp in (float, float | None):
        return st.one_of(st.floats(0, 2), st.sampled_from([0.0, 1e-6, 1.0, 10.0, 1e6]))
    if tp == list[int]:
        return st.lists(st.integers(-1, 8), max_size=3)
    return st.none()


@st.composite
def overrides(draw, cheap: bool = False) -> str:
    """One ``--set`` argument: a known key (or, unless ``cheap``, a section or garbage) and a
    value of the key's type (mostly in range), random YAML or (unless ``cheap``) random
    text."""
    key = draw(st.sampled_from(KEYS) if cheap else st.one_of(
        st.sampled_from(KEYS), st.sampled_from(SECTIONS), st.text(max_size=8)))
    options = [_plausible(key).map(_yaml)] * 3 if key in KEYS else []
    options.append(VALUES.map(_yaml))
    if not cheap:
        options.append(st.text(max_size=12))
    return f"{key}={draw(st.one_of(*options))}"


def _budget(quick: int, long: int):
    return pytest.mark.parametrize("examples", [
        pytest.param(quick, id="quick"), pytest.param(long, id="long", marks=pytest.mark.slow)])


def _settings(examples: int):
    return settings(max_examples=examples, deadline=None, derandomize=examples < 100,
                    database=None, suppress_health_check=list(HealthCheck))


_invoke = invoke


def _clean(result, codes=(0, 2)) -> None:
    """A finished command: an expected exit code, and a refusal is one line, no traceback."""
    assert result.exit_code in codes, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    if result.exit_code:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr


def _no_partial_run(result, out: Path) -> None:
    """Done (summary written), refused (nothing written) or diverged (a checkpoint kept)."""
    if result.exit_code == 0:
        assert (out / "summary.json").is_file()
    elif result.exit_code == 2:
        assert not out.exists()
    else:
        assert not out.exists() or RunDir(out).has_checkpoint


_sets = set_args


@_budget(30, 600)
def test_random_overrides_are_checked_or_accepted(examples):
    @_settings(examples)
    @given(st.lists(overrides(), min_size=1, max_size=3))
    def check(items):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run"
            result = _invoke(["train", "circuits/rate_net.yaml", *_sets(TINY + items),
                              "--out", out, "--dry-run"])
            _clean(result)
            assert not out.exists()

    check()


@_budget(4, 150)
def test_random_overrides_train_or_stop_cleanly(examples):
    @_settings(examples)
    @given(st.lists(overrides(cheap=True), min_size=1, max_size=2))
    def check(items):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run"
            result = _invoke(["train", "circuits/rate_net.yaml", *_sets(TINY + items),
                              "--out", out, "--no-progress"])
            _clean(result, codes=(0, 2, 3))
            _no_partial_run(result, out)

    check()


ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float64, np.int64, np.int8, np.bool_, np.complex64,
                           np.dtype("<U3")]),
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=9),
)


@st.composite
def data_files(draw, directory: Path) -> tuple[Path, list[str]]:
    """A file for ``data.name: file``: an array (.npy, or .npz under a key) or random bytes."""
    kind = draw(st.sampled_from(["npy", "npz", "bytes"]))
    extra = []
    if kind == "bytes":
        path = directory / f"data{draw(st.sampled_from(['.npy', '.npz', '.txt']))}"
        path.write_bytes(draw(st.binary(max_size=200)))
    elif kind == "npy":
        path = directory / "data.npy"
        np.save(path, draw(ARRAYS))
    else:
        path = directory / "data.npz"
        keys = draw(st.lists(st.sampled_from(["x", "y", "data"]), min_size=1, max_size=2,
                             unique=True))
        np.savez(path, **{k: draw(ARRAYS) for k in keys})
        extra = [f"data.key={draw(st.sampled_from([*keys, 'missing']))}"]
    return path, [f"data.path={path}", *extra]


@_budget(20, 400)
def test_random_data_files_are_checked_or_accepted(examples):
    @_settings(examples)
    @given(st.data())
    def check(data):
        with tempfile.TemporaryDirectory() as tmp:
            path, items = data.draw(data_files(Path(tmp)))
            out = Path(tmp) / "run"
            result = _invoke(["train", "circuits/rate_net.yaml",
                              *_sets([*TINY, "data.name=file", *items]), "--out", out,
                              "--dry-run"])
            _clean(result)
            assert not out.exists()

    check()


FLOAT_DATA = hnp.arrays(np.float64, st.tuples(st.integers(8, 40), st.integers(1, 3)),
                        elements=st.one_of(st.floats(-5, 5), st.sampled_from([0.0, 1.0, 1e30])))


@_budget(2, 80)
def test_accepted_data_files_train_or_stop_cleanly(examples):
    @_settings(examples)
    @given(FLOAT_DATA)
    def check(x):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "data.npy"
            np.save(path, x)
            out = Path(tmp) / "run"
            result = _invoke(["train", "circuits/rate_net.yaml",
                              *_sets([*TINY, "data.name=file", f"data.path={path}",
                                      "data.valid_fraction=0.25", "data.test_fraction=0.25"]),
                              "--out", out, "--no-progress"])
            _clean(result, codes=(0, 2, 3))
            _no_partial_run(result, out)

    check()


TRAJECTORIES = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.float32, np.int64, np.bool_]),
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=30),
)


@_budget(15, 300)
def test_random_trajectories_are_analysed_or_refused(examples):
    @_settings(examples)
    @given(st.one_of(TRAJECTORIES, hnp.arrays(np.float64, hnp.array_shapes(min_dims=1,
                                                                            max_dims=3,
                                                                            max_side=20))),
           st.booleans())
    def check(x, discrete):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "traj.npy"
            np.save(path, x)
            out = Path(tmp) / "out"
            result = _invoke(["analyze", "--trajectory", path, *(["--discrete"] * discrete),
                              "--bins", "3", "--clusters", "2", "--out", out])
            _clean(result)
            if result.exit_code:
                assert not out.exists()
            else:
                assert (out / "analysis.json").is_file()

    check()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fuzz") / "tiny"
    result = _invoke(["train", "circuits/rate_net.yaml", *_sets(TINY), "--out", out,
                      "--no-progress"])
    assert result.exit_code == 0, result.output
    return out


@_budget(8, 200)
def test_damaged_checkpoints_are_refused_in_one_line(examples, tiny_run):
    original = (tiny_run / "checkpoints" / "latest.pt").read_bytes()

    @_settings(examples)
    @given(st.one_of(st.binary(max_size=300),
                     st.integers(0, len(original) - 1).map(lambda n: original[:n]),
                     st.tuples(st.integers(0, len(original) - 1), st.binary(min_size=1,
                                                                             max_size=8))
                     .map(lambda t: original[:t[0]] + t[1] + original[t[0] + len(t[1]):])))
    def check(content):
        with tempfile.TemporaryDirectory() as tmp:
            run = Path(shutil.copytree(tiny_run, Path(tmp) / "run"))
            (run / "checkpoints" / "latest.pt").write_bytes(content)
            result = _invoke(["sample", run, "--n", "3", "--out", Path(tmp) / "s.npy"])
            _clean(result)

    check()


@_budget(15, 300)
def test_random_config_bytes_and_absurd_sizes_are_refused_in_one_line(examples):
    """Config files of random bytes (not UTF-8, not YAML, not a mapping) and model sizes that
    no machine holds: one line and exit 2, never a traceback, never a run directory."""
    # small sizes build; sizes in between may fit and take minutes, so they are not drawn
    sizes = st.one_of(st.integers(1, 64), st.integers(10**7, 10**12))

    @_settings(examples)
    @given(st.one_of(st.binary(max_size=200), st.none()), sizes)
    def check(raw, hidden):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run"
            if raw is None:
                config, extra = "circuits/rate_net.yaml", [f"circuit.hidden={hidden}"]
            else:
                config, extra = Path(tmp) / "random.yaml", []
                config.write_bytes(raw)
            result = _invoke(["train", config, *_sets(TINY + extra), "--out", out, "--dry-run"])
            _clean(result)
            assert not out.exists()

    check()
