"""IDX files (the MNIST family's format) and Fashion-MNIST read from them.

An IDX file is two zero bytes, a type byte (``0x08``: unsigned bytes), the number of dimensions,
each dimension as a big-endian 32-bit integer, then the values in row-major order; it may be
gzipped. Fashion-MNIST (Xiao, Rasul and Vollgraf 2017: 60,000 training and 10,000 test images of
28 x 28 grey levels in 10 classes of clothing) ships in four such files; the Debian package
``dataset-fashion-mnist`` puts them under :data:`FASHION_MNIST_DIR`.
"""

from __future__ import annotations

import gzip
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from biovw.data.errors import DataError

__all__ = ["FASHION_MNIST_DIR", "FASHION_MNIST_FILES", "FASHION_MNIST_SHAPE",
           "load_fashion_mnist", "read_idx"]

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
"""Where ``apt-get install dataset-fashion-mnist`` puts the files (the default ``data.path``)."""
FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte",
}
"""The four files, each read with or without a ``.gz`` suffix."""
FASHION_MNIST_SHAPE: tuple[int, int] = (28, 28)

_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """The array in an IDX file (gzipped when its name ends in ``.gz``).

    Raises
    ------
    DataError
        One line naming the file for a missing file, a bad header, or a size that does not
        match the header.
    """
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"data.path: cannot read {path}: {' '.join(str(exc).split())}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES or raw[3] == 0:
        raise DataError(f"data.path: {path} is not an IDX file (bad header)")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"data.path: {path} is truncated (header of {ndim} dimensions)")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_TYPES[raw[2]])
    body = raw[4 + 4 * ndim:]
    if len(body) != int(np.prod(dims)) * dtype.itemsize:
        raise DataError(f"data.path: {path} holds {len(body)} bytes of values; its header "
                        f"{dims} asks for {int(np.prod(dims)) * dtype.itemsize}")
    return np.frombuffer(body, dtype=dtype).reshape(dims)


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    names = ", ".join(f"{s}[.gz]" for s in FASHION_MNIST_FILES.values())
    raise DataError(f"data.path: {folder} has no {stem}[.gz]; Fashion-MNIST needs the files "
                    f"{names} there (apt-get install dataset-fashion-mnist puts them in "
                    f"{FASHION_MNIST_DIR})")


@lru_cache(maxsize=2)
def _fashion(folder: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    root = Path(folder)
    arrays = {k: read_idx(_find(root, stem)) for k, stem in FASHION_MNIST_FILES.items()}
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"data.path: the {part} files in {folder} hold images "
                            f"{images.shape} and labels {labels.shape}; expected [n, h, w] "
                            f"and [n]")
    out = [(arrays[f"{p}_images"].reshape(len(arrays[f"{p}_images"]), -1)
            .astype(np.float32) / np.float32(255.0)) for p in ("train", "test")]
    labels = [arrays[f"{p}_labels"].astype(np.int64) for p in ("train", "test")]
    for a in (*out, *labels):
        a.setflags(write=False)
    return out[0], out[1], labels[0], labels[1]


def load_fashion_mnist(path: str | os.PathLike[str] | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fashion-MNIST's training and test images (``[n, 784]`` float32 in ``[0, 1]``,
    read-only) and their labels (int64 ``[n]``), from the folder ``path`` [default:
    :data:`FASHION_MNIST_DIR`].

    Raises
    ------
    DataError
        One line naming the folder, the package and the expected file names when a file is
        missing, or naming the file when it cannot be read.
    """
    folder = Path(path or FASHION_MNIST_DIR)
    if not folder.is_dir():
        names = ", ".join(f"{s}[.gz]" for s in FASHION_MNIST_FILES.values())
        raise DataError(f"data.path: no folder {folder} for Fashion-MNIST (apt-get install "
                        f"dataset-fashion-mnist puts {names} in {FASHION_MNIST_DIR})")
    return _fashion(str(folder.resolve()))
