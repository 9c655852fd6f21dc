"""``biovw analyze``: entropy production, currents and connectivity of a trained run, or the
entropy production of a recording per condition (the contents of analysis.json, and the
current fields its figures show)."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from biovw.analysis import entropy_production_exact
from biovw.analysis.connectivity import connectivity_report
from biovw.analysis.currents import CurrentField, pca_project, probability_current_grid
from biovw.analysis.discrete import entropy_production_coarse, entropy_production_discrete
from biovw.analysis.enumerate import transition_matrix_binary
from biovw.analysis.kernel import entropy_production_kernel, simulate
from biovw.analysis.mixing import mixing_diagnostics
from biovw.analysis.report import analyze_recording, summary_lines
from biovw.baselines.equilibrium import EquilibriumCircuit
from biovw.baselines.kernel import (
    MAX_HIDDEN,
    EquilibriumGibbsKernel,
    GibbsKernel,
    LangevinKernel,
)
from biovw.baselines.rbm import AnyRBM, BernoulliRBM
from biovw.config import ConfigError
from biovw.data import DataError, DataSplits
from biovw.data.recordings import read_recording
from biovw.runs.labels import StateLabels
from biovw.runs.rbm import gibbs_samples
from biovw.walkback import (
    StationaryKernel,
    WalkbackModel,
    sample_chain,
    stationary_entropy_production,
)

EXACT_MAX_UNITS = 12
FULL_STATE_MAX_UNITS = 20


@dataclass(frozen=True)
class Analysis:
    """An analysis: the contents of analysis.json and the current field to draw.

    Attributes
    ----------
    result : dict
        ``entropy_production.{method}`` with value, CI and unit; ``currents`` (the field's
        summary) and ``connectivity`` where they apply.
    currents : CurrentField or None
        The coarse-grained probability current in the plane the title names (None for
        one-dimensional or discrete states).
    title : str
        Title of the current figure, naming the plane.
    axes_labels : tuple of str
        Names of the plane's two coordinates.
    """

    result: dict
    currents: CurrentField | None = None
    title: str = ""
    axes_labels: tuple[str, str] = ("$x_1$ (data units)", "$x_2$ (data units)")


def _plane(x: np.ndarray) -> tuple[np.ndarray, str]:
    """The 2-D plane currents are drawn in: the data plane, or the top-2 PCA plane."""
    if x.shape[-1] == 2:
        return x, "data plane"
    flat = x.reshape(-1, x.shape[-1])
    projected, _, _ = pca_project(flat, n_components=2)
    return np.asarray(projected).reshape(*x.shape[:-1], 2), "top-2 PCA plane"


def _currents(x: np.ndarray, bins: int | str, title: str) -> tuple[dict, CurrentField, str]:
    """Summary, field and figure title of the probability current of ``x`` (``bins`` per
    axis, or ``"auto"``: :func:`biovw.analysis.currents.current_bins`)."""
    plane, label = _plane(x)
    field = probability_current_grid(plane, bins=bins)
    return ({**field.to_dict(), "plane": label, "bins_rule": bins if bins == "auto" else "given"},
            field, f"{title} ({label})")


def analyze_model(model: WalkbackModel, *, n_chains: int = 1000, n_steps: int = 500,
                  burn_in: int = 200, record_chains: int = 200, bins: int = 20,
                  current_bins: int | str = "auto", n_clusters: int = 50, seed: int = 0,
                  labels: StateLabels | None = None) -> Analysis:
    """Analyse the stationary chain of a trained model (T = 1, after the cool-down).

    ``labels`` (modes or classes of states) adds the switching rate to the mixing
    diagnostics. ``bins`` sets the grid of the coarse-grained estimate, ``current_bins`` that
    of the current field (``"auto"``: from the chain's step length,
    :func:`biovw.analysis.currents.current_bins`).

    Returns
    -------
    Analysis
        ``entropy_production.{kernel,exact,coarse_grained}`` each with value, CI and unit;
        ``mixing`` (:class:`biovw.analysis.mixing.Mixing` of the recorded chains);
        ``currents`` (coarse-grained flux field summary); ``connectivity`` for rate circuits.
    """
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    kernel = StationaryKernel(model)
    result: dict = {"entropy_production": {}}
    started = time.perf_counter()
    with torch.no_grad():
        start = sample_chain(model, n_chains, [0], gen)[0].to(device)
        ep = stationary_entropy_production(model, start, n_steps, burn_in=burn_in,
                                           generator=gen)
        result["entropy_production"]["kernel"] = ep.to_dict()
        dim = start.shape[1]
        if model.binary and dim <= EXACT_MAX_UNITS:
            P = transition_matrix_binary(kernel.unit_log_probs, dim, device)
            exact = entropy_production_exact(P.numpy())
            result["entropy_production"]["exact"] = exact.to_dict()
        traj, seconds = _timed_simulation(kernel, start[:record_chains], n_steps, gen)
    result["mixing"] = _mixing(traj, seconds, labels)
    result["entropy_production"]["coarse_grained"] = _coarse_grained(
        traj, model.binary, bins, n_clusters, seed)
    field = title = None
    if dim >= 2:
        result["currents"], field, title = _currents(traj, current_bins,
                                                     "stationary probability current")
    spec = model.circuit.spec()
    if spec is not None:
        groups = None if spec.signs is None else (
            ["V"] * spec.n_visible + ["E" if x > 0 else "I" for x in spec.signs[spec.n_visible:]])
        report = connectivity_report(spec.weight, signs=spec.signs, groups=groups)
        result["connectivity"] = report.to_dict()
    result["seconds"] = round(time.perf_counter() - started, 3)
    return Analysis(result, field, title or "", _axes_labels(dim))


class _GibbsChain:
    """An RBM's visible Gibbs chain as a kernel that can only be simulated (Gaussian visible
    units: the density sums over every hidden state)."""

    def __init__(self, rbm: AnyRBM):
        self.rbm = rbm

    def params(self, v: torch.Tensor) -> None:
        return None

    def sample(self, v: torch.Tensor, params: None, generator: torch.Generator | None):
        return self.rbm.gibbs_step(v, generator)


def analyze_rbm(rbm: AnyRBM, data: DataSplits, *, n_chains: int = 1000,
                n_steps: int = 500, burn_in: int = 1000, record_chains: int = 200,
                bins: int = 20, current_bins: int | str = "auto", n_clusters: int = 50,
                seed: int = 0, labels: StateLabels | None = None) -> Analysis:
    """Analyse an RBM's visible-marginal Gibbs chain, which obeys detailed balance: every
    estimate should be zero within its interval (a check of the estimators). The kernel-exact
    estimate needs binary visible units and at most :data:`MAX_HIDDEN` hidden units; a
    Gaussian-Bernoulli RBM gets the model-free estimate."""
    device = rbm.weight.device
    gen = torch.Generator(device=device).manual_seed(seed)
    binary = isinstance(rbm, BernoulliRBM)
    kernel = GibbsKernel(rbm) if binary else _GibbsChain(rbm)
    result: dict = {"entropy_production": {}}
    started = time.perf_counter()
    with torch.no_grad():
        start = gibbs_samples(rbm, data, n_chains, [burn_in], gen)[burn_in].to(device)
        if binary and rbm.n_hidden <= MAX_HIDDEN:
            ep = entropy_production_kernel(kernel, start, n_steps, generator=gen)
            result["entropy_production"]["kernel"] = ep.to_dict()
            if rbm.n_visible <= EXACT_MAX_UNITS:
                exact = entropy_production_exact(kernel.matrix().cpu().numpy())
                result["entropy_production"]["exact"] = exact.to_dict()
    return _recorded_chains(kernel, start[:record_chains], result, started, n_steps=n_steps,
                            binary=binary, bins=bins, current_bins=current_bins,
                            n_clusters=n_clusters, seed=seed, labels=labels, gen=gen,
                            title="Gibbs chain probability current")


EQUILIBRIUM_KERNELS = {
    "gibbs": EquilibriumGibbsKernel,
    "mala": LangevinKernel,
    "langevin": functools.partial(LangevinKernel, metropolis=False),
}
"""The analysis kernel of each ``equilibrium.sampler``."""

KERNEL_MAX_STATES = 2**MAX_HIDDEN
"""Most hidden states for which the Gibbs kernel's density is summed at every step (the RBM
kernel's limit, 4,096)."""


def analyze_equilibrium(model: EquilibriumCircuit, sampler: str, *, n_chains: int = 1000,
                        n_steps: int = 500, burn_in: int = 0, record_chains: int = 200,
                        bins: int = 20, current_bins: int | str = "auto", n_clusters: int = 50,
                        seed: int = 0, labels: StateLabels | None = None) -> Analysis:
    """Analyse the equilibrium circuit's chain (``sampler``: ``gibbs``, ``mala`` or
    ``langevin``) started from exact samples. ``gibbs`` and ``mala`` obey detailed balance,
    so every estimate should read zero within its interval; ``langevin`` need not."""
    gen = torch.Generator(device=model.weight.device).manual_seed(seed)
    kernel = EQUILIBRIUM_KERNELS[sampler](model)
    result: dict = {"entropy_production": {}}
    started = time.perf_counter()
    with torch.no_grad():
        start = model.sample(n_chains, gen)
        if sampler != "gibbs" or model.group_size**model.groups <= KERNEL_MAX_STATES:
            ep = entropy_production_kernel(kernel, start, n_steps, burn_in=burn_in,
                                           generator=gen)
            result["entropy_production"]["kernel"] = ep.to_dict()
    return _recorded_chains(kernel, start[:record_chains], result, started, n_steps=n_steps,
                            binary=model.binary, bins=bins, current_bins=current_bins,
                            n_clusters=n_clusters, seed=seed, labels=labels, gen=gen,
                            title=f"{sampler} chain probability current")


def _recorded_chains(kernel, start: torch.Tensor, result: dict, started: float, *,
                     n_steps: int, binary: bool, bins: int, current_bins: int | str,
                     n_clusters: int, seed: int, labels: StateLabels | None,
                     gen: torch.Generator, title: str) -> Analysis:
    """``result`` completed from chains of ``kernel`` recorded from ``start``: mixing,
    the coarse-grained entropy production and the current field."""
    with torch.no_grad():
        traj, seconds = _timed_simulation(kernel, start, n_steps, gen)
    result["mixing"] = _mixing(traj, seconds, labels)
    result["entropy_production"]["coarse_grained"] = _coarse_grained(
        traj, binary, bins, n_clusters, seed)
    field = None
    if traj.shape[-1] >= 2:
        result["currents"], field, title = _currents(traj, current_bins, title)
    result["seconds"] = round(time.perf_counter() - started, 3)
    return Analysis(result, field, title if field is not None else "",
                    _axes_labels(traj.shape[-1]))


def _timed_simulation(kernel, start: torch.Tensor, n_steps: int,
                      gen: torch.Generator) -> tuple[np.ndarray, float]:
    """States ``[C, n_steps + 1, D]`` of chains from ``start`` and the seconds they took."""
    started = time.perf_counter()
    traj = simulate(kernel, start, n_steps, gen).numpy()
    return traj, time.perf_counter() - started


def _mixing(traj: np.ndarray, seconds: float, labels: StateLabels | None) -> dict:
    """Mixing diagnostics of recorded chains, with switching between labelled states."""
    found = None if labels is None else labels(traj)
    return mixing_diagnostics(traj, labels=found, labelled=labels.name if labels else "",
                              seconds=seconds).to_dict()


def _axes_labels(dim: int) -> tuple[str, str]:
    """Coordinates of the plane :func:`_plane` draws currents in."""
    if dim == 2:
        return Analysis.axes_labels
    return ("principal component 1", "principal component 2")


def _coarse_grained(traj: np.ndarray, binary: bool, bins: int, n_clusters: int,
                    seed: int) -> dict:
    """Model-free estimate from recorded states: the full binary states when there are at
    most ``FULL_STATE_MAX_UNITS`` binary units, otherwise a grid (<= 2 dimensions) or k-means
    coarse graining, whose estimate is a lower bound."""
    dim = traj.shape[-1]
    if binary and dim <= FULL_STATE_MAX_UNITS:
        result = entropy_production_discrete(_binary_codes(traj), seed=seed).to_dict()
        return {**result, "discretization": "full binary states"}
    method = "grid" if dim <= 2 else "kmeans"
    result = entropy_production_coarse(traj, method=method, bins=bins, n_clusters=n_clusters,
                                       seed=seed).to_dict()
    return {**result, "discretization": method}


def _binary_codes(traj: np.ndarray) -> np.ndarray:
    """Integer code of each binary state (chains keep their leading shape)."""
    if traj.shape[-1] > 62:
        raise ValueError("binary states with more than 62 units cannot be coded as integers")
    weights = 2 ** np.arange(traj.shape[-1] - 1, -1, -1, dtype=np.int64)
    return (traj > 0.5).astype(np.int64) @ weights


@dataclass(frozen=True)
class RecordingAnalysis:
    """``biovw analyze --trajectory``: a recording's analysis.json and what to draw and print.

    Attributes
    ----------
    result : dict
        Per-condition estimates (:class:`biovw.analysis.report.RecordingReport`'s result) with
        the source file and the units read.
    fields : dict of str to CurrentField
        Current field of every condition on the shared plane (continuous data only).
    plane : str
        Name of that plane.
    lines : list of str
        One summary line per condition and estimate.
    """

    result: dict
    fields: dict[str, CurrentField]
    plane: str
    lines: list[str]


@dataclass(frozen=True)
class RecordingOptions:
    """How a recording file is read and what is estimated from it: the ``[recording]``
    options of ``biovw analyze --trajectory``.

    Attributes
    ----------
    discrete : bool
        The file holds integer states.
    key : str or None
        Array of an .npz, dataset of an HDF5 file, or TimeSeries of an NWB file.
    bin_ms : float or None
        Bin width of NWB spike times, in milliseconds.
    rates : bool
        Binned spikes as rates, not counts.
    trials, condition : str or None
        NWB intervals table whose intervals become chains, and its column whose values each
        get their own analysis.
    units : tuple of int or None
        NWB unit ids or array columns to keep.
    dt : float or None
        Seconds per step, for rates per second (positive).
    methods : tuple of str or None
        Estimators (:data:`biovw.analysis.ESTIMATORS`).
    power : bool
        Also estimate the recording length needed to detect the entropy production.
    """

    discrete: bool = False
    key: str | None = None
    bin_ms: float | None = None
    rates: bool = False
    trials: str | None = None
    condition: str | None = None
    units: tuple[int, ...] | None = None
    dt: float | None = None
    methods: tuple[str, ...] | None = None
    power: bool = False

    def __post_init__(self) -> None:
        for name in ("units", "methods"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(value))


def analyze_recording_file(path: str | Path, options: RecordingOptions = RecordingOptions(), *,
                           bins: int = 20, current_bins: int | str = "auto",
                           clusters: int = 50, seed: int = 0,
                           **changes) -> RecordingAnalysis:
    """Read a recording (:func:`biovw.data.recordings.read_recording`) and estimate its
    entropy production per condition (:func:`biovw.analysis.report.analyze_recording`).

    Parameters
    ----------
    path : str or Path
        The recording.
    options : RecordingOptions
        How it is read and what is estimated.
    bins, clusters : int
        Grid bins per axis and k-means states of the coarse-graining.
    current_bins : int or "auto"
        Grid bins per axis of the current fields.
    seed : int
        Seed of the estimators.
    **changes
        Fields of ``options`` to change.

    Raises
    ------
    ConfigError
        A bad option value.
    DataError
        A file that cannot be read or analysed, named in the message.
    """
    o = replace(options, **changes)
    if o.dt is not None and not o.dt > 0:
        raise ConfigError(f"--dt must be positive, got {o.dt}")
    recording = read_recording(path, key=o.key, discrete=o.discrete, bin_ms=o.bin_ms,
                               rates=o.rates, trials=o.trials, condition=o.condition,
                               units=None if o.units is None else list(o.units))
    try:
        report = analyze_recording(recording.chains, discrete=o.discrete,
                                   dt=o.dt or recording.dt, conditions=recording.conditions,
                                   methods=None if o.methods is None else list(o.methods),
                                   power=o.power, bins=bins, current_bins=current_bins,
                                   clusters=clusters, seed=seed)
    except ValueError as exc:
        raise DataError(f"--trajectory: {' '.join(str(exc).split())}") from exc
    result = {**report.result, "source": recording.source, "units": recording.units}
    return RecordingAnalysis(result, report.fields, report.result.get("plane", ""),
                             summary_lines(report))
