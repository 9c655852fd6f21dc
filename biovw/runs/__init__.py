"""The composition root: the only package that reads a run configuration
(:class:`biovw.config.Config`) and run directories.

It builds what a configuration names from the registries (data sets, learning rules, circuits,
operators, model kinds), trains, evaluates, summarises, analyses, compares and benchmarks runs.
The core packages below it (``walkback``, ``circuits``, ``rules``, ``baselines``, ``analysis``)
take records and plain arguments.
"""

from biovw.runs.build import OpenedRun, build_run, load_run_data, open_run, resolve_device
from biovw.runs.checkpoint import CheckpointError
from biovw.runs.kinds import MODEL_KINDS, ModelKind
from biovw.runs.rundir import RunDir
from biovw.runs.train import TrainingDiverged
from biovw.runs.walkback_model import CIRCUITS, build_model

__all__ = [
    "CIRCUITS", "MODEL_KINDS", "CheckpointError", "ModelKind", "OpenedRun", "RunDir",
    "TrainingDiverged", "build_model", "build_run", "load_run_data", "open_run",
    "resolve_device",
]
