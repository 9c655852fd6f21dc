"""Chains of the Boltzmann baselines as analysis kernels: the visible-marginal block-Gibbs chain
of a Bernoulli RBM, and the Gibbs and Langevin chains of the equilibrium circuit.

``v -> h ~ p(h | v) -> v' ~ p(v' | h)`` has kernel ``T(v' | v) = sum_h p(h | v) p(v' | h)``,
which is reversible with respect to the RBM's p(v): its entropy production is exactly zero,
which makes it the control that validates the estimators. The kernel density needs a sum over
the hidden states, so it is available for up to :data:`MAX_HIDDEN` hidden units.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import Tensor

from biovw.analysis.enumerate import binary_states
from biovw.baselines.equilibrium import (
    MAX_HIDDEN_STATES,
    EquilibriumCircuit,
    energy_and_grad,
    gibbs_step,
    langevin_log_q,
    langevin_step,
)
from biovw.baselines.rbm import BernoulliRBM

MAX_HIDDEN = 12


class GibbsKernel:
    """Kernel protocol (``params``, ``sample``, ``log_prob``) for a Bernoulli RBM's
    visible-marginal Gibbs chain.

    Parameters
    ----------
    rbm : BernoulliRBM
    """

    def __init__(self, rbm: BernoulliRBM):
        if not isinstance(rbm, BernoulliRBM):
            raise TypeError("GibbsKernel needs a Bernoulli-Bernoulli RBM")
        self.rbm = rbm
        self._hidden = None

    @property
    def hidden_states(self) -> Tensor:
        """All hidden configurations, [2**n_hidden, n_hidden] (needs n_hidden <= 12)."""
        if self.rbm.n_hidden > MAX_HIDDEN:
            raise ValueError(f"the Gibbs kernel density needs n_hidden <= {MAX_HIDDEN}")
        if self._hidden is None:
            self._hidden = binary_states(self.rbm.n_hidden, self.rbm.weight.device)
        return self._hidden

    def params(self, v: Tensor) -> Tensor:
        """``p(h_j = 1 | v)``."""
        return self.rbm.hidden_probs(v)

    def sample(self, v: Tensor, params: Tensor, generator: torch.Generator | None) -> Tensor:
        """One block-Gibbs step ``v -> h -> v'``."""
        h = torch.bernoulli(params, generator=generator)
        return self.rbm.sample_visible(h, generator)

    def _log_p_h(self, params: Tensor) -> Tensor:
        """``ln p(h | v)`` for every hidden configuration, [batch, 2**n_hidden]."""
        h = self.hidden_states.to(params.dtype)
        p = params.clamp(1e-12, 1 - 1e-12)
        return p.log() @ h.T + (1 - p).log() @ (1 - h).T

    def log_prob(self, v_next: Tensor, v: Tensor, params: Tensor) -> Tensor:
        """``ln T(v_next | v) = ln sum_h p(h | v) p(v_next | h)`` per row."""
        h = self.hidden_states.to(params.dtype)
        logits = h @ self.rbm.weight.to(params.dtype) + self.rbm.visible_bias.to(params.dtype)
        log_on, log_off = F.logsigmoid(logits), F.logsigmoid(-logits)
        x = v_next.to(params.dtype)
        log_v_given_h = x @ log_on.T + (1 - x) @ log_off.T  # [batch, 2**H]
        return torch.logsumexp(self._log_p_h(params) + log_v_given_h, dim=1)

    @torch.no_grad()
    def matrix(self) -> Tensor:
        """The exact visible transition matrix (n_visible <= 12, n_hidden <= 12), float64."""
        rbm = copy.deepcopy(self.rbm).double()
        v = binary_states(rbm.n_visible, rbm.weight.device).double()
        log_p_h = self._log_p_h(rbm.hidden_probs(v))  # [2**V, 2**H]
        h = self.hidden_states.double()
        logits = h @ rbm.weight + rbm.visible_bias
        log_p_v = v @ F.logsigmoid(logits).T + (1 - v) @ F.logsigmoid(-logits).T  # [2**V, 2**H]
        return torch.logsumexp(log_p_h[:, :, None] + log_p_v.T[None, :, :], dim=1).exp()


class EquilibriumGibbsKernel:
    """Kernel protocol for the equilibrium circuit's visible-marginal Gibbs chain,
    ``T(v' | v) = sum_mu p(mu | v) p(v' | mu)``: reversible with respect to ``p(v)``. Its
    density sums over the ``K^G`` hidden states (at most :data:`MAX_HIDDEN_STATES`).

    Parameters
    ----------
    model : biovw.baselines.equilibrium.EquilibriumCircuit
    """

    def __init__(self, model: EquilibriumCircuit):
        if model.group_size**model.groups > MAX_HIDDEN_STATES:
            raise ValueError(f"the Gibbs kernel density needs at most {MAX_HIDDEN_STATES} "
                             f"hidden states")
        self.model = model
        self.states = model.hidden_states()

    def params(self, v: Tensor) -> Tensor:
        """``log p(mu | v)`` for every hidden state, ``[batch, K^G]``."""
        log_p = torch.log_softmax(self.model.hidden_logits(v), dim=2)  # [batch, G, K]
        groups = torch.arange(self.model.groups, device=v.device)
        return log_p[:, groups, self.states].sum(2)

    def sample(self, v: Tensor, params: Tensor, generator: torch.Generator | None) -> Tensor:
        """One step ``v -> mu -> v'``."""
        return gibbs_step(self.model, v, generator).states

    def log_prob(self, v_next: Tensor, v: Tensor, params: Tensor) -> Tensor:
        """``ln T(v_next | v)`` per row."""
        m = self.model
        mean = m.visible_mean(self.states)  # [K^G, D]
        if m.binary:
            logits = torch.logit(mean.clamp(1e-7, 1 - 1e-7))
            log_v = v_next @ F.logsigmoid(logits).T + (1 - v_next) @ F.logsigmoid(-logits).T
        else:
            x, mu = v_next / m.sigma, mean / m.sigma
            square = (x**2).sum(1, keepdim=True) - 2 * x @ mu.T + (mu**2).sum(1)
            log_v = -0.5 * square - (m.log_sigma + 0.5 * math.log(2 * math.pi)).sum()
        return torch.logsumexp(params + log_v, dim=1)


class LangevinKernel:
    """Kernel protocol for the equilibrium circuit's Langevin chain on ``F``: MALA
    (``metropolis=True``, reversible) or the unadjusted chain.

    MALA's kernel has an atom at ``v`` (a rejected proposal); ``log_prob`` returns 0 for it.
    A self-transition enters the entropy production only as ``ln T(v | v) - ln T(v | v) = 0``,
    so the atom's mass is never needed.

    Parameters
    ----------
    model : biovw.baselines.equilibrium.EquilibriumCircuit
    metropolis : bool
    """

    def __init__(self, model: EquilibriumCircuit, metropolis: bool = True):
        self.model = model
        self.metropolis = metropolis

    def params(self, v: Tensor) -> tuple[Tensor, Tensor]:
        """``F(v)`` and its gradient."""
        return energy_and_grad(self.model, v)

    def sample(self, v: Tensor, params: tuple[Tensor, Tensor],
               generator: torch.Generator | None) -> Tensor:
        """One Langevin move (accepted or rejected for MALA)."""
        return langevin_step(self.model, v, generator, self.metropolis).states

    def log_prob(self, v_next: Tensor, v: Tensor, params: tuple[Tensor, Tensor]) -> Tensor:
        """``ln T(v_next | v)`` up to a constant common to both directions (0 where
        ``v_next == v``)."""
        m, eps = self.model, float(self.model.step_size)
        energy, grad = params
        var = m.sigma**2
        log_q = langevin_log_q(m, v_next, v, grad, eps) \
            - (0.5 * torch.log(2 * math.pi * eps**2 * var)).sum()
        if not self.metropolis:
            return log_q
        energy_next, grad_next = energy_and_grad(m, v_next)
        log_accept = (energy - energy_next + langevin_log_q(m, v, v_next, grad_next, eps)
                      - langevin_log_q(m, v_next, v, grad, eps)).clamp(max=0.0)
        stayed = (v_next == v).all(1)
        return torch.where(stayed, torch.zeros_like(log_q), log_q + log_accept)
