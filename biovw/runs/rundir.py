"""Layout of a run directory and atomic writes into it.

::

    RUN_DIR/
        config.yaml          resolved configuration
        metrics.jsonl        one JSON object per logged training iteration
        checkpoints/latest.pt, previous.pt (the one latest.pt replaced)
        samples/             samples_step{N}.npy (N = extra steps past the cool-down)
        figures/             PNG figures
        eval.json            held-out likelihood and sample quality
        summary.json         final numbers of the run
        tensorboard/         TensorBoard event files (with ``train.tensorboard: true``)
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from biovw.config import Config, ConfigError, config_yaml

LOCK_NAME = ".lock"
"""The run directory's writer lock file (:meth:`RunDir.writing`)."""


class RunBusy(ConfigError):
    """Another process is writing into the run directory."""


def _describe(record: str) -> str:
    try:
        held = json.loads(record)
        return f"pid {held['pid']} on {held['host']}, biovw {held['command']}"
    except (ValueError, KeyError, TypeError):
        return "an unreadable record"


def _rewrite(fh: IO[str], text: str) -> None:
    """Replace the contents of the (locked) lock file by ``text``."""
    fh.seek(0)
    fh.truncate()
    fh.write(text)
    fh.flush()


def _holder(fh: IO[str]) -> str:
    fh.seek(0)
    return _describe(fh.read().strip())


class RunDir:
    """Paths and writers of one run directory.

    Parameters
    ----------
    root : str or Path
        The run directory.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoints" / "latest.pt"

    @property
    def previous_checkpoint(self) -> Path:
        """The checkpoint ``latest.pt`` replaced: where resuming falls back to."""
        return self.root / "checkpoints" / "previous.pt"

    @property
    def last_good_checkpoint(self) -> Path:
        return self.root / "checkpoints" / "last_good.pt"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def eval(self) -> Path:
        return self.root / "eval.json"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def tensorboard(self) -> Path:
        """TensorBoard event files (``train.tensorboard: true``)."""
        return self.root / "tensorboard"

    @property
    def loglik_examples(self) -> Path:
        """Per-example log-likelihood estimates (npz: ``<split>_loglik``, ``<split>_bound``)."""
        return self.root / "loglik_examples.npz"

    def make(self) -> None:
        """Create the directory tree."""
        for sub in (self.root, self.samples, self.figures, self.checkpoint.parent):
            sub.mkdir(parents=True, exist_ok=True)

    def write_config(self, cfg: Config) -> None:
        """Write the resolved configuration as config.yaml, atomically."""
        write_text_atomic(self.config, config_yaml(cfg))

    @property
    def has_checkpoint(self) -> bool:
        """Whether training wrote a checkpoint (latest, previous or last good) here."""
        return any(p.is_file() for p in (self.checkpoint, self.previous_checkpoint,
                                          self.last_good_checkpoint))

    @property
    def lock_file(self) -> Path:
        """The file whose lock marks the run's one writer (:meth:`writing`)."""
        return self.root / LOCK_NAME

    def is_empty(self) -> bool:
        """Whether the directory holds nothing but (perhaps) its lock file."""
        return not self.root.exists() or all(p.name == LOCK_NAME for p in self.root.iterdir())

    @contextmanager
    def writing(self, command: str, warn=None) -> Iterator[None]:
        """Hold the run's writer lock while the block runs (creating the directory).

        The lock is an exclusive ``flock`` on ``.lock`` in the run directory, released by the
        kernel when the holder exits in any way; the file records the holder's pid, host and
        command. A second writer is refused; a record left by a holder that died (its pid no
        longer runs on this host) is taken over, and ``warn`` is called with a line saying so.

        A directory the lock created is removed again when the block raises before anything
        but the lock file was written.

        Raises
        ------
        RunBusy
            When another process holds the lock: the message names its pid, host and command.
        """
        created = not self.root.exists()
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            with self._locked(command, warn):
                yield
        except RunBusy:
            raise                 # the holder's directory: never removed by a refused writer
        except BaseException:
            if created and self.root.exists() and self.is_empty():
                shutil.rmtree(self.root, ignore_errors=True)  # a refusal leaves nothing behind
            raise

    @contextmanager
    def _locked(self, command: str, warn) -> Iterator[None]:
        with open(self.lock_file, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise RunBusy(f"{self.root} is in use: {_holder(fh)}; wait for it to finish "
                              f"(readers such as biovw sample may run meanwhile)") from None
            fh.seek(0)
            left = fh.read().strip()
            if left and warn is not None:
                warn(f"warning: taking over the run directory {self.root} from a process that "
                     f"stopped without releasing it ({_describe(left)})")
            _rewrite(fh, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                     "command": command}))
            try:
                yield
            finally:
                if self.lock_file.exists():  # a failed start removes its directory
                    _rewrite(fh, "")

    @contextmanager
    def fresh_start(self) -> Iterator[None]:
        """Create the directory tree of a run that starts from nothing. If the block raises
        before a checkpoint was written and the directory did not exist or was empty, remove
        what it wrote (and the directory it created): a failed start leaves nothing behind."""
        was_new = self.is_empty()
        existed = self.root.exists()
        self.make()
        try:
            yield
        except BaseException:
            if was_new and not self.has_checkpoint:
                shutil.rmtree(self.root, ignore_errors=True)
                if existed:
                    self.root.mkdir(parents=True, exist_ok=True)
            raise

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one JSON line to metrics.jsonl (non-finite numbers become null)."""
        with self.metrics.open("a") as fh:
            fh.write(json.dumps(finite_json(record), allow_nan=False) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        """All records of metrics.jsonl (an empty list if there is none)."""
        if not self.metrics.is_file():
            return []
        return [json.loads(line) for line in self.metrics.read_text().splitlines() if line]

    def truncate_metrics(self, after_step: int) -> None:
        """Drop records beyond ``after_step`` (used when a killed run resumes)."""
        kept = [r for r in self.read_metrics() if r["step"] <= after_step]
        write_text_atomic(self.metrics, "".join(json.dumps(finite_json(r), allow_nan=False) + "\n"
                                                for r in kept))

    def write_json(self, path: Path, data: dict[str, Any]) -> None:
        """Write ``data`` as indented, strict JSON (non-finite numbers become null),
        atomically."""
        write_text_atomic(path, json.dumps(finite_json(data), indent=2, allow_nan=False) + "\n")

    def write_samples(self, snapshots: dict[int, Any]) -> list[Path]:
        """Save each snapshot as samples/samples_step{N}.npy."""
        paths = []
        for extra, values in snapshots.items():
            path = self.samples / f"samples_step{extra}.npy"
            save_npy_atomic(path, np.asarray(values))
            paths.append(path)
        return paths


    def write_arrays(self, path: Path, arrays: dict[str, Any]) -> None:
        """Save named arrays as one uncompressed .npz, atomically."""
        save_npz_atomic(path, {k: np.asarray(v) for k, v in arrays.items()})


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file, loaded without pickle.

    Raises
    ------
    ValueError
        If the file cannot be read as an .npz of plain arrays (the message names it).
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{path}: cannot read arrays ({exc})") from exc


def finite_json(value: Any) -> Any:
    """``value`` with every NaN or infinite float (also inside containers and numpy scalars)
    replaced by None, so that it serialises as strict JSON."""
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _umask_mode() -> int:
    """The permissions a newly created file gets under the process's umask (0666 & ~umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_file(path: Path, mode: str = "w", *, sync: bool = False) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing and rename it onto ``path`` when the
    block ends without an error (the temporary file is removed otherwise).

    The file gets the permissions any new file gets under the user's umask (``mkstemp`` alone
    would leave it readable by its owner only). With ``sync`` the data reach the disk before
    the rename.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    with atomic_file(path) as fh:
        fh.write(text)


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    """Save ``array`` as .npy through a temporary file and a rename."""
    with atomic_file(path, "wb") as fh:
        np.save(fh, array)


def save_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Save ``arrays`` as an uncompressed .npz through a temporary file and a rename."""
    with atomic_file(path, "wb") as fh:
        np.savez(fh, **arrays)

