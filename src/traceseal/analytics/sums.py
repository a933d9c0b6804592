"""Answering a grouped count from the smallest table that can: month and day sums for the
folded past, the hourly rollups for the rest.

A question names the columns it groups by and filters on. Its days are cut into
segments: whole months already folded (month rows), other folded days (day rows), and
days not folded yet or made stale by a late scan (the rollups). Each segment is asked
from the smallest sum table holding every column the question needs (analytics/fold.py's
order), or from the rollups if none does, and the rows of all segments are added up by
their key. The answer is the same whichever table serves a day (tested against the
rollups alone); only the number of rows read differs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from traceseal.analytics.fold import SUM_TABLES, folded_through, month_end, runs, stale_days
from traceseal.verify.models import ScanRollup

__all__ = ["Segment", "plan", "summed"]


@dataclass(frozen=True, slots=True)
class Segment:
    """Days asked from one table: ``span`` rows ('day', 'month'; None: the rollups) whose
    day lies between ``first`` and ``last``, or is one of ``days``."""

    table: Any
    span: str | None
    first: date | None = None
    last: date | None = None
    days: tuple[date, ...] = ()

    def where(self, query: Select[Any]) -> Select[Any]:
        table = self.table
        if self.span is not None:
            query = query.where(table.span == self.span)
        if self.days:
            return query.where(table.day.in_(self.days))
        return query.where(table.day.between(self.first, self.last))


def _table_for(columns: set[str]) -> Any | None:
    for table in SUM_TABLES:
        if columns <= set(table.__table__.c.keys()):
            return table
    return None


def plan(
    session: Session, start: date, end: date, columns: set[str], *, daily: bool
) -> list[Segment]:
    """The segments that answer days ``start``..``end`` for a question needing
    ``columns``; ``daily`` if it groups by day (month rows cannot answer it)."""
    table = _table_for(columns | {"day"})
    if table is None:
        return [Segment(ScanRollup, None, start, end)]
    connection = session.connection()
    through = folded_through(connection)
    if through is None or through < start:
        return [Segment(ScanRollup, None, start, end)]
    stale = sorted(d for d in stale_days(connection) if start <= d <= min(end, through))
    segments = []
    if end > through:
        segments.append(Segment(ScanRollup, None, through + timedelta(days=1), end))
    if stale:
        segments.append(Segment(ScanRollup, None, days=tuple(stale)))
    folded = [d for d in _days(start, min(end, through)) if d not in set(stale)]
    months = set() if daily else _whole_months(folded, stale)
    if months:
        segments.append(Segment(table, "month", days=tuple(sorted(months))))
    rest = [d for d in folded if d.replace(day=1) not in months]
    for first, last in runs(rest):
        segments.append(Segment(table, "day", first, last))
    return segments


def summed(
    session: Session,
    segments: Iterable[Segment],
    build: Callable[[Any], Select[Any]],
    width: int,
) -> dict[tuple[Any, ...], list[int]]:
    """Each segment's rows of ``build(table)`` (grouped by its first ``width`` columns,
    sums after them), added up by key."""
    totals: dict[tuple[Any, ...], list[int]] = {}
    for segment in segments:
        for row in session.execute(segment.where(build(segment.table))):
            key = tuple(_plain(v) for v in row[:width])
            values = [int(v or 0) for v in row[width:]]
            found = totals.get(key)
            if found is None:
                totals[key] = values
            else:
                for i, value in enumerate(values):
                    found[i] += value
    return totals


def _plain(value: Any) -> Any:
    """Days as dates whichever table and engine they came from."""
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _whole_months(days: list[date], stale: list[date]) -> set[date]:
    """First days of the months all of whose days are in ``days`` (none of them stale)."""
    present = set(days)
    spoiled = {d.replace(day=1) for d in stale}
    months = set()
    for day in days:
        month = day.replace(day=1)
        if month in months or month in spoiled or month != day:
            continue
        if all(d in present for d in _days(month, month_end(month))):
            months.add(month)
    return months
