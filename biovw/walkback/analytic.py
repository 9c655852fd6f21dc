"""Closed-form marginal of a linear-Gaussian walk-back model (the test oracle).

With ``F_t(s) = A_t s + c_t``, a Gaussian operator and a Gaussian p*, the generative chain
``s_K ~ p*, s_{t-1} ~ N(M_t s_t + d_t, T_t sigma^2)`` with ``M_t = kappa I + (1 - kappa) A_t``
and ``d_t = (1 - kappa) c_t`` keeps every marginal Gaussian.
"""

from __future__ import annotations

import torch
from torch import Tensor

from biovw.circuits.linear import LinearCircuit
from biovw.walkback.model import WalkbackModel
from biovw.walkback.operators import GaussianOperator
from biovw.walkback.prior import GaussianPrior


def linear_gaussian_marginal(model: WalkbackModel) -> tuple[Tensor, Tensor]:
    """Mean and covariance (float64) of the model's density over s_0.

    Raises
    ------
    TypeError
        If the model is not linear-Gaussian.
    """
    if not (
        isinstance(model.circuit, LinearCircuit)
        and isinstance(model.operator, GaussianOperator)
        and isinstance(model.prior, GaussianPrior)
    ):
        raise TypeError("the marginal is analytic only for a linear circuit with Gaussian kernels")
    kappa = model.operator.kappa
    noise = torch.diag(model.operator.sigma().double() ** 2)
    mean = model.prior.mean.double()
    cov = torch.diag(model.prior.var.double())
    eye = torch.eye(mean.numel(), dtype=torch.float64)
    for step in reversed(range(model.num_steps)):
        m = kappa * eye + (1 - kappa) * model.circuit.matrix[step].double()
        d = (1 - kappa) * model.circuit.offset[step].double()
        mean = m @ mean + d
        cov = m @ cov @ m.T + model.temperatures[step] * noise
    return mean.detach(), cov.detach()


def linear_gaussian_log_density(model: WalkbackModel, x: Tensor) -> Tensor:
    """Exact ``log p(x)`` of each row of ``x`` under a linear-Gaussian walk-back model."""
    mean, cov = linear_gaussian_marginal(model)
    dist = torch.distributions.MultivariateNormal(mean, covariance_matrix=cov)
    return dist.log_prob(x.double())
