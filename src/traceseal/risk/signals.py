"""The pure core of risk: what one scan of a code, and what is remembered of the code's
earlier scans, say about cloning and diversion. No database, no clock, no settings object.

Clone signals and their weights (points out of 100; the score is their sum, capped):

=================  ======  ==============================================================
signal             points  fires when
=================  ======  ==============================================================
many_devices       60      the code has been queried from ``device_limit`` distinct devices
impossible_travel  60      two placed scans are >= 100 km apart and the speed between them
                           exceeds ``max_speed_kmh``
unshipped_region   30      a repeat query comes from outside the expected territory
sequential_burst   30      the client is making first queries of consecutive codes in bulk
=================  ======  ==============================================================

Diversion evidence accumulates per code: an authenticated retail or distributor scan
outside the territory adds ``trade_weight``, a consumer scan from a device not seen on the
code before adds ``consumer_weight``. A code already judged a clone gathers none: its
out-of-territory scans are the copies', not the distributor's doing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from traceseal.geo.regions import distance_km, overlaps

__all__ = ["WEIGHTS", "Finding", "Memory", "Policy", "Sighting", "assess"]

WEIGHTS: dict[str, int] = {
    "many_devices": 60,
    "impossible_travel": 60,
    "unshipped_region": 30,
    "sequential_burst": 30,
}
#: Scans closer than this are never impossible travel: centroids are that imprecise.
MIN_TRAVEL_KM = 100.0
#: Devices remembered per code: more than any sane device limit needs.
DEVICE_MEMORY = 16
#: Speeds are computed over at least this long, so two scans in one second are not infinite.
_MIN_HOURS = 1 / 60


@dataclass(frozen=True, slots=True)
class Policy:
    threshold: int = 50
    device_limit: int = 5
    max_speed_kmh: float = 500.0
    diversion_threshold: int = 100
    trade_weight: int = 100
    consumer_weight: int = 50


@dataclass(frozen=True, slots=True)
class Sighting:
    """One scan of the code, as risk sees it."""

    at: datetime
    region: str | None = None
    #: A point for distances: the scan's coordinates, or its region's centroid when the
    #: region is a city or district (a province's centroid is too coarse to travel from).
    point: tuple[float, float] | None = None
    #: The first 8 hex digits of the device hash, or None for a client without a cookie.
    device: str | None = None
    #: An authenticated retail or distributor scan.
    trade: bool = False
    #: The code was queried before (its count is above 1).
    repeat: bool = False
    #: The client is in a burst of first queries of consecutive codes.
    burst: bool = False


@dataclass(frozen=True, slots=True)
class Memory:
    """What is kept of a code's earlier scans (risk.models.CodeRisk)."""

    devices: tuple[str, ...] = ()
    last_at: datetime | None = None
    last_point: tuple[float, float] | None = None
    last_region: str | None = None
    diversion: int = 0
    score: int = 0


@dataclass(frozen=True, slots=True)
class Finding:
    #: Clone signals that fired on this scan, strongest first.
    signals: tuple[str, ...]
    #: This scan's clone score (0-100).
    score: int
    #: The scan lies outside the expected territory.
    outside: bool
    #: This scan took the diversion evidence to the threshold (raise the alert once).
    diverted: bool
    #: This scan took the clone score to the threshold (raise the alert once).
    cloned: bool
    memory: Memory
    #: This scan's score reached the threshold: the answer is suspicious.
    suspicious: bool


def _outside(territory: tuple[str, ...] | None, region: str | None) -> bool:
    if not territory or not region:
        return False
    return not any(overlaps(entry, region) for entry in territory)


def assess(
    memory: Memory,
    sighting: Sighting,
    territory: tuple[str, ...] | None,
    policy: Policy,
) -> Finding:
    """Judge one scan; returns the signals, the score and what to remember.

    ``territory`` is the expected territory (None: no distributor was decided, so nothing
    is outside). The caller stores ``finding.memory`` and raises the alerts it flags.

    >>> from datetime import UTC, datetime, timedelta
    >>> t = datetime(2026, 11, 1, tzinfo=UTC)
    >>> beijing = Memory(last_at=t, last_point=(39.9, 116.4), last_region="110105")
    >>> shanghai = Sighting(t + timedelta(hours=1), "310101", (31.23, 121.47), repeat=True)
    >>> assess(beijing, shanghai, ("110000",), Policy()).signals
    ('impossible_travel', 'unshipped_region')
    """
    devices = memory.devices
    new_device = sighting.device is not None and sighting.device not in devices
    if sighting.device is not None and new_device and len(devices) < DEVICE_MEMORY:
        devices = (*devices, sighting.device)
    fired: list[str] = []
    if len(devices) >= policy.device_limit:
        fired.append("many_devices")
    if sighting.point is not None and memory.last_point is not None and memory.last_at is not None:
        km = distance_km(*memory.last_point, *sighting.point)
        hours = max(abs((sighting.at - memory.last_at).total_seconds()) / 3600, _MIN_HOURS)
        if km >= MIN_TRAVEL_KM and km / hours > policy.max_speed_kmh:
            fired.append("impossible_travel")
    outside = _outside(territory, sighting.region)
    if outside and sighting.repeat:
        fired.append("unshipped_region")
    if sighting.burst:
        fired.append("sequential_burst")
    score = min(100, sum(WEIGHTS[name] for name in fired))
    over = score >= policy.threshold
    cloned = over and memory.score < policy.threshold

    diversion = memory.diversion
    diverted = False
    judged_clone = over or memory.score >= policy.threshold
    if outside and not judged_clone:
        if sighting.trade:
            diversion += policy.trade_weight
        elif new_device or sighting.device is None:
            diversion += policy.consumer_weight
        diverted = (
            diversion >= policy.diversion_threshold
            and memory.diversion < policy.diversion_threshold
        )

    remembered = Memory(
        devices=devices,
        last_at=sighting.at if sighting.point is not None else memory.last_at,
        last_point=sighting.point if sighting.point is not None else memory.last_point,
        last_region=sighting.region if sighting.point is not None else memory.last_region,
        diversion=diversion,
        score=max(memory.score, score),
    )
    fired.sort(key=lambda name: -WEIGHTS[name])
    return Finding(tuple(fired), score, outside, diverted, cloned, remembered, over)
