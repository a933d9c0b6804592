"""Hot spots: a region and product whose week stands out against its own 8 weeks before.

Read from the scan rollups only (never the log). The week is the 7 days (China Standard
Time) ending on the day asked for; the baseline is the 8 weeks before it. For each province
and product, three figures are judged (docs/analytics.md, "Hot spots"):

- ``suspicious_rate``: suspicious answers per scan;
- ``repeat_rate``: consumers' repeat queries per scan (a copied label is queried again and
  again);
- ``not_found``: made-up codes in the brand's name (product 0: a code that was never issued
  has no product).

A figure is hot when its robust z-score (analytics/baseline.py) reaches the setting
``TRACESEAL_ANALYTICS_HOTSPOT_Z``; the rates are only judged on weeks with at least
``TRACESEAL_ANALYTICS_HOTSPOT_MIN_SCANS`` scans. Services take a session and never commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from traceseal.analytics.baseline import Deviation, deviation
from traceseal.analytics.service import Filters, check_viewer, narrowed, needs
from traceseal.analytics.sums import plan, summed
from traceseal.orgs.models import Organization
from traceseal.verify.models import Verdict

__all__ = ["BASELINE_WEEKS", "MEASURES", "HotSpot", "Week", "evidence_query", "hot_spots"]

#: Weeks before the judged one that make its baseline.
BASELINE_WEEKS = 8
#: The figures judged, and the smallest spread believed for each (analytics/baseline.py):
#: one percentage point for the rates, two codes for the not-found count.
MEASURES: dict[str, float] = {"suspicious_rate": 0.01, "repeat_rate": 0.01, "not_found": 2.0}


@dataclass(slots=True)
class Week:
    """One region and product's sums over one week."""

    scans: int = 0
    repeats: int = 0
    suspicious: int = 0
    not_found: int = 0

    def add(self, scans: int, repeats: int, suspicious: int, not_found: int) -> None:
        self.scans += scans
        self.repeats += repeats
        self.suspicious += suspicious
        self.not_found += not_found

    def figure(self, measure: str) -> float:
        if measure == "not_found":
            return float(self.not_found)
        part = self.suspicious if measure == "suspicious_rate" else self.repeats
        return part / self.scans if self.scans else 0.0


@dataclass(frozen=True, slots=True)
class HotSpot:
    """A province and product whose ``measure`` stood out in the week ending ``end``."""

    province: str
    product_id: int
    measure: str
    deviation: Deviation
    start: date
    end: date
    week: Week


def evidence_query(spot: HotSpot) -> dict[str, object]:
    """The query of ``GET /api/v1/analytics/scans`` that lists the scans behind ``spot``."""
    verdict = {"suspicious_rate": "suspicious", "not_found": "not_found"}.get(spot.measure)
    query: dict[str, object] = {"from": spot.start, "to": spot.end, "province": spot.province}
    if spot.product_id:
        query["product_id"] = spot.product_id
    if verdict:
        query["verdict"] = verdict
    return query


def hot_spots(
    session: Session,
    viewer: Organization,
    *,
    end: date,
    threshold: float,
    min_scans: int,
    product_id: int | None = None,
) -> list[HotSpot]:
    """Hot spots of the week ending ``end`` (CST, included), the most surprising first."""
    check_viewer(viewer)
    weeks = _weeks(session, viewer, end, product_id)
    start = end - timedelta(days=6)
    found = []
    for (province, product), series in weeks.items():
        current = series[0]
        history = [series[i] for i in range(1, BASELINE_WEEKS + 1) if series[i].scans]
        for measure, floor in MEASURES.items():
            if not _judged(measure, product, current, min_scans):
                continue
            past = [w.figure(measure) for w in history]
            found_deviation = deviation(current.figure(measure), past, floor=floor)
            if found_deviation is not None and found_deviation.z >= threshold:
                found.append(
                    HotSpot(province, product, measure, found_deviation, start, end, current)
                )
    found.sort(key=lambda spot: (-spot.deviation.z, spot.province, spot.product_id))
    return found


def _judged(measure: str, product: int, week: Week, min_scans: int) -> bool:
    """Rates on a product's week with enough scans; not-found counts on product 0 only."""
    if measure == "not_found":
        return product == 0 and week.not_found > 0
    return product != 0 and week.scans >= min_scans


def _weeks(
    session: Session, viewer: Organization, end: date, product_id: int | None
) -> dict[tuple[str, int], dict[int, Week]]:
    """Sums per province and product and week (0: the week ending ``end``; 1..8 before),
    asked one week at a time so each answer is a row per province and product."""

    def build(table: Any) -> Select[Any]:
        def of(verdict: Verdict) -> Any:
            return func.sum(case((table.verdict == verdict.value, table.scans), else_=0))

        keys = (table.province, table.product_id)
        query = (
            select(
                *keys,
                func.sum(table.scans),
                func.sum(table.repeats),
                of(Verdict.SUSPICIOUS),
                of(Verdict.NOT_FOUND),
            )
            .where(table.province != "")
            .group_by(*keys)
        )
        if product_id is not None:
            query = query.where(table.product_id.in_((product_id, 0)))
        return narrowed(query, table, viewer, Filters(end, end))

    weeks: dict[tuple[str, int], dict[int, Week]] = defaultdict(lambda: defaultdict(Week))
    for index in range(BASELINE_WEEKS + 1):
        last = end - timedelta(days=7 * index)
        first = last - timedelta(days=6)
        columns = needs(viewer, Filters(first, last), "province", "product_id", "verdict")
        segments = plan(session, first, last, columns, daily=False)
        for (province, product), sums in summed(session, segments, build, 2).items():
            weeks[(province, int(product))][index].add(*sums)
    return weeks
