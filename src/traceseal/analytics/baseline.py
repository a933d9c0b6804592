"""How far a week's figure lies from its own recent past: a robust z-score. Pure.

A hot spot (docs/analytics.md) is a region and product whose figure this week is far from
the same figure over the weeks before. The mean and standard deviation would let one past
burst hide the next, so the baseline is the median, and the spread the median absolute
deviation (MAD) scaled by 1.4826, which makes it estimate the standard deviation of normal
data (Rousseeuw & Croux 1993; the NIST/SEMATECH handbook's "modified z-score" uses 0.6745,
its inverse).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

__all__ = ["MAD_SCALE", "Deviation", "deviation"]

#: 1 / Φ⁻¹(3/4): the MAD of normal data times this is its standard deviation.
MAD_SCALE = 1.4826


@dataclass(frozen=True, slots=True)
class Deviation:
    """A value against its baseline: the baseline's median and spread, and the z-score."""

    value: float
    median: float
    spread: float
    z: float


def deviation(value: float, history: Sequence[float], *, floor: float) -> Deviation | None:
    """``value`` against ``history`` (the weeks before, any order); None with fewer than
    three weeks of history, which is no baseline to speak of.

    ``floor`` is the smallest spread believed: a figure that never moved (MAD 0) would
    otherwise make any change infinitely surprising. The caller picks it in the figure's
    unit (e.g. one percentage point for a rate).

    >>> d = deviation(0.30, [0.02, 0.03, 0.02, 0.04, 0.03, 0.02, 0.03, 0.02], floor=0.01)
    >>> round(d.median, 3), round(d.spread, 4), round(d.z, 1)
    (0.025, 0.01, 27.5)
    >>> deviation(5.0, [1.0, 2.0], floor=1.0) is None
    True
    """
    if len(history) < 3:
        return None
    centre = median(history)
    spread = max(MAD_SCALE * median(abs(x - centre) for x in history), floor)
    return Deviation(value, centre, spread, (value - centre) / spread)
