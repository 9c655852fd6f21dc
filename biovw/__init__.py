"""biovw: biologically plausible circuits learned as transition operators with Variational
Walkback, and the non-equilibrium analysis of what they learn."""

__version__ = "0.1.0"
