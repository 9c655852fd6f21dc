"""A walk-back model: circuit + transition operator + temperature schedule + prior p*."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from biovw.circuits import Circuit, RateCircuit
from biovw.spec import OperatorSpec, RateSpec
from biovw.walkback.operators import BernoulliOperator, GaussianOperator
from biovw.walkback.prior import BernoulliPrior, GaussianPrior


def temperature_schedule(num_steps: int, initial: float, factor: float) -> Tensor:
    """Temperatures ``T_t = initial * factor**(t - 1)`` for t = 1..K, so that T_1 = initial.

    Sampling cools down to T_1 and keeps running at T_1 (= 1 by default).
    """
    return initial * factor ** torch.arange(num_steps, dtype=torch.float64)


@dataclass(frozen=True)
class BatchShard:
    """Rows ``start:stop`` of a global batch of ``total`` examples: one process's share under
    data-parallel training.

    Noise is drawn for the whole global batch from the shared generator and sliced, so the
    shards of all processes together draw exactly what one process running the global batch
    draws, and every process's generator stays in the same state.
    """

    start: int
    stop: int
    total: int

    def noise(self, operator: nn.Module, s: Tensor, generator: torch.Generator | None) -> Tensor:
        """The operator's noise for this shard's rows ``s``, drawn for the global batch."""
        return operator.draw_noise((self.total, *s.shape[1:]), generator, s)[self.start:self.stop]


class WalkbackModel(nn.Module):
    """Transition operator family ``p_{T_t}(s' | s)``, t = 1..K, with its prior p*.

    Step indices are zero-based in code: ``step = t - 1`` uses the circuit's per-step
    parameters of t and the temperature ``T_t``.

    Parameters
    ----------
    circuit : Circuit
        Maps ``(s, step)`` to the operator's mean proposal or logits.
    operator : GaussianOperator or BernoulliOperator
        The kernel family.
    prior : GaussianPrior or BernoulliPrior
        p* over the last heating state.
    temperatures : Tensor
        ``[K]`` temperature of each step.
    """

    def __init__(self, circuit: Circuit, operator: nn.Module, prior: nn.Module,
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

    def transition(self, s: Tensor, step: int, generator: torch.Generator | None,
                   noise: bool = True) -> Tensor:
        """Draw ``s_next ~ p_{T_t}(. | s)`` (no gradient flows through the sample); without
        ``noise``, the kernel's mean ``E[s_next | s]``."""
        with torch.no_grad():
            out = self.circuit(s, step)
            if not noise:
                return self.operator.expected(s, out, self.temperatures[step])
            return self.operator.sample(s, out, self.temperatures[step], generator)

    def transition_with_log_prob(
        self, s: Tensor, step: int, generator: torch.Generator | None,
        shard: BatchShard | None = None, temperature_scale: float = 1.0,
    ) -> tuple[Tensor, Tensor]:
        """Draw ``s_next ~ p_{T_t}(. | s)`` and return it with ``log p_{T_t}(s_next | s)``
        (one circuit evaluation, no gradients). With ``shard``, ``s`` holds the shard's rows of
        a global batch and the noise is the shard's slice of the global batch's noise. With
        ``temperature_scale`` the kernel runs at ``temperature_scale * T_t`` instead (a wider
        proposal for importance sampling)."""
        with torch.no_grad():
            out = self.circuit(s, step)
            temperature = temperature_scale * self.temperatures[step]
            noise = None if shard is None else shard.noise(self.operator, s, generator)
            s_next = self.operator.sample(s, out, temperature, generator, noise)
            return s_next, self.operator.log_prob(s_next, s, out, temperature)

    def param_groups(self, feedback_decay: float = 0.0) -> list[dict]:
        """Optimiser parameter groups: the circuit's (see
        :meth:`biovw.circuits.Circuit.param_groups`), with the operator's trainable parameters
        in the last group."""
        groups = self.circuit.param_groups(feedback_decay)
        groups[-1]["params"] += [p for p in self.operator.parameters() if p.requires_grad]
        return groups

    def spec(self) -> RateSpec:
        """Backend-neutral description of the transition kernel: circuit, operator,
        temperatures and prior (numpy arrays and plain values).

        Raises
        ------
        TypeError
            If the circuit has no description (only rate circuits have one).
        """
        circuit = self.circuit.spec()
        if circuit is None:
            raise TypeError(f"{type(self.circuit).__name__} has no backend-neutral description; "
                            "only rate circuits have one")
        sigma = self.operator.noise_scale()
        operator = OperatorSpec(
            kind=self.operator.kind, kappa=float(self.operator.kappa),
            sigma=None if sigma is None else sigma.detach().cpu().numpy().copy(),
            learn_sigma=self.operator.learn_sigma,
            temperatures=np.asarray(self.temperatures, dtype=np.float64),
            prior={k: v.detach().cpu().numpy().copy() for k, v in self.prior.state_dict().items()},
        )
        return RateSpec(circuit, operator)

    @classmethod
    def from_spec(cls, spec: RateSpec) -> WalkbackModel:
        """The model a description describes, with a rate circuit rebuilt by
        :meth:`biovw.circuits.RateCircuit.from_spec`; it computes the same kernel to float
        precision."""
        circuit = RateCircuit.from_spec(spec.circuit)
        o = spec.operator
        operator, prior = operator_and_prior(o.kind, spec.circuit.n_visible, o.kappa, o.sigma,
                                             o.learn_sigma)
        prior.load_state_dict({k: torch.as_tensor(v) for k, v in o.prior.items()})
        model = cls(circuit, operator, prior, torch.as_tensor(o.temperatures))
        return model.to(next(circuit.parameters()).dtype)


def _gaussian(dim: int, kappa: float, sigma, learn_sigma: bool) -> tuple[nn.Module, nn.Module]:
    return GaussianOperator(dim, kappa, sigma, learn_sigma), GaussianPrior(dim)


def _bernoulli(dim: int, kappa: float, sigma, learn_sigma: bool) -> tuple[nn.Module, nn.Module]:
    return BernoulliOperator(dim, kappa), BernoulliPrior(dim)


OPERATORS = {"gaussian": _gaussian, "bernoulli": _bernoulli}
"""Operator kind -> ``(dim, kappa, sigma, learn_sigma) -> (operator, prior)``; Bernoulli
operators have no noise scale and ignore ``sigma`` and ``learn_sigma``."""


def operator_and_prior(kind: str, dim: int, kappa: float,
                       sigma: float | Sequence[float] | None = None,
                       learn_sigma: bool = False) -> tuple[nn.Module, nn.Module]:
    """The transition operator registered as ``kind`` and its prior family, for states of
    dimension ``dim`` (``sigma``: the Gaussian noise scale, one number or one per unit).

    Raises
    ------
    ValueError
        If no operator has that name.
    """
    if kind not in OPERATORS:
        raise ValueError(f"operator {kind!r} is not known; choose from {', '.join(OPERATORS)}")
    return OPERATORS[kind](dim, kappa, sigma, learn_sigma)

