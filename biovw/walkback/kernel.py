"""The stationary kernel of a walk-back model (the chain run at T_1 after the cool-down),
in the form the analysis tools take."""

from __future__ import annotations

import torch
from torch import Tensor

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
