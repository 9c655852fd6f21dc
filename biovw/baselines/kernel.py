"""The visible-marginal block-Gibbs chain of a Bernoulli RBM as an analysis kernel.

``v -> h ~ p(h | v) -> v' ~ p(v' | h)`` has kernel ``T(v' | v) = sum_h p(h | v) p(v' | h)``,
which is reversible with respect to the RBM's p(v): its entropy production is exactly zero,
which makes it the control that validates the estimators. The kernel density needs a sum over
the hidden states, so it is available for up to :data:`MAX_HIDDEN` hidden units.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor

from biovw.analysis.enumerate import binary_states
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
