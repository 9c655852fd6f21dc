"""Entropy production of a recording, per condition, as one plain-type report.

:func:`analyze_recording` runs the chosen estimators (:mod:`biovw.analysis.estimators`) on
every condition of a recording (all chains when there are no conditions), adds the
sample-size estimate of :mod:`biovw.analysis.power` when asked, and computes the
probability current of every condition on one shared plane (the data plane for 2-D data,
else the top-2 principal components of all conditions together), for plotting by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from biovw.analysis.currents import CurrentField, pca_project, probability_current_grid
from biovw.analysis.currents import current_bins as current_bins_of
from biovw.analysis.estimators import estimate_entropy_production
from biovw.analysis.mixing import mixing_diagnostics, mixing_line
from biovw.analysis.power import required_length
from biovw.analysis.record import EntropyEstimate, as_chains, as_label_chains

__all__ = ["RecordingReport", "analyze_recording", "summary_lines"]

DEFAULT_METHODS = {False: ("plugin", "tur", "var"), True: ("plugin",)}


@dataclass(frozen=True)
class RecordingReport:
    """Result of :func:`analyze_recording`.

    Attributes
    ----------
    result : dict
        ``{"conditions": {name: {"entropy_production": {method: record or [records]},
        "power": {method: ...}, "currents": {...}}}, "plane": str}`` in plain types.
    fields : dict of str to CurrentField
        Current field of every condition on the shared plane (continuous data only).
    estimates : dict of str to dict of str to list of EntropyEstimate
        The records themselves, by condition and method.
    """

    result: dict
    fields: dict[str, CurrentField]
    estimates: dict[str, dict[str, list[EntropyEstimate]]]


def _plane(groups: dict[str, list[np.ndarray]]) -> tuple[dict[str, list[np.ndarray]], str]:
    dim = next(iter(groups.values()))[0].shape[1]
    if dim == 2:
        return groups, "data plane"
    if dim == 1:
        return {}, ""
    pooled = np.concatenate([c for chains in groups.values() for c in chains])
    _, components, mean = pca_project(pooled, n_components=2)
    return ({name: [(c - mean) @ components.T for c in chains]
             for name, chains in groups.items()}, "top-2 PCA plane")


def analyze_recording(
    chains: Sequence[np.ndarray],
    *,
    discrete: bool = False,
    dt: float | None = None,
    conditions: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    power: bool = False,
    bins: int = 20,
    current_bins: int | str = "auto",
    clusters: int = 50,
    seed: int = 0,
    **options,
) -> RecordingReport:
    """Estimate entropy production of every condition of a recording.

    Parameters
    ----------
    chains : sequence of ndarray
        Trials, ``[T_i, D]`` (or ``[T_i]`` integer states with ``discrete``).
    discrete : bool
    dt : float, optional
        Seconds per step.
    conditions : sequence of str, optional
        Condition of every chain.
    methods : sequence of str, optional
        Estimators (default ``plugin, tur, var``; ``plugin`` for integer states). Of the
        default set, an estimator that cannot describe the data (a VAR(1) fit of deterministic
        chains, say) is skipped with its reason under ``skipped``; a chosen one raises.
    power : bool
        Add the recording length needed to detect each estimate at 80% power.
    bins : int
        Grid bins per axis of the plug-in on 1-2-D data.
    current_bins : int or "auto"
        Grid bins per axis of the current fields (one grid for every condition; ``"auto"``:
        :func:`biovw.analysis.currents.current_bins` of the pooled conditions).
    clusters : int
        k-means states of the plug-in for data of more than two dimensions.
    seed : int
    **options
        Passed to :func:`biovw.analysis.estimators.estimate_entropy_production`.

    Returns
    -------
    RecordingReport
    """
    chains = as_label_chains(list(chains)) if discrete else as_chains(list(chains))
    if conditions is not None and len(conditions) != len(chains):
        raise ValueError(f"{len(conditions)} condition labels for {len(chains)} chains")
    chosen = methods is not None
    methods = tuple(methods or DEFAULT_METHODS[discrete])
    groups: dict[str, list[np.ndarray]] = {}
    for cond, chain in zip(conditions or ["all"] * len(chains), chains, strict=True):
        groups.setdefault(str(cond), []).append(chain)
    result: dict = {"conditions": {}, "dt": dt, "methods": list(methods)}
    estimates: dict[str, dict[str, list[EntropyEstimate]]] = {}
    for name, group in groups.items():
        found: dict[str, list[EntropyEstimate]] = {}
        skipped: dict[str, str] = {}
        for method in methods:
            try:
                found.update(estimate_entropy_production(
                    group, methods=(method,), discrete=discrete, dt=dt, seed=seed, bins=bins,
                    clusters=clusters, **options))
            except ValueError as exc:
                if chosen or len(methods) == 1:
                    raise
                skipped[method] = " ".join(str(exc).split())
        if not found:
            raise ValueError("; ".join(f"{m}: {why}" for m, why in skipped.items()))
        estimates[name] = found
        entry: dict = {"n_chains": len(group),
                       "n_transitions": int(sum(len(c) - 1 for c in group)),
                       "entropy_production": {
                           m: (recs[0].to_dict() if len(recs) == 1 else
                               [r.to_dict() for r in recs]) for m, recs in found.items()}}
        if skipped:
            entry["skipped"] = skipped
        entry["mixing"] = recording_mixing(group, discrete, dt)
        if power:
            entry["power"] = {m: _sample_size(m, _best(recs)) for m, recs in found.items()}
        result["conditions"][name] = entry
    fields: dict[str, CurrentField] = {}
    if not discrete:
        planes, label = _plane(groups)
        if planes:
            pooled = np.concatenate([c for cs in planes.values() for c in cs])
            bounds = tuple(zip(pooled.min(0).tolist(), pooled.max(0).tolist(), strict=True))
            every = [c for cs in planes.values() for c in cs if len(c) >= 3]
            if current_bins == "auto" and every:
                current_bins = current_bins_of(every)
            for name, plane_chains in planes.items():
                usable = [c for c in plane_chains if len(c) >= 3]
                if usable:
                    fields[name] = probability_current_grid(
                        usable, bins=current_bins, bounds=bounds, dt=dt or 1.0)
                    result["conditions"][name]["currents"] = fields[name].to_dict()
            result["plane"] = label
    return RecordingReport(result, fields, estimates)


def recording_mixing(chains: list[np.ndarray], discrete: bool, dt: float | None) -> dict:
    """Mixing diagnostics of a condition's chains (:func:`biovw.analysis.mixing.
    mixing_diagnostics`); per second of recording when ``dt`` is known. Integer states are
    summarised by the indicator of the most visited state, and every change of state counts
    as a switch. Chains shorter than 4 steps are left out; ``{"skipped": why}`` when none is
    left."""
    usable = [c for c in chains if len(c) >= 4]
    if not usable:
        return {"skipped": "every chain is shorter than 4 steps"}
    seconds = None if dt is None else dt * sum(len(c) for c in usable)
    if not discrete:
        return {**mixing_diagnostics(usable, seconds=seconds).to_dict(),
                "per_second_of": None if dt is None else "recording"}
    values, counts = np.unique(np.concatenate(usable), return_counts=True)
    top = values[np.argmax(counts)]
    indicator = [(c == top).astype(float) for c in usable]
    m = mixing_diagnostics(indicator, labels=usable, labelled="state", summary=indicator,
                           summary_name=f"indicator of the most visited state ({top})",
                           seconds=seconds)
    return {**m.to_dict(), "per_second_of": None if dt is None else "recording"}


def _best(records: list[EntropyEstimate]) -> EntropyEstimate:
    """The record a method is judged by: its largest-value level (hkmeans) or its only one."""
    return max(records, key=lambda r: r.value)


def blind_spot(estimate: EntropyEstimate) -> str | None:
    """What an estimate cannot see, in one line, or None: transition pairs observed in one
    direction only, which the plug-in leaves out (their true contribution is unbounded)."""
    one_way = int((estimate.details or {}).get("n_one_way_pairs") or 0)
    if one_way == 0:
        return None
    pairs = int(estimate.details.get("n_pairs") or 0)
    return (f"{one_way} observed transitions between states were never seen in reverse "
            f"({pairs} pairs were seen both ways); the estimate leaves them out, so it cannot "
            "see the irreversibility they carry (unbounded if they are truly one-way): read a "
            "current-based estimator (tur, var)")


def disagreement(estimate: EntropyEstimate, alpha: float = 0.05) -> str | None:
    """One line when the estimate's p-value and its interval point different ways (the test
    rejects detailed balance and the interval holds 0, or the reverse), else None. The two
    come from different procedures (the interval from the estimate's error law, the p-value
    from time-reversal surrogates of the statistic), and near the detection limit they can
    disagree; the line says so instead of leaving the reader to pick one."""
    if estimate.p_value is None:
        return None
    rejects, excludes = estimate.p_value < alpha, estimate.ci_low > 0
    if rejects == excludes:
        return None
    return (f"p = {estimate.p_value:.3g} {'<' if rejects else '>='} {alpha:g} while the "
            f"{estimate.ci:.0%} interval {'holds' if rejects else 'excludes'} 0: the test "
            "(time-reversal surrogates) and the interval (the estimate's error law) disagree "
            "near the detection limit; read it as weak evidence either way")


def _sample_size(method: str, estimate: EntropyEstimate) -> dict:
    """The recording length that detects ``estimate``, withheld (with the reason) when the
    estimate cannot see part of the irreversibility."""
    size = required_length(estimate).to_dict()
    why = blind_spot(estimate)
    if why is not None:
        size.update(withheld=why, message=f"{method}: no sample size: {why}")
    return size


def summary_lines(report: RecordingReport) -> list[str]:
    """One line per condition and estimate (and per sample-size estimate)."""
    lines = []
    for name, by_method in report.estimates.items():
        prefix = "" if name == "all" and len(report.estimates) == 1 else f"[{name}] "
        for method, records in by_method.items():
            for r in records:
                level = f" k={r.settings['n_states']}" if method == "hkmeans" else ""
                bound = " (lower bound)" if r.lower_bound else ""
                p = "" if r.p_value is None else f", p(detailed balance) = {r.p_value:.3g}"
                rate = r.per_second()
                per_s = "" if rate is None else (
                    f" = {rate[0]:.4g} [{rate[1]:.4g}, {rate[2]:.4g}] nats/s")
                lines.append(f"{prefix}entropy production [{method}{level}]{bound}: "
                             f"{r.value:.4g} [{r.ci_low:.4g}, {r.ci_high:.4g}] nats/step"
                             f"{per_s}{p}")
                why = blind_spot(r)
                if why is not None:
                    lines.append(f"{prefix}warning [{method}{level}]: {why}")
                split = disagreement(r)
                if split is not None:
                    lines.append(f"{prefix}note [{method}{level}]: {split}")
        for method, why in report.result["conditions"][name].get("skipped", {}).items():
            lines.append(f"{prefix}entropy production [{method}]: skipped ({why})")
        mixing = report.result["conditions"][name].get("mixing", {})
        if "iat_summary" in mixing:
            lines.append(f"{prefix}{mixing_line(mixing)}")
        power = report.result["conditions"][name].get("power")
        if power:
            lines += [f"{prefix}{p['message']}" for p in power.values()]
    return lines
