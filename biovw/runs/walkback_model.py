"""A walk-back model from a run configuration: learning rule, circuit, operator, prior.

Each choice of the configuration is a key of a registry: ``rule.name`` of
:data:`biovw.rules.RULES`, ``circuit.kind`` of :data:`CIRCUITS`, ``walkback.operator`` of
:data:`biovw.walkback.OPERATORS`. Only this module turns the configuration's sections into the
plain arguments the core takes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from biovw.circuits import Circuit, LinearCircuit, MLPCircuit, RateCircuit
from biovw.config import CircuitConfig, Config, ConfigError, RuleConfig
from biovw.rules import rule_class
from biovw.spec import RateSettings
from biovw.walkback import WalkbackModel, operator_and_prior, temperature_schedule


def rule_arguments(rule: RuleConfig) -> dict:
    """The rule's name and the options its class takes (``rule.<option>`` of the config)."""
    options = {key: getattr(rule, key) for key in rule_class(rule.name).options}
    return {"rule": rule.name, "rule_options": options}


def _rate(c: CircuitConfig, rule: RuleConfig, dim: int, num_steps: int, seed: int) -> Circuit:
    return RateCircuit(dim, c.hidden, num_steps, RateSettings.of(c), seed=seed,
                       **rule_arguments(rule))


def _mlp(c: CircuitConfig, rule: RuleConfig, dim: int, num_steps: int, seed: int) -> Circuit:
    return MLPCircuit(dim, c.hidden, num_steps, layers=c.layers, step_norm=c.step_norm)


def _linear(c: CircuitConfig, rule: RuleConfig, dim: int, num_steps: int, seed: int) -> Circuit:
    return LinearCircuit(dim, num_steps)


def _rate_size(c: CircuitConfig, dim: int, num_steps: int) -> int:
    return 3 * (dim + c.hidden) ** 2          # W, its feedback matrix and its mask


def _mlp_size(c: CircuitConfig, dim: int, num_steps: int) -> int:
    return (dim + num_steps) * c.hidden + (c.layers - 1) * c.hidden ** 2 + c.hidden * dim


def _linear_size(c: CircuitConfig, dim: int, num_steps: int) -> int:
    return num_steps * (dim * dim + dim)


class CircuitKind(NamedTuple):
    """A registry entry: how to build the circuit, whether it has recurrent weights (then
    they learn under the configured rule and ``circuit.freeze`` applies), and about how many
    numbers its weights hold (to refuse what cannot fit before building it)."""

    build: Callable[[CircuitConfig, RuleConfig, int, int, int], Circuit]
    recurrent: bool
    size: Callable[[CircuitConfig, int, int], int]


CIRCUITS: dict[str, CircuitKind] = {
    "rate": CircuitKind(_rate, recurrent=True, size=_rate_size),
    "mlp": CircuitKind(_mlp, recurrent=False, size=_mlp_size),
    "linear": CircuitKind(_linear, recurrent=False, size=_linear_size),
}
"""``circuit.kind`` -> its entry; ``build(circuit section, rule section, dim, K, seed)``,
``size(circuit section, dim, K)``."""


def model_size(cfg: Config, dim: int) -> int:
    """About how many numbers the weights of the model ``cfg`` describes hold."""
    return CIRCUITS[cfg.circuit.kind].size(cfg.circuit, dim, cfg.walkback.num_steps)


def check_combination(cfg: Config) -> None:
    """Raise :class:`biovw.config.ConfigError` for choices that are valid one by one but not
    together: a learning rule other than backprop, or frozen weights, on a circuit without
    recurrent weights; a rule that trains its feedback with ``W`` while ``W`` is frozen."""
    rule = rule_class(cfg.rule.name)
    recurrent = CIRCUITS[cfg.circuit.kind].recurrent
    if not rule.exact and not recurrent:
        raise ConfigError(f"rule.name {cfg.rule.name!r} needs circuit.kind: rate "
                          f"(got {cfg.circuit.kind!r})")
    if rule.mirror and cfg.circuit.freeze == "all":
        raise ConfigError(f"rule.name {cfg.rule.name!r} aligns feedback by training W; it "
                          "cannot be combined with circuit.freeze: all")
    if cfg.circuit.freeze != "none" and not recurrent:
        raise ConfigError(f"circuit.freeze needs circuit.kind: rate (got {cfg.circuit.kind!r})")


def build_model(cfg: Config, dim: int) -> WalkbackModel:
    """The walk-back model ``cfg`` describes for data of dimension ``dim`` (on the CPU)."""
    check_combination(cfg)
    wb = cfg.walkback
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)  # layers initialised from the global generator
        entry = CIRCUITS[cfg.circuit.kind]
        circuit = entry.build(cfg.circuit, cfg.rule, dim, wb.num_steps, cfg.seed)
    operator, prior = operator_and_prior(wb.operator, dim, wb.kappa, wb.sigma, wb.learn_sigma)
    temps = temperature_schedule(wb.num_steps, wb.initial_temperature, wb.temperature_factor)
    return WalkbackModel(circuit, operator, prior, temps)
