"""Train/validation/test containers and deterministic splitting."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch

from biovw.data.errors import DataError

__all__ = ["DataSplits", "check_fractions", "split_examples", "split_sizes"]

KINDS: tuple[str, ...] = ("continuous", "binary")


@dataclass(frozen=True)
class DataSplits:
    """A dataset split into train, validation and test examples.

    Attributes
    ----------
    train, valid, test : torch.Tensor
        Float32, contiguous CPU tensors of shape ``[n_split, D]``.
    kind : str
        ``"continuous"`` or ``"binary"``; binary data holds exactly ``0.`` and ``1.``.
    name : str
        Name of the dataset (one of :data:`biovw.data.DATASETS`).
    image_shape : tuple of int or None
        ``(h, w)`` when each example is a flattened ``h x w`` image, ``(h, w, 3)`` for a
        flattened colour image (channels last), else ``None``.
    modes : torch.Tensor or None
        ``[M, D]`` known mode centres (the ``mog_grid`` toy), else ``None``.
    """

    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    kind: str
    name: str
    image_shape: tuple[int, ...] | None = None
    modes: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"DataSplits.kind must be one of {KINDS}; got {self.kind!r}")
        dims = {t.shape[1] for t in (self.train, self.valid, self.test) if t.dim() == 2}
        if any(t.dim() != 2 for t in (self.train, self.valid, self.test)) or len(dims) != 1:
            raise ValueError("DataSplits.train/valid/test must be 2-D with the same width")
        if self.image_shape is not None:
            if math.prod(self.image_shape) != self.dim:
                raise ValueError(
                    f"DataSplits.image_shape {self.image_shape} does not match dim {self.dim}"
                )
        if self.modes is not None and (self.modes.dim() != 2 or self.modes.shape[1] != self.dim):
            raise ValueError("DataSplits.modes must have shape [M, dim]")

    @property
    def dim(self) -> int:
        """Number of features ``D`` of each example."""
        return int(self.train.shape[1])


def check_fractions(valid_fraction: float, test_fraction: float) -> None:
    """Validate the held-out fractions.

    Parameters
    ----------
    valid_fraction, test_fraction : float
        Fractions of the examples held out for validation and test.

    Raises
    ------
    DataError
        If a fraction is not a finite number in ``[0, 1)`` or their sum is not below 1.
    """
    for field, value in (
        ("data.valid_fraction", valid_fraction),
        ("data.test_fraction", test_fraction),
    ):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise DataError(f"{field} must be a number in [0, 1); got {value!r}")
        if not math.isfinite(value) or not 0.0 <= value < 1.0:
            raise DataError(f"{field} must be in [0, 1); got {value!r}")
    if valid_fraction + test_fraction >= 1.0:
        raise DataError(
            "data.valid_fraction + data.test_fraction must be < 1; "
            f"got {valid_fraction!r} + {test_fraction!r}"
        )


def split_sizes(n: int, valid_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """Sizes of the train, validation and test splits of ``n`` examples.

    Parameters
    ----------
    n : int
        Total number of examples.
    valid_fraction, test_fraction : float
        Held-out fractions (validated with :func:`check_fractions`).

    Returns
    -------
    tuple of int
        ``(n_train, n_valid, n_test)`` with ``n_test = round(n * test_fraction)``,
        ``n_valid = round(n * valid_fraction)`` and ``n_train`` the rest.

    Raises
    ------
    DataError
        If the fractions are invalid or no training examples would remain.
    """
    check_fractions(valid_fraction, test_fraction)
    n_test = round(n * test_fraction)
    n_valid = round(n * valid_fraction)
    n_train = n - n_valid - n_test
    if n_train < 1:
        raise DataError(
            f"data: {n} examples leave no training data with data.valid_fraction="
            f"{valid_fraction!r} and data.test_fraction={test_fraction!r}"
        )
    return n_train, n_valid, n_test


def split_examples(
    x: torch.Tensor,
    *,
    seed: int,
    valid_fraction: float,
    test_fraction: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Shuffle examples and split them into train, validation and test sets.

    The order is a permutation drawn from a ``torch.Generator`` seeded with
    ``seed``. The first ``round(n * test_fraction)`` shuffled examples form the
    test set, the next ``round(n * valid_fraction)`` the validation set, and the
    rest the training set.

    Parameters
    ----------
    x : torch.Tensor
        ``[n, D]`` examples.
    seed : int
        Seed of the shuffling permutation.
    valid_fraction, test_fraction : float
        Held-out fractions, each in ``[0, 1)`` with sum below 1.

    Returns
    -------
    tuple of torch.Tensor
        ``(train, valid, test)``, each a float32 contiguous CPU tensor that owns
        its memory.

    Raises
    ------
    DataError
        If the fractions are invalid or no training examples would remain.
    """
    n = int(x.shape[0])
    _, n_valid, n_test = split_sizes(n, valid_fraction, test_fraction)
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=gen)
    shuffled = x.detach().to(device="cpu", dtype=torch.float32)[perm]
    test = shuffled[:n_test].clone(memory_format=torch.contiguous_format)
    valid = shuffled[n_test : n_test + n_valid].clone(memory_format=torch.contiguous_format)
    train = shuffled[n_test + n_valid :].clone(memory_format=torch.contiguous_format)
    return train, valid, test
