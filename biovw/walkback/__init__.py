"""Variational Walkback: operators, prior, objective, sampling and likelihood estimates."""

from biovw.walkback.estimates import (
    LikelihoodEstimate,
    effective_sample_size,
    estimate_log_likelihood,
    importance_estimates,
    ladder_verdict,
    trajectory_ladder,
)
from biovw.walkback.kernel import (
    StationaryKernel,
    chain_entropy_production,
    stationary_entropy_production,
)
from biovw.walkback.model import (
    OPERATORS,
    BatchShard,
    WalkbackModel,
    operator_and_prior,
    temperature_schedule,
)
from biovw.walkback.objective import Trajectory, heat, log_weights, walkback_log_prob
from biovw.walkback.operators import BernoulliOperator, GaussianOperator
from biovw.walkback.prior import BernoulliPrior, GaussianPrior
from biovw.walkback.sampling import (
    CHAIN,
    SAMPLERS,
    Sampler,
    cool_down,
    cooling_path,
    sample_chain,
    trajectories,
)

__all__ = [
    "CHAIN", "SAMPLERS", "BatchShard", "BernoulliOperator", "BernoulliPrior",
    "GaussianOperator", "GaussianPrior", "LikelihoodEstimate", "OPERATORS", "Sampler",
    "StationaryKernel", "Trajectory", "WalkbackModel",
    "chain_entropy_production", "cool_down", "cooling_path", "effective_sample_size",
    "estimate_log_likelihood", "heat", "importance_estimates", "ladder_verdict", "log_weights",
    "operator_and_prior",
    "sample_chain", "stationary_entropy_production", "temperature_schedule", "trajectories",
    "trajectory_ladder", "walkback_log_prob",
]
