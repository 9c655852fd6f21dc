"""Stopping a training run cleanly on SIGINT (Ctrl-C) or SIGTERM (what a cluster sends at its
time limit).

While a training loop runs inside :func:`stop_requests`, either signal only records a request;
the loop finishes its current iteration, writes a checkpoint and raises
:class:`TrainingInterrupted`. A second Ctrl-C stops at once (``KeyboardInterrupt``). Outside a
training loop the handlers that were installed before apply.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(Exception):
    """Training stopped on a signal after writing a checkpoint at the end of an iteration.

    Attributes
    ----------
    signum : int
        The signal received (``signal.SIGINT`` or ``signal.SIGTERM``).
    step : int
        The iteration (or epoch) the checkpoint holds.
    checkpoint : Path
    """

    def __init__(self, signum: int, step: int, checkpoint: Path):
        self.signum, self.step, self.checkpoint = signum, step, checkpoint
        name = signal.Signals(signum).name
        super().__init__(f"stopped by {name} after iteration {step}; checkpoint written to "
                         f"{checkpoint}")


class StopRequest:
    """Whether a stop signal arrived (``signum`` is None until one does)."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __bool__(self) -> bool:
        return self.signum is not None


@contextmanager
def stop_requests() -> Iterator[StopRequest]:
    """Within the block, SIGINT and SIGTERM set the yielded :class:`StopRequest` instead of
    stopping the process; a second SIGINT raises ``KeyboardInterrupt``. The previous handlers
    are restored on exit. Outside the main thread, where handlers cannot be installed, the
    request never fires."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def record(signum: int, frame) -> None:
        if signum == signal.SIGINT and request.signum == signal.SIGINT:
            raise KeyboardInterrupt
        request.signum = signum

    previous = {s: signal.signal(s, record) for s in STOP_SIGNALS}
    try:
        yield request
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
