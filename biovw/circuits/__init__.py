"""Networks that map the chain state to a transition operator's mean or logits."""

from __future__ import annotations

from torch import nn

from biovw.circuits.circuit import Circuit
from biovw.circuits.dynamics import (
    DriveParameters,
    RateParameters,
    RateState,
    afferent_drive,
    initial_state,
    rate_step,
    settle,
    transition_output,
)
from biovw.circuits.linear import LinearCircuit
from biovw.circuits.mlp import MLPCircuit
from biovw.circuits.rate import RateCircuit
from biovw.circuits.spec import OperatorSpec, RateCircuitSpec, RateSpec, SpecError
from biovw.config import CircuitConfig, RuleConfig
from biovw.rules import RULES

__all__ = [
    "Circuit", "DriveParameters", "LinearCircuit", "MLPCircuit", "OperatorSpec", "RateCircuit",
    "RateCircuitSpec", "RateParameters", "RateSpec", "RateState", "SpecError", "afferent_drive",
    "build_circuit", "initial_state", "rate_step", "settle", "transition_output",
]


def build_circuit(cfg: CircuitConfig, dim: int, num_steps: int, seed: int = 0,
                  rule: RuleConfig | None = None) -> nn.Module:
    """Build the circuit named by ``cfg.kind`` for data of dimension ``dim``.

    Parameters
    ----------
    cfg : CircuitConfig
        Circuit section of the run configuration.
    dim : int
        Data dimension (number of visible units).
    num_steps : int
        Number of temperature steps K (one set of per-step parameters each).
    seed : int
        Seed of the fixed masks and initial weights.
    rule : RuleConfig or None
        Learning rule of a rate circuit's recurrent weights (backprop when None).
    """
    if cfg.kind == "rate":
        return RateCircuit(
            dim, cfg.hidden, num_steps, nonlinearity=cfg.nonlinearity,
            settle_steps=cfg.settle_steps, dt=cfg.dt, tau=cfg.tau, dale=cfg.dale,
            ei_ratio=cfg.ei_ratio, density=cfg.density, symmetric=cfg.symmetric,
            spectral_radius=cfg.spectral_radius, step_norm=cfg.step_norm,
            freeze=cfg.freeze, seed=seed, **_rule_arguments(rule),
        )
    if cfg.kind == "mlp":
        return MLPCircuit(dim, cfg.hidden, num_steps, layers=cfg.layers, step_norm=cfg.step_norm)
    if cfg.kind == "linear":
        return LinearCircuit(dim, num_steps)
    raise ValueError(f"circuit.kind {cfg.kind!r} is not known")


def _rule_arguments(rule: RuleConfig | None) -> dict:
    if rule is None:
        return {"rule": "backprop"}
    options = {key: getattr(rule, key) for key in RULES[rule.name].options}
    return {"rule": rule.name, "rule_options": options}
