"""A trained rate circuit as a Brian2 network, built from its description alone.

This module imports numpy and brian2 only: it reads a circuit description (an object shaped
like :class:`biovw.spec.RateSpec`) by its attributes, so ``biovw export`` ships it
verbatim beside the description and a short script, and the circuit runs without biovw.

The network runs ``C`` independent chains of the walk-back transition operator. One transition
of the description's dynamics (see :mod:`biovw.spec`) takes ``settle_steps``
micro-steps of ``dt`` (milliseconds; ``tau`` likewise):

``units`` (NeuronGroup, ``C * (D + H)`` rate units: the visible units of every chain, then the
hidden units of every chain)
    ``dh/dt = (-h + I_rec + u + b_vis) / tau``, forward Euler at ``dt``; the stored rate is
    ``h`` for visible units and ``phi(h)`` for hidden units.
recurrent input ``I_rec = W @ rate`` of each chain (:data:`RECURRENCES`)
    ``synapses``: Synapses with a summed variable, one synapse per connection present;
    ``matrix``: a dense product per chain in a user-defined function called from
    ``run_regularly``.
afferent drive, once per transition
    ``afferent`` (``C * H``) sums ``a = W_in s + b_in`` through Synapses from the visible
    units; ``chains`` (``C``) sums ``a`` and ``a**2`` over each chain's hidden units; each
    hidden unit's drive ``u = (a - mean) / sqrt(var + eps) * gain[t] + shift[t]`` reaches it
    through a one-to-one Synapses with a summed variable; ``b_vis`` is the visible bias.
readout and clamp at the start of each transition (``run_regularly``, so standalone works)
    the next chain state is drawn from the kernel at the last transition's output
    (Gaussian ``kappa s + (1 - kappa) h_vis + sqrt(T) sigma xi``; Bernoulli
    ``rand() < kappa s + (1 - kappa) sigmoid(h_vis / T)``); visible units are set to it,
    hidden units to rest; a StateMonitor records it.

Within a micro-step the operations run in this order (Brian2 slot, order): readout and rest
(start, 0), monitor (start, 1), afferent sums (groups, -1), chain sums (groups, 0), drive
statistics and step parameters (groups, 1), stored rates (groups, 1), recurrent input and hidden
drive (groups, 2), Euler update (groups, 3). The per-step parameters (``gain``, ``shift``, the
visible bias) and the temperatures follow the cool-down ``t = K-1, ..., 0`` and then stay at
``t = 0``; they are read from TimedArrays.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import brian2 as b2
import numpy as np
from brian2.codegen.runtime.cython_rt import CythonCodeObject
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice
from brian2.devices.device import reset_device

if TYPE_CHECKING:
    from collections.abc import Iterator

    from biovw.spec import RateSpec

TARGETS = ("numpy", "cython", "cpp_standalone")
"""Brian2 code-generation targets: ``numpy`` (default, no compiler), ``cython`` (runtime,
compiled per code object and cached), ``cpp_standalone`` (one C++ program per simulation)."""


def unavailable_targets() -> dict[str, str]:
    """Targets of :data:`TARGETS` that cannot run on this machine, with the reason."""
    reasons = {}
    if not CythonCodeObject.is_available():
        reasons["cython"] = "Cython cannot compile an extension (install cython and a C compiler)"
    if not any(shutil.which(name) for name in (os.environ.get("CXX", "g++"), "c++")):
        reasons["cpp_standalone"] = "no C++ compiler found (g++, c++ or $CXX)"
    return reasons


RECURRENCES = {
    "synapses": "Synapses with a summed variable, one synapse per connection present (cost "
                "proportional to the synapses; Brian2's standard mechanism)",
    "matrix": "a dense matrix product per chain in a user-defined function (numpy, Cython "
              "and C++ implementations) called from run_regularly (cost C * N^2 whatever the "
              "sparsity; reads the stored rates of the whole population, a dependency Brian2 "
              "does not track)",
}
"""How the recurrent input ``W @ rate`` is computed; both run on every target in
:data:`TARGETS`."""

RATE_FUNCTIONS = {
    "tanh": "tanh(h)",
    "relu": "clip(h, 0, inf)",
    "sigmoid": "1 / (1 + exp(-h))",
    # log(1 + exp(h)) without overflow for large h
    "softplus": "clip(h, 0, inf) + log(1 + exp(-abs(h)))",
}
"""Rate function of the hidden units as Brian2 expressions of ``h``, by the description's
``nonlinearity``."""


@dataclass(frozen=True)
class Schedule:
    """Which temperature step each transition uses.

    Attributes
    ----------
    steps : ndarray
        Zero-based temperature step of transition ``k`` (its drive parameters), [n + 1]; the
        last entry belongs to the final readout and repeats the one before it.
    readout_temperature : ndarray
        Temperature of the readout at the start of transition ``k``, that of transition
        ``k - 1`` (entry 0 is unused: the chain starts at its initial state), [n + 1].
    first_recorded : int
        Index of the first transition whose starting state is returned.
    """

    steps: np.ndarray
    readout_temperature: np.ndarray
    first_recorded: int

    @property
    def n_transitions(self) -> int:
        """Transitions simulated."""
        return len(self.steps) - 1


def schedule(temperatures: np.ndarray, n_steps: int, cool_down: bool = True) -> Schedule:
    """The cool-down through ``t = K-1, ..., 0`` (if ``cool_down``), then ``n_steps``
    transitions at ``t = 0``.

    Parameters
    ----------
    temperatures : ndarray
        ``T_t`` of each temperature step, [K].
    n_steps : int
        Transitions at ``t = 0`` after the cool-down.
    cool_down : bool
        Start with the cool-down (the initial states are draws from the prior p*); otherwise
        the initial states are already cooled down.
    """
    k = len(temperatures) if cool_down else 0
    steps = np.concatenate([np.arange(k - 1, -1, -1), np.zeros(n_steps + 1, dtype=int)])
    readout = np.concatenate([[1.0], np.asarray(temperatures, dtype=np.float64)[steps[:-1]]])
    return Schedule(steps, readout, k)


def unit_index(n_chains: int, n_visible: int, n_hidden: int) -> np.ndarray:
    """Index in ``units`` of unit ``k`` (visible units first) of chain ``c``, [C, D + H]."""
    c = np.arange(n_chains)[:, None]
    visible = c * n_visible + np.arange(n_visible)[None, :]
    hidden = n_chains * n_visible + c * n_hidden + np.arange(n_hidden)[None, :]
    return np.concatenate([visible, hidden], axis=1)


class RateNetwork:
    """``C`` chains of a rate circuit's transition operator as one Brian2 network.

    Build it under the device that will run it (:func:`simulate` does both).

    Parameters
    ----------
    spec : RateSpec
        The circuit description (any object with its attributes).
    initial : ndarray
        Initial chain states, [C, D]: draws from the prior p* when ``plan`` starts with the
        cool-down.
    plan : Schedule
        Temperature step of each transition.
    noise : bool
        Draw each next state from the kernel; otherwise take the kernel's mean (Gaussian: the
        mean; Bernoulli: the firing probabilities), which makes the chain deterministic.
    recurrence : str
        A key of :data:`RECURRENCES`.

    Attributes
    ----------
    network : brian2.Network
    units : brian2.NeuronGroup
    monitor : brian2.StateMonitor
        Chain states ``s`` of the visible units at the start of every transition.
    period : brian2.Quantity
        Simulated time of one transition (``settle_steps * dt``).
    duration : brian2.Quantity
        Simulated time: every transition and the final readout.
    """

    def __init__(self, spec: RateSpec, initial: np.ndarray, plan: Schedule, *, noise: bool,
                 recurrence: str = "synapses"):
        if recurrence not in RECURRENCES:
            raise ValueError(f"recurrence must be one of {', '.join(RECURRENCES)}; "
                             f"got {recurrence!r}")
        c, o = spec.circuit, spec.operator
        n_chains, d = np.shape(initial)
        self.n_chains, self.n_visible, self.plan = n_chains, d, plan
        micro = c.dt * b2.ms
        self.period = period = c.settle_steps * micro
        self.duration = plan.n_transitions * period + micro
        namespace = {
            "step_at": b2.TimedArray(plan.steps.astype(np.float64), dt=period),
            "readout_temperature": b2.TimedArray(plan.readout_temperature, dt=period),
            # per-step tables, read at the step number taken as a time in ms
            "gain": b2.TimedArray(np.asarray(c.drive_gain, np.float64), dt=b2.ms),
            "shift": b2.TimedArray(np.asarray(c.drive_shift, np.float64), dt=b2.ms),
            "visible_bias": b2.TimedArray(np.asarray(c.visible_bias, np.float64), dt=b2.ms),
            "tau": c.tau * b2.ms, "kappa": o.kappa, "n_hidden": c.n_hidden,
            "eps": c.drive_eps, "t_first": 0.5 * micro,
        }
        units = b2.NeuronGroup(
            n_chains * (d + c.n_hidden),
            """dh/dt = (-h + I_rec + u + b_vis) / tau : 1
                I_rec : 1
                u : 1
                b_vis : 1
                rate : 1
                s : 1
                sigma : 1 (constant)
                visible_index : integer (constant)
                visible : 1 (constant)""",
            method="euler", dt=micro, order=3, namespace=namespace, name="units")
        n_vis = n_chains * d
        units.visible[:n_vis] = 1.0
        units.visible_index[:n_vis] = np.tile(np.arange(d), n_chains)
        if o.sigma is not None:
            units.sigma[:n_vis] = np.tile(np.asarray(o.sigma, np.float64), n_chains)
        visible, hidden = units[:n_vis], units[n_vis:]
        visible.s = np.asarray(initial, np.float64).ravel()
        visible.run_regularly(_readout_code(o.kind, noise), dt=period, when="start", order=0,
                              name="readout")
        hidden.run_regularly("h = 0", dt=period, when="start", order=0, name="rest")
        units.run_regularly(f"rate = visible * h + (1 - visible) * "
                            f"({RATE_FUNCTIONS[c.nonlinearity]})",
                            when="groups", order=1, name="rates")
        self.monitor = b2.StateMonitor(visible, "s", record=True, dt=period, when="start",
                                       order=1, name="states")
        self.units = units
        drive = _afferent_drive(spec, visible, units, n_chains, period, namespace)
        if recurrence == "synapses":
            recurrent = [_recurrent_synapses(c, units, n_chains)]
        else:
            # the group holds this namespace: the function joins it once it can see the rates
            namespace["recurrent_input"] = _recurrent_function(c, units, n_chains)
            units.run_regularly("I_rec = recurrent_input(i)", when="groups", order=2,
                                name="recurrent_matrix")
            recurrent = []
        self.network = b2.Network(units, self.monitor, *drive, *recurrent)

    def states(self) -> np.ndarray:
        """Recorded chain states from the first recorded transition on, [C, n + 1, D]."""
        s = np.asarray(self.monitor.s[:])  # [C * D, transitions + 1]
        s = s.reshape(self.n_chains, self.n_visible, -1).transpose(0, 2, 1)
        return np.ascontiguousarray(s[:, self.plan.first_recorded:])


def _readout_code(kind: str, noise: bool) -> str:
    """Readout at the start of a transition (none at t = 0: the chain starts at its initial
    state) and clamp, as abstract code of the visible units."""
    if kind == "gaussian":
        mean = "kappa * s + (1 - kappa) * h"
        draw = "mean + sqrt(readout_temperature(t)) * sigma * randn()" if noise else "mean"
    else:
        mean = "kappa * s + (1 - kappa) / (1 + exp(-h / readout_temperature(t)))"
        draw = "int(rand() < mean)" if noise else "mean"
    return f"""go = int(t > t_first)
               mean = {mean}
               s = go * ({draw}) + (1 - go) * s
               h = s
               b_vis = visible_bias(step_at(t) * ms, visible_index)"""


def _afferent_drive(spec: RateSpec, visible: b2.Subgroup, units: b2.NeuronGroup,
                    n_chains: int, period: b2.Quantity, namespace: dict[str, Any]) -> list:
    """Groups and synapses that compute the hidden units' drive once per transition."""
    c = spec.circuit
    d, h = c.n_visible, c.n_hidden
    chain_of = np.repeat(np.arange(n_chains), h)
    normalised = "(x - x_mean) / sqrt(x_var + eps)" if c.drive_normalize else "x"
    afferent = b2.NeuronGroup(
        n_chains * h,
        f"""a : 1
            b_in : 1 (constant)
            hidden_index : integer (constant)
            sx_chain : 1 (linked)
            sx2_chain : 1 (linked)
            x_mean : 1
            x_var : 1
            step_gain : 1
            step_shift : 1
            x = a + b_in : 1
            z = {normalised} * step_gain + step_shift : 1""",
        dt=period, order=0, namespace=namespace, name="afferent")
    chains = b2.NeuronGroup(n_chains, "sx : 1\nsx2 : 1", dt=period, order=1, name="chains")
    afferent.b_in = np.tile(np.asarray(c.b_in, np.float64), n_chains)
    afferent.hidden_index = np.tile(np.arange(h), n_chains)
    afferent.sx_chain = b2.linked_var(chains, "sx", index=chain_of)
    afferent.sx2_chain = b2.linked_var(chains, "sx2", index=chain_of)
    # The step's parameters are read here, not in z: a Synapses object that sums z would
    # evaluate t on its own clock.
    afferent.run_regularly("""x_mean = sx_chain / n_hidden
                              x_var = sx2_chain / n_hidden - x_mean**2
                              step_gain = gain(step_at(t) * ms, hidden_index)
                              step_shift = shift(step_at(t) * ms, hidden_index)""",
                           dt=period, when="groups", order=1, name="drive_statistics")

    inputs = b2.Synapses(visible, afferent, "w : 1 (constant)\na_post = w * s_pre : 1 (summed)",
                         dt=period, name="afferent_synapses")
    pre = np.arange(n_chains)[:, None, None] * d + np.arange(d)[None, None, :]
    post = np.arange(n_chains)[:, None, None] * h + np.arange(h)[None, :, None]
    pre, post = np.broadcast_arrays(pre, post)
    inputs.connect(i=pre.ravel(), j=post.ravel())
    inputs.w = np.broadcast_to(np.asarray(c.w_in, np.float64), pre.shape).ravel()
    sums = b2.Synapses(afferent, chains, "sx_post = x_pre : 1 (summed)\n"
                                         "sx2_post = x_pre**2 : 1 (summed)",
                       dt=period, namespace=namespace, name="chain_sums")
    sums.connect(i=np.arange(n_chains * h), j=chain_of)
    to_units = b2.Synapses(afferent, units, "u_post = z_pre : 1 (summed)",
                           dt=units.clock.dt, namespace=namespace, name="hidden_drive")
    to_units.connect(i=np.arange(n_chains * h), j=n_chains * d + np.arange(n_chains * h))
    return [afferent, chains, inputs, sums, to_units]


def _recurrent_synapses(c: Any, units: b2.NeuronGroup, n_chains: int) -> b2.Synapses:
    """``I_rec = W @ rate`` through Synapses with a summed variable."""
    index = unit_index(n_chains, c.n_visible, c.n_hidden)
    post, pre = np.nonzero(np.asarray(c.mask))
    synapses = b2.Synapses(units, units, "w : 1 (constant)\nI_rec_post = w * rate_pre : 1 (summed)",
                           dt=units.clock.dt, name="recurrent")
    synapses.connect(i=index[:, pre].ravel(), j=index[:, post].ravel())
    synapses.w = np.tile(np.asarray(c.weight, np.float64)[post, pre], n_chains)
    return synapses


_CYTHON_PRODUCT = """
cdef double recurrent_input(const int unit):
    global _namespace_recurrent_weight, _namespace_recurrent_rate
    cdef int chain, row, k
    cdef double total = 0
    if unit < {n_vis}:
        chain = unit // {d}
        row = unit % {d}
    else:
        chain = (unit - {n_vis}) // {h}
        row = {d} + (unit - {n_vis}) % {h}
    for k in range({d}):
        total += _namespace_recurrent_weight[row * {n} + k] * \\
            _namespace_recurrent_rate[chain * {d} + k]
    for k in range({h}):
        total += _namespace_recurrent_weight[row * {n} + {d} + k] * \\
            _namespace_recurrent_rate[{n_vis} + chain * {h} + k]
    return total
"""

_CPP_PRODUCT = """
static inline double recurrent_input(const int32_t unit)
{{
    int chain, row;
    if (unit < {n_vis}) {{ chain = unit / {d}; row = unit % {d}; }}
    else {{ chain = (unit - {n_vis}) / {h}; row = {d} + (unit - {n_vis}) % {h}; }}
    const double* w = _namespace_recurrent_weight + row * {n};
    const double* visible = brian::{rate} + chain * {d};
    const double* hidden = brian::{rate} + {n_vis} + chain * {h};
    double total = 0;
    for (int k = 0; k < {d}; k++) total += w[k] * visible[k];
    for (int k = 0; k < {h}; k++) total += w[{d} + k] * hidden[k];
    return total;
}}
"""


def _recurrent_function(c: Any, units: b2.NeuronGroup, n_chains: int) -> b2.Function:
    """``recurrent_input(i)``: row ``i`` of ``W @ rate`` for the chain of unit ``i``, read from
    the ``rate`` array of ``units`` as it is now (stored earlier in the same micro-step).

    A function that reads another variable of the whole population is outside what Brian2
    tracks, so each implementation reaches that array its own way: the numpy one through the
    runtime device's array, the Cython one through a namespace array passed by reference, the
    C++ one (standalone only) through the device's global array.
    """
    d, h = c.n_visible, c.n_hidden
    n_vis = n_chains * d
    weight = np.ascontiguousarray(np.asarray(c.weight, np.float64))
    sizes = {"n_vis": n_vis, "d": d, "h": h, "n": d + h}
    device = b2.get_device()
    if isinstance(device, CPPStandaloneDevice):
        function = b2.Function(None, arg_units=[1], return_unit=1, arg_types=["integer"],
                               return_type="float")
        rate_array = device.get_array_name(units.variables["rate"])
        function.implementations.add_implementation(
            "cpp", _CPP_PRODUCT.format(rate=rate_array, **sizes), name="recurrent_input",
            namespace={"_recurrent_weight": weight.ravel()})
        return function
    rate = units.variables["rate"].get_value()

    def recurrent_input(unit: np.ndarray) -> np.ndarray:
        products = np.concatenate([rate[:n_vis].reshape(n_chains, d),
                                   rate[n_vis:].reshape(n_chains, h)], axis=1) @ weight.T
        full = np.concatenate([products[:, :d].ravel(), products[:, d:].ravel()])
        return full[unit]

    function = b2.Function(recurrent_input, arg_units=[1], return_unit=1,
                           arg_types=["integer"], return_type="float")
    function.implementations.add_implementation(
        "cython", _CYTHON_PRODUCT.format(**sizes), name="recurrent_input",
        namespace={"_recurrent_weight": weight.ravel(), "_recurrent_rate": rate})
    return function


def seconds_per_transition(net: RateNetwork, warm_up: int = 2) -> float:
    """Run ``net`` under the current device and return the wall time per transition (of all
    its chains), leaving out building and compiling (speed measurements).

    In runtime mode the first ``warm_up`` transitions generate (and compile) the code and are
    not timed; in standalone mode the program is built, compiled and run at once, and the
    time is the one it measured of its run.
    """
    n = net.plan.n_transitions
    if isinstance(b2.get_device(), CPPStandaloneDevice):
        net.network.run(net.duration)
        return float(b2.device._last_run_time) / n  # the program's own timing of its run
    net.network.run(warm_up * net.period)
    started = time.perf_counter()
    net.network.run(net.duration - warm_up * net.period)
    return (time.perf_counter() - started) / (n - warm_up)


def simulate(spec: RateSpec, initial: np.ndarray, n_steps: int, *, noise: bool = True,
             target: str = "numpy", recurrence: str = "synapses", cool_down: bool = True,
             seed: int | None = None, build_dir: str | None = None) -> np.ndarray:
    """Run chains of a described circuit in Brian2 and return their states at ``T_1``.

    Parameters
    ----------
    spec : RateSpec
        The circuit description.
    initial : ndarray
        Initial states, [C, D]: prior draws when ``cool_down``, else cooled-down states.
    n_steps : int
        Transitions at ``T_1`` after the cool-down.
    noise : bool
        Draw from the kernel (True) or follow its mean (False; deterministic).
    target : str
        Code-generation target, one of :data:`TARGETS`.
    recurrence : str
        How the recurrent input is computed, a key of :data:`RECURRENCES`.
    cool_down : bool
        Run the cool-down ``t = K-1, ..., 0`` first.
    seed : int or None
        Seed of Brian2's random numbers (noise).
    build_dir : str or None
        Folder for the ``cpp_standalone`` project [default: a temporary folder, removed
        afterwards].

    Returns
    -------
    ndarray
        States ``[C, n_steps + 1, D]`` (float64): the cooled-down state, then one per
        transition.

    Raises
    ------
    ValueError
        For an unknown target or recurrence.
    """
    plan = schedule(spec.operator.temperatures, n_steps, cool_down)
    with device(target, build_dir):
        if seed is not None:
            b2.seed(seed)
        net = RateNetwork(spec, initial, plan, noise=noise, recurrence=recurrence)
        net.network.run(net.duration)
        return net.states()


@contextmanager
def device(target: str, build_dir: str | None = None) -> Iterator[None]:
    """Build and run on ``target`` what is made inside; restore Brian2's device and target
    afterwards.

    Raises
    ------
    ValueError
        For a target not in :data:`TARGETS`.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}; got {target!r}")
    if target != "cpp_standalone":
        previous = b2.prefs.codegen.target
        b2.prefs.codegen.target = target
        try:
            yield
        finally:
            b2.prefs.codegen.target = previous
        return
    with tempfile.TemporaryDirectory(prefix="biovw-brian2-") as scratch:
        b2.set_device("cpp_standalone", directory=build_dir or scratch, build_on_run=True,
                      with_output=False)
        try:
            yield
        finally:
            b2.device.reinit()
            reset_device()
