"""Contrastive-divergence (CD-k) and persistent CD (PCD-k) training of RBMs."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from biovw.baselines.rbm import AnyRBM, BernoulliRBM


@dataclass(frozen=True)
class RBMHistory:
    """Per-epoch record of :func:`fit_rbm`.

    Attributes
    ----------
    method : str
        ``"cd"`` or ``"pcd"``.
    k : int
        Gibbs steps per update.
    recon_error : list of float
        Mean squared error per unit of the mean-field reconstruction
        ``E[v | h = p(h | x)]`` of the monitoring examples.
    pseudo_loglik : list of float
        Mean over monitoring examples of the exact pseudo-log-likelihood
        ``sum_i log p(x_i | x_-i)`` (nats/example); NaN for Gaussian visibles.
    free_energy_gap : list of float
        ``mean F(valid) - mean F(monitoring examples)`` (grows when over-fitting); NaN without
        validation data.
    seconds : list of float
        Wall-clock seconds of each epoch's parameter updates (monitoring excluded).
    """

    method: str
    k: int
    recon_error: list[float]
    pseudo_loglik: list[float]
    free_energy_gap: list[float]
    seconds: list[float]

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.seconds)

    @property
    def seconds_per_epoch(self) -> float:
        """Mean update seconds per epoch."""
        return float(np.mean(self.seconds)) if self.seconds else float("nan")

    def to_dict(self) -> dict:
        """Plain-dict form."""
        d = asdict(self)
        d["epochs"] = self.epochs
        d["seconds_per_epoch"] = self.seconds_per_epoch
        return d


@torch.no_grad()
def pseudo_log_likelihood(rbm: BernoulliRBM, v: Tensor, chunk: int = 256) -> Tensor:
    """Exact pseudo-log-likelihood ``sum_i log p(v_i | v_-i)`` of binary rows.

    ``log p(v_i | v_-i) = log sigmoid(F(v with unit i flipped) - F(v))``, computed for every
    unit at once.

    Parameters
    ----------
    rbm : BernoulliRBM
    v : Tensor
        Binary states, [n, n_visible].
    chunk : int
        Rows processed together (memory ``chunk * n_visible * n_hidden``).

    Returns
    -------
    Tensor
        [n], nats.
    """
    out = []
    w, b = rbm.weight, rbm.visible_bias
    for start in range(0, v.shape[0], chunk):
        x = v[start : start + chunk].to(w.dtype)
        pre = rbm.hidden_input(x)
        sign = 1 - 2 * x
        pre_flip = pre[:, None, :] + sign[:, :, None] * w.T[None]
        f = -(x @ b) - F.softplus(pre).sum(-1)
        f_flip = -((x @ b)[:, None] + sign * b) - F.softplus(pre_flip).sum(-1)
        out.append(F.logsigmoid(f_flip - f[:, None]).sum(-1))
    return torch.cat(out)


@torch.no_grad()
def _monitor(rbm: AnyRBM, x: Tensor, valid: Tensor | None) -> tuple[float, float, float]:
    recon = rbm.visible_probs(rbm.hidden_probs(x))
    err = ((recon - x) ** 2).mean().item()
    pl = (
        pseudo_log_likelihood(rbm, x).mean().item()
        if isinstance(rbm, BernoulliRBM)
        else float("nan")
    )
    gap = (
        (rbm.free_energy(valid).mean() - rbm.free_energy(x).mean()).item()
        if valid is not None
        else float("nan")
    )
    return err, pl, gap


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _Updates:
    """The CD-k / PCD-k updates of any RBM, built on its public methods (the general path).

    ``chains`` holds the persistent chains (None for CD).
    """

    def __init__(self, rbm: AnyRBM, chains: Tensor | None, generator: torch.Generator | None,
                 *, k: int, lr: float, momentum: float, weight_decay: float):
        self.rbm, self.chains, self.generator = rbm, chains, generator
        self.k, self.lr, self.momentum, self.weight_decay = k, lr, momentum, weight_decay
        self.params = dict(rbm.named_parameters())
        self.velocity = {name: torch.zeros_like(p) for name, p in self.params.items()}

    def __call__(self, batch: Tensor) -> None:
        neg = batch if self.chains is None else self.chains
        for _ in range(self.k):
            neg = self.rbm._gibbs(neg, self.generator)
        if self.chains is not None:
            self.chains = neg
        grads = self.rbm.contrast(batch, neg)
        for name, p in self.params.items():
            grad = grads[name]
            if self.weight_decay and name == "weight":
                grad = grad - self.weight_decay * p
            vel = self.velocity[name]
            vel.mul_(self.momentum).add_(grad, alpha=self.lr)
            p.add_(vel)


class _Layout(NamedTuple):
    """Views of :class:`_BernoulliUpdates`' buffers for one batch size."""

    states: Tensor  # [positive rows; negative rows], [n_pos + n_neg, n_visible]
    pos: Tensor
    neg: Tensor  # the persistent chains for PCD
    hidden: Tensor  # hidden probabilities of states, [n_pos + n_neg, n_hidden]
    h: Tensor  # hidden samples of the Gibbs steps, [n_neg, n_hidden]
    uniforms: list[tuple[Tensor, Tensor]]  # per Gibbs step: for the hidden and visible draws
    weights: Tensor  # +1/n_pos, -1/n_neg: batch means of the positive minus negative phase
    states_t: Tensor
    hidden_t: Tensor
    hidden_pos_t: Tensor
    hidden_neg_t: Tensor
    lr_pos: float
    lr_neg: float


class _BernoulliUpdates:
    """The same updates for a :class:`BernoulliRBM` in few tensor operations per batch.

    At small batch sizes an update costs mostly the per-operation overhead, so:

    * the batch and the negative states share one preallocated buffer
      ``states = [positive rows; negative rows]``, which also keeps the persistent chains
      between batches; one product then gives the hidden probabilities of both phases;
    * a Bernoulli draw is ``u < p`` with the uniforms of a whole update drawn in one call,
      and every intermediate is written into a preallocated buffer;
    * the parameters (with momentum: the velocities) are updated in place by fused
      multiply-adds, ``W += lr / n_pos * P_pos^T V_pos - lr / n_neg * P_neg^T V_neg``.

    The arithmetic is that of :class:`_Updates` (:meth:`BernoulliRBM.contrast` and
    ``_gibbs``); only the random stream differs.
    """

    def __init__(self, rbm: BernoulliRBM, chains: Tensor | None,
                 generator: torch.Generator | None, *, k: int, lr: float, momentum: float,
                 weight_decay: float, batch_size: int):
        self.params = (rbm.weight, rbm.visible_bias, rbm.hidden_bias)
        self.velocity = tuple(torch.zeros_like(p) for p in self.params) if momentum else None
        self.generator, self.k, self.lr = generator, k, lr
        self.momentum, self.weight_decay = momentum, weight_decay
        self.persistent = chains is not None
        self.batch_size = batch_size
        self.weight_t = rbm.weight.T
        n_neg = chains.shape[0] if chains is not None else batch_size
        w = rbm.weight
        # rows [batch_size - n_pos, batch_size) hold a batch of n_pos rows, the rows from
        # batch_size on the negative states, so that every batch size is a contiguous slice
        self.states = w.new_empty(batch_size + n_neg, rbm.n_visible)
        self.hidden = w.new_empty(batch_size + n_neg, rbm.n_hidden)
        self.uniform = w.new_empty(k, n_neg, rbm.n_hidden + rbm.n_visible)
        if chains is not None:
            self.states[batch_size:] = chains
        self._layouts: dict[int, _Layout] = {}

    def _layout(self, n_pos: int) -> _Layout:
        """Views of the buffers for a batch of ``n_pos`` rows (cached: a few sizes occur)."""
        if n_pos not in self._layouts:
            n_neg = self.states.shape[0] - self.batch_size if self.persistent else n_pos
            rows = slice(self.batch_size - n_pos, self.batch_size + n_neg)
            states, hidden = self.states[rows], self.hidden[rows]
            n_hidden = hidden.shape[1]
            weights = states.new_empty(n_pos + n_neg)  # batch means: +1/n_pos, -1/n_neg
            weights[:n_pos], weights[n_pos:] = 1.0 / n_pos, -1.0 / n_neg
            self._layouts[n_pos] = _Layout(
                states=states,
                pos=states[:n_pos],
                neg=states[n_pos:],
                hidden=hidden,
                h=hidden[n_pos:],
                uniforms=[(u[:n_neg, :n_hidden], u[:n_neg, n_hidden:]) for u in self.uniform],
                weights=weights,
                states_t=states.T,
                hidden_t=hidden.T,
                hidden_pos_t=hidden[:n_pos].T,
                hidden_neg_t=hidden[n_pos:].T,
                lr_pos=self.lr / n_pos,
                lr_neg=-self.lr / n_neg,
            )
        return self._layouts[n_pos]

    def __call__(self, batch: Tensor) -> None:
        s = self._layout(batch.shape[0])
        w, b, c = self.params
        w_t = self.weight_t
        s.pos.copy_(batch)
        self.uniform.uniform_(generator=self.generator)
        v = s.neg if self.persistent else s.pos
        for u_hidden, u_visible in s.uniforms:  # k Gibbs steps v -> h -> v', written to neg
            torch.sigmoid(torch.addmm(c, v, w_t, out=s.h), out=s.h)
            torch.lt(u_hidden, s.h, out=s.h)
            torch.sigmoid(torch.addmm(b, s.h, w, out=s.neg), out=s.neg)
            torch.lt(u_visible, s.neg, out=s.neg)
            v = s.neg
        # hidden probabilities of both phases, then theta += lr * (<s>_pos - <s>_neg)
        torch.sigmoid(torch.addmm(c, s.states, w_t, out=s.hidden), out=s.hidden)
        if self.velocity is None:
            d_w, d_b, d_c = self.params
        else:
            d_w, d_b, d_c = self.velocity
            for vel in self.velocity:
                vel.mul_(self.momentum)
        if self.weight_decay:
            d_w.add_(w, alpha=-self.lr * self.weight_decay)
        d_w.addmm_(s.hidden_pos_t, s.pos, alpha=s.lr_pos)
        d_w.addmm_(s.hidden_neg_t, s.neg, alpha=s.lr_neg)
        d_b.addmv_(s.states_t, s.weights, alpha=self.lr)
        d_c.addmv_(s.hidden_t, s.weights, alpha=self.lr)
        if self.velocity is not None:
            for p, vel in zip(self.params, self.velocity, strict=True):
                p.add_(vel)


@dataclass(frozen=True)
class RBMTraining:
    """How :func:`fit_rbm` trains: one record of its settings and their defaults.

    Attributes
    ----------
    method : {"cd", "pcd"}
        Contrastive divergence, or persistent chains (Tieleman 2008).
    k : int
        Gibbs steps per update (at least 1).
    lr : float
        Learning rate (per batch-mean gradient).
    epochs : int
        Passes over the data (at least 0).
    batch_size : int
        Examples per update; the last batch of an epoch may be smaller.
    momentum : float
    weight_decay : float
        L2 penalty on the weights.
    n_persistent : int or None
        Number of persistent chains for ``"pcd"`` (default ``batch_size``), started at
        random training examples.
    monitor : bool
        Compute reconstruction error, pseudo-likelihood and free-energy gap each epoch (NaN
        otherwise).
    monitor_size : int
        Training examples (a fixed random subset) used for monitoring.

    Raises
    ------
    ValueError
        For an unknown method or ``k``, ``batch_size`` below 1 or ``epochs`` below 0.
    """

    method: str = "cd"
    k: int = 1
    lr: float = 0.05
    epochs: int = 10
    batch_size: int = 100
    momentum: float = 0.5
    weight_decay: float = 0.0
    n_persistent: int | None = None
    monitor: bool = True
    monitor_size: int = 1000

    def __post_init__(self) -> None:
        if self.method not in ("cd", "pcd"):
            raise ValueError(f"method must be 'cd' or 'pcd', got {self.method!r}")
        if self.k < 1 or self.epochs < 0 or self.batch_size < 1:
            raise ValueError("k and batch_size must be >= 1 and epochs >= 0")

    @classmethod
    def of(cls, source: object) -> RBMTraining:
        """The settings that ``source`` (a config section) has, the others at their
        defaults."""
        return cls(**{f.name: getattr(source, f.name) for f in fields(cls)
                      if hasattr(source, f.name)})


RBM_TRAINING = RBMTraining()
"""The default training of :func:`fit_rbm`."""


def fit_rbm(
    rbm: AnyRBM,
    data: Tensor | np.ndarray,
    training: RBMTraining = RBM_TRAINING,
    *,
    generator: torch.Generator | None = None,
    callback: Callable[[int, AnyRBM, dict], bool | None] | None = None,
    valid_data: Tensor | np.ndarray | None = None,
    **changes,
) -> RBMHistory:
    """Train an RBM in place with CD-k or PCD-k and SGD with momentum.

    Each update is ``theta += vel`` with
    ``vel = momentum * vel + lr * (<s>_data - <s>_chain - weight_decay * theta)``, where ``s``
    is ``d(-F(v))/d theta`` (hidden probabilities, not samples, in both phases; see
    :meth:`BernoulliRBM.contrast`), ``<.>`` are batch means, and weight decay applies to
    ``weight`` only. The negative phase is the end of ``k`` Gibbs steps ``v -> h -> v'``
    started at the batch (``"cd"``) or continued from persistent chains (``"pcd"``,
    Tieleman 2008). The data are reshuffled each epoch with ``generator``. A
    :class:`BernoulliRBM` is updated with preallocated buffers and fused in-place operations
    (the same arithmetic in fewer operations; Bernoulli draws are ``uniform < p``).

    Parameters
    ----------
    rbm : BernoulliRBM or GaussianBernoulliRBM
        Trained in place; data and chains live on its device.
    data : Tensor or ndarray
        Training examples, [n, n_visible].
    training : RBMTraining
        Method, Gibbs steps, learning rate, epochs, batch size, momentum, weight decay,
        persistent chains and monitoring (:class:`RBMTraining`).
    generator : torch.Generator or None
        Source of all randomness (on the model's device); None uses torch's global one.
    callback : callable or None
        ``callback(epoch, rbm, record)`` after each epoch with that epoch's record; training
        stops when it returns True.
    valid_data : Tensor or ndarray or None
        Held-out examples for the free-energy gap.
    **changes
        Fields of ``training`` to change (``epochs=5, lr=0.1``).

    Returns
    -------
    RBMHistory
    """
    s = replace(training, **changes)
    w = rbm.weight
    device = w.device
    x = torch.as_tensor(data).to(device=device, dtype=w.dtype)
    valid = None if valid_data is None else torch.as_tensor(valid_data).to(w)
    monitor_idx = torch.randperm(len(x), generator=generator, device=device)
    x_monitor = x[monitor_idx[: min(len(x), s.monitor_size)]]
    recon, pls, gaps, seconds = [], [], [], []
    with torch.no_grad():
        update = _updater(rbm, x, s, generator)
        for epoch in range(s.epochs):
            seconds.append(_epoch(update, x, s.batch_size, generator))
            err, pl, gap = _monitor(rbm, x_monitor, valid) if s.monitor else (math.nan,) * 3
            recon.append(err)
            pls.append(pl)
            gaps.append(gap)
            record = {"epoch": epoch, "recon_error": err, "pseudo_loglik": pl,
                      "free_energy_gap": gap, "seconds": seconds[-1]}
            if callback is not None and callback(epoch, rbm, record):
                break
    return RBMHistory(s.method, s.k, recon, pls, gaps, seconds)


def _updater(rbm: AnyRBM, x: Tensor, s: RBMTraining,
             generator: torch.Generator | None) -> Callable[[Tensor], None]:
    """The update of one batch, with the persistent chains of ``"pcd"`` (started at random
    training examples) inside it."""
    chains = None
    if s.method == "pcd":
        n_chains = s.batch_size if s.n_persistent is None else s.n_persistent
        start = torch.randint(len(x), (n_chains,), generator=generator, device=x.device)
        chains = x[start].clone()
    settings = {"k": s.k, "lr": s.lr, "momentum": s.momentum, "weight_decay": s.weight_decay}
    if isinstance(rbm, BernoulliRBM):
        return _BernoulliUpdates(rbm, chains, generator, batch_size=s.batch_size, **settings)
    return _Updates(rbm, chains, generator, **settings)


def _epoch(update: Callable[[Tensor], None], x: Tensor, batch_size: int,
           generator: torch.Generator | None) -> float:
    """One pass over the reshuffled data; its wall time in seconds."""
    _sync(x.device)
    t0 = time.perf_counter()
    order = torch.randperm(len(x), generator=generator, device=x.device)
    with torch.inference_mode():  # a little less overhead per operation
        for batch in x[order].split(batch_size):
            update(batch)
    _sync(x.device)
    return time.perf_counter() - t0
