"""A benchmark of entropy-production estimators on chains whose answer is known exactly.

Chains (:mod:`biovw.analysis.exact_chains`), each with a matched reversible control, its
reversible twin (same stationary law and same symmetric part of the pair law; for a finite
chain ``(P + P*) / 2``, for a linear Gaussian chain the one with lag covariance
``(M C + C M^T) / 2``), so that a test can tell them apart only by irreversibility, not by
memory or marginals:

* a biased walk on a ring of 5 states (its twin: the unbiased walk);
* a rotating 2-D AR(1) chain;
* a driven Ornstein-Uhlenbeck pair, two units at different temperatures, sampled every 0.1;
* an asymmetric kinetic Ising model, 5 units with random-scan Glauber updates, enumerated
  exactly;
* optionally a learned Variational Walkback kernel passed in by the caller (truth: the
  kernel-exact estimate, with its own interval; control: its recordings with blocks of 100
  steps reversed at random, :func:`reversed_blocks_control`).

Observations ("settings"), each with an exact answer: ``full`` (the chain's states or
coordinates), ``coarse`` (lumped states: ring sites in pairs, 3 of the 5 Ising units; for the
linear Gaussian chains, coordinates seen through measurement noise of the same size as the
signal, whose Gaussian pair divergence is exact) and ``subsampled`` (every 3rd step: ``P^3``,
``(M^3, C - M^3 C M^3T)``). Crossed with recording length. Every estimate is scored against
``truth`` (the entropy production per observed step of the process observed in full at that
step) and, where known, against the exact value its target has (``target``: the pair
divergence of the observed labels or noisy coordinates, at most ``truth``).

Estimators: ours (``plugin``, ``hkmeans`` at 16 states, ``tur``, ``var``, the block-reversal
``surrogate`` test of the mean linear currents) and, when the ``irreversibility`` package is
installed, its tests (permutation patterns, Ramsey, Pomeau, Gaspard and detailed balance) on
the one scalar series a univariate test can take: the state label for chains of states, the
first coordinate for continuous chains (Gaspard and detailed balance on its ordinal patterns).
Reported per cell: mean, bias, coverage of ``truth`` and of ``target``, the share of intervals
whose low end exceeds ``truth`` (a lower bound must not), the rejection rate of detailed balance
at ``alpha`` (power on irreversible chains, false-positive rate on controls), and median
seconds per estimate.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from biovw.analysis.discrete import entropy_production_coarse, entropy_production_discrete
from biovw.analysis.exact_chains import (
    FiniteChain,
    LinearGaussianChain,
    driven_ou,
    gaussian_pair_divergence,
    kinetic_ising,
    ring_walk,
    rotating_ar1,
)
from biovw.analysis.power import required_length
from biovw.analysis.record import EntropyEstimate
from biovw.analysis.states import entropy_production_hierarchical
from biovw.analysis.surrogates import surrogate_test
from biovw.analysis.tur import entropy_production_tur
from biovw.analysis.var_model import entropy_production_var

__all__ = ["BenchCase", "Observation", "calibration", "default_cases", "markdown_report",
           "power_check", "reversed_blocks_control", "run_benchmark", "save_results",
           "size_adjusted_power", "summarize"]

OURS = ("plugin", "hkmeans", "tur", "var", "surrogate")
PEERS = ("perm_patterns", "ramsey", "pomeau", "gaspard", "detailed_balance")


@dataclass(frozen=True)
class Observation:
    """One simulated recording: ``labels`` ``[T]`` (chains of states) or ``None``, and
    ``points`` ``[T, D]`` (coordinates)."""

    labels: np.ndarray | None
    points: np.ndarray


@dataclass(frozen=True)
class BenchCase:
    """A chain observed in one setting, with its exact answers.

    Attributes
    ----------
    chain : str
        Chain name (``"ring"``, ``"rotating_ar1"``, ``"driven_ou"``, ``"ising"``, ``"vw"``).
    setting : str
        ``"full"``, ``"coarse"`` or ``"subsampled"``.
    control : bool
        Reversible control (truth zero).
    truth : float
        Entropy production per observed step of the fully observed process (nats/step).
    target : float or None
        Exact pair divergence of what is observed (labels or coordinates), when known.
    simulate : callable
        ``(n_steps, n_recordings, rng) -> list of Observation``.
    markov : bool
        Whether the observed labels are a Markov chain.
    truth_se : float
        Standard error of ``truth`` (kernel-exact truths only).
    """

    chain: str
    setting: str
    control: bool
    truth: float
    target: float | None
    simulate: Callable[[int, int, np.random.Generator], list[Observation]]
    markov: bool = True
    truth_se: float = 0.0
    description: str = ""

    @property
    def name(self) -> str:
        """``chain/setting`` (``+control`` for controls)."""
        return f"{self.chain}{' control' if self.control else ''}/{self.setting}"


def _finite(chain: FiniteChain, lumps: np.ndarray | None, k: int, coords: np.ndarray):
    """Simulator of a finite chain, observed every ``k`` steps through ``lumps``."""

    def simulate(n: int, reps: int, rng: np.random.Generator) -> list[Observation]:
        states = chain.subsample(k).simulate(n, reps, rng) if k > 1 else chain.simulate(
            n, reps, rng)
        labels = states if lumps is None else lumps[states]
        return [Observation(lab, coords[s]) for lab, s in zip(labels, states, strict=True)]

    return simulate


def _finite_cases(name: str, chain: FiniteChain, control: FiniteChain, lumps: np.ndarray,
                  lump_coords: np.ndarray, description: str) -> list[BenchCase]:
    """Full, coarse (lumped) and subsampled views of ``chain`` and of its reversible
    ``control`` (lumping and subsampling keep a reversible chain reversible)."""
    lumped_coords = lump_coords[lumps]  # every state's observed coordinates
    cases = []
    for ch, is_control in ((chain, False), (control, True)):
        sigma = 0.0 if is_control else ch.entropy_production()

        def coarse(n, reps, rng, ch=ch):
            return [Observation(lumps[s], lumped_coords[s]) for s in ch.simulate(n, reps, rng)]

        sub = ch.subsample(3)
        sub_sigma = 0.0 if is_control else sub.entropy_production()
        lumped = 0.0 if is_control else ch.lumped_pair_divergence(lumps)
        cases += [
            BenchCase(name, "full", is_control, sigma, sigma, _finite(ch, None, 1, ch.coords),
                      description=description),
            BenchCase(name, "coarse", is_control, sigma, lumped, coarse, markov=False,
                      description=description),
            BenchCase(name, "subsampled", is_control, sub_sigma, sub_sigma,
                      _finite(ch, None, 3, ch.coords), description=description),
        ]
    return cases


def _gaussian(chain: LinearGaussianChain, noise: float, k: int):
    def simulate(n: int, reps: int, rng: np.random.Generator) -> list[Observation]:
        x = chain.subsample(k).simulate(n, reps, rng) if k > 1 else chain.simulate(n, reps, rng)
        if noise > 0:
            x = x + noise * rng.standard_normal(x.shape)
        return [Observation(None, xi) for xi in x]

    return simulate


def _gaussian_cases(name: str, chain: LinearGaussianChain, control: LinearGaussianChain,
                    description: str) -> list[BenchCase]:
    """Full, coarse (measurement noise as large as the signal) and subsampled views of
    ``chain`` and of its reversible ``control``."""
    cases = []
    for ch, is_control in ((chain, False), (control, True)):
        sigma = 0.0 if is_control else ch.entropy_production()
        C = ch.stationary_covariance()
        noise = float(np.sqrt(np.mean(np.diag(C))))
        noisy = 0.0 if is_control else gaussian_pair_divergence(
            C + noise**2 * np.eye(ch.dim), ch.M @ C)
        sub = 0.0 if is_control else ch.subsample(3).entropy_production()
        cases += [
            BenchCase(name, "full", is_control, sigma, sigma, _gaussian(ch, 0.0, 1),
                      description=description),
            BenchCase(name, "coarse", is_control, sigma, noisy, _gaussian(ch, noise, 1),
                      markov=False, description=description),
            BenchCase(name, "subsampled", is_control, sub, sub, _gaussian(ch, 0.0, 3),
                      description=description),
        ]
    return cases


def reversed_blocks_control(case: BenchCase, block: int = 100) -> BenchCase:
    """A matched control for a chain without a known reversible twin: its own recordings
    with every block of ``block`` steps reversed in time with probability 1/2. Each block's
    law then is symmetric under reversal, so the pair distribution is symmetric (up to the
    transitions that join two blocks) while memory and marginals are those of the chain."""

    def simulate(n: int, reps: int, rng: np.random.Generator) -> list[Observation]:
        out = []
        for obs in case.simulate(n, reps, rng):
            index = np.arange(n)
            start = (index // block) * block
            stop = np.minimum(start + block, n)
            flip = (rng.random(-(-n // block)) < 0.5)[index // block]
            order = np.where(flip, start + stop - 1 - index, index)
            out.append(Observation(None if obs.labels is None else obs.labels[order],
                                   obs.points[order]))
        return out

    return BenchCase(case.chain, case.setting, True, 0.0, 0.0, simulate, markov=False,
                     description=case.description + f"; control: its recordings with blocks "
                                 f"of {block} steps reversed at random")


def default_cases() -> list[BenchCase]:
    """The benchmark's chains x settings (module documentation)."""
    ring = ring_walk(5, 0.5, 0.4)
    ring_lumps = np.array([0, 0, 1, 1, 2])
    angle = 2 * np.pi * np.arange(3) / 3
    cases = _finite_cases("ring", ring, ring.reversible_twin(), ring_lumps,
                          np.stack([np.cos(angle), np.sin(angle)], 1),
                          "walk on 5 ring sites, right 0.5, left 0.4")
    rng = np.random.default_rng(12)
    J = 0.8 * rng.normal(size=(5, 5))
    ising = kinetic_ising(J, np.zeros(5))
    observed = (ising.coords[:, :3] @ np.array([4, 2, 1])).astype(np.int64)
    three = ((np.arange(8)[:, None] >> np.arange(2, -1, -1)) & 1).astype(np.float64)
    cases += _finite_cases("ising", ising, ising.reversible_twin(), observed, three,
                           "5 Glauber units, couplings 0.8 N(0, 1), asymmetric")
    rotating = rotating_ar1(0.1, 0.8, 1.0)
    cases += _gaussian_cases("rotating_ar1", rotating, rotating.reversible_twin(),
                             "x' = 0.8 R(0.1) x + N(0, I)")
    ou = driven_ou((1.0, 3.0), 0.8, dt=0.1)
    cases += _gaussian_cases("driven_ou", ou, ou.reversible_twin(),
                             "two OU units at temperatures 1 and 3, coupling 0.8, dt 0.1")
    return cases + [_iid_control()]


def _iid_control() -> BenchCase:
    """Independent draws from 6 states of unequal weight: reversible (every pair flux is
    ``pi_i pi_j`` both ways), a control for calibration only."""
    weights = np.array([0.3, 0.2, 0.15, 0.15, 0.1, 0.1])
    angle = 2 * np.pi * np.arange(6) / 6
    chain = FiniteChain(np.tile(weights, (6, 1)),
                        np.stack([np.cos(angle), np.sin(angle)], 1), "iid")
    return BenchCase("iid", "full", True, 0.0, 0.0, _finite(chain, None, 1, chain.coords),
                     description="independent draws from 6 states of weights 0.3 .. 0.1")


CONTROL_KINDS = {"ring": "reversible discrete chains", "ising": "reversible discrete chains",
                 "rotating_ar1": "reversible Gaussian (symmetric AR(1), OU)",
                 "driven_ou": "reversible Gaussian (symmetric AR(1), OU)",
                 "iid": "independent draws", "vw": "learned kernel, reversed blocks"}
"""Chain -> the kind of reversible recording its control is, for the calibration table."""


def calibration(rows: list[dict], alpha: float = 0.05) -> dict[str, dict[str, dict]]:
    """Share of reversible control recordings with ``p < alpha``, per estimator and kind of
    control (:data:`CONTROL_KINDS`), pooled over settings and lengths, and ``all``: with the
    number of recordings and whether the share is within ``alpha`` plus two binomial
    standard errors (calibrated)."""
    pooled: dict[str, dict[str, list[bool]]] = {}
    for r in rows:
        if not r["control"]:
            continue
        rejects = [p < alpha for p in r["p_values"] if p is not None]
        kind = CONTROL_KINDS.get(r["chain"], r["chain"])
        for key in (kind, "all"):
            pooled.setdefault(r["estimator"], {}).setdefault(key, []).extend(rejects)
    table: dict[str, dict[str, dict]] = {}
    for name, kinds in pooled.items():
        table[name] = {}
        for kind, rejects in kinds.items():
            n = len(rejects)
            rate = float(np.mean(rejects)) if n else math.nan
            limit = alpha + 2 * math.sqrt(alpha * (1 - alpha) / max(n, 1))
            table[name][kind] = {"rate": rate, "n": n, "limit": limit,
                                 "calibrated": bool(n and rate <= limit)}
    return table


def _calibration_lines(rows: list[dict], alpha: float) -> list[str]:
    table = calibration(rows, alpha)
    kinds = list(dict.fromkeys(k for t in table.values() for k in t if k != "all"))
    lines = ["", f"**Calibration** on the reversible controls (exact value 0): share of "
             f"recordings with p < {alpha:g}, pooled over settings and lengths (n recordings); "
             f"calibrated where the share of all controls is at most {alpha:g} plus two "
             "binomial standard errors:", "",
             "| estimator | " + " | ".join(kinds) + " | all | calibrated |",
             "|" + " --- |" * (len(kinds) + 3)]
    for name, by_kind in table.items():
        cells = [("-" if k not in by_kind else
                  f"{by_kind[k]['rate']:.2f} (n = {by_kind[k]['n']})") for k in kinds]
        every = by_kind["all"]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {every['rate']:.2f} "
                     f"(n = {every['n']}) | {'yes' if every['calibrated'] else 'no'} |")
    return lines


def _ours(name: str, obs: Observation, case: BenchCase, seed: int) -> EntropyEstimate | None:
    """One of our estimators on one recording (None when it does not apply)."""
    if name == "plugin":
        if obs.labels is not None:
            res = entropy_production_discrete(obs.labels, seed=seed, n_surrogates=100,
                                              markov=case.markov)
        else:
            res = entropy_production_coarse(obs.points, method="grid", bins=10, seed=seed,
                                            n_surrogates=100)
        return EntropyEstimate("plugin", res.value, res.ci_low, res.ci_high, res.se,
                               lower_bound=res.lower_bound or not case.markov,
                               p_value=res.p_value, n_transitions=res.n_transitions)
    if name == "hkmeans":
        if obs.labels is not None:
            return None
        return entropy_production_hierarchical(obs.points, levels=(16,), seed=seed,
                                               n_surrogates=100)[0]
    if name == "tur":
        return entropy_production_tur(obs.points)
    if name == "var":
        return entropy_production_var(obs.points, n_boot=100, n_surrogates=99, seed=seed)
    if name == "surrogate":
        test = surrogate_test(obs.points, n_surrogates=99, seed=seed)
        return EntropyEstimate("surrogate", math.nan, math.nan, math.nan, math.nan,
                               p_value=test.p_value)
    raise ValueError(f"unknown estimator {name!r}")


def _peer(name: str, obs: Observation) -> float | None:
    """p-value of one of the irreversibility package's tests (None when it does not apply)."""
    from irreversibility.DiscreteMetrics import DetBalance, Gaspard
    from irreversibility.Metrics import PermPatterns, Pomeau, Ramsey
    from irreversibility.Preprocessing.PermPatterns import TimeSeriesToPermPatterns

    scalar = obs.labels.astype(np.float64) if obs.labels is not None else obs.points[:, 0]
    if obs.labels is not None:
        symbols = obs.labels.astype(np.int64)
    else:
        symbols = np.asarray(TimeSeriesToPermPatterns(scalar, pSize=3)[0], dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "perm_patterns":
            return float(PermPatterns.GetPValue(scalar)[0])
        if name == "ramsey":
            return float(Ramsey.GetPValue(scalar)[0])
        if name == "pomeau":
            return float(Pomeau.GetPValue(scalar)[0])
        if name == "gaspard":
            return float(Gaspard.GetPValue(symbols)[0])
        if name == "detailed_balance":
            return float(DetBalance.GetPValue(symbols)[0])
    raise ValueError(f"unknown peer test {name!r}")


def peer_package() -> str:
    """The peer package's name and installed version (``irreversibility 1.2.3``), or its name
    with ``not installed``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"irreversibility {version('irreversibility')}"
    except PackageNotFoundError:
        return "irreversibility (not installed)"


def peers_available() -> bool:
    """Whether the ``irreversibility`` package can be imported."""
    try:
        import irreversibility  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class _Cell:
    values: list = field(default_factory=list)
    lows: list = field(default_factory=list)
    highs: list = field(default_factory=list)
    p_values: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    lower_bound: bool = False
    errors: int = 0


def run_benchmark(
    cases: list[BenchCase],
    lengths: list[int],
    repeats: int,
    *,
    estimators: tuple[str, ...] = OURS,
    peers: tuple[str, ...] = PEERS,
    alpha: float = 0.05,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[dict]:
    """Run every estimator on ``repeats`` recordings of every case and length.

    Parameters
    ----------
    cases : list of BenchCase
    lengths : list of int
        Recording lengths (observed steps).
    repeats : int
        Independent recordings per case and length.
    estimators, peers : tuple of str
        Our estimators (:data:`OURS`) and the peer tests (:data:`PEERS`; skipped when the
        package is missing).
    alpha : float
        Level of the tests of detailed balance.
    seed : int
    progress : callable, optional
        Called with a line after every case and length.

    Returns
    -------
    list of dict
        One row per case, length and estimator (:func:`summarize` of the cell).
    """
    if not peers_available():
        peers = ()
    rows = []
    rng = np.random.default_rng(seed)
    for case in cases:
        observations = case.simulate(max(lengths), repeats, rng)
        for length in lengths:
            cells = {name: _Cell() for name in (*estimators, *peers)}
            for r, full in enumerate(observations):
                obs = Observation(None if full.labels is None else full.labels[:length],
                                  full.points[:length])
                for name in estimators:
                    start = time.perf_counter()
                    try:
                        est = _ours(name, obs, case, seed + r)
                    except ValueError:
                        cells[name].errors += 1
                        continue
                    if est is None:
                        continue
                    cell = cells[name]
                    cell.seconds.append(time.perf_counter() - start)
                    cell.values.append(est.value)
                    cell.lows.append(est.ci_low)
                    cell.highs.append(est.ci_high)
                    cell.p_values.append(est.p_value)
                    cell.lower_bound = est.lower_bound
                for name in peers:
                    start = time.perf_counter()
                    p = _peer(name, obs)
                    cell = cells[name]
                    cell.seconds.append(time.perf_counter() - start)
                    cell.p_values.append(p)
            for name, cell in cells.items():
                if cell.p_values or cell.errors:
                    rows.append(summarize(case, length, name, cell, alpha,
                                          peer=name in peers))
            if progress is not None:
                progress(f"{case.name} length {length}: done")
    return rows


def summarize(case: BenchCase, length: int, name: str, cell: _Cell, alpha: float,
              peer: bool) -> dict:
    """Scores of one estimator on one case and length."""
    values = np.asarray(cell.values, dtype=np.float64)
    lows = np.asarray(cell.lows, dtype=np.float64)
    highs = np.asarray(cell.highs, dtype=np.float64)
    has_value = values.size > 0 and bool(np.all(np.isfinite(values)))
    p = np.asarray([np.nan if v is None else v for v in cell.p_values], dtype=np.float64)
    row = {
        "chain": case.chain, "setting": case.setting, "control": case.control,
        "case": case.name, "length": int(length), "estimator": name, "peer": peer,
        "truth": case.truth, "truth_se": case.truth_se, "target": case.target,
        "repeats": int(len(p)), "errors": int(cell.errors),
        "reject_rate": float(np.mean(p < alpha)) if p.size else math.nan,
        "p_values": [None if not math.isfinite(v) else float(v) for v in p],
        "seconds": float(np.median(cell.seconds)) if cell.seconds else math.nan,
        "lower_bound": bool(cell.lower_bound),
    }
    if has_value and not peer:
        row.update({
            "mean": float(values.mean()),
            "mc_se": float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1
            else math.nan,
            "bias": float(values.mean() - case.truth),
            "coverage_truth": float(np.mean((lows <= case.truth) & (case.truth <= highs))),
            "exceeds_truth": float(np.mean(lows > case.truth + 2 * case.truth_se)),
            "coverage_target": (None if case.target is None else float(np.mean(
                (lows <= case.target) & (case.target <= highs)))),
        })
    return row


def power_check(case: BenchCase, estimator: str, pilot_length: int, repeats: int,
                seed: int = 0) -> dict:
    """Check :func:`biovw.analysis.power.required_length`: size a study from one pilot
    recording, then measure the power at that length over ``repeats`` recordings."""
    rng = np.random.default_rng(seed)
    pilot = case.simulate(pilot_length, 1, rng)[0]
    estimate = _ours(estimator, pilot, case, seed)
    size = required_length(estimate)
    n = int(min(max(size.transitions, 50), 200_000)) if math.isfinite(size.transitions) else 0
    hits = []
    if n:
        for r, obs in enumerate(case.simulate(n, repeats, rng)):
            hits.append(_ours(estimator, obs, case, seed + r + 1).detects())
    return {"case": case.name, "estimator": estimator, "pilot_length": pilot_length,
            "pilot_value": estimate.value, "predicted_length": size.transitions,
            "measured_power": float(np.mean(hits)) if hits else math.nan,
            "repeats": repeats}


def _fmt(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{digits}g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.1e}"


def size_adjusted_power(p_alt: list, p_null: list, alpha: float = 0.05) -> float:
    """Power of a test whose threshold is set on its p-values under the matching reversible
    control so that it rejects exactly ``alpha`` of them (ties broken at random)."""
    alt = np.array([1.0 if v is None else v for v in p_alt])
    null = np.sort(np.array([1.0 if v is None else v for v in p_null]))
    if null.size == 0:
        return math.nan
    thr = float(np.quantile(null, alpha, method="lower"))
    below, at = float(np.mean(null < thr)), float(np.mean(null == thr))
    gamma = min(max((alpha - below) / at, 0.0), 1.0) if at > 0 else 0.0
    return float(np.mean(alt < thr) + gamma * np.mean(alt == thr))


def markdown_report(rows: list[dict], command: str, alpha: float = 0.05) -> str:
    """The benchmark's tables in Markdown: detection (ours vs the peer package, raw and
    size-adjusted on the matching reversible control) and the accuracy of our estimates at the
    longest length."""
    lengths = sorted({r["length"] for r in rows})
    repeats = max(r["repeats"] for r in rows)
    by = {(r["chain"], r["setting"], r["control"], r["length"], r["estimator"]): r
          for r in rows}
    peers = [p for p in PEERS if any(r["estimator"] == p for r in rows)]
    ours = [o for o in OURS if any(r["estimator"] == o for r in rows)]
    keys = list(dict.fromkeys((r["chain"], r["setting"]) for r in rows if not r["control"]))

    def control_rate(chain, setting, length, name):
        r = by.get((chain, setting, True, length, name))
        return None if r is None else r["reject_rate"]

    def raw_best(chain, setting, length, names, valid_only):
        found = []
        for n in names:
            r = by.get((chain, setting, False, length, n))
            if r is None:
                continue
            ctrl = control_rate(chain, setting, length, n)
            if valid_only and ctrl is not None and ctrl > 2 * alpha:
                continue
            found.append((r["reject_rate"], n, ctrl))
        if not found:
            return "-"
        rate, name, ctrl = max(found)
        ctrl_text = "no control" if ctrl is None else f"control {ctrl:.2f}"
        return f"{rate:.2f} {name} ({ctrl_text})"

    def adjusted_best(chain, setting, length, names):
        found = []
        for n in names:
            alt = by.get((chain, setting, False, length, n))
            null = by.get((chain, setting, True, length, n))
            if alt is not None and null is not None:
                found.append((size_adjusted_power(alt["p_values"], null["p_values"], alpha), n))
        if not found:
            return "-"
        rate, name = max(found)
        return f"{rate:.2f} {name}"

    peer = peer_package()
    lines = [f"The peer package: {peer}.", "",
             "**Detection** of broken detailed balance at alpha = 0.05: share of recordings "
             "rejected by the most powerful test whose false-positive rate on the matching "
             "reversible control (same observation, same length) is at most 0.10 (ours), by the "
             "peer package's most powerful test whatever its false-positive rate (package), and "
             "the size-adjusted power of each side's best test (threshold set on the control's "
             "p-values to reject exactly 5% of them):", "",
             "| chain / setting | exact nats/step | length | ours (valid tests) | package | "
             "size-adjusted: ours | size-adjusted: package |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for chain, setting in keys:
        truth = by[(chain, setting, False, lengths[0], ours[0])]["truth"]
        for n in lengths:
            lines.append(
                f"| {chain}/{setting} | {_fmt(truth)} | {n:,} | "
                f"{raw_best(chain, setting, n, ours, True)} | "
                f"{raw_best(chain, setting, n, peers, False)} | "
                f"{adjusted_best(chain, setting, n, ours)} | "
                f"{adjusted_best(chain, setting, n, peers)} |")
    longest = lengths[-1]
    cases = list(dict.fromkeys((r["chain"], r["setting"], r["control"]) for r in rows))
    lines += ["", f"**Accuracy** at {longest:,} steps (bias = mean - exact, exact being the "
              "entropy production per observed step of the full process; 'covers' = share of "
              "95% intervals holding the exact value, or holding the exact target of what is "
              "observed; for lower bounds, 'exceeds' = share of intervals whose low end is "
              "above the exact value, which must stay near 0):", "",
              "| chain / setting | estimator | exact | target | mean | bias | covers exact | "
              "covers target | exceeds | rejects | s/estimate |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for chain, setting, control in cases:
        for name in ours:
            r = by.get((chain, setting, control, longest, name))
            if r is None or "mean" not in r:
                continue
            bound = " (bound)" if r["lower_bound"] else ""
            target = "-" if r["coverage_target"] is None else f"{r['coverage_target']:.2f}"
            covers = "-" if r["lower_bound"] and not control else f"{r['coverage_truth']:.2f}"
            label = f"{chain}{' control' if control else ''}/{setting}"
            lines.append(
                f"| {label} | {name}{bound} | {_fmt(r['truth'])} | {_fmt(r['target'])} | "
                f"{_fmt(r['mean'])} | {_fmt(r['bias'])} | {covers} | {target} | "
                f"{r['exceeds_truth']:.2f} | {r['reject_rate']:.2f} | "
                f"{_fmt(r['seconds'], 2)} |")

    def peer_seconds(p):
        return _fmt(float(np.nanmedian([r["seconds"] for r in rows
                                        if r["estimator"] == p and r["length"] == longest])), 2)

    lines += _calibration_lines(rows, alpha)
    lines += ["", f"Seconds per test (median, one thread) of {peer} at "
              f"{longest:,} steps: " + ", ".join(f"{p} {peer_seconds(p)}" for p in peers) + ".",
              "", f"{repeats} recordings per cell. Made by `{command}`."]
    return "\n".join(lines)


def save_results(out, rows: list[dict], checks: list[dict], meta: dict) -> str:
    """Write ``results.json`` (rows, sample-size checks and ``meta``), ``results.csv`` and
    ``report.md`` into the folder ``out``; returns the report."""
    import csv
    import json
    from pathlib import Path

    out = Path(out)
    report = markdown_report(rows, meta.get("command", "biovw epbench"))
    if checks:
        report += ("\n\n**Sample-size check** (`--power` sized from one pilot recording, then "
                   "the power measured at the predicted length):\n\n| case | estimator | pilot "
                   "length | pilot value | predicted length | measured power |\n"
                   "| --- | --- | --- | --- | --- | --- |\n" + "\n".join(
                       f"| {c['case']} | {c['estimator']} | {c['pilot_length']:,} | "
                       f"{c['pilot_value']:.3g} | {c['predicted_length']:,.0f} | "
                       f"{c['measured_power']:.2f} ({c['repeats']} recordings) |"
                       for c in checks))
    payload = {**meta, "rows": rows, "power_check": checks}
    (out / "results.json").write_text(json.dumps(payload, indent=1, default=float) + "\n")
    with open(out / "results.csv", "w", newline="") as f:
        fields = sorted({k for r in rows for k in r} - {"p_values"})
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    (out / "report.md").write_text(report + "\n")
    return report
