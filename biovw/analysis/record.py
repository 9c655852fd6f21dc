"""One result record for every entropy-production estimator, and the input forms they share.

Every estimator of :mod:`biovw.analysis.estimators` returns an :class:`EntropyEstimate`:
the value in nats per step with a confidence interval, whether it is a lower bound of the
entropy production of the process that generated the data, the p-value of its test of
detailed balance when it has one, and the settings used. ``per_second`` converts with the
time step when the recording's bin width is known.

Recordings are one or more chains (trials) of possibly different lengths: :func:`as_chains`
turns ``[T, D]``, ``[chains, T, D]`` or a list of ``[T_i, D]`` arrays into a list of float
arrays and refuses what cannot be a trajectory (NaN, infinite or huge values, complex
numbers, constant data) with one clear message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["MAX_ABS_VALUE", "EntropyEstimate", "as_chains", "as_label_chains", "t_quantile"]

MAX_ABS_VALUE = 1e150  # squares and products of coordinates must stay finite


@dataclass(frozen=True)
class EntropyEstimate:
    """Entropy production per step estimated from a recording.

    Attributes
    ----------
    method : str
        Estimator name (``"plugin"``, ``"hkmeans"``, ``"tur"``, ``"var"``, ...).
    value : float
        Point estimate, nats per step.
    ci_low, ci_high : float
        Confidence interval at level ``ci``.
    se : float
        Standard error of ``value``.
    ci : float
        Confidence level.
    lower_bound : bool
        True when the estimator targets a lower bound of the entropy production of the
        process that generated the data (coarse-grained states, currents of a few
        coordinates); false when it targets the value itself under its model.
    p_value : float or None
        p-value of the estimator's test of "detailed balance holds" (None if it has none).
    n_transitions, n_chains : int
        Data used.
    dt : float or None
        Seconds per step, when known.
    settings : dict
        Settings used (plain types).
    details : dict
        Estimator-specific numbers (plain types).
    note : str
        Caveats in words.
    unit : str
        ``"nats/step"``.
    """

    method: str
    value: float
    ci_low: float
    ci_high: float
    se: float
    ci: float = 0.95
    lower_bound: bool = False
    p_value: float | None = None
    n_transitions: int = 0
    n_chains: int = 0
    dt: float | None = None
    settings: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    note: str = ""
    unit: str = "nats/step"

    def per_second(self) -> tuple[float, float, float] | None:
        """``(value, ci_low, ci_high)`` in nats per second, or None without ``dt``."""
        if self.dt is None:
            return None
        return self.value / self.dt, self.ci_low / self.dt, self.ci_high / self.dt

    def detects(self, alpha: float = 0.05) -> bool:
        """Whether the estimate rejects detailed balance at level ``alpha``: its p-value is
        below ``alpha`` when it has one, else its interval lies above zero."""
        if self.p_value is not None:
            return self.p_value < alpha
        return self.ci_low > 0

    def to_dict(self) -> dict:
        """Plain-type summary (with ``per_second`` values when ``dt`` is known)."""
        out = {
            "method": self.method, "value": float(self.value), "ci_low": float(self.ci_low),
            "ci_high": float(self.ci_high), "se": float(self.se), "unit": self.unit,
            "ci": float(self.ci), "lower_bound": bool(self.lower_bound),
            "p_value": None if self.p_value is None else float(self.p_value),
            "n_transitions": int(self.n_transitions), "n_chains": int(self.n_chains),
            "dt": self.dt, "settings": self.settings, "details": self.details,
            "note": self.note,
        }
        rate = self.per_second()
        if rate is not None:
            out["per_second"] = {"value": rate[0], "ci_low": rate[1], "ci_high": rate[2],
                                 "unit": "nats/s"}
        return out


def _check_values(a: np.ndarray, name: str) -> np.ndarray:
    if a.dtype.kind == "c":
        raise ValueError(f"{name} holds complex numbers; entropy production needs real "
                         "values")
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name} is not numeric (dtype {a.dtype})")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if a.size and np.max(np.abs(a)) > MAX_ABS_VALUE:
        raise ValueError(f"{name} contains values of magnitude {np.max(np.abs(a)):.3g}, beyond "
                         f"{MAX_ABS_VALUE:.0e}: rescale the data")
    return a


def as_chains(x: np.ndarray | Sequence[np.ndarray], *, name: str = "trajectory",
              min_length: int = 3) -> list[np.ndarray]:
    """Chains of a continuous recording as a list of ``[T_i, D]`` float64 arrays.

    Parameters
    ----------
    x : array_like or list of arrays
        ``[T]`` (one coordinate), ``[T, D]``, ``[chains, T, D]`` or a list of ``[T_i, D]``
        (or ``[T_i]``) arrays.
    name : str
        How the data are named in error messages.
    min_length : int
        Fewest time points a chain may have.

    Raises
    ------
    ValueError
        One-line messages for complex, non-numeric, non-finite or huge values, wrong shapes,
        chains that are too short, different numbers of coordinates, or data that never
        change.
    """
    if isinstance(x, np.ndarray) or not isinstance(x, Sequence):
        a = _check_values(np.asarray(x), name)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim == 2:
            chains = [a]
        elif a.ndim == 3:
            chains = list(a)
        else:
            raise ValueError(f"{name} must have shape [T, D] or [chains, T, D], got {a.shape}")
    else:
        chains = []
        for i, c in enumerate(x):
            a = _check_values(np.asarray(c), f"{name} chain {i}")
            if a.ndim == 1:
                a = a[:, None]
            if a.ndim != 2:
                raise ValueError(f"{name} chain {i} must have shape [T, D], got {a.shape}")
            chains.append(a)
    if not chains:
        raise ValueError(f"{name} holds no chains")
    if len({c.shape[1] for c in chains}) != 1:
        raise ValueError(f"{name}: chains have different numbers of coordinates "
                         f"{sorted({c.shape[1] for c in chains})}")
    if chains[0].shape[1] == 0:
        raise ValueError(f"{name} has no coordinates (D = 0)")
    short = [len(c) for c in chains if len(c) < min_length]
    if short:
        raise ValueError(f"{name}: every chain needs at least {min_length} time points, got a "
                         f"chain of {min(short)}")
    spread = max(float(np.ptp(c, axis=0).max()) for c in chains)
    if spread == 0:
        raise ValueError(f"{name} is constant: a recording that never changes has no "
                         "transitions to estimate entropy production from")
    return [np.ascontiguousarray(c) for c in chains]


def as_label_chains(x: np.ndarray | Sequence[np.ndarray], *,
                    name: str = "trajectory") -> list[np.ndarray]:
    """Chains of integer state labels as a list of 1-D int64 arrays (``[T]``, ``[chains, T]``
    or a list of ``[T_i]``).

    Raises
    ------
    ValueError
        For values that are not non-negative integers, wrong shapes, or one state only.
    """
    if isinstance(x, np.ndarray) or not isinstance(x, Sequence):
        a = np.asarray(x)
        raw = [a] if a.ndim == 1 else list(a) if a.ndim == 2 else None
        if raw is None:
            raise ValueError(f"{name}: integer states need shape [T] or [chains, T], got "
                             f"{a.shape}")
    else:
        raw = [np.asarray(c) for c in x]
    chains = []
    for i, c in enumerate(raw):
        if c.ndim != 1:
            raise ValueError(f"{name} chain {i}: integer states need shape [T], got {c.shape}")
        c = _check_values(c, name)
        if np.any(c != np.round(c)) or (c.size and c.min() < 0):
            raise ValueError(f"{name} must hold non-negative integer state labels")
        chains.append(c.astype(np.int64))
    if not chains:
        raise ValueError(f"{name} holds no chains")
    if len(np.unique(np.concatenate(chains))) < 2:
        raise ValueError(f"{name} visits a single state: no transitions between states to "
                         "estimate entropy production from")
    return chains


def t_quantile(ci: float, dof: float) -> float:
    """Two-sided Student-t quantile for a ``ci`` interval with ``dof`` degrees of freedom."""
    from scipy import stats

    return float(stats.t.ppf(0.5 + ci / 2, max(dof, 1.0)))
