"""Transition operators at temperature T over a circuit's output.

Gaussian: ``s' ~ N(kappa s + (1 - kappa) F(s), T sigma^2)``.
Bernoulli: ``p(s'_i = 1 | s) = kappa s_i + (1 - kappa) sigmoid(G(s)_i / T)``.
``F`` / ``G`` is the circuit's output for temperature step t. The skip weight ``kappa`` keeps
the operator from ignoring its input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F


def _inverse_softplus(sigma: float) -> float:
    """``log(expm1(sigma))``, the raw parameter whose softplus is ``sigma``; above 20 in the
    form ``sigma + log(-expm1(-sigma))``, which does not overflow (equal in exact arithmetic)."""
    if sigma <= 20:
        return math.log(math.expm1(sigma))
    return sigma + math.log(-math.expm1(-sigma))

class GaussianOperator(nn.Module):
    """Gaussian kernel with mean ``kappa s + (1 - kappa) out`` and variance ``T sigma^2``.

    Parameters
    ----------
    dim : int
        State dimension.
    kappa : float
        Skip weight of the current state in the mean.
    sigma : float or array-like
        Noise scale at T = 1 (initial value when learned): one number for every unit, or one
        per unit ([dim]).
    learn_sigma : bool
        Learn one noise scale per unit (through a softplus).
    """

    kind = "gaussian"
    binary = False

    def __init__(self, dim: int, kappa: float, sigma: float | Sequence[float],
                 learn_sigma: bool = False):
        super().__init__()
        self.kappa = kappa
        if isinstance(sigma, (int, float)):
            raw = torch.full((dim,), _inverse_softplus(float(sigma)))
        else:
            scale = torch.as_tensor(sigma, dtype=torch.float64).reshape(dim)
            raw = torch.tensor([_inverse_softplus(float(v)) for v in scale],
                               dtype=torch.get_default_dtype())
        if learn_sigma:
            self.sigma_raw = nn.Parameter(raw)
        else:
            self.register_buffer("sigma_raw", raw)

    @property
    def learn_sigma(self) -> bool:
        """Whether the noise scale is a trained parameter."""
        return isinstance(self.sigma_raw, nn.Parameter)

    def sigma(self) -> Tensor:
        """Per-unit noise scale at T = 1."""
        return F.softplus(self.sigma_raw)

    def noise_scale(self) -> Tensor:
        """Per-unit noise scale at T = 1 (what a description of the kernel records)."""
        return self.sigma()

    def mean(self, s: Tensor, out: Tensor) -> Tensor:
        """Mean of the next state given the current state and the circuit output."""
        return self.kappa * s + (1.0 - self.kappa) * out

    def expected(self, s: Tensor, out: Tensor, temperature: float) -> Tensor:
        """``E[s' | s]`` at temperature ``temperature`` (the mean, whatever the temperature):
        the next state of the chain run without noise."""
        return self.mean(s, out)

    def log_prob(self, s_next: Tensor, s: Tensor, out: Tensor, temperature: float) -> Tensor:
        """``log p_T(s_next | s)`` summed over units, shape [batch]."""
        var = temperature * self.sigma() ** 2
        diff = s_next - self.mean(s, out)
        return -0.5 * (diff**2 / var + torch.log(2 * math.pi * var)).sum(-1)

    def draw_noise(self, shape: tuple[int, ...], generator: torch.Generator | None,
                   like: Tensor) -> Tensor:
        """Standard normal noise of ``shape`` on ``like``'s device and dtype."""
        return torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)

    def sample(self, s: Tensor, out: Tensor, temperature: float,
               generator: torch.Generator | None, noise: Tensor | None = None) -> Tensor:
        """Draw ``s_next ~ p_T(. | s)`` (``noise``: the standard normal draws to use, by
        default drawn from ``generator``)."""
        if noise is None:
            noise = self.draw_noise(s.shape, generator, s)
        return self.mean(s, out) + math.sqrt(temperature) * self.sigma() * noise


class BernoulliOperator(nn.Module):
    """Factorised Bernoulli kernel ``p(s'_i = 1) = kappa s_i + (1 - kappa) sigmoid(out_i / T)``.

    Parameters
    ----------
    dim : int
        State dimension (unused; kept for a uniform constructor).
    kappa : float
        Probability of copying the current bit.
    """

    kind = "bernoulli"
    binary = True
    learn_sigma = False

    def __init__(self, dim: int, kappa: float):
        super().__init__()
        self.kappa = kappa

    def noise_scale(self) -> None:
        """None: the kernel's randomness is in the Bernoulli draw, not in a noise scale."""
        return None

    def unit_log_probs(
        self, s: Tensor, out: Tensor, temperature: float
    ) -> tuple[Tensor, Tensor]:
        """Per-unit log-probabilities of s'_i = 1 and of s'_i = 0, each [batch, dim]."""
        z = out / temperature
        log_fire = math.log1p(-self.kappa) + F.logsigmoid(z)
        log_rest = math.log1p(-self.kappa) + F.logsigmoid(-z)
        if self.kappa == 0:
            return log_fire, log_rest
        log_keep = math.log(self.kappa)
        on = s > 0.5
        keep = torch.full_like(z, log_keep)
        log_one = torch.where(on, torch.logaddexp(log_fire, keep), log_fire)
        log_zero = torch.where(on, log_rest, torch.logaddexp(log_rest, keep))
        return log_one, log_zero

    def mean(self, s: Tensor, out: Tensor, temperature: float = 1.0) -> Tensor:
        """Probability that each unit is on in the next state."""
        return self.kappa * s + (1.0 - self.kappa) * torch.sigmoid(out / temperature)

    def expected(self, s: Tensor, out: Tensor, temperature: float) -> Tensor:
        """``E[s' | s]``, the firing probabilities: the next state of the chain run without
        noise (a mean-field chain with states in [0, 1])."""
        return self.mean(s, out, temperature)

    def log_prob(self, s_next: Tensor, s: Tensor, out: Tensor, temperature: float) -> Tensor:
        """``log p_T(s_next | s)`` summed over units, shape [batch]."""
        log_one, log_zero = self.unit_log_probs(s, out, temperature)
        return (s_next * log_one + (1.0 - s_next) * log_zero).sum(-1)

    def draw_noise(self, shape: tuple[int, ...], generator: torch.Generator | None,
                   like: Tensor) -> Tensor:
        """Uniform draws in [0, 1) of ``shape`` on ``like``'s device and dtype."""
        return torch.rand(shape, generator=generator, device=like.device, dtype=like.dtype)

    def sample(self, s: Tensor, out: Tensor, temperature: float,
               generator: torch.Generator | None, noise: Tensor | None = None) -> Tensor:
        """Draw ``s_next ~ p_T(. | s)`` (values 0. / 1.; ``noise``: the uniform draws to use,
        by default drawn from ``generator``)."""
        probs = self.mean(s, out, temperature).clamp(0.0, 1.0)
        u = self.draw_noise(s.shape, generator, s) if noise is None else noise
        return (u < probs).to(s.dtype)
