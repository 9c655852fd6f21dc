"""Non-equilibrium analysis of stationary Markov chains: entropy production and currents."""

from biovw.analysis.exact import (
    ExactEntropyProduction,
    entropy_production_exact,
    stationary_distribution,
)

__all__ = ["ExactEntropyProduction", "entropy_production_exact", "stationary_distribution"]
