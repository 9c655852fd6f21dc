"""Self-describing, atomically written training checkpoints.

A checkpoint is a ``torch.save`` file of plain containers and tensors only, so it loads with
``torch.load(weights_only=True)``: the resolved configuration, the iteration, model and optimizer
state, the random-number-generator states and the elapsed training time. It holds everything
needed to rebuild the model and continue training bit for bit. ``config_sha256`` fingerprints
the configuration, so a checkpoint whose configuration was changed after it was written is
refused, and ``finished`` says whether training ran to its end.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import torch

from biovw.runs.rundir import atomic_file

FORMAT = "biovw-checkpoint"
VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable or not a biovw checkpoint."""


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` atomically (temporary file in the same folder + rename),
    with the fingerprint of its ``config`` (:func:`config_fingerprint`)."""
    header = {"format": FORMAT, "version": VERSION,
              "config_sha256": config_fingerprint(payload["config"])}
    with atomic_file(Path(path), "wb", sync=True) as fh:
        torch.save({**header, **payload}, fh)


def config_fingerprint(config: dict[str, Any]) -> str:
    """Short SHA-256 of a resolved configuration (its plain-dict form, keys sorted): equal for
    equal configurations."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint safely (``weights_only=True``) and check its format tag, its parts and
    the fingerprint of its configuration.

    Raises
    ------
    CheckpointError
        One line: the file is missing, unreadable (corrupt, truncated, or holding objects other
        than tensors and plain containers, which are never loaded), not a biovw checkpoint, of
        another version, or its configuration does not match its fingerprint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: it holds objects other than "
                              "tensors and plain containers, which biovw never loads") from exc
    except Exception as exc:  # corrupt, truncated or foreign file
        raise CheckpointError(f"cannot read checkpoint {path}: the file is corrupt, truncated "
                              f"or not a torch file ({type(exc).__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a biovw checkpoint")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{path}: unsupported checkpoint version {payload.get('version')}")
    missing = [k for k in ("config", "step", "model") if k not in payload]
    if missing or not isinstance(payload["config"], dict):
        what = ", ".join(missing) or "config"
        raise CheckpointError(f"{path}: damaged checkpoint (missing {what})")
    recorded = payload.get("config_sha256")
    if recorded is not None and recorded != config_fingerprint(payload["config"]):
        raise CheckpointError(f"{path}: its configuration does not match the fingerprint "
                              "recorded with its weights (edited or damaged); refused")
    return payload
