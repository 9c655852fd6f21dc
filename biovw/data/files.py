"""Loading the user's own arrays from ``.npy`` and ``.npz`` files."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from biovw.data.errors import DataError

__all__ = ["FILE_SUFFIXES", "load_array_file", "load_states"]

FILE_SUFFIXES: tuple[str, ...] = (".npy", ".npz")
COLOUR_CHANNELS = 3
"""Channels of a colour image array ``[n, h, w, 3]`` (RGB, channels last)."""


def _load_raw(path: Path, shown: str, key: str | None, field: str) -> np.ndarray:
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            if key is not None:
                raise DataError(f"data.key: only used with .npz files; got {key!r} for {shown}")
            return np.load(path, allow_pickle=False)
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            if key is None:
                if len(keys) != 1:
                    raise DataError(
                        f"data.key: required for {shown}, which holds {len(keys)} arrays; "
                        f"available keys: {keys}"
                    )
                key = keys[0]
            elif key not in keys:
                raise DataError(f"data.key: {key!r} not found in {shown}; available keys: {keys}")
            return archive[key]
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"{field}: cannot read {shown} as {suffix}: {reason}") from exc


def load_array_file(
    path: str | os.PathLike[str], key: str | None = None, field: str = "data.path"
) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """Load and validate an example array from a ``.npy`` or ``.npz`` file.

    The file is read with ``allow_pickle=False``. The array must be numeric
    (boolean, integer or real floating point), finite, non-empty, and of shape
    ``[n, D]``, ``[n, h, w]`` (grey images) or ``[n, h, w, 3]`` (colour images,
    channels last); images are flattened row-major to ``[n, h * w]`` or
    ``[n, h * w * 3]``. Values are used as they are (no rescaling): save images
    scaled to ``[0, 1]``.

    Parameters
    ----------
    path : str or os.PathLike
        File to read; its suffix (``.npy`` or ``.npz``) selects the format.
    key : str, optional
        Name of the array inside a ``.npz`` archive. May be omitted when the
        archive holds exactly one array. Not allowed for ``.npy`` files.
    field : str, optional
        How the file is named in error messages (a config field or an option).

    Returns
    -------
    array : numpy.ndarray
        ``[n, D]`` float32 C-contiguous array.
    image_shape : tuple of int or None
        ``(h, w)`` for a 3-D input array, ``(h, w, 3)`` for a colour one, else ``None``.

    Raises
    ------
    DataError
        If the file is missing, has another suffix, cannot be read, or holds an
        array that is not numeric, has the wrong number of dimensions, is empty,
        or contains NaN or infinite values; or if ``key`` does not select a
        single array. The message names ``field`` (``data.path``) or ``data.key``.
    """
    shown = os.fspath(path)
    file = Path(shown)
    if not file.exists():
        raise DataError(f"{field}: file not found: {shown}")
    if not file.is_file():
        raise DataError(f"{field}: not a regular file: {shown}")
    if file.suffix.lower() not in FILE_SUFFIXES:
        raise DataError(
            f"{field}: expected a .npy or .npz file; got suffix {file.suffix!r} in {shown}"
        )
    raw = _load_raw(file, shown, key, field)
    if raw.dtype.kind not in "biuf":
        raise DataError(f"{field}: array in {shown} is not numeric (dtype {raw.dtype})")
    if raw.ndim not in (2, 3) and not (raw.ndim == 4 and raw.shape[3] == COLOUR_CHANNELS):
        raise DataError(
            f"{field}: array in {shown} must have shape [n, D], [n, h, w] or [n, h, w, 3]; "
            f"got shape {tuple(raw.shape)}"
        )
    if raw.size == 0:
        raise DataError(f"{field}: array in {shown} is empty (shape {tuple(raw.shape)})")
    image_shape: tuple[int, ...] | None = None
    if raw.ndim > 2:
        image_shape = tuple(int(n) for n in raw.shape[1:])
    if raw.dtype.kind == "f" and not np.isfinite(raw).all():
        raise DataError(f"{field}: array in {shown} contains NaN or infinite values")
    if raw.dtype.kind == "f" and np.abs(raw).max() > np.finfo(np.float32).max:
        raise DataError(f"{field}: values in {shown} overflow float32")
    array = np.ascontiguousarray(raw.reshape(raw.shape[0], -1), dtype=np.float32)
    return array, image_shape


def load_states(path: str | os.PathLike[str], dim: int, binary: bool,
                field: str = "--initial") -> np.ndarray:
    """States to start chains from: a ``.npy`` (or single-array ``.npz``) file of shape
    ``[n, dim]`` (images ``[n, h, w]`` are flattened), binary when the model's states are.

    Returns
    -------
    ndarray
        ``[n, dim]`` float32.

    Raises
    ------
    DataError
        One line naming ``field`` for a file that cannot be read (see
        :func:`load_array_file`), the wrong number of coordinates, or non-binary values for a
        binary model.
    """
    states, _ = load_array_file(path, field=field)
    if states.shape[1] != dim:
        raise DataError(f"{field}: {os.fspath(path)} holds states of {states.shape[1]} "
                        f"coordinates; the model's states have {dim}")
    if binary and not np.isin(states, (0.0, 1.0)).all():
        raise DataError(f"{field}: {os.fspath(path)} must hold 0/1 states for this binary model")
    return states
