"""Figures (matplotlib/seaborn, written as PNG files), drawn by the command line and the
scripts in ``analysis/`` from what the library returns. Nothing else imports this package."""

import matplotlib

matplotlib.use("Agg")

from biovw.plots.comparison import comparison_figure  # noqa: E402
from biovw.plots.currents import arrow_scale, current_field, reliable_arrows  # noqa: E402
from biovw.plots.epbench import power_curves  # noqa: E402
from biovw.plots.fields import weight_fields  # noqa: E402
from biovw.plots.figure import close_all  # noqa: E402
from biovw.plots.samples import chain_over_time, evaluation_figures, samples_vs_data  # noqa: E402
from biovw.plots.stationarity import stationarity_curves  # noqa: E402
from biovw.plots.sweep import sweep_figure  # noqa: E402
from biovw.plots.training import alignment_curves, loss_curve, training_figures  # noqa: E402
from biovw.plots.walk import walk_figure  # noqa: E402

__all__ = [
    "alignment_curves", "arrow_scale", "chain_over_time", "close_all", "comparison_figure",
    "current_field",
    "evaluation_figures", "loss_curve", "power_curves", "reliable_arrows", "samples_vs_data",
    "stationarity_curves", "sweep_figure", "training_figures", "walk_figure", "weight_fields",
]
