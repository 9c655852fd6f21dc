"""Networks that map the chain state to a transition operator's mean or logits."""

from __future__ import annotations

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
from biovw.spec import OperatorSpec, RateCircuitSpec, RateSpec, SpecError

__all__ = [
    "Circuit", "DriveParameters", "LinearCircuit", "MLPCircuit", "OperatorSpec", "RateCircuit",
    "RateCircuitSpec", "RateParameters", "RateSpec", "RateState", "SpecError", "afferent_drive",
    "initial_state", "rate_step", "settle", "transition_output",
]

