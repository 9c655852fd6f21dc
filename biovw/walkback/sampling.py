"""Sampling: draw from p*, cool down through the temperature schedule, then run a sampler.

A VW sampler is two things: the *annealed* sampler (p*, then the cool-down ``T_K, ..., T_1``)
and the Markov chain run after it. The chain is one of :data:`SAMPLERS`:

``chain``
    the operator at ``T_1 = 1``, one transition per step (the paper's sampler; its
    non-equilibrium stationary distribution is what the paper claims matches the data);
``cycle``
    heat ``k`` steps ``T_1, ..., T_k`` and cool them back ``T_k, ..., T_1`` with the same
    operator, ``2k`` transitions per step. The heating half is the walk-back training's own
    forward process, the cooling half the reverse the operator learned, so when training
    succeeded the data distribution is (approximately) invariant, and the heated states can
    cross barriers the ``T_1`` chain never crosses.

Every function can also start from given states at ``T_1`` (``initial``) instead of from p*
through the cool-down: the way to test stationarity from a wrong start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from biovw.spec import RateSpec
from biovw.walkback.model import WalkbackModel

StepFn = Callable[[WalkbackModel, Tensor, "torch.Generator | None", int, bool], Tensor]


def _chain_step(model: WalkbackModel, s: Tensor, generator: torch.Generator | None, k: int,
                noise: bool) -> Tensor:
    return model.transition(s, 0, generator, noise)


def _cycle_step(model: WalkbackModel, s: Tensor, generator: torch.Generator | None, k: int,
                noise: bool) -> Tensor:
    for step in range(k):
        s = model.transition(s, step, generator, noise)
    for step in reversed(range(k)):
        s = model.transition(s, step, generator, noise)
    return s


SAMPLERS: dict[str, StepFn] = {"chain": _chain_step, "cycle": _cycle_step}
"""Sampler kind -> one step of its Markov chain (see the module docstring)."""


@dataclass(frozen=True)
class Sampler:
    """Which Markov chain runs after the cool-down.

    Attributes
    ----------
    kind : str
        A key of :data:`SAMPLERS`: ``chain`` or ``cycle``.
    cycle_steps : int
        Temperature steps ``k`` a cycle heats through (0: all ``K``); unused by ``chain``.
    """

    kind: str = "chain"
    cycle_steps: int = 0

    def __post_init__(self) -> None:
        if self.kind not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {self.kind!r}")
        if self.cycle_steps < 0:
            raise ValueError(f"cycle steps must be >= 0, got {self.cycle_steps}")

    def depth(self, model: WalkbackModel) -> int:
        """Temperature steps a cycle heats through on ``model``."""
        return min(self.cycle_steps or model.num_steps, model.num_steps)

    def transitions(self, model: WalkbackModel) -> int:
        """Operator transitions per sampler step."""
        return 2 * self.depth(model) if self.kind == "cycle" else 1

    def step(self, model: WalkbackModel, s: Tensor, generator: torch.Generator | None,
             noise: bool = True) -> Tensor:
        """One step of the sampler's chain from states ``s`` ``[n, dim]``."""
        return SAMPLERS[self.kind](model, s, generator, self.depth(model), noise)

    def describe(self, model: WalkbackModel) -> str:
        """In words, for reports."""
        if self.kind == "chain":
            return "the T = 1 chain"
        k = self.depth(model)
        return f"cycles of {k} heating and {k} cooling steps"


CHAIN = Sampler()
"""The paper's sampler: the operator at ``T_1``."""


def start_states(model: WalkbackModel, n: int, generator: torch.Generator | None,
                 initial: Tensor | None = None) -> Tensor:
    """``n`` chains at ``T_1``: draws from p* cooled down, or the rows of ``initial``."""
    if initial is not None:
        return initial.to(next(model.parameters()).device)
    return cool_down(model, model.prior.sample(n, generator), generator)


def sample_chain(
    model: WalkbackModel,
    n: int,
    snapshots: list[int],
    generator: torch.Generator | None,
    batch_size: int = 5000,
    progress=None,
    sampler: Sampler = CHAIN,
    initial: Tensor | None = None,
) -> dict[int, Tensor]:
    """Draw ``n`` samples and keep them at chosen numbers of sampler steps past the start.

    Parameters
    ----------
    model : WalkbackModel
    n : int
        Number of independent chains (the rows of ``initial`` when given).
    snapshots : list of int
        Sampler steps after the start at which to record the states (0 = the start: right
        after the cool-down, or ``initial`` itself).
    generator : torch.Generator or None
        Source of randomness.
    batch_size : int
        Chains run together.
    progress : callable or None
        Called with the number of chains done after each chunk of chains.
    sampler : Sampler
        The chain run after the start.
    initial : Tensor or None
        ``[n, dim]`` states at ``T_1`` to start from instead of the cool-down.

    Returns
    -------
    dict
        ``{steps: Tensor[n, dim]}`` on the CPU.
    """
    if initial is not None:
        n = initial.shape[0]
    keep = sorted(set(int(s) for s in snapshots))
    last = keep[-1] if keep else 0
    out: dict[int, list[Tensor]] = {k: [] for k in keep}
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        s = start_states(model, m, generator,
                         None if initial is None else initial[start:start + m])
        for extra in range(last + 1):
            if extra in out:
                out[extra].append(s.cpu())
            if extra < last:
                s = sampler.step(model, s, generator)
        if progress is not None:
            progress(m)
    return {k: torch.cat(v) for k, v in out.items()}


def cool_down(model: WalkbackModel, s: Tensor, generator: torch.Generator | None,
              noise: bool = True) -> Tensor:
    """Run states ``s`` (draws from p*) through ``T_K, ..., T_1``.

    Parameters
    ----------
    model : WalkbackModel
    s : Tensor
        States at the last temperature step, [n, dim].
    generator : torch.Generator or None
    noise : bool
        Draw each transition; otherwise follow the kernel's mean (deterministic).
    """
    for step in reversed(range(model.num_steps)):
        s = model.transition(s, step, generator, noise)
    return s


def trajectories(model: WalkbackModel, initial: Tensor, n_steps: int,
                 generator: torch.Generator | None, noise: bool = True,
                 sampler: Sampler = CHAIN, cool: bool = True) -> Tensor:
    """Chains from ``initial`` and every state after their start.

    Parameters
    ----------
    model : WalkbackModel
    initial : Tensor
        ``[n, dim]``: draws from p* to cool down (``cool``), or states at ``T_1``.
    n_steps : int
        Sampler steps after the start.
    generator : torch.Generator or None
    noise : bool
        Draw each transition; otherwise follow the kernel's mean (deterministic).
    sampler : Sampler
        The chain run after the start.
    cool : bool
        Cool ``initial`` down first.

    Returns
    -------
    Tensor
        ``[n, n_steps + 1, dim]`` on the CPU: the start (the cooled-down state, or
        ``initial``), then one state per sampler step.
    """
    s = cool_down(model, initial, generator, noise) if cool else initial
    states = [s.cpu()]
    for _ in range(n_steps):
        s = sampler.step(model, s, generator, noise)
        states.append(s.cpu())
    return torch.stack(states, 1)


def simulate(spec: RateSpec, initial: np.ndarray, n_steps: int, *, noise: bool = True,
             cool_down: bool = True, seed: int | None = None,
             generator: torch.Generator | None = None,
             device: torch.device | str = "cpu") -> np.ndarray:
    """Run chains of a described circuit with the batched sampler, in float64: the ``torch``
    backend of :data:`biovw.backends.BACKENDS`.

    Parameters
    ----------
    spec : RateSpec
        The circuit description.
    initial : ndarray
        Initial states, [C, D]: prior draws when ``cool_down``, else states at ``T_1``.
    n_steps : int
        Transitions at ``T_1`` after the start.
    noise : bool
        Draw from the kernel (True) or follow its mean (False; deterministic).
    cool_down : bool
        Run the cool-down ``t = K-1, ..., 0`` first.
    seed : int or None
        Seed of the noise when no ``generator`` is given (on ``device``).
    generator : torch.Generator or None
        The noise's generator, on the CPU (used on the CPU only).
    device : torch.device or str
        Where the chains run.

    Returns
    -------
    ndarray
        States ``[C, n_steps + 1, D]`` (float64), the first one the start (cooled down or
        ``initial``).
    """
    device = torch.device(device)
    model = WalkbackModel.from_spec(spec).double().to(device)
    if generator is None or device.type != "cpu":
        generator = torch.Generator(device=device)
        if seed is not None:
            generator.manual_seed(seed)
    start = torch.as_tensor(np.asarray(initial, dtype=np.float64), device=device)
    with torch.no_grad():
        return trajectories(model, start, n_steps, generator, noise, cool=cool_down).numpy()


def cooling_path(model: WalkbackModel, s: Tensor, generator: torch.Generator | None) -> Tensor:
    """States ``s`` (draws from p*) and every state of their cool-down through
    ``T_K, ..., T_1``: ``[K + 1, n, dim]`` on the CPU, the last at ``T_1``."""
    states = [s.cpu()]
    for step in reversed(range(model.num_steps)):
        s = model.transition(s, step, generator)
        states.append(s.cpu())
    return torch.stack(states)
