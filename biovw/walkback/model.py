"""A walk-back model: circuit + transition operator + temperature schedule + prior p*."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from biovw.circuits import build_circuit
from biovw.config import Config
from biovw.walkback.operators import BernoulliOperator, GaussianOperator
from biovw.walkback.prior import BernoulliPrior, GaussianPrior


def temperature_schedule(num_steps: int, initial: float, factor: float) -> Tensor:
    """Temperatures ``T_t = initial * factor**(t - 1)`` for t = 1..K, so that T_1 = initial.

    Sampling cools down to T_1 and keeps running at T_1 (= 1 by default).
    """
    return initial * factor ** torch.arange(num_steps, dtype=torch.float64)


class WalkbackModel(nn.Module):
    """Transition operator family ``p_{T_t}(s' | s)``, t = 1..K, with its prior p*.

    Step indices are zero-based in code: ``step = t - 1`` uses the circuit's per-step
    parameters of t and the temperature ``T_t``.

    Parameters
    ----------
    circuit : nn.Module
        Maps ``(s, step)`` to the operator's mean proposal or logits.
    operator : GaussianOperator or BernoulliOperator
        The kernel family.
    prior : GaussianPrior or BernoulliPrior
        p* over the last heating state.
    temperatures : Tensor
        ``[K]`` temperature of each step.
    """

    def __init__(self, circuit: nn.Module, operator: nn.Module, prior: nn.Module,
                 temperatures: Tensor):
        super().__init__()
        self.circuit = circuit
        self.operator = operator
        self.prior = prior
        self.temperatures = [float(t) for t in temperatures]

    @property
    def num_steps(self) -> int:
        """K, the number of temperature steps."""
        return len(self.temperatures)

    @property
    def binary(self) -> bool:
        """Whether states are binary (Bernoulli operator)."""
        return self.operator.binary

    def log_prob(self, s_next: Tensor, s: Tensor, step: int) -> Tensor:
        """``log p_{T_t}(s_next | s)`` for zero-based ``step``, shape [batch]."""
        out = self.circuit(s, step)
        return self.operator.log_prob(s_next, s, out, self.temperatures[step])

    def transition(self, s: Tensor, step: int, generator: torch.Generator | None) -> Tensor:
        """Draw ``s_next ~ p_{T_t}(. | s)`` (no gradient flows through the sample)."""
        with torch.no_grad():
            out = self.circuit(s, step)
            return self.operator.sample(s, out, self.temperatures[step], generator)

    def transition_with_log_prob(
        self, s: Tensor, step: int, generator: torch.Generator | None
    ) -> tuple[Tensor, Tensor]:
        """Draw ``s_next ~ p_{T_t}(. | s)`` and return it with ``log p_{T_t}(s_next | s)``
        (one circuit evaluation, no gradients)."""
        with torch.no_grad():
            out = self.circuit(s, step)
            temperature = self.temperatures[step]
            s_next = self.operator.sample(s, out, temperature, generator)
            return s_next, self.operator.log_prob(s_next, s, out, temperature)

    def kernel_log_prob(self, s_next: Tensor, s: Tensor) -> Tensor:
        """Log-density of the stationary (T = T_1) kernel, the chain run after cool-down."""
        return self.log_prob(s_next, s, 0)


def build_model(cfg: Config, dim: int) -> WalkbackModel:
    """Build the walk-back model described by ``cfg`` for data of dimension ``dim``."""
    wb = cfg.walkback
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)  # layers initialised from the global generator
        circuit = build_circuit(cfg.circuit, dim, wb.num_steps, seed=cfg.seed, rule=cfg.rule)
    if wb.operator == "gaussian":
        operator = GaussianOperator(dim, wb.kappa, wb.sigma, wb.learn_sigma)
        prior = GaussianPrior(dim)
    else:
        operator = BernoulliOperator(dim, wb.kappa)
        prior = BernoulliPrior(dim)
    temps = temperature_schedule(wb.num_steps, wb.initial_temperature, wb.temperature_factor)
    return WalkbackModel(circuit, operator, prior, temps)
