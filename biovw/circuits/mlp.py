"""The reference paper's operator network: a multilayer perceptron with per-step normalisation."""

from __future__ import annotations

from torch import Tensor, nn

from biovw.circuits.circuit import Circuit
from biovw.circuits.stepnorm import StepNorm


class MLPCircuit(Circuit):
    """``dim -> hidden -> ... -> dim`` ReLU network; after each hidden linear map the activity is
    normalised across units and scaled and shifted by the parameters of the temperature step.

    Parameters
    ----------
    dim : int
        Data dimension.
    hidden : int
        Width of each hidden layer.
    num_steps : int
        Number of temperature steps.
    layers : int
        Number of hidden layers.
    step_norm : bool
        Normalise across units before the per-step affine map.
    """

    def __init__(self, dim: int, hidden: int, num_steps: int, *, layers: int = 2,
                 step_norm: bool = True):
        super().__init__()
        sizes = [dim] + [hidden] * layers
        pairs = zip(sizes[:-1], sizes[1:], strict=True)
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in pairs)
        self.norms = nn.ModuleList(
            StepNorm(num_steps, hidden, normalize=step_norm) for _ in range(layers)
        )
        self.readout = nn.Linear(hidden, dim)

    def forward(self, s: Tensor, step: int) -> Tensor:
        """Output of the network for state ``s`` ([batch, dim]) at temperature step ``step``."""
        h = s
        for linear, norm in zip(self.linears, self.norms, strict=True):
            h = nn.functional.relu(norm(linear(h), step))
        return self.readout(h)
