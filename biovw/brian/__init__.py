"""Brian2 backend: a trained rate circuit's description run as a Brian2 network.

Imports the circuit description (:mod:`biovw.spec`), numpy and brian2 only.
:func:`simulate` runs chains of the transition operator on a code-generation target
(:data:`TARGETS`) with the recurrent input computed as :data:`RECURRENCES` says;
:func:`write_export` writes a description with a standalone Brian2 script beside it.
"""

from biovw.brian.export import write_export
from biovw.brian.network import (
    RATE_FUNCTIONS,
    RECURRENCES,
    TARGETS,
    RateNetwork,
    Schedule,
    device,
    schedule,
    seconds_per_transition,
    simulate,
    unavailable_targets,
)

__all__ = ["RATE_FUNCTIONS", "RECURRENCES", "TARGETS", "RateNetwork", "Schedule", "device",
           "schedule", "seconds_per_transition", "simulate", "unavailable_targets", "write_export"]
