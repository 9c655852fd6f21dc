"""An affine operator network, one map per temperature step.

With a Gaussian operator and a Gaussian prior the model's marginal density of the data is then
Gaussian and known in closed form (:func:`biovw.walkback.analytic.linear_gaussian_marginal`),
which makes it the reference against which the likelihood estimators are tested.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from biovw.circuits.circuit import Circuit


class LinearCircuit(Circuit):
    """``F_t(s) = A_t s + c_t`` with ``A_t`` initialised at zero.

    Parameters
    ----------
    dim : int
        Data dimension.
    num_steps : int
        Number of temperature steps.
    """

    def __init__(self, dim: int, num_steps: int):
        super().__init__()
        self.matrix = nn.Parameter(torch.zeros(num_steps, dim, dim))
        self.offset = nn.Parameter(torch.zeros(num_steps, dim))

    def forward(self, s: Tensor, step: int) -> Tensor:
        """``A_step s + c_step`` for ``s`` of shape [batch, dim]."""
        return s @ self.matrix[step].T + self.offset[step]
