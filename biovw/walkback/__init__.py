"""Variational Walkback: operators, prior, objective, sampling and likelihood estimates."""

from biovw.walkback.estimates import (
    LikelihoodEstimate,
    effective_sample_size,
    estimate_log_likelihood,
    importance_estimates,
    trajectory_ladder,
)
from biovw.walkback.kernel import StationaryKernel
from biovw.walkback.model import WalkbackModel, build_model, temperature_schedule
from biovw.walkback.objective import Trajectory, heat, log_weights, walkback_log_prob
from biovw.walkback.operators import BernoulliOperator, GaussianOperator
from biovw.walkback.prior import BernoulliPrior, GaussianPrior
from biovw.walkback.sampling import sample_chain

__all__ = [
    "BernoulliOperator", "BernoulliPrior", "GaussianOperator", "GaussianPrior",
    "LikelihoodEstimate", "StationaryKernel", "Trajectory", "WalkbackModel", "build_model",
    "effective_sample_size", "estimate_log_likelihood", "importance_estimates",
    "trajectory_ladder", "heat", "log_weights", "sample_chain", "temperature_schedule",
    "walkback_log_prob",
]
