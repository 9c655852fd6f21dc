"""How long a recording must be to detect a given entropy production.

From a pilot estimate with standard error ``se`` over ``n`` transitions, and a standard error
that shrinks as ``1 / sqrt(length)`` (true of every estimator here once pairs or currents are
resolved; ``biovw epbench`` checks the prediction against measured power), a one-sided test
at level ``alpha`` detects entropy production ``sigma`` with power ``1 - beta`` once

    sigma / se(length) >= z_{1-alpha} + z_{1-beta},  i.e.
    length = n * ((z_{1-alpha} + z_{1-beta}) * se / sigma)^2.

For the TUR bound, which is quadratic in its test statistic (the held-out mean current), the
statistic's own ``z`` (held-out mean over its batch-means standard error) replaces
``sigma / se``.

With no entropy production detected in the pilot (``value <= 0``), the length is given for the
upper end of its interval, the largest value the pilot cannot exclude.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from biovw.analysis.record import EntropyEstimate

__all__ = ["SampleSize", "duration_text", "required_length"]


@dataclass(frozen=True)
class SampleSize:
    """Result of :func:`required_length`.

    Attributes
    ----------
    transitions : float
        Transitions needed (``inf`` when the target is not positive).
    target : float
        Entropy production (nats/step) the length is sized for.
    based_on : str
        ``"estimate"`` or ``"upper end of the interval"``.
    power, alpha : float
    pilot_transitions : int
    seconds : float or None
        ``transitions * dt`` when the bin width is known.
    message : str
        One line for the user.
    """

    transitions: float
    target: float
    based_on: str
    power: float
    alpha: float
    pilot_transitions: int
    seconds: float | None
    message: str

    def to_dict(self) -> dict:
        """Plain-type summary."""
        return {"transitions": self.transitions, "target": self.target,
                "based_on": self.based_on, "power": self.power, "alpha": self.alpha,
                "pilot_transitions": self.pilot_transitions, "seconds": self.seconds,
                "message": self.message}


def required_length(estimate: EntropyEstimate, *, power: float = 0.8,
                    alpha: float = 0.05) -> SampleSize:
    """Recording length that detects the pilot's entropy production with probability
    ``power`` in a one-sided test at level ``alpha``.

    Parameters
    ----------
    estimate : EntropyEstimate
        Pilot estimate (its ``se`` and ``n_transitions``).
    power, alpha : float

    Returns
    -------
    SampleSize
    """
    if not (0 < power < 1 and 0 < alpha < 1):
        raise ValueError("power and alpha must lie in (0, 1)")
    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)
    n = estimate.n_transitions
    se = estimate.se
    if estimate.value > 0:
        target, based_on = estimate.value, "estimate"
    else:
        target, based_on = estimate.ci_high, "upper end of the interval"
    # signal-to-noise of the pilot's test; an estimator whose value is quadratic in its test
    # statistic (the TUR bound) reports the statistic's own z in ``details``
    z_obs = estimate.details.get("z") if based_on == "estimate" else None
    if z_obs is None or not z_obs > 0:
        z_obs = target / se if se > 0 and math.isfinite(se) else math.nan
    if not (target > 0 and z_obs > 0):
        transitions = math.inf
    else:
        transitions = float(n * (z / z_obs) ** 2)
    seconds = None if estimate.dt is None or not math.isfinite(transitions) else (
        transitions * estimate.dt)
    if not math.isfinite(transitions):
        message = (f"{estimate.method}: the pilot ({n} transitions) bounds the entropy "
                   "production to zero within its interval; no length can be sized from it")
    else:
        length = f"{transitions:,.0f} transitions"
        if seconds is not None:
            length += f" ({duration_text(seconds)})"
        message = (f"{estimate.method}: detecting {target:.3g} nats/step ({based_on}) at "
                   f"{power:.0%} power, one-sided alpha {alpha}, needs about {length}; the "
                   f"pilot has {n:,}")
    return SampleSize(transitions, float(target), based_on, power, alpha, int(n), seconds,
                      message)


def duration_text(seconds: float) -> str:
    """``seconds`` in words a reader takes in at once: ``42 s``, ``3.5 min``, ``7.2 h``,
    ``12 days`` or ``3.2e+07 years``."""
    for unit, size, below in (("s", 1, 120), ("min", 60, 7200), ("h", 3600, 3 * 86400),
                              ("days", 86400, 730 * 86400)):
        if seconds < below:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds / (365.25 * 86400):.3g} years"
