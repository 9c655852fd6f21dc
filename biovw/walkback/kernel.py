"""The stationary kernel of a walk-back model (the chain run at T_1 after the cool-down),
in the form the analysis tools take, and its entropy production."""

from __future__ import annotations

import torch
from torch import Tensor

from biovw.analysis.kernel import KernelEntropyProduction, entropy_production_kernel
from biovw.walkback.model import WalkbackModel


class StationaryKernel:
    """``p_{T_1}(s' | s)`` of a trained model.

    Implements the kernel protocol of :mod:`biovw.analysis.kernel` (``params``, ``sample``,
    ``log_prob``) and, for Bernoulli operators, ``unit_log_probs`` for exact enumeration.

    Parameters
    ----------
    model : WalkbackModel
    """

    def __init__(self, model: WalkbackModel):
        self.model = model
        self.temperature = model.temperatures[0]

    def params(self, s: Tensor) -> Tensor:
        """Circuit output at ``s`` for the first temperature step."""
        return self.model.circuit(s, 0)

    def sample(self, s: Tensor, params: Tensor, generator: torch.Generator | None) -> Tensor:
        """Draw ``s'``."""
        return self.model.operator.sample(s, params, self.temperature, generator)

    def log_prob(self, s_next: Tensor, s: Tensor, params: Tensor) -> Tensor:
        """``ln p(s_next | s)`` per row."""
        return self.model.operator.log_prob(s_next, s, params, self.temperature)

    def unit_log_probs(self, s: Tensor) -> tuple[Tensor, Tensor]:
        """Per-unit ``ln p(s'_i = 1 | s)`` and ``ln p(s'_i = 0 | s)`` (Bernoulli operators)."""
        if not self.model.binary:
            raise TypeError("unit_log_probs needs a Bernoulli operator")
        return self.model.operator.unit_log_probs(s, self.params(s), self.temperature)


def stationary_entropy_production(model: WalkbackModel, start: torch.Tensor, n_steps: int, *,
                                  burn_in: int,
                                  generator: torch.Generator) -> KernelEntropyProduction:
    """Kernel-exact entropy production per transition of ``model``'s T = 1 chain (the chain
    after the cool-down), run from ``start`` ([chains, dim]) for ``burn_in`` transitions and
    then averaged over ``n_steps``, drawing its noise from ``generator`` alone."""
    with torch.no_grad():
        return entropy_production_kernel(StationaryKernel(model), start, n_steps,
                                         burn_in=burn_in, generator=generator)


def chain_entropy_production(model: WalkbackModel, examples: torch.Tensor, *, n_chains: int,
                           n_steps: int, seed: int) -> dict[str, float]:
    """The entropy production of the T = 1 chain as the model is now, for logging during
    training: ``n_chains`` chains started from rows of ``examples`` drawn with replacement,
    ``n_steps // 2`` transitions of burn-in, ``n_steps`` averaged. A generator of its own,
    seeded with ``seed``, draws everything, so the caller's random streams are untouched and
    the same model gives the same number.

    Returns
    -------
    dict
        ``ep``, ``ep_ci_low``, ``ep_ci_high`` (nats/transition, 95% batch-means interval).
    """
    gen = torch.Generator(device=examples.device).manual_seed(seed)
    rows = torch.randint(examples.shape[0], (n_chains,), generator=gen, device=examples.device)
    ep = stationary_entropy_production(model, examples[rows], n_steps, burn_in=n_steps // 2,
                                       generator=gen)
    return {"ep": ep.value, "ep_ci_low": ep.ci_low, "ep_ci_high": ep.ci_high}
