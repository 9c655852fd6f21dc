"""The end of a run after training, the same for ``biovw train``, ``biovw resume`` and every
trial of a sweep: evaluate, draw the figures, write summary.json (and, with
``train.tensorboard``, the figures as TensorBoard images)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from biovw.config import Config
from biovw.data import DataSplits
from biovw.runs.evaluation import Evaluation
from biovw.runs.kinds import MODEL_KINDS
from biovw.runs.rundir import RunDir
from biovw.runs.summary import write_summary
from biovw.runs.tensorboard import log_figures

DrawFigures = Callable[[RunDir, Evaluation, str, dict], None]
"""``draw(run, evaluation, chain_steps, loss_curve)``: writes a run's figures into
``run.figures`` (the command line passes one built from :mod:`biovw.plots`; ``chain_steps``
is what the sampler's steps are called, ``loss_curve`` the keyword arguments of the training
figure, :meth:`biovw.runs.kinds.ModelKind.loss_curve`)."""


def finish_run(cfg: Config, run: RunDir, model: nn.Module, data: DataSplits, elapsed: float,
               seed: int, *, progress: bool | None = None,
               draw: DrawFigures | None = None) -> dict:
    """Evaluate a trained run, draw its figures and write its summary.json.

    Parameters
    ----------
    cfg, run, model, data
        The run as trained.
    elapsed : float
        Training seconds.
    seed : int
        Evaluation seed.
    progress : bool or None
        See :class:`biovw.runs.progress.Progress`.
    draw : callable or None
        Draws the figures (see :data:`DrawFigures`); None draws none.

    Returns
    -------
    dict
        The summary (summary.json's contents).
    """
    kind = MODEL_KINDS[cfg.model]
    evaluation = kind.evaluate(cfg, run, model, data, seed, progress=progress)
    if draw is not None:
        draw(run, evaluation, kind.chain_steps, kind.loss_curve(cfg))
    n_params = sum(p.numel() for p in model.parameters())
    summary = write_summary(cfg, run, evaluation.result, elapsed, n_params, model)
    log_figures(cfg, run, kind.iterations(cfg))
    return summary
