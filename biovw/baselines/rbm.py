"""Restricted Boltzmann machines: Bernoulli-Bernoulli and Gaussian-Bernoulli.

Both models share the bipartite structure ``W[post=hidden, pre=visible]`` with visible bias
``b`` and hidden bias ``c``. Each exposes its free energy ``F(v)`` (hidden layer summed out,
``p(v) = exp(-F(v)) / Z``), the hidden free energy ``F(h)`` (visible layer summed or
integrated out, ``p(h) = exp(-F(h)) / Z``), the two conditionals and the block Gibbs step
``v -> h -> v'``, whose visible marginal chain leaves ``p(v)`` invariant and is reversible
with respect to it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class _RBM(nn.Module):
    """Shared parameters and methods of the bipartite models (not public)."""

    def __init__(self, n_visible: int, n_hidden: int, seed: int = 0):
        super().__init__()
        if n_visible < 1 or n_hidden < 1:
            raise ValueError(f"layer sizes must be positive, got {n_visible}, {n_hidden}")
        gen = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(0.01 * torch.randn(n_hidden, n_visible, generator=gen))
        self.visible_bias = nn.Parameter(torch.zeros(n_visible))
        self.hidden_bias = nn.Parameter(torch.zeros(n_hidden))

    @property
    def n_visible(self) -> int:
        """Number of visible units."""
        return self.weight.shape[1]

    @property
    def n_hidden(self) -> int:
        """Number of hidden units."""
        return self.weight.shape[0]

    def _scale_visible(self, v: Tensor) -> Tensor:
        """The visible state as it enters the hidden units' input."""
        return v

    def _visible_energy(self, v: Tensor, bias: Tensor) -> Tensor:
        """Visible-only energy term with visible bias ``bias``, shape [batch]."""
        raise NotImplementedError

    def _visible_log_partition(self, bias: Tensor) -> Tensor:
        """``log sum_v exp(-visible_energy(v, bias))`` (or the integral), a scalar."""
        raise NotImplementedError

    def _visible_mean(self, bias: Tensor, top_down: Tensor) -> Tensor:
        """Conditional visible mean given visible bias and top-down input ``h W``."""
        raise NotImplementedError

    def _visible_sample(
        self, bias: Tensor, top_down: Tensor, generator: torch.Generator | None
    ) -> Tensor:
        """Draw the visible layer given visible bias and top-down input ``h W``."""
        raise NotImplementedError

    def hidden_free_energy(self, h: Tensor) -> Tensor:
        """Free energy of hidden states with the visible layer summed out, shape [batch]."""
        raise NotImplementedError

    def hidden_input(self, v: Tensor) -> Tensor:
        """Total input to the hidden units, ``c + W v`` (``v / sigma^2`` for Gaussian
        visibles), shape [batch, n_hidden]."""
        return F.linear(self._scale_visible(v), self.weight, self.hidden_bias)

    def free_energy(self, v: Tensor) -> Tensor:
        """Free energy ``F(v) = -log sum_h exp(-E(v, h))`` of each row of ``v``.

        Parameters
        ----------
        v : Tensor
            Visible states, [batch, n_visible].

        Returns
        -------
        Tensor
            [batch].
        """
        v = v.to(self.weight.dtype)
        x = self.hidden_input(v)
        return self._visible_energy(v, self.visible_bias) - F.softplus(x).sum(-1)

    def hidden_probs(self, v: Tensor) -> Tensor:
        """``p(h_j = 1 | v)``, shape [batch, n_hidden]."""
        return torch.sigmoid(self.hidden_input(v.to(self.weight.dtype)))

    def visible_probs(self, h: Tensor) -> Tensor:
        """Conditional mean of the visible layer given ``h``: ``p(v_i = 1 | h)`` for binary
        visibles, ``E[v_i | h]`` for Gaussian ones. Shape [batch, n_visible]."""
        return self._visible_mean(self.visible_bias, h.to(self.weight.dtype) @ self.weight)

    def _gibbs(self, v: Tensor, generator: torch.Generator | None) -> Tensor:
        h = torch.bernoulli(torch.sigmoid(self.hidden_input(v)), generator=generator)
        return self._visible_sample(self.visible_bias, h @ self.weight, generator)

    @torch.no_grad()
    def sample_hidden(self, v: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``h ~ p(h | v)`` (0/1 floats), shape [batch, n_hidden]."""
        return torch.bernoulli(self.hidden_probs(v), generator=generator)

    @torch.no_grad()
    def sample_visible(self, h: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``v ~ p(v | h)``, shape [batch, n_visible]."""
        top_down = h.to(self.weight.dtype) @ self.weight
        return self._visible_sample(self.visible_bias, top_down, generator)

    @torch.no_grad()
    def gibbs_step(self, v: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One step of the visible marginal chain ``v -> h ~ p(h|v) -> v' ~ p(v'|h)``.

        The kernel ``T(v, v') = sum_h p(h|v) p(v'|h)`` satisfies detailed balance with
        respect to ``p(v)``.
        """
        return self._gibbs(v.to(self.weight.dtype), generator)

    def statistics(self, v: Tensor) -> dict[str, Tensor]:
        """Batch mean of ``d(-F(v))/d theta`` for every trained parameter.

        The log-likelihood gradient is ``statistics(data) - E_model[statistics(v)]``; the
        hidden layer enters through ``p(h | v)`` (not samples).

        Parameters
        ----------
        v : Tensor
            Visible states, [batch, n_visible].

        Returns
        -------
        dict of str to Tensor
            Keyed by parameter name, each the shape of its parameter.
        """
        v = v.to(self.weight.dtype)
        return self._weighted_statistics(v, v.new_full((v.shape[0],), 1.0 / v.shape[0]))

    def contrast(self, positive: Tensor, negative: Tensor) -> dict[str, Tensor]:
        """``statistics(positive) - statistics(negative)`` in one pass: the CD / PCD
        estimate of the log-likelihood gradient.

        Parameters
        ----------
        positive, negative : Tensor
            Data and chain states, [n_pos, n_visible] and [n_neg, n_visible].

        Returns
        -------
        dict of str to Tensor
        """
        n_pos, n_neg = positive.shape[0], negative.shape[0]
        v = torch.cat([positive, negative]).to(self.weight.dtype)
        weights = torch.cat([v.new_full((n_pos,), 1.0 / n_pos), v.new_full((n_neg,), -1.0 / n_neg)])
        return self._weighted_statistics(v, weights)

    def _weighted_statistics(self, v: Tensor, weights: Tensor) -> dict[str, Tensor]:
        """``sum_n weights[n] d(-F(v_n))/d theta`` for every trained parameter."""
        vs = self._scale_visible(v)
        ph = torch.sigmoid(F.linear(vs, self.weight, self.hidden_bias))
        wph = ph * weights[:, None]
        return {
            "weight": wph.T @ vs,
            "visible_bias": weights @ self._visible_bias_gradient(v),
            "hidden_bias": weights @ ph,
        }

    def _visible_bias_gradient(self, v: Tensor) -> Tensor:
        """``d(-F(v))/db`` per row."""
        raise NotImplementedError


class BernoulliRBM(_RBM):
    """Binary-binary RBM with energy ``E(v, h) = -b^T v - c^T h - h^T W v``.

    Parameters
    ----------
    n_visible, n_hidden : int
        Layer sizes.
    seed : int
        Seed of the weight initialisation, ``W ~ N(0, 0.01^2)``; biases start at zero.

    Attributes
    ----------
    weight : Parameter
        ``W``, [n_hidden, n_visible] (post = hidden, pre = visible).
    visible_bias : Parameter
        ``b``, [n_visible].
    hidden_bias : Parameter
        ``c``, [n_hidden].
    """

    def _visible_energy(self, v: Tensor, bias: Tensor) -> Tensor:
        return -(v @ bias)

    def _visible_log_partition(self, bias: Tensor) -> Tensor:
        return F.softplus(bias).sum()

    def _visible_mean(self, bias: Tensor, top_down: Tensor) -> Tensor:
        return torch.sigmoid(bias + top_down)

    def _visible_sample(
        self, bias: Tensor, top_down: Tensor, generator: torch.Generator | None
    ) -> Tensor:
        return torch.bernoulli(torch.sigmoid(bias + top_down), generator=generator)

    def _visible_bias_gradient(self, v: Tensor) -> Tensor:
        return v

    def hidden_free_energy(self, h: Tensor) -> Tensor:
        """``F(h) = -c^T h - sum_i softplus(b_i + (W^T h)_i)``, shape [batch]."""
        h = h.to(self.weight.dtype)
        return -(h @ self.hidden_bias) - F.softplus(self.visible_bias + h @ self.weight).sum(-1)

    @torch.no_grad()
    def init_visible_bias(self, data: Tensor, eps: float = 1e-3) -> None:
        """Set ``b`` to the log-odds of the data base rates, ``log(p / (1 - p))`` with ``p``
        clamped to ``[eps, 1 - eps]`` (the maximum-likelihood bias of the model with
        ``W = 0``).

        Parameters
        ----------
        data : Tensor
            Binary training data, [n, n_visible].
        eps : float
            Clamp of the base rates.
        """
        p = torch.as_tensor(data).to(self.weight).mean(0).clamp(eps, 1 - eps)
        self.visible_bias.copy_(torch.log(p) - torch.log1p(-p))


class GaussianBernoulliRBM(_RBM):
    """Gaussian-visible, binary-hidden RBM with energy

    ``E(v, h) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - c^T h - (v / sigma^2)^T W^T h``,

    so ``p(v | h) = N(b + W^T h, diag(sigma^2))`` and
    ``p(h_j = 1 | v) = sigmoid(c_j + W_j (v / sigma^2))``.

    Parameters
    ----------
    n_visible, n_hidden : int
        Layer sizes.
    sigma : float or Tensor
        Visible standard deviation, a scalar or one per unit.
    seed : int
        Seed of the weight initialisation, ``W ~ N(0, 0.01^2)``; biases start at zero.
    learn_sigma : bool
        Train ``log sigma`` too (a parameter named ``log_sigma``); fixed by default.

    Attributes
    ----------
    weight, visible_bias, hidden_bias : Parameter
        As in :class:`BernoulliRBM`.
    log_sigma : Tensor
        ``log sigma``, [n_visible]; a buffer unless ``learn_sigma``.
    """

    def __init__(
        self,
        n_visible: int,
        n_hidden: int,
        sigma: float | Tensor = 1.0,
        seed: int = 0,
        learn_sigma: bool = False,
    ):
        super().__init__(n_visible, n_hidden, seed)
        s = torch.as_tensor(sigma, dtype=torch.float32).expand(n_visible).clone()
        if not bool((s > 0).all()):
            raise ValueError("sigma must be positive")
        self.learn_sigma = learn_sigma
        if learn_sigma:
            self.log_sigma = nn.Parameter(s.log())
        else:
            self.register_buffer("log_sigma", s.log())

    @property
    def sigma(self) -> Tensor:
        """Visible standard deviations, [n_visible]."""
        return self.log_sigma.exp()

    def _scale_visible(self, v: Tensor) -> Tensor:
        return v * torch.exp(-2 * self.log_sigma)

    def _visible_energy(self, v: Tensor, bias: Tensor) -> Tensor:
        return ((v - bias) ** 2 * (0.5 * torch.exp(-2 * self.log_sigma))).sum(-1)

    def _visible_log_partition(self, bias: Tensor) -> Tensor:
        return (0.5 * math.log(2 * math.pi) + self.log_sigma).sum()

    def _visible_mean(self, bias: Tensor, top_down: Tensor) -> Tensor:
        return bias + top_down

    def _visible_sample(
        self, bias: Tensor, top_down: Tensor, generator: torch.Generator | None
    ) -> Tensor:
        mean = bias + top_down
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + self.sigma * noise

    def _visible_bias_gradient(self, v: Tensor) -> Tensor:
        return (v - self.visible_bias) * torch.exp(-2 * self.log_sigma)

    def _weighted_statistics(self, v: Tensor, weights: Tensor) -> dict[str, Tensor]:
        stats = super()._weighted_statistics(v, weights)
        if self.learn_sigma:
            ph = self.hidden_probs(v)
            term = (v - self.visible_bias) ** 2 - 2 * v * (ph @ self.weight)
            stats["log_sigma"] = weights @ (term * torch.exp(-2 * self.log_sigma))
        return stats

    def hidden_free_energy(self, h: Tensor) -> Tensor:
        """Free energy of ``h`` with the Gaussian visible layer integrated out:
        ``F(h) = -c^T h - sum_i [((b + a)_i^2 - b_i^2) / (2 sigma_i^2)
        + log(sqrt(2 pi) sigma_i)]`` with ``a = W^T h``. Shape [batch]."""
        h = h.to(self.weight.dtype)
        a = h @ self.weight
        b = self.visible_bias
        inv_var = torch.exp(-2 * self.log_sigma)
        quad = (((b + a) ** 2 - b**2) * (0.5 * inv_var)).sum(-1)
        return -(h @ self.hidden_bias) - quad - self._visible_log_partition(b)

    @torch.no_grad()
    def init_visible_bias(self, data: Tensor) -> None:
        """Set ``b`` to the data mean (the maximum-likelihood bias of the model with
        ``W = 0``).

        Parameters
        ----------
        data : Tensor
            Training data, [n, n_visible].
        """
        self.visible_bias.copy_(torch.as_tensor(data).to(self.weight).mean(0))


AnyRBM = BernoulliRBM | GaussianBernoulliRBM
