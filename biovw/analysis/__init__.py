"""Non-equilibrium analysis of stationary Markov chains: entropy production and currents."""

from biovw.analysis.connectivity import (
    ConnectivityReport,
    asymmetry_index,
    connectivity_report,
    ei_structure,
    motif_census,
    reciprocity,
)
from biovw.analysis.currents import CurrentField, pca_project, probability_current_grid
from biovw.analysis.discrete import (
    ESTIMATOR_DEFAULTS,
    DiscreteEntropyProduction,
    Discretization,
    EstimatorSettings,
    discretize,
    entropy_production_coarse,
    entropy_production_discrete,
)
from biovw.analysis.enumerate import binary_states, transition_matrix_binary
from biovw.analysis.estimators import ESTIMATORS, estimate_entropy_production
from biovw.analysis.exact import (
    ExactEntropyProduction,
    entropy_production_exact,
    stationary_distribution,
)
from biovw.analysis.kernel import (
    KernelEntropyProduction,
    MarkovKernel,
    entropy_production_kernel,
    entropy_production_recorded,
    simulate,
)
from biovw.analysis.mixing import (
    Mixing,
    Switching,
    integrated_autocorrelation_time,
    mixing_diagnostics,
    split_rhat,
    switching_rate,
)
from biovw.analysis.power import SampleSize, required_length
from biovw.analysis.record import EntropyEstimate
from biovw.analysis.states import entropy_production_hierarchical, hierarchical_kmeans
from biovw.analysis.surrogates import SurrogateTest, surrogate_test
from biovw.analysis.tur import entropy_production_tur
from biovw.analysis.var_model import entropy_production_var

__all__ = [
    "ESTIMATOR_DEFAULTS", "EstimatorSettings",
    "ConnectivityReport", "CurrentField", "DiscreteEntropyProduction", "Discretization",
    "ESTIMATORS", "EntropyEstimate", "ExactEntropyProduction", "KernelEntropyProduction",
    "MarkovKernel", "Mixing", "SampleSize", "SurrogateTest", "Switching", "asymmetry_index",
    "binary_states", "connectivity_report", "discretize", "ei_structure",
    "entropy_production_coarse", "entropy_production_discrete", "entropy_production_exact",
    "entropy_production_hierarchical", "entropy_production_kernel",
    "entropy_production_recorded", "entropy_production_tur", "entropy_production_var",
    "estimate_entropy_production", "hierarchical_kmeans", "integrated_autocorrelation_time",
    "mixing_diagnostics", "motif_census", "pca_project", "probability_current_grid",
    "reciprocity", "required_length", "simulate", "split_rhat", "stationary_distribution",
    "surrogate_test", "switching_rate", "transition_matrix_binary",
]
