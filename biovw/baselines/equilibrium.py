"""The equilibrium circuit: a symmetric network whose dynamics obey detailed balance exactly.

Visible units ``v`` (the data) are coupled symmetrically to ``G`` groups of ``K`` hidden units,
``W[post=hidden, pre=visible]`` in one direction and ``W^T`` in the other (no Dale's law).
Within a group the hidden units inhibit each other so that exactly one is active (a
winner-take-all, or softmax, group); the state of the hidden layer is the active unit of each
group, ``mu = (mu_1, ..., mu_G)``. The joint Boltzmann energy is

* Gaussian visible units (``sigma`` per unit, learned)::

      E(v, mu) = sum_i (v_i - b_i)^2 / (2 sigma_i^2)
                 - sum_g [c_{g,mu_g} + W_{g,mu_g} . (v / sigma^2)]

* binary visible units::

      E(v, mu) = -b . v - sum_g [c_{g,mu_g} + W_{g,mu_g} . v]

The Gaussian coupling divides by ``sigma^2`` (Cho, Ilin and Raiko 2011), so that the mean of
``v`` given the hidden state, ``b + sum_g W_{g,mu_g}``, does not move when ``sigma`` is learned.
With one group this is a mixture (of isotropic Gaussians or of product Bernoullis) written as
a two-layer symmetric network, the dense associative memory of Krotov and Hopfield; with groups
of two units it is an RBM. Summing out the hidden layer gives the free energy ``F(v)`` and, by
enumerating the ``K^G`` hidden states, the exact ``log Z``: the log-likelihood is exact and the
model can be trained by exact maximum likelihood (no contrastive-divergence bias).

Three transition kernels sample ``p(v) = exp(-F(v)) / Z``:

* ``gibbs``: ``mu ~ p(mu | v)``, ``v' ~ p(v' | mu)``; its visible chain is reversible.
* ``mala``: a Langevin proposal on ``F`` preconditioned by ``sigma^2``, accepted or rejected
  by the Metropolis-Hastings rule; reversible (Gaussian visible units only).
* ``langevin``: the same proposal always accepted (unadjusted); *not* reversible, it is the
  control that shows what the acceptance step does.

A ``circulation`` ``a`` adds an antisymmetric part to the Langevin drift,
``-(sigma^2 + a S J S) dF/dv`` (irreversible Langevin dynamics, Ohzeki and Ichiki 2015): the
unadjusted chain then carries a probability current around the modes of ``exp(-F)`` at the
cost of entropy production, the circuit analogue of ``W = S + a A``. Under MALA the proposal
changes but the acceptance step keeps the chain reversible.

Exact independent samples (``mu`` from its marginal, then ``v | mu``) start every chain at
stationarity.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MAX_HIDDEN_STATES = 2**16
"""Largest number of hidden states ``K^G`` the exact ``log Z`` enumerates."""

MALA_ACCEPTANCE = 0.574
"""Acceptance rate the MALA step size is tuned to (Roberts and Rosenthal 1998)."""


class EquilibriumCircuit(nn.Module):
    """A symmetric visible-hidden network with softmax hidden groups.

    Parameters
    ----------
    n_visible : int
        Number of visible units (the data dimension).
    groups : int
        Number of winner-take-all hidden groups ``G``.
    group_size : int
        Hidden units per group ``K``.
    visible : {"gaussian", "bernoulli"}
        Kind of visible unit.
    sigma : float
        Initial standard deviation of Gaussian visible units.
    learn_sigma : bool
        Whether ``sigma`` is trained.
    seed : int
        Seed of the initial weights.

    Attributes
    ----------
    step_size : Tensor
        Langevin step in units of ``sigma`` (a buffer: saved with the weights).
    circulation : float
        Strength ``a`` of the antisymmetric part of the Langevin drift (a sampler setting,
        not saved with the weights).
    """

    def __init__(self, n_visible: int, groups: int = 1, group_size: int = 16,
                 visible: str = "gaussian", sigma: float = 1.0, learn_sigma: bool = True,
                 seed: int = 0):
        super().__init__()
        if group_size**groups > MAX_HIDDEN_STATES:
            raise ValueError(f"group_size ** groups must be at most {MAX_HIDDEN_STATES}")
        gen = torch.Generator().manual_seed(seed)
        self.visible = visible
        self.weight = nn.Parameter(0.01 * torch.randn(groups, group_size, n_visible,
                                                      generator=gen))
        self.hidden_bias = nn.Parameter(torch.zeros(groups, group_size))
        self.visible_bias = nn.Parameter(torch.zeros(n_visible))
        log_sigma = torch.full((n_visible,), math.log(sigma))
        if visible == "gaussian" and learn_sigma:
            self.log_sigma = nn.Parameter(log_sigma)
        else:
            self.register_buffer("log_sigma", log_sigma)
        self.register_buffer("step_size", torch.tensor(0.5))
        self.circulation = 0.0

    @property
    def binary(self) -> bool:
        """Whether the visible units are binary."""
        return self.visible == "bernoulli"

    @property
    def n_visible(self) -> int:
        return self.weight.shape[2]

    @property
    def groups(self) -> int:
        return self.weight.shape[0]

    @property
    def group_size(self) -> int:
        return self.weight.shape[1]

    @property
    def sigma(self) -> Tensor:
        """Standard deviation of each Gaussian visible unit (ones for binary units)."""
        return self.log_sigma.exp() if not self.binary else torch.ones_like(self.log_sigma)

    def _scaled(self, v: Tensor) -> Tensor:
        """The visible state as it enters the hidden units."""
        return v if self.binary else v / self.sigma**2

    def bias(self) -> Tensor:
        """Bias of every hidden unit, ``[G, K]``. For Gaussian visible units the parameter
        ``hidden_bias`` is offset by ``-(|W_k|^2 + 2 W_k . b) / (2 sigma^2)``, so that with one
        group ``softmax(hidden_bias)`` is the prior of the hidden state whatever the weights
        and ``sigma`` (the same energy, better conditioned for learning ``sigma``)."""
        if self.binary:
            return self.hidden_bias
        var = self.sigma**2
        offset = ((self.weight**2 + 2 * self.weight * self.visible_bias) / var).sum(2)
        return self.hidden_bias - 0.5 * offset

    def hidden_logits(self, v: Tensor) -> Tensor:
        """Input of every hidden unit, ``[batch, G, K]``; ``p(mu_g | v)`` is its softmax."""
        return torch.einsum("gkd,bd->bgk", self.weight, self._scaled(v)) + self.bias()

    def free_energy(self, v: Tensor) -> Tensor:
        """``F(v) = -log sum_mu exp(-E(v, mu))``, shape ``[batch]``."""
        hidden = torch.logsumexp(self.hidden_logits(v), dim=2).sum(1)
        if self.binary:
            return -(v @ self.visible_bias) - hidden
        quadratic = 0.5 * (((v - self.visible_bias) / self.sigma) ** 2).sum(1)
        return quadratic - hidden

    def top_down(self, mu: Tensor) -> Tensor:
        """``sum_g W_{g, mu_g}``, ``[batch, D]``, for hidden states ``mu`` ``[batch, G]``."""
        rows = self.weight[torch.arange(self.groups, device=mu.device), mu]  # [batch, G, D]
        return rows.sum(1)

    def visible_mean(self, mu: Tensor) -> Tensor:
        """Mean of ``p(v | mu)``: rates of binary units, or ``b + top_down``."""
        drive = self.top_down(mu)
        if self.binary:
            return torch.sigmoid(self.visible_bias + drive)
        return self.visible_bias + drive

    def sample_visible(self, mu: Tensor, generator: torch.Generator | None) -> Tensor:
        """``v ~ p(v | mu)``."""
        mean = self.visible_mean(mu)
        if self.binary:
            return torch.bernoulli(mean, generator=generator)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device)
        return mean + self.sigma * noise

    def sample_hidden(self, v: Tensor, generator: torch.Generator | None) -> Tensor:
        """``mu ~ p(mu | v)``, ``[batch, G]`` (the groups are independent given ``v``)."""
        probs = torch.softmax(self.hidden_logits(v), dim=2)
        flat = probs.reshape(-1, self.group_size)
        return torch.multinomial(flat, 1, generator=generator).view(len(v), self.groups)

    def hidden_states(self) -> Tensor:
        """Every hidden state, ``[K^G, G]`` (first group slowest)."""
        axes = [torch.arange(self.group_size, device=self.weight.device)] * self.groups
        return torch.cartesian_prod(*axes).view(-1, self.groups)

    def hidden_log_weights(self, chunk: int = 4096) -> Tensor:
        """``log sum_v exp(-E(v, mu))`` for every hidden state, ``[K^G]`` (so that
        ``log Z`` is their logsumexp and ``p(mu)`` their softmax)."""
        return torch.cat([self._hidden_log_weights(mu)
                          for mu in self.hidden_states().split(chunk)])

    def _hidden_log_weights(self, mu: Tensor) -> Tensor:
        bias = self.bias()[torch.arange(self.groups, device=mu.device), mu].sum(1)
        s = self.top_down(mu)
        if self.binary:
            return bias + F.softplus(self.visible_bias + s).sum(1)
        var = self.sigma**2
        const = (self.log_sigma + 0.5 * math.log(2 * math.pi)).sum()
        return bias + s @ (self.visible_bias / var) + 0.5 * (s**2 / var).sum(1) + const

    def log_partition(self) -> Tensor:
        """Exact ``log Z`` by enumerating the hidden states."""
        return torch.logsumexp(self.hidden_log_weights(), dim=0)

    def log_prob(self, v: Tensor) -> Tensor:
        """Exact ``log p(v)`` per example (nats; a density for Gaussian visible units)."""
        return -self.free_energy(v) - self.log_partition()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None) -> Tensor:
        """``n`` exact independent samples of ``p(v)``."""
        weights = torch.softmax(self.hidden_log_weights(), dim=0)
        index = torch.multinomial(weights, n, replacement=True, generator=generator)
        return self.sample_visible(self.hidden_states()[index], generator)


@dataclass(frozen=True)
class Step:
    """One transition of a sampler: the next states and which proposals were accepted."""

    states: Tensor
    accepted: Tensor


def gibbs_step(model: EquilibriumCircuit, v: Tensor,
               generator: torch.Generator | None) -> Step:
    """Block Gibbs ``v -> mu -> v'`` (always accepted)."""
    nxt = model.sample_visible(model.sample_hidden(v, generator), generator)
    return Step(nxt, torch.ones(len(v), dtype=torch.bool, device=v.device))


def energy_and_grad(model: EquilibriumCircuit, v: Tensor) -> tuple[Tensor, Tensor]:
    """``F(v)`` and ``dF/dv`` (detached)."""
    with torch.enable_grad():
        x = v.detach().requires_grad_(True)
        energy = model.free_energy(x)
        (grad,) = torch.autograd.grad(energy.sum(), x)
    return energy.detach(), grad


def rotate_pairs(x: Tensor) -> Tensor:
    """``J x`` for the antisymmetric ``J`` that turns each pair of coordinates ``(0, 1), (2,
    3), ...`` by a quarter turn (``(x0, x1) -> (x1, -x0)``; an odd last coordinate is left
    at 0)."""
    out = torch.zeros_like(x)
    even = x.shape[1] // 2 * 2
    out[:, 0:even:2], out[:, 1:even:2] = x[:, 1:even:2], -x[:, 0:even:2]
    return out


def langevin_drift(model: EquilibriumCircuit, grad: Tensor) -> Tensor:
    """``(D + Q) dF/dv`` with ``D = sigma^2`` and the circulation ``Q = a S J S``
    (``S = diag(sigma)``, ``a = model.circulation``): the antisymmetric part leaves
    ``exp(-F)`` invariant in continuous time and adds a probability current."""
    drift = model.sigma**2 * grad
    a = model.circulation
    if a:
        drift = drift + a * model.sigma * rotate_pairs(model.sigma * grad)
    return drift


def langevin_log_q(model: EquilibriumCircuit, target: Tensor, v: Tensor, grad: Tensor,
                   eps: float) -> Tensor:
    """``log q(target | v)`` of the preconditioned Langevin proposal, up to a constant."""
    var = model.sigma**2
    mean = v - 0.5 * eps**2 * langevin_drift(model, grad)
    return -0.5 * ((target - mean) ** 2 / (eps**2 * var)).sum(1)


def langevin_step(model: EquilibriumCircuit, v: Tensor, generator: torch.Generator | None,
                  metropolis: bool = True) -> Step:
    """One preconditioned Langevin move on ``F``, accepted by the Metropolis-Hastings rule
    (MALA) or always (``metropolis=False``: unadjusted, not reversible)."""
    eps = float(model.step_size)
    energy, grad = energy_and_grad(model, v)
    noise = torch.randn(v.shape, generator=generator, device=v.device)
    proposal = v - 0.5 * eps**2 * langevin_drift(model, grad) + eps * model.sigma * noise
    if not metropolis:
        return Step(proposal, torch.ones(len(v), dtype=torch.bool, device=v.device))
    energy_new, grad_new = energy_and_grad(model, proposal)
    log_ratio = (energy - energy_new + langevin_log_q(model, v, proposal, grad_new, eps)
                 - langevin_log_q(model, proposal, v, grad, eps))
    u = torch.rand(len(v), generator=generator, device=v.device)
    accepted = u.log() < log_ratio
    return Step(torch.where(accepted[:, None], proposal, v), accepted)


def _mala(model, v, generator):
    return langevin_step(model, v, generator, metropolis=True)


def _langevin(model, v, generator):
    return langevin_step(model, v, generator, metropolis=False)


SAMPLERS: dict[str, Callable[[EquilibriumCircuit, Tensor, torch.Generator | None], Step]] = {
    "gibbs": gibbs_step, "mala": _mala, "langevin": _langevin,
}
"""Transition kernels by name; ``mala`` and ``langevin`` need Gaussian visible units."""

REVERSIBLE = frozenset({"gibbs", "mala"})
"""The samplers that obey detailed balance exactly."""


@torch.no_grad()
def run_sampler(model: EquilibriumCircuit, sampler: str, v: Tensor, steps: int,
                generator: torch.Generator | None, record: bool = False) -> tuple[Tensor, float]:
    """``steps`` transitions from ``v``: the last states (or all, ``[n, steps + 1, D]``, with
    ``record``) and the acceptance rate."""
    step = SAMPLERS[sampler]
    states = [v] if record else None
    accepted = torch.zeros((), dtype=torch.float64, device=v.device)
    for _ in range(steps):
        out = step(model, v, generator)
        v = out.states
        accepted += out.accepted.float().mean()  # summed on the device: no sync per step
        if record:
            states.append(v)
    result = torch.stack(states, 1) if record else v
    return result, accepted.item() / max(steps, 1)


@torch.no_grad()
def tune_step_size(model: EquilibriumCircuit, v: Tensor, generator: torch.Generator | None,
                   rounds: int = 30, steps: int = 10) -> float:
    """Set ``model.step_size`` so that MALA accepts about :data:`MALA_ACCEPTANCE` of its
    proposals from the states ``v`` (exact samples); the kernel is then fixed, so sampling
    with it is exact. Returns the final acceptance rate."""
    log_steps = []
    for i in range(rounds):
        v, rate = run_sampler(model, "mala", v, steps, generator)
        # Robbins-Monro on log(step) with a decreasing gain; the acceptance rate falls steeply
        # with the step, so a fixed gain oscillates
        model.step_size.mul_(math.exp((rate - MALA_ACCEPTANCE) / math.sqrt(i + 1)))
        log_steps.append(math.log(float(model.step_size)))
    model.step_size.fill_(math.exp(sum(log_steps[rounds // 2:]) / (rounds - rounds // 2)))
    return run_sampler(model, "mala", v, steps, generator)[1]
