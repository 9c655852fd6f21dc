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
    DiscreteEntropyProduction,
    Discretization,
    discretize,
    entropy_production_coarse,
    entropy_production_discrete,
)
from biovw.analysis.enumerate import binary_states, transition_matrix_binary
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

__all__ = [
    "ConnectivityReport", "CurrentField", "DiscreteEntropyProduction", "Discretization",
    "ExactEntropyProduction", "KernelEntropyProduction", "MarkovKernel", "asymmetry_index",
    "binary_states", "connectivity_report", "discretize", "ei_structure",
    "entropy_production_coarse", "entropy_production_discrete", "entropy_production_exact",
    "entropy_production_kernel", "entropy_production_recorded", "motif_census", "pca_project",
    "probability_current_grid", "reciprocity", "simulate", "stationary_distribution",
    "transition_matrix_binary",
]
