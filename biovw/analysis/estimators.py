"""Entropy-production estimators for recordings, behind one call and one result record.

=============  ==============================================================  ===========
name           what it estimates                                               bound?
=============  ==============================================================  ===========
``plugin``     transitions between states: integer labels as given; distinct   lower bound
               vectors of integer data (binned spike counts, at most 2000);    when coarse
               else a grid (D <= 2) / k-means (D > 2) coarse-graining;
               bias-corrected by time-reversal surrogates
``hkmeans``    the same on nested (bisecting) k-means states, one estimate     lower bound
               per number of states (Lynn et al. 2021)
``tur``        hyperbolic uncertainty relation of the best cross-fitted        lower bound
               linear current of the coordinates
``var``        closed form of a fitted VAR(1) / discretised OU model,          model-based
               parametric-bootstrap interval
=============  ==============================================================  ===========

Every estimator returns :class:`~biovw.analysis.record.EntropyEstimate` records (``hkmeans``
one per level) with an interval, a p-value of detailed balance, and its settings. Each entry
of :data:`ESTIMATORS` takes ``(chains, discrete, dt, seed, options)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from biovw.analysis.discrete import (
    DiscreteEntropyProduction,
    entropy_production_coarse,
    entropy_production_discrete,
)
from biovw.analysis.record import EntropyEstimate, as_chains, as_label_chains
from biovw.analysis.states import entropy_production_hierarchical
from biovw.analysis.tur import entropy_production_tur
from biovw.analysis.var_model import entropy_production_var

__all__ = ["ESTIMATORS", "estimate_entropy_production", "from_discrete"]


def from_discrete(res: DiscreteEntropyProduction, method: str, dt: float | None,
                  settings: dict | None = None) -> EntropyEstimate:
    """The shared record of a plug-in result."""
    return EntropyEstimate(
        method=method, value=res.value, ci_low=res.ci_low, ci_high=res.ci_high, se=res.se,
        ci=res.ci, lower_bound=res.lower_bound, p_value=res.p_value,
        n_transitions=res.n_transitions, n_chains=res.n_chains, dt=dt,
        settings={"bias_correction": res.bias_correction, "interval": res.interval,
                  "units": res.bootstrap, "block_length": res.block_length,
                  "n_states": res.n_states, **(settings or {})},
        details={"plugin": res.plugin, "bias": res.bias, "n_pairs": res.n_pairs,
                 "n_one_way_pairs": res.n_one_way_pairs, "n_blocks": res.n_blocks,
                 "n_states_visited": res.n_states_visited, "regenerative": res.regenerative},
        note=res.note,
    )


def _plugin(chains, discrete: bool, dt, seed: int, options: dict) -> list[EntropyEstimate]:
    if discrete:
        res = entropy_production_discrete(chains, seed=seed,
                                          n_surrogates=options.get("n_surrogates", 200))
        return [from_discrete(res, "plugin", dt)]
    method = options.get("discretization") or _auto_discretization(chains)
    bins, clusters = options.get("bins", 10), options.get("clusters", 50)
    res = entropy_production_coarse(chains, method=method, bins=bins, n_clusters=clusters,
                                    seed=seed, n_surrogates=options.get("n_surrogates", 200))
    extra = {"discretization": method, "bins": bins if method == "grid" else None,
             "clusters": clusters if method == "kmeans" else None}
    return [from_discrete(res, "plugin", dt, extra)]


MAX_PATTERNS = 2000


def _auto_discretization(chains: list[np.ndarray]) -> str:
    """Distinct vectors as states for integer data (binned spike counts) with at most
    ``MAX_PATTERNS`` of them; else a grid for ``D <= 2``, k-means above."""
    pooled = np.concatenate(chains)
    if np.all(pooled == np.round(pooled)):
        if len(np.unique(pooled, axis=0)) <= MAX_PATTERNS:
            return "patterns"
    return "grid" if pooled.shape[1] <= 2 else "kmeans"


def _hkmeans(chains, discrete: bool, dt, seed: int, options: dict) -> list[EntropyEstimate]:
    if discrete:
        raise ValueError("hkmeans clusters continuous data; integer states are already states")
    return entropy_production_hierarchical(
        chains, levels=options.get("levels", (2, 4, 8, 16, 32)), max_dim=options.get("max_dim"),
        seed=seed, dt=dt, n_surrogates=options.get("n_surrogates", 200))


def _tur(chains, discrete: bool, dt, seed: int, options: dict) -> list[EntropyEstimate]:
    if discrete:
        raise ValueError("tur needs coordinates; integer states have none")
    return [entropy_production_tur(chains, window=options.get("window", 1),
                                   max_dim=options.get("max_dim", 8), dt=dt)]


def _var(chains, discrete: bool, dt, seed: int, options: dict) -> list[EntropyEstimate]:
    if discrete:
        raise ValueError("var fits a linear model to coordinates; integer states have none")
    return [entropy_production_var(chains, n_boot=options.get("n_boot", 200), seed=seed,
                                   dt=dt)]


ESTIMATORS: dict[str, Callable[..., list[EntropyEstimate]]] = {
    "plugin": _plugin,
    "hkmeans": _hkmeans,
    "tur": _tur,
    "var": _var,
}


def estimate_entropy_production(
    x: np.ndarray | Sequence[np.ndarray],
    *,
    methods: Sequence[str] = ("plugin", "tur", "var"),
    discrete: bool = False,
    dt: float | None = None,
    seed: int = 0,
    **options,
) -> dict[str, list[EntropyEstimate]]:
    """Run several estimators on one recording.

    Parameters
    ----------
    x : array_like or list of arrays
        Continuous ``[T, D]``, ``[chains, T, D]`` or a list of ``[T_i, D]`` trials; with
        ``discrete``, integer states ``[T]``, ``[chains, T]`` or a list of ``[T_i]``.
    methods : sequence of str
        Names in :data:`ESTIMATORS`.
    discrete : bool
        Whether ``x`` holds integer state labels (only ``plugin`` applies).
    dt : float, optional
        Seconds per step; estimates then also report nats per second.
    seed : int
    **options
        ``bins``, ``clusters``, ``discretization`` (plugin), ``levels``, ``max_dim``
        (hkmeans, tur), ``window`` (tur), ``n_boot`` (var), ``n_surrogates``.

    Returns
    -------
    dict of str to list of EntropyEstimate
    """
    unknown = [m for m in methods if m not in ESTIMATORS]
    if unknown:
        raise ValueError(f"unknown estimator(s) {unknown}; choose from {sorted(ESTIMATORS)}")
    if dt is not None and not dt > 0:
        raise ValueError(f"dt must be positive, got {dt}")
    chains = as_label_chains(x) if discrete else as_chains(x)
    return {m: ESTIMATORS[m](chains, discrete, dt, seed, options) for m in methods}
