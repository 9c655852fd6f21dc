"""Datasets for learning transition operators: 2-D toys, bundled images and user files.

The entry point is :func:`load_data`, which returns deterministic
train/validation/test :class:`DataSplits` of float32 CPU tensors.
"""

from __future__ import annotations

from biovw.data.errors import DataError
from biovw.data.files import load_states
from biovw.data.load import DATASETS, Dataset, load_data, load_labels
from biovw.data.splits import DataSplits

__all__ = [
    "DATASETS", "DataError", "DataSplits", "Dataset", "load_data", "load_labels", "load_states",
]
