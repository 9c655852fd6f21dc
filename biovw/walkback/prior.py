"""The walk-back prior p* over the last state of a heating trajectory.

p* is fitted by moment matching to the states reached at the highest temperature on training
data (the maximiser of ``E_q[log p*(s_K)]`` within its family), refitted as training goes on.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class GaussianPrior(nn.Module):
    """Diagonal Gaussian p*.

    Parameters
    ----------
    dim : int
        State dimension.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("var", torch.ones(dim))

    def update(self, states: Tensor, momentum: float = 0.0) -> None:
        """Move the moments towards those of ``states`` ([n, dim]); momentum 0 refits."""
        mean = states.mean(0)
        var = states.var(0, unbiased=False).clamp_min(1e-6)
        self.mean.mul_(momentum).add_((1 - momentum) * mean)
        self.var.mul_(momentum).add_((1 - momentum) * var)

    def log_prob(self, x: Tensor) -> Tensor:
        """Log-density of each row of ``x``, shape [n]."""
        return -0.5 * ((x - self.mean) ** 2 / self.var + torch.log(2 * math.pi * self.var)).sum(-1)

    def sample(self, n: int, generator: torch.Generator | None) -> Tensor:
        """Draw ``n`` states."""
        noise = torch.randn(n, self.mean.numel(), generator=generator, device=self.mean.device)
        return self.mean + self.var.sqrt() * noise


class BernoulliPrior(nn.Module):
    """Independent Bernoulli p* (base rates).

    Parameters
    ----------
    dim : int
        State dimension.
    """

    def __init__(self, dim: int, eps: float = 1e-3):
        super().__init__()
        self.eps = eps
        self.register_buffer("probs", torch.full((dim,), 0.5))

    def update(self, states: Tensor, momentum: float = 0.0) -> None:
        """Move the base rates towards those of ``states``; momentum 0 refits."""
        rate = states.mean(0).clamp(self.eps, 1 - self.eps)
        self.probs.mul_(momentum).add_((1 - momentum) * rate)

    def log_prob(self, x: Tensor) -> Tensor:
        """Log-probability of each binary row of ``x``, shape [n]."""
        return (x * self.probs.log() + (1 - x) * torch.log1p(-self.probs)).sum(-1)

    def sample(self, n: int, generator: torch.Generator | None) -> Tensor:
        """Draw ``n`` binary states."""
        u = torch.rand(n, self.probs.numel(), generator=generator, device=self.probs.device)
        return (u < self.probs).float()
