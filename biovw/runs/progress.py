"""Progress of long work: a bar on a terminal, plain lines in a log, or nothing.

``progress=None`` (the command line's default) shows a tqdm bar when stderr is a terminal and
otherwise writes one line to stderr every ``every`` units and one per phase, so that a batch job,
``nohup`` or redirected output still shows where a run is. ``True`` forces the bar, ``False``
silences both.
"""

from __future__ import annotations

import sys
import time

from tqdm.auto import tqdm


def progress_mode(progress: bool | None) -> str:
    """``"bar"``, ``"log"`` or ``"off"`` for a ``progress`` setting (see the module)."""
    if progress is None:
        return "bar" if sys.stderr.isatty() else "log"
    return "bar" if progress else "off"


class Progress:
    """One phase of work of ``total`` units.

    Parameters
    ----------
    desc : str
        Name of the phase (``train``, ``evaluate``, ...), the prefix of every line.
    total : int
    progress : bool or None
        See :func:`progress_mode`.
    every : int or None
        In log mode, write a line each time this many units are completed (None: only the
        phase lines of :meth:`line`).
    unit : str
        What a unit is called in the lines.
    initial : int
        Units already done (a resumed run).
    """

    def __init__(self, desc: str, total: int, progress: bool | None, *, every: int | None = None,
                 unit: str = "iteration", initial: int = 0):
        self.desc, self.total, self.unit = desc, total, unit
        self.mode = progress_mode(progress)
        self.every = every
        self.done = initial
        self.info: dict[str, str] = {}
        self._started = time.perf_counter()
        self._initial = initial
        self._bar = tqdm(total=total, initial=initial, desc=desc, unit="it", dynamic_ncols=True,
                         disable=self.mode != "bar")

    def update(self, n: int = 1, **info: str) -> None:
        """``n`` more units done; ``info`` (e.g. ``loss="1.23"``) is shown with the next line
        or on the bar."""
        before = self.done
        self.done += n
        if info:
            self.info.update(info)
            self._bar.set_postfix(self.info, refresh=False)
        self._bar.update(n)
        if self.mode == "log" and self.every and (self.done // self.every > before // self.every
                                                  or self.done == self.total):
            rate = (time.perf_counter() - self._started) / max(1, self.done - self._initial)
            extra = "".join(f", {k} {v}" for k, v in self.info.items())
            self.line(f"{self.unit} {self.done}/{self.total}{extra} ({rate:.3g} s/{self.unit})")

    def line(self, text: str) -> None:
        """Write ``desc: text`` to stderr in log mode (a phase starting or ending)."""
        if self.mode == "log":
            print(f"{self.desc}: {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Close the bar."""
        self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
