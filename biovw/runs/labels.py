"""What a state of a run is: the nearest mode of the mixture toys, or the class a linear
classifier fitted to the training split reads (digits, MNIST, Fashion-MNIST). Mixing
diagnostics count switches between these labels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from biovw.config import Config
from biovw.data import DataSplits, load_labels
from biovw.quality import LinearClassifier, fit_linear_classifier, nearest_mode


def class_readout(cfg: Config, data: DataSplits) -> LinearClassifier | None:
    """A linear classifier fitted to the training split's labels, or ``None`` when the data
    set has none (the toys, user files)."""
    d = cfg.data
    labels = load_labels(d.name, seed=cfg.seed, valid_fraction=d.valid_fraction,
                         test_fraction=d.test_fraction, path=d.path)
    if labels is None or labels[0].shape[0] != data.train.shape[0]:
        return None
    return fit_linear_classifier(data.train, labels[0])


@dataclass(frozen=True)
class StateLabels:
    """Labels of states ``[n, D]`` -> int64 ``[n]`` (``-1``: in no mode), and what they are."""

    label: Callable[[np.ndarray], np.ndarray]
    name: str

    def __call__(self, states: np.ndarray) -> np.ndarray:
        """Labels of states of any leading shape ``[..., D]``."""
        flat = np.asarray(states).reshape(-1, np.asarray(states).shape[-1])
        return self.label(flat).reshape(np.asarray(states).shape[:-1])


def state_labels(cfg: Config, data: DataSplits,
                 classifier: LinearClassifier | None = None) -> StateLabels | None:
    """Mode labels for data with known modes, class labels for labelled data, else ``None``."""
    if data.modes is not None:
        modes, radius = data.modes, cfg.eval.mode_radius

        def by_mode(x: np.ndarray) -> np.ndarray:
            return nearest_mode(torch.as_tensor(x), modes, radius=radius).numpy()

        return StateLabels(by_mode, f"mode (nearest, within {radius:g})")
    classifier = classifier or class_readout(cfg, data)
    if classifier is None:
        return None

    def by_class(x: np.ndarray) -> np.ndarray:
        return classifier.predict(torch.as_tensor(x)).cpu().numpy()

    return StateLabels(by_class, "class (linear classifier)")
