"""What every circuit offers the code that trains and describes it."""

from __future__ import annotations

from typing import Any

from torch import nn

from biovw.spec import RateCircuitSpec


class Circuit(nn.Module):
    """Base class of the networks that map ``(s, step)`` to an operator's mean or logits.

    A circuit's ``forward(s, step)`` maps states ``s`` ([batch, dim]) at zero-based temperature
    step ``step`` to the operator's input. Beyond it, a circuit tells the training loop how to
    optimise it (:meth:`param_groups`), what to log about its learning rule (:meth:`alignment`)
    and, for a recurrent rate circuit, how to describe it to another backend (:meth:`spec`), so
    that no caller reaches into its parameters.
    """

    def param_groups(self, feedback_decay: float = 0.0) -> list[dict[str, Any]]:
        """Optimiser parameter groups of the trainable parameters, each with its decoupled
        weight decay (``weight_decay``).

        Parameters
        ----------
        feedback_decay : float
            Decay of weights whose feedback matrix learns alongside them (Kolen-Pollack);
            unused by circuits without one.
        """
        return [{"params": [p for p in self.parameters() if p.requires_grad],
                 "weight_decay": 0.0}]

    def alignment(self) -> dict[str, float]:
        """Angles between forward weights and their feedback matrices (degrees), by name;
        empty when no matrix sends its error through a feedback matrix."""
        return {}

    def spec(self) -> RateCircuitSpec | None:
        """Backend-neutral description of the circuit; None for circuits without one (only
        the rate circuit is a simulable population)."""
        return None
