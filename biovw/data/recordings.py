"""Reading recordings for entropy-production analysis: arrays, HDF5 and NWB files.

:func:`read_recording` returns a :class:`Recording`: one or more chains (trials) of a
trajectory, the time step when the file knows it, and the condition of every chain.

* ``.npy`` -- one array: ``[T, D]`` or ``[chains, T, D]`` (continuous) or ``[T]`` /
  ``[chains, T]`` integer states (``discrete``).
* ``.npz`` -- the same, ``key`` names the array (needed when there are several).
* ``.h5`` / ``.hdf5`` -- the same, ``key`` is the dataset path (needed when there are several).
* ``.nwb`` (pynwb) -- the Units table's spike times binned at ``bin_ms`` into counts (or
  rates in spikes/s with ``rates``), ``[bins, units]``; or, with ``key``, a TimeSeries (in
  acquisition or a processing module), whose time step is ``1 / rate`` or the median
  timestamp step. ``trials`` names an intervals table (``"trials"``, ``"epochs"``, ...): every
  interval becomes a separate chain (spikes binned from its start time; TimeSeries samples in
  ``[start, stop)``), and ``condition`` names one of its columns to label the chains.
* ``units`` selects neurons (Units ids) or columns (arrays) by index.

Problems give a :class:`~biovw.data.errors.DataError` with one line naming the option:
missing files, unknown formats or keys, NWB files without units, empty intervals, wrong shapes.
Values (NaN, infinities, complex numbers, constant data) are checked by the estimators.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from biovw.data.errors import DataError

__all__ = ["RECORDING_SUFFIXES", "Recording", "read_recording"]

RECORDING_SUFFIXES = (".npy", ".npz", ".h5", ".hdf5", ".nwb")


@dataclass(frozen=True)
class Recording:
    """A recording as chains.

    Attributes
    ----------
    chains : list of ndarray
        ``[T_i, D]`` arrays (or ``[T_i]`` integer states).
    dt : float or None
        Seconds per step, when known.
    conditions : list of str or None
        Condition of every chain (``condition`` column of the intervals).
    units : list or None
        Names of the coordinates (unit ids, or selected columns).
    source : str
        What was read, in words.
    intervals : list of tuple or None
        ``(start, stop)`` seconds of every chain read from intervals.
    """

    chains: list[np.ndarray]
    dt: float | None = None
    conditions: list[str] | None = None
    units: list | None = None
    source: str = ""
    intervals: list[tuple[float, float]] | None = field(default=None)

    def by_condition(self) -> dict[str, list[np.ndarray]]:
        """Chains grouped by condition (one group ``"all"`` without conditions)."""
        if self.conditions is None:
            return {"all": list(self.chains)}
        groups: dict[str, list[np.ndarray]] = {}
        for cond, chain in zip(self.conditions, self.chains, strict=True):
            groups.setdefault(cond, []).append(chain)
        return groups


def _array_chains(a: np.ndarray, discrete: bool, shown: str) -> list[np.ndarray]:
    a = np.asarray(a)
    if a.dtype.kind not in "biufc":
        raise DataError(f"--trajectory: {shown} holds non-numeric data ({a.dtype})")
    if a.size == 0:
        raise DataError(f"--trajectory: {shown} is empty (shape {a.shape})")
    if discrete:
        if a.ndim == 3 and a.shape[-1] == 1:
            a = a[..., 0]
        if a.ndim not in (1, 2):
            raise DataError(f"--trajectory: integer states need shape [T] or [chains, T], got "
                            f"{a.shape} in {shown}")
        return [a] if a.ndim == 1 else list(a)
    if a.ndim == 1:
        raise DataError(f"--trajectory: {shown} has shape {a.shape}; continuous data need "
                        "[T, D] or [chains, T, D] (use --discrete for integer states [T])")
    if a.ndim not in (2, 3):
        raise DataError(f"--trajectory: {shown} must have shape [T, D] or [chains, T, D], got "
                        f"{a.shape}")
    return [a] if a.ndim == 2 else list(a)


def _select_columns(chains: list[np.ndarray], units: Sequence[int] | None, discrete: bool):
    if units is None:
        return chains, None
    if discrete:
        raise DataError("--units: integer states have no columns to select")
    dim = chains[0].shape[1]
    bad = [u for u in units if not 0 <= int(u) < dim]
    if bad:
        raise DataError(f"--units: column(s) {bad} out of range for {dim} columns")
    cols = [int(u) for u in units]
    return [c[:, cols] for c in chains], cols


def _read_npz(path: Path, key: str | None) -> tuple[np.ndarray, str]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            if key is None:
                if len(keys) != 1:
                    raise DataError(f"--key: required for {path.name}, which holds {len(keys)} "
                                    f"arrays: {keys}")
                key = keys[0]
            elif key not in keys:
                raise DataError(f"--key: {key!r} not found in {path.name}; available: {keys}")
            return archive[key], f"{path.name}:{key}"
    except DataError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"--trajectory: cannot read {path}: {_reason(exc)}") from exc


def _read_hdf5(path: Path, key: str | None) -> tuple[np.ndarray, str]:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            datasets: list[str] = []
            f.visititems(lambda name, obj: datasets.append(name)
                         if isinstance(obj, h5py.Dataset) else None)
            if key is None:
                if len(datasets) != 1:
                    raise DataError(f"--key: required for {path.name}, which holds "
                                    f"{len(datasets)} datasets: {datasets[:20]}")
                key = datasets[0]
            if key.strip("/") not in datasets:
                raise DataError(f"--key: dataset {key!r} not found in {path.name}; available: "
                                f"{datasets[:20]}")
            return np.asarray(f[key][()]), f"{path.name}:{key}"
    except DataError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"--trajectory: cannot read {path} as HDF5: {_reason(exc)}") from exc


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _intervals(nwb, name: str, condition: str | None):
    table = nwb.intervals.get(name) if nwb.intervals else None
    if table is None and name == "trials":
        table = nwb.trials
    if table is None:
        available = sorted(nwb.intervals) if nwb.intervals else []
        raise DataError(f"--trials: the NWB file has no intervals table {name!r}; available: "
                        f"{available}")
    start = np.asarray(table["start_time"].data[:], dtype=np.float64)
    stop = np.asarray(table["stop_time"].data[:], dtype=np.float64)
    if len(start) == 0:
        raise DataError(f"--trials: the intervals table {name!r} is empty")
    conditions = None
    if condition is not None:
        if condition not in table.colnames:
            raise DataError(f"--condition: column {condition!r} not in {name!r}; columns: "
                            f"{list(table.colnames)}")
        conditions = [str(v) for v in table[condition].data[:]]
    return start, stop, conditions


def _bin_spikes(times: np.ndarray, unit_of: np.ndarray, n_units: int, start: float,
                n_bins: int, width: float) -> np.ndarray:
    """Spike counts ``[n_bins, n_units]`` in bins of ``width`` seconds from ``start``."""
    b = np.floor((times - start) / width).astype(np.int64)
    keep = (b >= 0) & (b < n_bins)
    flat = b[keep] * n_units + unit_of[keep]
    return np.bincount(flat, minlength=n_bins * n_units).reshape(n_bins, n_units).astype(
        np.float64)


def _nwb_units(nwb, bin_ms, rates, trials, condition, units, shown) -> Recording:
    table = nwb.units
    if table is None or len(table) == 0:
        series = _nwb_series_names(nwb)
        raise DataError(f"--trajectory: {shown} has no Units table (no spike times); give "
                        f"--key to pick a TimeSeries{': ' + ', '.join(series) if series else ''}")
    if bin_ms is None or not bin_ms > 0:
        raise DataError("--bin-ms: a positive bin width (milliseconds) is needed to bin spike "
                        "times")
    width = bin_ms / 1000.0
    ids = [int(i) for i in table.id[:]]
    index = table["spike_times"]
    flat = np.asarray(index.target.data[:], dtype=np.float64)
    ends = np.asarray(index.data[:], dtype=np.int64)
    counts = np.diff(np.concatenate([[0], ends]))
    unit_of = np.repeat(np.arange(len(ids)), counts)
    if units is not None:
        missing = [u for u in units if int(u) not in ids]
        if missing:
            raise DataError(f"--units: unit id(s) {missing} not in the Units table (ids "
                            f"{ids[:10]}{'...' if len(ids) > 10 else ''})")
        chosen = [ids.index(int(u)) for u in units]
        remap = np.full(len(ids), -1)
        remap[chosen] = np.arange(len(chosen))
        keep = remap[unit_of] >= 0
        flat, unit_of = flat[keep], remap[unit_of[keep]]
        ids = [ids[c] for c in chosen]
    if flat.size == 0:
        raise DataError(f"--trajectory: the selected units of {shown} hold no spikes")
    scale = 1.0 / width if rates else 1.0
    if trials is None:
        start = float(flat.min())
        n_bins = int(np.floor((float(flat.max()) - start) / width)) + 1
        chains = [_bin_spikes(flat, unit_of, len(ids), start, n_bins, width) * scale]
        return Recording(chains, width, None, ids,
                         f"{shown}: {len(ids)} units binned at {bin_ms:g} ms", None)
    start, stop, conditions = _intervals(nwb, trials, condition)
    chains, spans = [], []
    for i, (t0, t1) in enumerate(zip(start.tolist(), stop.tolist(), strict=True)):
        n_bins = int(np.floor((t1 - t0) / width + 1e-9))
        if n_bins < 2:
            raise DataError(f"--trials: interval {i} [{t0:g}, {t1:g}] s of {trials!r} holds "
                            f"{max(n_bins, 0)} bin(s) of {bin_ms:g} ms; every interval needs "
                            "at least two")
        chains.append(_bin_spikes(flat, unit_of, len(ids), t0, n_bins, width) * scale)
        spans.append((t0, t1))
    return Recording(chains, width, conditions, ids,
                     f"{shown}: {len(ids)} units binned at {bin_ms:g} ms in {len(chains)} "
                     f"{trials} intervals", spans)


def _nwb_series_names(nwb) -> list[str]:
    names = list(nwb.acquisition)
    for module in nwb.processing.values():
        names += [f"{module.name}/{k}" for k in module.data_interfaces]
    return names


def _nwb_series(nwb, key, trials, condition, units, shown) -> Recording:
    from pynwb.base import TimeSeries

    obj = None
    if key in nwb.acquisition:
        obj = nwb.acquisition[key]
    elif "/" in key and key.split("/", 1)[0] in nwb.processing:
        module, name = key.split("/", 1)
        obj = nwb.processing[module].data_interfaces.get(name)
    if not isinstance(obj, TimeSeries):
        raise DataError(f"--key: no TimeSeries {key!r} in {shown}; available: "
                        f"{_nwb_series_names(nwb)}")
    data = np.asarray(obj.data[:])
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise DataError(f"--key: TimeSeries {key!r} has shape {data.shape}; need [T] or [T, D]")
    if obj.timestamps is not None:
        times = np.asarray(obj.timestamps[:], dtype=np.float64)
        dt = float(np.median(np.diff(times))) if len(times) > 1 else None
    else:
        dt = 1.0 / float(obj.rate)
        times = float(obj.starting_time or 0.0) + dt * np.arange(len(data))
    chains = [data]
    cols = None
    if units is not None:
        chains, cols = _select_columns(chains, units, False)
        data = chains[0]
    if trials is None:
        return Recording([data], dt, None, cols, f"{shown}: TimeSeries {key}", None)
    start, stop, conditions = _intervals(nwb, trials, condition)
    chains, spans = [], []
    for i, (t0, t1) in enumerate(zip(start.tolist(), stop.tolist(), strict=True)):
        inside = (times >= t0) & (times < t1)
        if np.count_nonzero(inside) < 2:
            raise DataError(f"--trials: interval {i} [{t0:g}, {t1:g}] s of {trials!r} holds "
                            f"{np.count_nonzero(inside)} sample(s) of {key!r}; every interval "
                            "needs at least two")
        chains.append(data[inside])
        spans.append((t0, t1))
    return Recording(chains, dt, conditions, cols,
                     f"{shown}: TimeSeries {key} in {len(chains)} {trials} intervals", spans)


def _read_nwb(path: Path, key, bin_ms, rates, trials, condition, units) -> Recording:
    try:
        from pynwb import NWBHDF5IO
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise DataError("--trajectory: reading NWB files needs pynwb (pip install "
                        "'biovw[recordings]')") from exc
    try:
        with NWBHDF5IO(str(path), "r") as io:
            nwb = io.read()
            if key is None or key == "units":
                return _nwb_units(nwb, bin_ms, rates, trials, condition, units, path.name)
            return _nwb_series(nwb, key, trials, condition, units, path.name)
    except DataError:
        raise
    except Exception as exc:  # pynwb/hdmf raise many kinds for unreadable files
        raise DataError(f"--trajectory: cannot read {path} as NWB: {_reason(exc)}") from exc


def read_recording(
    path: str | os.PathLike[str],
    *,
    key: str | None = None,
    discrete: bool = False,
    bin_ms: float | None = None,
    rates: bool = False,
    trials: str | None = None,
    condition: str | None = None,
    units: Sequence[int] | None = None,
) -> Recording:
    """Read a recording from ``.npy``, ``.npz``, HDF5 or NWB (module documentation).

    Parameters
    ----------
    path : path-like
    key : str, optional
        Array (``.npz``), dataset path (HDF5) or TimeSeries name (NWB; default: the Units
        table).
    discrete : bool
        The array holds integer states (not for NWB spike counts).
    bin_ms : float, optional
        Bin width for NWB spike times, milliseconds (required for spikes).
    rates : bool
        Spike rates (spikes/s) instead of counts.
    trials : str, optional
        NWB intervals table whose intervals become chains (``"trials"``, ``"epochs"``).
    condition : str, optional
        Column of that table labelling each chain.
    units : sequence of int, optional
        NWB unit ids, or column indices of an array.

    Returns
    -------
    Recording

    Raises
    ------
    DataError
        One line naming the option at fault.
    """
    shown = os.fspath(path)
    file = Path(shown)
    if not file.is_file():
        raise DataError(f"--trajectory: file not found: {shown}")
    suffix = file.suffix.lower()
    if suffix not in RECORDING_SUFFIXES:
        raise DataError(f"--trajectory: expected one of {', '.join(RECORDING_SUFFIXES)}, got "
                        f"{file.name}")
    if suffix != ".nwb" and (trials is not None or bin_ms is not None or rates):
        raise DataError("--trials, --bin-ms and --rates apply to NWB files only")
    if suffix == ".nwb":
        if discrete:
            raise DataError("--discrete: NWB recordings are binned counts or time series, "
                            "not integer states")
        return _read_nwb(file, key, bin_ms, rates, trials, condition, units)
    if suffix == ".npy":
        if key is not None:
            raise DataError(f"--key: only for .npz, HDF5 and NWB files, not {file.name}")
        try:
            raw, source = np.load(file, allow_pickle=False), file.name
        except (OSError, ValueError, EOFError) as exc:
            raise DataError(f"--trajectory: cannot read {shown}: {_reason(exc)}") from exc
    elif suffix == ".npz":
        raw, source = _read_npz(file, key)
    else:
        raw, source = _read_hdf5(file, key)
    chains = _array_chains(raw, discrete, source)
    chains, cols = _select_columns(chains, units, discrete)
    return Recording(chains, None, None, cols, source, None)
