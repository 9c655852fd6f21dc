"""Self-describing, atomically written training checkpoints.

A checkpoint is a ``torch.save`` file of plain containers and tensors only, so it loads with
``torch.load(weights_only=True)``: the resolved configuration, the iteration, model and optimizer
state, the random-number-generator states and the elapsed training time. It holds everything
needed to rebuild the model and continue training bit for bit. ``config_sha256`` fingerprints
the configuration, so a checkpoint whose configuration was changed after it was written is
refused, and ``finished`` says whether training ran to its end.

A run keeps two: ``checkpoints/latest.pt`` and the one it replaced, ``checkpoints/previous.pt``
(:func:`save_run_checkpoint`). Neither is ever half-written (a temporary file and a rename), and
when the latest cannot be read (damaged on disk, truncated by a full disk or a copy) a resumed
run continues from the previous one (:func:`load_run_checkpoint`).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import torch

from biovw.runs.rundir import RunDir, atomic_file

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
        if "global" not in str(exc):  # bytes that are no pickle at all
            raise CheckpointError(f"cannot read checkpoint {path}: the file is corrupt, "
                                  "truncated or not a torch file") from exc
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


def save_run_checkpoint(run: RunDir, payload: dict[str, Any]) -> None:
    """Write ``run.checkpoint`` atomically, keeping the checkpoint it replaces as
    ``run.previous_checkpoint`` (a hard link, or a copy where links are not supported): at every
    moment both files are complete."""
    latest, previous = run.checkpoint, run.previous_checkpoint
    if latest.is_file():
        tmp = previous.with_name(f".{previous.name}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(latest, tmp)
        except OSError:
            shutil.copyfile(latest, tmp)
        os.replace(tmp, previous)
    save_checkpoint(latest, payload)


def load_run_checkpoint(run: RunDir, map_location: str | torch.device = "cpu", *,
                        fallback: bool = True) -> tuple[dict[str, Any], Path, str | None]:
    """A run's latest checkpoint or, when it cannot be loaded and ``fallback`` is set, the
    previous one.

    Returns
    -------
    payload : dict
    path : Path
        The file loaded.
    warning : str or None
        One line naming the unreadable latest checkpoint and the one used instead.

    Raises
    ------
    CheckpointError
        The latest checkpoint's error, when it cannot be loaded and there is no readable
        previous one (or ``fallback`` is off: the message then says that ``biovw resume``
        continues from the previous one, if there is one).
    """
    try:
        return load_checkpoint(run.checkpoint, map_location), run.checkpoint, None
    except CheckpointError as exc:
        previous = run.previous_checkpoint
        if not previous.is_file():
            raise
        if not fallback:
            raise CheckpointError(f"{exc} (biovw resume {run.root} continues from the previous "
                                  f"checkpoint {previous})") from exc
        try:
            payload = load_checkpoint(previous, map_location)
        except CheckpointError:
            raise exc from None
        warning = (f"warning: {exc}; continuing from the previous checkpoint {previous} "
                   f"(iteration {payload['step']})")
        return payload, previous, warning
