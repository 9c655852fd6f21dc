"""Symmetric Boltzmann baselines: RBMs trained with CD/PCD, their exact and AIS partition
functions and log-likelihoods, a timing comparison with scikit-learn, and the equilibrium
circuit (exact log Z, samplers with exact detailed balance)."""

from biovw.baselines.equilibrium import (
    SAMPLERS,
    EquilibriumCircuit,
    langevin_step,
    run_sampler,
    tune_step_size,
)
from biovw.baselines.partition import (
    LikelihoodResult,
    PartitionEstimate,
    ais_log_partition,
    beta_schedule,
    exact_log_partition,
    log_likelihood,
    paper_betas,
    raise_log_likelihood,
    reverse_ais_log_partition,
    sample_exact,
)
from biovw.baselines.rbm import BernoulliRBM, GaussianBernoulliRBM
from biovw.baselines.training import (
    RBM_TRAINING,
    RBMHistory,
    RBMTraining,
    fit_rbm,
    pseudo_log_likelihood,
)

__all__ = [
    "SAMPLERS", "EquilibriumCircuit", "langevin_step", "run_sampler", "tune_step_size",
    "BernoulliRBM", "GaussianBernoulliRBM", "LikelihoodResult", "PartitionEstimate",
    "RBM_TRAINING", "RBMHistory", "RBMTraining", "ais_log_partition", "beta_schedule",
    "exact_log_partition", "fit_rbm",
    "log_likelihood", "paper_betas", "pseudo_log_likelihood", "raise_log_likelihood",
    "reverse_ais_log_partition",
    "sample_exact", "time_against_sklearn",
]


def __getattr__(name: str):
    # scikit-learn takes about half a second to import; only the timing comparison needs it
    if name == "time_against_sklearn":
        from biovw.baselines.compare_sklearn import time_against_sklearn
        return time_against_sklearn
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
