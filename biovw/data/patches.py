"""Whitened natural image patches from the photographs that ship with scikit-learn.

The two colour photographs of :func:`sklearn.datasets.load_sample_images` (427 x 640 pixels)
are turned to grey levels and their logarithm taken. Each photograph is cut by columns into
three bands, training on the left, validation in the middle and test on the right (the held-out
fractions of the columns), so that no held-out patch shares a pixel with a training patch.
Square patches are cut from each band with a stride of half their side, each split is put in a
fixed shuffled order, and the patches are whitened with the
training patches' mean and covariance (ZCA: ``W = U diag((lambda + eps)^-1/2) U^T`` with
``eps`` a hundredth of the mean eigenvalue), so that the training patches have about unit
variance in every direction.
"""

from __future__ import annotations

import numpy as np

from biovw.data.errors import DataError

__all__ = ["PATCH_SIZES", "grey_photographs", "image_patches", "load_patches", "whitening"]

PATCH_SIZES: tuple[int, ...] = (8, 16)
"""The patch sides ``data.patch_size`` may take."""

ORDER_SEED = 0
"""Seed of the fixed shuffle of each split (so that its first examples, the ones an evaluation
scores, come from the whole band rather than its top rows; the same for every run seed)."""

WHITENING_FLOOR = 0.01
"""``eps`` of the ZCA whitening, as a fraction of the mean eigenvalue."""


def grey_photographs() -> list[np.ndarray]:
    """scikit-learn's sample photographs as log grey levels, float64 ``[h, w]`` each."""
    from sklearn.datasets import load_sample_images

    images = load_sample_images().images
    weights = np.array([0.299, 0.587, 0.114])
    return [np.log1p(np.asarray(im, dtype=np.float64) @ weights) for im in images]


def image_patches(image: np.ndarray, size: int, stride: int) -> np.ndarray:
    """Every ``size x size`` patch of ``image`` at ``stride``, flattened: ``[n, size^2]``."""
    windows = np.lib.stride_tricks.sliding_window_view(image, (size, size))
    return windows[::stride, ::stride].reshape(-1, size * size)


def _bands(width: int, valid_fraction: float, test_fraction: float) -> list[slice]:
    """Column ranges of the training, validation and test bands."""
    test = int(round(width * test_fraction))
    valid = int(round(width * valid_fraction))
    train = width - valid - test
    return [slice(0, train), slice(train, train + valid), slice(train + valid, width)]


def whitening(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and ZCA whitening matrix of the examples ``x`` ``[n, D]``."""
    mean = x.mean(0)
    values, vectors = np.linalg.eigh(np.cov(x - mean, rowvar=False))
    values = np.clip(values, 0.0, None) + WHITENING_FLOOR * values.mean()
    return mean, (vectors / np.sqrt(values)) @ vectors.T


def load_patches(size: int, valid_fraction: float,
                 test_fraction: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whitened training, validation and test patches, float32 ``[n, size^2]`` each.

    Raises
    ------
    DataError
        For a size not in :data:`PATCH_SIZES`, or a held-out band narrower than a patch.
    """
    if size not in PATCH_SIZES:
        raise DataError(f"data.patch_size must be one of {', '.join(map(str, PATCH_SIZES))}; "
                        f"got {size!r}")
    splits: list[list[np.ndarray]] = [[], [], []]
    for image in grey_photographs():
        for part, band in zip(splits, _bands(image.shape[1], valid_fraction, test_fraction),
                              strict=True):
            if band.stop == band.start:
                part.append(np.empty((0, size * size)))
                continue
            if band.stop - band.start < size:
                raise DataError(f"data.valid_fraction and data.test_fraction leave a band of "
                                f"{band.stop - band.start} columns, narrower than a patch "
                                f"({size})")
            part.append(image_patches(image[:, band], size, size // 2))
    train, valid, test = (np.concatenate(p) for p in splits)
    mean, white = whitening(train)
    order = np.random.default_rng(ORDER_SEED)
    return tuple((((p[order.permutation(len(p))] - mean) @ white).astype(np.float32))
                 for p in (train, valid, test))
