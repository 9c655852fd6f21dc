"""Simulators that run a circuit description: the backend registry.

A backend takes a :class:`biovw.spec.RateSpec` and initial states and returns the chains'
states; each is a function with the signature of :func:`biovw.brian.simulate`::

    simulate(spec, initial, n_steps, *, noise, cool_down, seed, **options) -> ndarray

The registry, like the description, is read with the standard library alone: a backend's
module (and the package it needs, torch or brian2) is imported only when it is loaded.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Backend:
    """A simulator of circuit descriptions.

    Attributes
    ----------
    name : str
        The key in :data:`BACKENDS` (``biovw simulate --backend``).
    module, function : str
        Where the simulate function lives.
    package : str
        The third-party package it needs.
    options : tuple of str
        Keyword options it takes beyond the common ones.
    summary : str
        One line for the command line and the docs.
    """

    name: str
    module: str
    function: str
    package: str
    options: tuple[str, ...]
    summary: str

    def available(self) -> bool:
        """Whether the package it needs is installed."""
        return importlib.util.find_spec(self.package) is not None

    def load(self) -> Callable[..., np.ndarray]:
        """The simulate function (imports the backend)."""
        return getattr(importlib.import_module(self.module), self.function)


BACKENDS: dict[str, Backend] = {
    "torch": Backend("torch", "biovw.walkback.sampling", "simulate", "torch",
                     ("generator", "device"), "the batched torch sampler, on the CPU or CUDA"),
    "brian2": Backend("brian2", "biovw.brian.network", "simulate", "brian2",
                      ("target", "recurrence"),
                      "a Brian2 network, on a code-generation target"),
}
"""Backend name -> :class:`Backend`."""
