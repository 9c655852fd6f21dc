"""Partition functions and log-likelihoods of RBMs: exact enumeration, annealed importance
sampling (AIS, Salakhutdinov & Murray 2008) and reverse AIS from exact model samples.

Annealing path. With a base model A of zero weights and visible bias ``b_A`` (binary
visibles: the log-odds of data base rates; Gaussian visibles: a Gaussian of mean ``b_A``
and the model's ``sigma``) and the target B, the intermediate distributions are
``p_k(v) ∝ p*_A(v)^(1 - beta_k) p*_B(v)^beta_k`` in the joint space of the visible units
and both models' hidden units. Summing the hidden units out gives

``log p*_k(v) = -(1 - beta_k) E_A(v) - beta_k E_B(v) + sum_j softplus(beta_k x_j(v))``

with ``E_A``, ``E_B`` the visible-only energies and ``x(v) = c + W v`` (``v / sigma^2`` for
Gaussian visibles); the base's hidden units contribute ``(1 - beta_k) n_hidden log 2``, which
is folded into ``Z_A``. Each ``p_k`` is itself an RBM (weights ``beta_k W``, visible bias
``(1 - beta_k) b_A + beta_k b``, hidden bias ``beta_k c``), so the transition leaving it
invariant is block Gibbs ``v -> h -> v'`` of that RBM, and the importance weights use only
the free energies above.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from biovw.baselines.rbm import AnyRBM, GaussianBernoulliRBM

MAX_ENUMERATED_UNITS = 20
PAPER_STEPS = 14500
PAPER_STEPS_COARSE = 5500


@dataclass(frozen=True, eq=False)
class PartitionEstimate:
    """An AIS estimate of ``log Z``.

    Attributes
    ----------
    log_z : float
        The estimate (nats).
    log_z_se : float
        Delta-method standard error of ``log_z``: the relative standard error of the mean
        importance weight.
    log_z_low, log_z_high : float
        ``log`` of the estimated ``Z`` minus / plus three standard errors, as reported by
        Salakhutdinov & Murray (2008); ``-inf`` / ``inf`` when the band reaches zero.
    n_runs : int
        Independent annealing runs.
    n_betas : int
        Annealing steps (intermediate distributions; the grid has ``n_betas + 1`` points).
    log_weights : Tensor
        Log importance weight of each run, [n_runs], float64 on the CPU. Forward runs
        estimate ``Z_B / Z_A``, reverse runs ``Z_A / Z_B``.
    log_z_base : float
        Exact ``log Z_A`` of the base model.
    direction : str
        ``"forward"`` (an unbiased estimate of ``Z``, so ``E[log_z] <= log Z``: a stochastic
        lower bound) or ``"reverse"`` (from exact samples, ``E[log_z] >= log Z``: a stochastic
        upper bound).
    exact_samples : bool
        Whether the reverse runs started from exact model samples (always True forward,
        where the start is the base model).
    """

    log_z: float
    log_z_se: float
    log_z_low: float
    log_z_high: float
    n_runs: int
    n_betas: int
    log_weights: Tensor
    log_z_base: float
    direction: str
    exact_samples: bool = True

    @property
    def effective_sample_size(self) -> float:
        """``(sum w)^2 / sum w^2`` of the importance weights."""
        w = self.log_weights
        return math.exp(2 * torch.logsumexp(w, 0).item() - torch.logsumexp(2 * w, 0).item())

    def to_dict(self) -> dict:
        """Plain-dict form (without the per-run log-weights)."""
        return {
            "log_z": self.log_z,
            "log_z_se": self.log_z_se,
            "log_z_low": self.log_z_low,
            "log_z_high": self.log_z_high,
            "n_runs": self.n_runs,
            "n_betas": self.n_betas,
            "log_z_base": self.log_z_base,
            "direction": self.direction,
            "exact_samples": self.exact_samples,
            "effective_sample_size": self.effective_sample_size,
            "unit": "nats",
        }


@dataclass(frozen=True)
class LikelihoodResult:
    """Mean log-likelihood of a data set (nats/example).

    Attributes
    ----------
    mean : float
        Mean over examples of ``-F(x) - log Z``.
    se : float
        Standard error over examples (the uncertainty of ``log Z`` is not included).
    n : int
        Number of examples.
    """

    mean: float
    se: float
    n: int

    def to_dict(self) -> dict:
        """Plain-dict form."""
        return {"mean": self.mean, "se": self.se, "n": self.n, "unit": "nats/example"}


def _bits(start: int, stop: int, n: int, device: torch.device) -> Tensor:
    """Binary expansions of the integers ``start .. stop - 1`` on ``n`` bits, float64."""
    codes = torch.arange(start, stop, device=device)
    shifts = torch.arange(n, device=device)
    return ((codes[:, None] >> shifts) & 1).to(torch.float64)


def _enumerated_layer(rbm: AnyRBM, layer: str | None) -> str:
    nv, nh = rbm.n_visible, rbm.n_hidden
    if isinstance(rbm, GaussianBernoulliRBM):
        if layer == "visible":
            raise ValueError("Gaussian visible units cannot be enumerated; use layer='hidden'")
        layer = "hidden"
    elif layer is None:
        layer = "hidden" if nh <= nv else "visible"
    if layer not in ("visible", "hidden"):
        raise ValueError(f"layer must be 'visible', 'hidden' or None, got {layer!r}")
    size = nv if layer == "visible" else nh
    if size > MAX_ENUMERATED_UNITS:
        raise ValueError(
            f"exact enumeration needs a layer of at most {MAX_ENUMERATED_UNITS} units; "
            f"the {layer} layer has {size} (n_visible={nv}, n_hidden={nh})"
        )
    return layer


def _neg_free_energies(m: AnyRBM, layer: str, start: int, stop: int) -> Tensor:
    n = m.n_visible if layer == "visible" else m.n_hidden
    states = _bits(start, stop, n, m.weight.device)
    return -(m.free_energy(states) if layer == "visible" else m.hidden_free_energy(states))


@torch.no_grad()
def exact_log_partition(rbm: AnyRBM, *, layer: str | None = None, chunk: int = 2**16) -> float:
    """Exact ``log Z`` by enumerating one layer, in float64.

    ``log Z = logsumexp_v(-F(v))`` (visible enumeration) or ``logsumexp_h(-F(h))`` (hidden
    enumeration, the other layer summed or, for Gaussian visibles, integrated analytically).

    Parameters
    ----------
    rbm : BernoulliRBM or GaussianBernoulliRBM
    layer : {"visible", "hidden"} or None
        Layer to enumerate; None picks the smaller one (always hidden for Gaussian
        visibles).
    chunk : int
        States evaluated together.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        When the enumerated layer has more than 20 units.
    """
    layer = _enumerated_layer(rbm, layer)
    m = copy.deepcopy(rbm).to(torch.float64)
    n = m.n_visible if layer == "visible" else m.n_hidden
    parts = [
        torch.logsumexp(_neg_free_energies(m, layer, s, min(s + chunk, 2**n)), 0)
        for s in range(0, 2**n, chunk)
    ]
    return torch.logsumexp(torch.stack(parts), 0).item()


@torch.no_grad()
def sample_exact(
    rbm: AnyRBM, n: int, generator: torch.Generator | None = None, *, layer: str | None = None
) -> Tensor:
    """Independent exact samples of ``p(v)`` for an RBM with a small layer.

    Enumerates the smaller layer (at most 20 units), draws it from its exact marginal
    (``p(h) ∝ exp(-F(h))``, or ``p(v)`` directly) and, when that layer is the hidden one,
    draws ``v ~ p(v | h)``.

    Parameters
    ----------
    rbm : BernoulliRBM or GaussianBernoulliRBM
    n : int
        Number of samples.
    generator : torch.Generator or None
    layer : {"visible", "hidden"} or None
        Layer to enumerate, as in :func:`exact_log_partition`.

    Returns
    -------
    Tensor
        [n, n_visible], the model's dtype and device.
    """
    layer = _enumerated_layer(rbm, layer)
    m = copy.deepcopy(rbm).to(torch.float64)
    size = m.n_visible if layer == "visible" else m.n_hidden
    logp = _neg_free_energies(m, layer, 0, 2**size)
    probs = torch.softmax(logp, 0)
    idx = torch.multinomial(probs, n, replacement=True, generator=generator)
    states = _bits(0, 2**size, size, m.weight.device)[idx].to(rbm.weight.dtype)
    return states if layer == "visible" else rbm.sample_visible(states, generator)


def paper_betas(fine_tail: bool = True) -> Tensor:
    """The inverse-temperature grid of Salakhutdinov & Murray (2008).

    Steps of 1e-3 on [0, 0.5], 1e-4 on [0.5, 0.9] and 1e-5 on [0.9, 1] (14,500 steps), or
    1e-4 on [0.9, 1] with ``fine_tail=False`` (5,500 steps). Float64, ``0`` and ``1``
    included.
    """
    tail = 10000 if fine_tail else 1000
    return torch.cat(
        [
            torch.linspace(0.0, 0.5, 501, dtype=torch.float64)[:-1],
            torch.linspace(0.5, 0.9, 4001, dtype=torch.float64)[:-1],
            torch.linspace(0.9, 1.0, tail + 1, dtype=torch.float64),
        ]
    )


def beta_schedule(n_betas: int) -> Tensor:
    """Annealing grid with ``n_betas`` steps: the paper's grid when ``n_betas`` is 14,500
    (or 5,500, its variant with 1e-4 steps on [0.9, 1]), else ``linspace(0, 1, n_betas + 1)``.
    """
    if n_betas < 1:
        raise ValueError(f"n_betas must be >= 1, got {n_betas}")
    if n_betas == PAPER_STEPS:
        return paper_betas(True)
    if n_betas == PAPER_STEPS_COARSE:
        return paper_betas(False)
    return torch.linspace(0.0, 1.0, n_betas + 1, dtype=torch.float64)


def _base_bias(rbm: AnyRBM, base_rates: Tensor | None) -> Tensor:
    b = rbm.visible_bias.detach()
    if base_rates is None:
        return b.clone()
    r = torch.as_tensor(base_rates).to(b)
    if r.shape != b.shape:
        raise ValueError(f"base_rates must have shape {tuple(b.shape)}, got {tuple(r.shape)}")
    if isinstance(rbm, GaussianBernoulliRBM):
        return r
    p = r.clamp(1e-3, 1 - 1e-3)
    return torch.log(p) - torch.log1p(-p)


@torch.no_grad()
def _anneal(
    rbm: AnyRBM,
    betas: list[float],
    v: Tensor,
    base_bias: Tensor,
    generator: torch.Generator | None,
) -> Tensor:
    """Run AIS along ``betas`` (in the given order) from states ``v`` distributed as
    ``p_{betas[0]}``; returns ``sum_i log p*_{b_i}(v_i) - log p*_{b_{i-1}}(v_i)`` per run,
    whose exponential has mean ``Z_{betas[-1]} / Z_{betas[0]}``."""
    w, b = rbm.weight.detach(), rbm.visible_bias.detach()
    db = b - base_bias
    base_d, b_d = base_bias.double(), b.double()
    logw = torch.zeros(v.shape[0], dtype=torch.float64, device=v.device)
    last = len(betas) - 1
    for i in range(1, last + 1):
        beta, prev = betas[i], betas[i - 1]
        x = rbm.hidden_input(v)
        xd = x.double()
        vd = v.double()
        vis = rbm._visible_energy(vd, base_d) - rbm._visible_energy(vd, b_d)
        logw += (beta - prev) * vis
        logw += (F.softplus(beta * xd) - F.softplus(prev * xd)).sum(-1)
        if i < last:
            h = torch.bernoulli(torch.sigmoid(beta * x), generator=generator)
            v = rbm._visible_sample(base_bias + beta * db, beta * (h @ w), generator)
    return logw


def _summarise(
    logw: Tensor, log_z_base: float, n_betas: int, direction: str, exact_samples: bool
) -> PartitionEstimate:
    logw = logw.detach().double().cpu()
    n = logw.numel()
    top = logw.max().item()
    r = torch.exp(logw - top)
    mean = r.mean().item()
    rel = (r.std().item() / math.sqrt(n) / mean) if n > 1 else float("nan")
    log_ratio = top + math.log(mean)
    lower = math.log(1 - 3 * rel) if rel < 1 / 3 else -math.inf
    upper = math.log1p(3 * rel)
    if direction == "forward":
        log_z = log_z_base + log_ratio
        low, high = log_z + lower, log_z + upper
    else:
        log_z = log_z_base - log_ratio
        low, high = log_z - upper, log_z - lower
    return PartitionEstimate(
        log_z, rel, low, high, n, n_betas, logw, log_z_base, direction, exact_samples
    )


def _log_z_base(rbm: AnyRBM, base_bias: Tensor) -> float:
    with torch.no_grad():
        vis = rbm._visible_log_partition(base_bias.double()).item()
    return rbm.n_hidden * math.log(2.0) + vis


def ais_log_partition(
    rbm: AnyRBM,
    *,
    n_betas: int = 10000,
    n_runs: int = 100,
    base_rates: Tensor | None = None,
    generator: torch.Generator | None = None,
    betas: Tensor | None = None,
) -> PartitionEstimate:
    """Forward AIS estimate of ``log Z`` (Salakhutdinov & Murray 2008).

    ``n_runs`` chains start at exact samples of the base model A and follow the geometric
    path (module docstring) with one Gibbs transition per intermediate distribution. The
    mean importance weight is an unbiased estimate of ``Z / Z_A``, hence ``log_z`` is a
    stochastic lower bound of ``log Z`` (``E[log_z] <= log Z``).

    Parameters
    ----------
    rbm : BernoulliRBM or GaussianBernoulliRBM
    n_betas : int
        Annealing steps; see :func:`beta_schedule` (14,500 gives the paper's grid).
    n_runs : int
        Independent runs, simulated together.
    base_rates : Tensor or None
        Binary visibles: data means, turned into the base model's visible bias by their
        clamped log-odds. Gaussian visibles: the base model's mean. None uses the model's own
        visible bias.
    generator : torch.Generator or None
        On the model's device.
    betas : Tensor or None
        An explicit increasing grid from 0 to 1 (overrides ``n_betas``).

    Returns
    -------
    PartitionEstimate
    """
    grid = _check_grid(betas) if betas is not None else beta_schedule(n_betas)
    base_bias = _base_bias(rbm, base_rates)
    zeros = torch.zeros(n_runs, rbm.n_visible, device=base_bias.device, dtype=base_bias.dtype)
    with torch.no_grad():
        v0 = rbm._visible_sample(base_bias, zeros, generator)
    logw = _anneal(rbm, grid.tolist(), v0, base_bias, generator)
    return _summarise(logw, _log_z_base(rbm, base_bias), grid.numel() - 1, "forward", True)


def reverse_ais_log_partition(
    rbm: AnyRBM,
    samples: Tensor | None = None,
    *,
    n_betas: int = 10000,
    n_runs: int = 100,
    base_rates: Tensor | None = None,
    generator: torch.Generator | None = None,
    betas: Tensor | None = None,
) -> PartitionEstimate:
    """Reverse AIS estimate of ``log Z``: anneal from model samples back to the base model.

    Runs start at samples of ``p_B`` and follow the path of :func:`ais_log_partition` from
    ``beta = 1`` down to ``0``. When the starting states are exact samples of ``p_B``, the
    mean importance weight is an unbiased estimate of ``Z_A / Z_B``, so
    ``log_z = log Z_A - log(mean weight)`` satisfies ``E[log_z] >= log Z`` (Jensen) and
    ``P(log_z < log Z - t) <= exp(-t)`` (Markov): a stochastic upper bound of ``log Z``,
    and ``-F(x) - log_z`` a stochastic lower bound of ``log p(x)``. With forward AIS it
    sandwiches ``log Z`` (Burda, Grosse & Salakhutdinov 2015; Grosse et al. 2016).

    The bound requires exact samples. With ``samples=None`` they are drawn exactly by
    :func:`sample_exact`, which needs a layer of at most 20 units. Samples passed in (e.g.
    the ends of long Gibbs chains) give an upper bound only in so far as they are
    distributed as ``p_B``; the result is then marked ``exact_samples=False``. Starting from
    data is not a bound on anything.

    Parameters
    ----------
    rbm : BernoulliRBM or GaussianBernoulliRBM
    samples : Tensor or None
        Starting states, [n_runs, n_visible]; None draws ``n_runs`` exact samples.
    n_betas, n_runs, base_rates, generator, betas
        As in :func:`ais_log_partition` (``n_runs`` is ignored when ``samples`` is given).

    Returns
    -------
    PartitionEstimate
        With ``direction="reverse"``.
    """
    grid = _check_grid(betas) if betas is not None else beta_schedule(n_betas)
    base_bias = _base_bias(rbm, base_rates)
    exact = samples is None
    if exact:
        v0 = sample_exact(rbm, n_runs, generator)
    else:
        v0 = torch.as_tensor(samples).to(rbm.weight)
    logw = _anneal(rbm, grid.flip(0).tolist(), v0, base_bias, generator)
    return _summarise(logw, _log_z_base(rbm, base_bias), grid.numel() - 1, "reverse", exact)


@torch.no_grad()
def raise_log_likelihood(
    rbm: AnyRBM,
    x: Tensor,
    *,
    n_betas: int = 1000,
    n_runs: int = 10,
    base_rates: Tensor | None = None,
    generator: torch.Generator | None = None,
    betas: Tensor | None = None,
    batch_size: int = 5000,
) -> Tensor:
    """Conservative per-example log-likelihood by reverse annealing from the data (RAISE;
    Burda, Grosse & Salakhutdinov 2015).

    RAISE scores ``x`` under the annealed model that draws ``v`` from the base model
    ``p_0`` and runs the Gibbs transitions of the path of :func:`ais_log_partition` from
    ``beta = 0`` up to ``1``, ending at ``x``; with a slow enough path it is the RBM itself.
    Its proposal runs the same transitions backwards from ``x`` to ``beta = 0`` (each is
    reversible, so its own reverse), and the importance weight is ``p_0(v_L) prod_i
    p*_{b_i}(v_i) / p*_{b_i}(v_{i+1})``: an unbiased estimate of the annealed model's
    ``p(x)``, whose log-mean over runs is a stochastic lower bound of its log-likelihood
    (Jensen). No partition function is estimated; a path too fast makes the annealed model,
    and so the estimate, worse, never better: the conservative side of the bracket whose
    optimistic side is forward AIS.

    Parameters
    ----------
    rbm : BernoulliRBM or GaussianBernoulliRBM
    x : Tensor
        Examples, [n, n_visible].
    n_betas, base_rates, generator, betas
        The path, as in :func:`ais_log_partition`.
    n_runs : int
        Reverse runs per example.
    batch_size : int
        Runs annealed together.

    Returns
    -------
    Tensor
        Per-example estimates (nats), float64, [n], on the CPU.
    """
    if n_runs < 1:
        raise ValueError(f"n_runs must be at least 1, got {n_runs}")
    grid = _check_grid(betas) if betas is not None else beta_schedule(n_betas)
    base_bias = _base_bias(rbm, base_rates)
    xd = torch.as_tensor(x).to(rbm.weight)
    log_f1 = per_example_log_likelihood(rbm, xd, 0.0)  # -F(x): log p*_1(x)
    per_chunk = max(1, batch_size // n_runs)
    logws = [_anneal(rbm, grid.flip(0).tolist(), chunk.repeat_interleave(n_runs, 0),
                     base_bias, generator).view(-1, n_runs).cpu()
             for chunk in xd.split(per_chunk)]
    logw = torch.cat(logws)
    log_mean = torch.logsumexp(logw, 1) - math.log(n_runs)
    return log_mean + log_f1.cpu() - _log_z_base(rbm, base_bias)


def _check_grid(betas: Tensor) -> Tensor:
    g = torch.as_tensor(betas, dtype=torch.float64).flatten().cpu()
    if g.numel() < 2 or g[0] != 0 or g[-1] != 1 or bool((g.diff() < 0).any()):
        raise ValueError("betas must be non-decreasing from 0 to 1")
    return g


@torch.no_grad()
def per_example_log_likelihood(rbm: AnyRBM, x: Tensor,
                               log_z: float | PartitionEstimate) -> Tensor:
    """``-F(x) - log Z`` of each row of ``x`` (nats), float64, [n]."""
    lz = log_z.log_z if isinstance(log_z, PartitionEstimate) else float(log_z)
    m = copy.deepcopy(rbm).to(torch.float64)
    xd = torch.as_tensor(x).to(m.weight)
    return (-m.free_energy(xd) - lz).detach()


def log_likelihood(rbm: AnyRBM, x: Tensor, log_z: float | PartitionEstimate) -> LikelihoodResult:
    """Mean log-likelihood ``-F(x) - log Z`` of the rows of ``x`` (nats/example).

    Parameters
    ----------
    rbm : BernoulliRBM or GaussianBernoulliRBM
    x : Tensor
        Examples, [n, n_visible].
    log_z : float or PartitionEstimate
        ``log Z``, exact or estimated.

    Returns
    -------
    LikelihoodResult
    """
    ll = per_example_log_likelihood(rbm, x, log_z)
    n = ll.numel()
    se = ll.std().item() / math.sqrt(n) if n > 1 else float("nan")
    return LikelihoodResult(ll.mean().item(), se, n)
