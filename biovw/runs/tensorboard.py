"""TensorBoard event files of a run (``train.tensorboard: true``), in ``RUN_DIR/tensorboard``.

At every logged iteration the quantities of metrics.jsonl are written as scalars: the loss on
the training batch and on the held-out batch, the bound (its negative), the walk-back NLL, the
learning rate, the number of temperature steps and the alignment angles. After the evaluation
the run's figures (samples against data, the chain over time, the training curves) are written
as images at the last iteration. A resumed run continues the same directory: its writer purges
the events a killed process logged after the checkpoint it resumes from, so every step appears
once. ``tensorboard`` (the ``tensorboard`` extra) is imported only when asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from biovw.config import Config, ConfigError
from biovw.runs.rundir import RunDir

MISSING = ("train.tensorboard is true but the tensorboard package is not installed: install it "
           "with pip install -e '.[tensorboard]' or set train.tensorboard: false")

_TAGS = {
    "loss": "loss/train",
    "heldout_loss": "loss/heldout",
    "walkback_nll": "loss/walkback_nll",
    "lr": "train/lr",
    "num_steps": "train/num_steps",
    "ep": "entropy_production/value",
    "ep_ci_low": "entropy_production/ci_low",
    "ep_ci_high": "entropy_production/ci_high",
}
"""metrics.jsonl key -> TensorBoard tag; ``alignment*`` keys go to ``alignment/<key>``."""

_BOUNDS = {"loss": "bound/train", "heldout_loss": "bound/heldout"}
"""The bound (nats/example) is the negative of these losses."""


def summary_writer_class() -> type:
    """``torch.utils.tensorboard.SummaryWriter``; a :class:`ConfigError` naming the extra when
    the tensorboard package is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise ConfigError(MISSING) from exc
    return SummaryWriter


def check_tensorboard(cfg: Config) -> None:
    """Raise :class:`ConfigError` before any work when ``cfg`` asks for TensorBoard and the
    package is missing."""
    if cfg.train.tensorboard:
        summary_writer_class()


def scalars(record: dict[str, Any]) -> dict[str, float]:
    """The TensorBoard scalars (tag -> value) of one metrics.jsonl record."""
    out = {}
    for key, value in record.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        if key in _TAGS:
            out[_TAGS[key]] = float(value)
        elif key.startswith("alignment"):
            out[f"alignment/{key}"] = float(value)
        if key in _BOUNDS:
            out[_BOUNDS[key]] = -float(value)
    return out


class TensorBoardLog:
    """Writes a run's logged quantities as TensorBoard scalars (a no-op when disabled).

    Parameters
    ----------
    writer : SummaryWriter or None
        None: nothing is written.
    """

    def __init__(self, writer: Any = None):
        self.writer = writer

    def log(self, step: int, record: dict[str, Any]) -> None:
        """Write the scalars of one metrics.jsonl ``record`` at iteration ``step``."""
        if self.writer is None:
            return
        for tag, value in scalars(record).items():
            self.writer.add_scalar(tag, value, step)
        self.writer.flush()


@contextmanager
def tensorboard_log(cfg: Config, run: RunDir, resume_step: int | None = None
                    ) -> Iterator[TensorBoardLog]:
    """A :class:`TensorBoardLog` for ``run`` while the block runs (closed after it).

    Parameters
    ----------
    cfg : Config
        Nothing is written unless ``cfg.train.tensorboard``.
    run : RunDir
    resume_step : int or None
        The iteration a resumed run continues from: events logged after it by an earlier
        process are purged.
    """
    if not cfg.train.tensorboard:
        yield TensorBoardLog()
        return
    writer_class = summary_writer_class()
    purge = None if resume_step is None else resume_step + 1
    writer = writer_class(log_dir=str(run.tensorboard), purge_step=purge)
    try:
        yield TensorBoardLog(writer)
    finally:
        writer.close()


def log_figures(cfg: Config, run: RunDir, step: int) -> None:
    """Write the PNG figures of ``run.figures`` as TensorBoard images (tag ``figures/<name>``)
    at iteration ``step``, when ``cfg.train.tensorboard``."""
    if not cfg.train.tensorboard:
        return
    import matplotlib.image

    writer = summary_writer_class()(log_dir=str(run.tensorboard))
    try:
        for path in sorted(run.figures.glob("*.png")):
            image = np.asarray(matplotlib.image.imread(path))
            if image.ndim == 2:
                image = image[:, :, None]
            writer.add_image(f"figures/{path.stem}", image[:, :, :3], step, dataformats="HWC")
    finally:
        writer.close()
