"""Fashion-MNIST from IDX files the tests write themselves (gzipped and plain): values, the
kept test split, labels aligned with their images, and one-line errors."""

import gzip
import struct

import numpy as np
import pytest
import torch

from biovw.config import load_config
from biovw.data import DataError, load_data, load_labels
from biovw.data.idx import read_idx
from biovw.runs import build_run


def write_idx(path, array, gz):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(
        struct.pack(">I", d) for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


def fake_fashion(folder, n_train=50, n_test=20, gz=True):
    """Images whose first pixel is 10 * label (so every image names its label)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for part, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 256, (n, 28, 28))
        images[:, 0, 0] = 10 * labels
        write_idx(folder / f"{part}-images-idx3-ubyte", images, gz)
        write_idx(folder / f"{part}-labels-idx1-ubyte", labels, gz)
    return folder


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path, gz):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a-idx3-ubyte", a, gz)
    path = tmp_path / ("a-idx3-ubyte.gz" if gz else "a-idx3-ubyte")
    assert np.array_equal(read_idx(path), a)


def test_fashion_keeps_its_test_split_and_labels_follow_their_images(tmp_path):
    folder = fake_fashion(tmp_path / "fm")
    data = load_data("fashion_mnist", path=folder, seed=3, valid_fraction=0.2)
    assert (len(data.train), len(data.valid), len(data.test)) == (40, 10, 20)
    assert data.image_shape == (28, 28) and data.kind == "continuous"
    assert float(data.train.max()) <= 1.0 and float(data.train.min()) >= 0.0
    labels = load_labels("fashion_mnist", path=folder, seed=3, valid_fraction=0.2)
    for split, lab in zip((data.train, data.valid, data.test), labels, strict=True):
        first_pixel = torch.round(split[:, 0] * 255 / 10).to(torch.int64)
        assert torch.equal(first_pixel, lab)
    again = load_data("fashion_mnist", path=folder, seed=3, valid_fraction=0.2)
    assert torch.equal(again.valid, data.valid)           # the split is fixed by the seed
    other = load_data("fashion_mnist", path=folder, seed=4, valid_fraction=0.2)
    assert torch.equal(other.test, data.test) and not torch.equal(other.valid, data.valid)
    binary = load_data("fashion_mnist", path=folder, binarize=True)
    assert binary.kind == "binary" and set(binary.train.unique().tolist()) <= {0.0, 1.0}


def test_fashion_config_builds_with_its_default_folder_or_a_given_one(tmp_path):
    folder = fake_fashion(tmp_path / "fm", gz=False)
    cfg = load_config("circuits/fashion_mnist_paper.yaml",
                      [f"data.path={folder}", "circuit.hidden=8"])
    data, model = build_run(cfg, torch.device("cpu"))
    assert data.kind == "binary" and data.dim == 784 and model is not None


def test_missing_files_name_the_folder_the_package_and_the_files(tmp_path):
    with pytest.raises(DataError, match="dataset-fashion-mnist.*t10k-labels-idx1-ubyte"):
        load_data("fashion_mnist", path=tmp_path / "nowhere")
    folder = fake_fashion(tmp_path / "fm")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"has no t10k-labels-idx1-ubyte\[.gz\].*apt-get"):
        load_data("fashion_mnist", path=folder)
    (folder / "t10k-labels-idx1-ubyte").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(DataError, match="not an IDX file"):
        load_data("fashion_mnist", path=folder)
