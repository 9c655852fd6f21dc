"""``biovw simulate`` and ``biovw export``: a run's trained rate circuit run by the batched torch
sampler or as a Brian2 network, and taken out as a description with a standalone Brian2 script.

Both backends run the same description (:meth:`biovw.walkback.WalkbackModel.spec`) in float64
from the same initial states, drawn from the prior p* with the seed, so that without noise their
trajectories agree to float precision and with noise their statistics agree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from biovw import brian
from biovw.backends import BACKENDS
from biovw.brian.export import write_export
from biovw.config import ConfigError
from biovw.runs.build import OpenedRun
from biovw.spec import RateSpec
from biovw.walkback import WalkbackModel


def run_spec(opened: OpenedRun) -> RateSpec:
    """The description of a run's trained circuit.

    Raises
    ------
    ConfigError
        If the run's model is not a rate circuit (an MLP or linear operator, an RBM).
    """
    if opened.kind.circuit_spec(opened.model) is None:
        label = opened.kind.label(opened.cfg.to_dict())
        raise ConfigError(f"{opened.run.root} holds a {label}; simulate and export need a "
                          "rate circuit (circuit.kind: rate)")
    return opened.model.spec()


def _options(backend: str, target: str | None, recurrence: str, device: torch.device | str,
             generator: torch.Generator) -> dict:
    """The backend's own keyword options; ``ConfigError`` for an option the other one takes."""
    if backend == "torch":
        if target is not None:
            raise ConfigError("--target applies to --backend brian2 only")
        return {"generator": generator, "device": device}
    if torch.device(device).type != "cpu":
        raise ConfigError("--device applies to --backend torch only")
    target = target or "numpy"
    check_target(target)
    return {"target": target, "recurrence": recurrence}


def check_target(target: str) -> None:
    """Raise :class:`ConfigError` unless ``target`` is a Brian2 target that works here."""
    if target not in brian.TARGETS:
        raise ConfigError(f"--target must be one of {', '.join(brian.TARGETS)}; got {target!r}")
    reason = brian.unavailable_targets().get(target)
    if reason is not None:
        raise ConfigError(f"--target {target} is not available here: {reason}")


def prior_draws(spec: RateSpec, n_chains: int, seed: int) -> np.ndarray:
    """The draws from p* that :func:`simulate_spec` cools down from with this seed,
    ``[n_chains, D]`` float64 (torch's generator on the CPU, for every backend and device)."""
    return _prior_sample(spec, n_chains, torch.Generator().manual_seed(seed))


def _prior_sample(spec: RateSpec, n_chains: int, generator: torch.Generator) -> np.ndarray:
    with torch.no_grad():
        return WalkbackModel.from_spec(spec).double().prior.sample(n_chains, generator).numpy()


def simulate_spec(spec: RateSpec, backend: str, n_chains: int, n_steps: int, *,
                  noise: bool = True, target: str | None = None,
                  recurrence: str = "synapses", seed: int = 0,
                  device: torch.device | str = "cpu",
                  initial: np.ndarray | None = None) -> np.ndarray:
    """Chains of a described circuit at ``T_1`` after the cool-down (or from ``initial``), by
    either backend.

    Parameters
    ----------
    spec : RateSpec
        The circuit description.
    backend : str
        ``torch`` (the batched sampler) or ``brian2`` (a key of :data:`biovw.backends.BACKENDS`).
    n_chains, n_steps : int
        Independent chains; transitions at ``T_1`` after the cool-down.
    noise : bool
        Draw each transition from the kernel; otherwise follow its mean (Gaussian: the mean;
        Bernoulli: the firing probabilities), which makes the chains deterministic.
    target : str or None
        Brian2 code-generation target (:data:`biovw.brian.TARGETS`) [default: numpy]; only
        with ``backend="brian2"``.
    recurrence : str
        How Brian2 computes the recurrent input (:data:`biovw.brian.RECURRENCES`).
    seed : int
        Seed of the initial states (drawn from p* by torch on the CPU for both backends and
        every device) and of the noise.
    device : torch.device or str
        Where the torch backend runs the chains (``cuda`` draws its noise on the GPU, so its
        noisy chains differ from the CPU's).
    initial : ndarray or None
        ``[C, D]`` states to start from at ``T_1``, with no cool-down (``n_chains`` is then
        ``C``).

    Returns
    -------
    ndarray
        States ``[n_chains, n_steps + 1, D]`` (float64), the first one right after the
        cool-down (or ``initial``), in the format ``biovw analyze --trajectory`` reads.

    Raises
    ------
    ConfigError
        For an unknown backend, target or recurrence, or a target not available here.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"--backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    if recurrence not in brian.RECURRENCES:
        raise ConfigError(f"--recurrence must be one of {', '.join(brian.RECURRENCES)}; "
                          f"got {recurrence!r}")
    generator = torch.Generator().manual_seed(seed)
    options = _options(backend, target, recurrence, device, generator)
    start = (_prior_sample(spec, n_chains, generator) if initial is None
             else np.asarray(initial, dtype=np.float64))
    return BACKENDS[backend].load()(spec, start, n_steps, noise=noise, cool_down=initial is None,
                                    seed=seed, **options)


def export_run(opened: OpenedRun, folder: str | Path) -> list[Path]:
    """Write a run's circuit description and a standalone Brian2 script into ``folder``.

    Returns
    -------
    list of Path
        The files written (see :func:`biovw.brian.write_export`).

    Raises
    ------
    ConfigError
        If the run holds no rate circuit or ``folder`` exists and is not empty.
    """
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ConfigError(f"--out: {folder} exists and is not an empty folder")
    return write_export(run_spec(opened), folder)
