"""Contrastive-divergence (CD-k) and persistent CD (PCD-k) training of RBMs."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

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


def fit_rbm(
    rbm: AnyRBM,
    data: Tensor | np.ndarray,
    *,
    method: str = "cd",
    k: int = 1,
    lr: float = 0.05,
    epochs: int = 10,
    batch_size: int = 100,
    momentum: float = 0.5,
    weight_decay: float = 0.0,
    generator: torch.Generator | None = None,
    n_persistent: int | None = None,
    callback: Callable[[int, AnyRBM, dict], bool | None] | None = None,
    valid_data: Tensor | np.ndarray | None = None,
    monitor: bool = True,
    monitor_size: int = 1000,
) -> RBMHistory:
    """Train an RBM in place with CD-k or PCD-k and SGD with momentum.

    Each update is ``theta += vel`` with
    ``vel = momentum * vel + lr * (<s>_data - <s>_chain - weight_decay * theta)``, where ``s``
    is ``d(-F(v))/d theta`` (hidden probabilities, not samples, in both phases; see
    :meth:`BernoulliRBM.contrast`), ``<.>`` are batch means, and weight decay applies to
    ``weight`` only. The negative phase is the end of ``k`` Gibbs steps ``v -> h -> v'``
    started at the batch (``"cd"``) or continued from persistent chains (``"pcd"``,
    Tieleman 2008). The data are reshuffled each epoch with ``generator``.

    Parameters
    ----------
    rbm : BernoulliRBM or GaussianBernoulliRBM
        Trained in place; data and chains live on its device.
    data : Tensor or ndarray
        Training examples, [n, n_visible].
    method : {"cd", "pcd"}
    k : int
        Gibbs steps per update.
    lr : float
        Learning rate (per batch-mean gradient).
    epochs : int
    batch_size : int
        The last batch of an epoch may be smaller.
    momentum : float
    weight_decay : float
        L2 penalty on the weights.
    generator : torch.Generator or None
        Source of all randomness (on the model's device); None uses torch's global one.
    n_persistent : int or None
        Number of persistent chains for ``"pcd"`` (default ``batch_size``), started at
        random training examples.
    callback : callable or None
        ``callback(epoch, rbm, record)`` after each epoch with that epoch's record; training
        stops when it returns True.
    valid_data : Tensor or ndarray or None
        Held-out examples for the free-energy gap.
    monitor : bool
        Compute reconstruction error, pseudo-likelihood and free-energy gap each epoch (NaN
        otherwise).
    monitor_size : int
        Training examples (a fixed random subset) used for monitoring.

    Returns
    -------
    RBMHistory
    """
    if method not in ("cd", "pcd"):
        raise ValueError(f"method must be 'cd' or 'pcd', got {method!r}")
    if k < 1 or epochs < 0 or batch_size < 1:
        raise ValueError("k and batch_size must be >= 1 and epochs >= 0")
    w = rbm.weight
    device = w.device
    x = torch.as_tensor(data).to(device=device, dtype=w.dtype)
    valid = None if valid_data is None else torch.as_tensor(valid_data).to(w)
    n = x.shape[0]
    params = dict(rbm.named_parameters())
    velocity = {name: torch.zeros_like(p) for name, p in params.items()}

    monitor_idx = torch.randperm(n, generator=generator, device=device)[: min(n, monitor_size)]
    x_monitor = x[monitor_idx]
    chains = None
    if method == "pcd":
        n_chains = batch_size if n_persistent is None else n_persistent
        start = torch.randint(n, (n_chains,), generator=generator, device=device)
        chains = x[start].clone()

    recon, pls, gaps, seconds = [], [], [], []
    with torch.no_grad():
        for epoch in range(epochs):
            _sync(device)
            t0 = time.perf_counter()
            order = torch.randperm(n, generator=generator, device=device)
            for batch_idx in order.split(batch_size):
                batch = x[batch_idx]
                neg = batch if chains is None else chains
                for _ in range(k):
                    neg = rbm._gibbs(neg, generator)
                if chains is not None:
                    chains = neg
                grads = rbm.contrast(batch, neg)
                for name, p in params.items():
                    grad = grads[name]
                    if weight_decay and name == "weight":
                        grad = grad - weight_decay * p
                    vel = velocity[name]
                    vel.mul_(momentum).add_(grad, alpha=lr)
                    p.add_(vel)
            _sync(device)
            seconds.append(time.perf_counter() - t0)
            err, pl, gap = _monitor(rbm, x_monitor, valid) if monitor else (math.nan,) * 3
            recon.append(err)
            pls.append(pl)
            gaps.append(gap)
            record = {
                "epoch": epoch,
                "recon_error": err,
                "pseudo_loglik": pl,
                "free_energy_gap": gap,
                "seconds": seconds[-1],
            }
            if callback is not None and callback(epoch, rbm, record):
                break
    return RBMHistory(method, k, recon, pls, gaps, seconds)
