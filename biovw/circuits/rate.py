"""Recurrent rate circuit used as the mean (or logit) network of a transition operator.

The population holds ``D`` visible units followed by ``H`` hidden units and evolves as
``tau dh/dt = -h + W phi(h) + u`` with ``W[post, pre]``, discretised with ``alpha = dt / tau``
and run for ``settle_steps`` micro-steps per transition. The visible units start at the chain
state ``s`` and are linear; hidden units start at rest and receive the afferent drive
``u = StepNorm_t(W_in s + b)``. What the operator reads is the visible units' activity after
settling, so every output passes through the recurrent weights (hidden -> visible is a block of
``W``, constrained by Dale's law like the rest).

The module holds the parameters, constraints and learning rule; the dynamics are the pure
functions of :mod:`biovw.circuits.dynamics`, and :meth:`RateCircuit.spec` /
:meth:`RateCircuit.from_spec` convert to and from the backend-neutral
:class:`biovw.spec.RateCircuitSpec`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import Tensor, nn

from biovw.circuits.circuit import Circuit
from biovw.circuits.connectivity import (
    balanced_init,
    connection_mask,
    constrained_weight,
    dale_signs,
)
from biovw.circuits.dynamics import DriveParameters, RateParameters, transition_output
from biovw.circuits.stepnorm import StepNorm
from biovw.rules import EXACT, alignment_angle, best_sign_constrained_alignment, rule_class
from biovw.spec import RATE_DEFAULTS, RateCircuitSpec, RateSettings


def _rows(n: int, rows: slice) -> Tensor:
    keep = torch.zeros(n, dtype=torch.bool)
    keep[rows] = True
    return keep


# freeze option -> (dim, n) -> boolean mask of the postsynaptic rows of W held at their
# initial value
FREEZE_ROWS = {
    "none": lambda dim, n: torch.zeros(n, dtype=torch.bool),
    "all": lambda dim, n: torch.ones(n, dtype=torch.bool),
    "hidden_rows": lambda dim, n: _rows(n, slice(dim, n)),
    "readout": lambda dim, n: _rows(n, slice(0, dim)),
}

NONLINEARITIES = {
    "tanh": torch.tanh,
    "softplus": nn.functional.softplus,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
}


class RateCircuit(Circuit):
    """Rate circuit with Dale's law, sparse connectivity and optional tied weights.

    Parameters
    ----------
    dim : int
        Number of visible units (the data dimension).
    hidden : int
        Number of hidden units.
    num_steps : int
        Number of temperature steps (for per-step normalisation).
    settings : RateSettings
        The circuit's design (:class:`biovw.spec.RateSettings`, defaults
        :data:`biovw.spec.RATE_DEFAULTS`): rate function, settle steps, ``dt`` and ``tau``,
        Dale's law and E/I ratio, density, tying, initial spectral radius, drive
        normalisation, and which part of ``W`` is frozen (``freeze``: a key of
        :data:`FREEZE_ROWS`; ``hidden_rows`` keeps the synapses onto hidden units fixed while
        the readout onto the visible units learns, ``readout`` the reverse, controls for how
        much learning each block of ``W`` matters).
    rule : str
        Learning rule of the recurrent weights (a key of :data:`biovw.rules.RULES`): which
        error the recurrent matrix sends back to its presynaptic units through the unrolled
        micro-steps. The afferent weights ``W_in`` send no error backwards (their input, the
        chain state, is a sample that carries no gradient), so only ``W`` needs feedback.
    rule_options : dict or None
        Keyword arguments of the rule (e.g. ``scale``, ``match_norm``).
    seed : int
        Seed for the mask, initial weights and feedback matrices.
    **changes
        Fields of ``settings`` to change (``RateCircuit(2, 32, 10, dale=False)``).
    """

    def __init__(
        self,
        dim: int,
        hidden: int,
        num_steps: int,
        settings: RateSettings = RATE_DEFAULTS,
        *,
        rule: str = "backprop",
        rule_options: dict | None = None,
        seed: int = 0,
        **changes,
    ):
        super().__init__()
        self.settings = s = dataclasses.replace(settings, **changes)
        gen = torch.Generator().manual_seed(seed)
        n = dim + hidden
        self.dim, self.hidden = dim, hidden
        self.dt, self.tau = s.dt, s.tau
        self.alpha = s.dt / s.tau
        self.settle_steps = s.settle_steps
        self.symmetric = s.symmetric
        self.nonlinearity = s.nonlinearity
        self.phi = NONLINEARITIES[s.nonlinearity]
        signs = dale_signs(dim, hidden, s.ei_ratio) if s.dale else None
        self.register_buffer("signs", signs)
        self.register_buffer("mask", connection_mask(n, s.density, gen))
        if s.freeze not in FREEZE_ROWS:
            raise ValueError(f"freeze must be one of {', '.join(FREEZE_ROWS)}; got {s.freeze!r}")
        self.freeze = s.freeze
        initial = balanced_init(self.mask, signs, s.spectral_radius, s.symmetric, gen)
        self.w_raw = nn.Parameter(initial, requires_grad=s.freeze != "all")
        frozen = FREEZE_ROWS[s.freeze](dim, n)
        # Frozen rows read from a copy of the initial weight, so no optimiser (weight decay,
        # momentum) can move them; None when nothing or everything is frozen.
        self.register_buffer("frozen_rows", frozen if s.freeze not in ("none", "all") else None)
        self.register_buffer("w_initial", initial.clone() if self.frozen_rows is not None
                             else None)
        self.w_in = nn.Parameter(torch.randn(hidden, dim, generator=gen) / dim**0.5)
        self.b_in = nn.Parameter(torch.zeros(hidden))
        self.drive_norm = StepNorm(num_steps, hidden, normalize=s.step_norm)
        self.visible_bias = nn.Parameter(torch.zeros(num_steps, dim))
        self.rule = rule_class(rule).for_recurrent_weight(dim, self.mask, gen,
                                                          **dict(rule_options or {}))

    def weight(self) -> Tensor:
        """Effective recurrent weight ``W[post, pre]`` with all constraints applied."""
        raw = self.w_raw
        if self.frozen_rows is not None:
            raw = torch.where(self.frozen_rows[:, None], self.w_initial, raw)
        return constrained_weight(raw, self.mask, self.signs, self.symmetric)

    def rate_parameters(self) -> RateParameters:
        """The settle dynamics' parameters (effective weight, alpha, rate function)."""
        return RateParameters(self.weight(), self.alpha, self.dim, self.phi)

    def drive_parameters(self) -> DriveParameters:
        """The afferent drive's parameters (per-step gain, shift and visible bias)."""
        norm = self.drive_norm
        return DriveParameters(self.w_in, self.b_in, norm.gain, norm.shift, self.visible_bias,
                               norm.normalize, norm.eps)

    def forward(self, s: Tensor, step: int) -> Tensor:
        """Visible activity after settling from state ``s`` ([batch, dim]) at step ``step``.

        With gradients enabled the learning rule takes the recurrent matrix product (see
        :class:`biovw.rules.Recurrence`); without, every rule computes the same plain product.
        """
        recurrence = self.rule.recurrence() if torch.is_grad_enabled() else EXACT
        return transition_output(s, step, self.rate_parameters(), self.drive_parameters(),
                                 self.settle_steps, recurrence)

    def feedback_matrix(self) -> Tensor | None:
        """The matrix that replaces ``W`` in the backward pass (None for direct feedback)."""
        return self.rule.feedback(self.weight().detach())

    def param_groups(self, feedback_decay: float = 0.0) -> list[dict]:
        """One group of the trainable parameters; under a rule whose feedback matrix learns
        with ``W`` (Kolen-Pollack), ``W``'s parameter and the feedback matrix form a first group
        with decoupled weight decay ``feedback_decay``: they receive identical gradients, hence
        identical updates, so their difference decays."""
        params = [p for p in self.parameters() if p.requires_grad]
        if not self.rule.mirror:
            return [{"params": params, "weight_decay": 0.0}]
        decayed = [self.w_raw, self.rule.feedback_matrix]
        rest = [p for p in params if all(p is not d for d in decayed)]
        return [{"params": decayed, "weight_decay": feedback_decay},
                {"params": rest, "weight_decay": 0.0}]

    def alignment(self) -> dict[str, float]:
        """Angle (degrees) between ``W`` and the matrix that replaces it in the backward pass
        and, under Dale's law, the smallest angle any matrix with ``W``'s fixed sign pattern
        could reach against that feedback: for the whole of ``W`` (``alignment_angle``) and for
        its hidden-to-visible (``_readout``) and hidden-to-hidden (``_hidden``) blocks; a block
        without connections is left out. Empty under exact gradients or direct feedback."""
        feedback = None if self.rule.exact else self.feedback_matrix()
        if feedback is None:
            return {}
        weight, feedback = self.weight().detach(), feedback.detach()
        pattern = None if self.signs is None else self.signs[None, :] * self.mask
        d = self.dim
        blocks = {"": (slice(None), slice(None)), "_readout": (slice(None, d), slice(d, None)),
                  "_hidden": (slice(d, None), slice(d, None))}
        out = {}
        for suffix, (post, pre) in blocks.items():
            if not weight[post, pre].any() or not feedback[post, pre].any():
                continue  # a block without connections (a sparse mask) has no angle
            out[f"alignment_angle{suffix}"] = alignment_angle(weight[post, pre],
                                                              feedback[post, pre])
            if pattern is not None:
                out[f"alignment_best_given_signs{suffix}"] = best_sign_constrained_alignment(
                    pattern[post, pre], feedback[post, pre])
        return out

    def spec(self) -> RateCircuitSpec:
        """Backend-neutral description of the circuit as it computes now (effective weights;
        frozen rows and tying already resolved)."""
        mask = self.mask * self.mask.T if self.symmetric else self.mask
        norm = self.drive_norm
        return RateCircuitSpec(
            weight=_numpy(self.weight()), mask=_numpy(mask),
            signs=None if self.signs is None else _numpy(self.signs), symmetric=self.symmetric,
            w_in=_numpy(self.w_in), b_in=_numpy(self.b_in), drive_gain=_numpy(norm.gain),
            drive_shift=_numpy(norm.shift), drive_normalize=norm.normalize,
            drive_eps=float(norm.eps), visible_bias=_numpy(self.visible_bias),
            tau=self.tau, dt=self.dt, settle_steps=self.settle_steps,
            nonlinearity=self.nonlinearity,
        )

    @classmethod
    def from_spec(cls, spec: RateCircuitSpec) -> RateCircuit:
        """A circuit that computes what ``spec`` describes (trained by backprop if trained
        further; its free weight is the effective one, so its constraints reproduce it)."""
        circuit = cls(spec.n_visible, spec.n_hidden, spec.num_steps,
                      nonlinearity=spec.nonlinearity, settle_steps=spec.settle_steps,
                      dt=spec.dt, tau=spec.tau, dale=spec.signs is not None,
                      symmetric=spec.symmetric, step_norm=spec.drive_normalize)
        weight = torch.from_numpy(np.asarray(spec.weight))
        circuit.to(weight.dtype)
        circuit.drive_norm.eps = spec.drive_eps
        values = {"mask": spec.mask, "w_raw": weight.abs() if spec.signs is not None else weight,
                  "w_in": spec.w_in, "b_in": spec.b_in, "drive_norm.gain": spec.drive_gain,
                  "drive_norm.shift": spec.drive_shift, "visible_bias": spec.visible_bias}
        if spec.signs is not None:
            values["signs"] = spec.signs
        state = circuit.state_dict()
        with torch.no_grad():
            for name, value in values.items():
                state[name].copy_(torch.as_tensor(np.asarray(value)))
        return circuit


def _numpy(x: Tensor) -> np.ndarray:
    return x.detach().cpu().numpy().copy()
