"""Folding the hourly rollups into the day and month sums (analytics/models.py).

A day is folded once it is over (China Standard Time), with a margin for verifications
still committing across midnight: each sum table's day rows are deleted and summed again
from ``scan_rollups`` in one statement, and a month's rows from its day rows once the
month is folded to its end. ``rollup_folds`` says how far; a late scan counted in a day
already over marks it in ``rollup_stale`` (verify.service._rolled), and the next fold
refolds it. Until then, readers take that day from the rollups (analytics/sums.py), so an
answer is never short of a committed scan.

One fold at a time: on PostgreSQL a transaction-scoped advisory lock (a second process
finds it taken and leaves the work to the first); SQLite has one writer anyway. The
caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Date, delete, func, insert, literal, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from traceseal.analytics.models import (
    CitySums,
    DeviceSketch,
    FoldState,
    HourSums,
    ProductSums,
    ProvinceSums,
    TotalSums,
)
from traceseal.analytics.sketches import fold_device_days, fold_device_month
from traceseal.db import unit_of_work, utcnow
from traceseal.geo.buckets import CHINA
from traceseal.verify.models import ScanRollup, StaleDay

__all__ = [
    "MARGIN",
    "SUM_TABLES",
    "Folded",
    "fold",
    "fold_job",
    "folded_through",
    "month_end",
    "reset",
    "runs",
    "stale_days",
]

#: The sum tables, smallest first (analytics/sums.py picks the first that can answer).
SUM_TABLES: tuple[Any, ...] = (TotalSums, ProductSums, ProvinceSums, CitySums, HourSums)
#: How long after midnight a day is left open: no verification transaction lasts this long.
MARGIN = timedelta(minutes=10)
#: Days folded by one call at most, so that catching up on a year is many short
#: transactions rather than one long one.
MAX_DAYS = 31
_STATE = "sums"
#: pg_try_advisory_xact_lock key: "fold" in ASCII.
_LOCK = 0x666F6C64

_COUNTS = ("scans", "firsts", "repeats", "trade")


@dataclass(frozen=True, slots=True)
class Folded:
    """What one call folded: days, months, and the last day now folded (None: no data)."""

    days: int
    months: int
    through: date | None
    done: bool


def folded_through(connection: Connection) -> date | None:
    """The last day whose sums are folded (stale days aside), or None."""
    value = connection.scalar(select(FoldState.day).where(FoldState.name == _STATE))
    return _date(value)


def stale_days(connection: Connection) -> set[date]:
    """Days a late scan changed since they were folded."""
    return {_day(d) for d in connection.scalars(select(StaleDay.day))}


def fold(connection: Connection, *, now: datetime, max_days: int = MAX_DAYS) -> Folded:
    """Fold the days that are over and not folded yet (at most ``max_days`` of them) and
    the stale ones; ``done`` when nothing is left to fold."""
    if connection.dialect.name == "postgresql" and not connection.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _LOCK}
    ):
        return Folded(0, 0, None, done=True)
    last_over = (now.astimezone(CHINA) - MARGIN).date() - timedelta(days=1)
    through = folded_through(connection)
    marked = [_day(d) for d in connection.scalars(delete(StaleDay).returning(StaleDay.day))]
    stale = {d for d in marked if through is not None and d <= through}
    start = through + timedelta(days=1) if through is not None else _first_day(connection)
    if start is None:  # no scans at all yet
        return Folded(0, 0, None, done=True)
    end = min(last_over, start + timedelta(days=max_days - 1))
    days = sorted(stale | set(_range(start, end)))
    for first, last in runs(days):
        _fold_days(connection, first, last)
        fold_device_days(connection, first, last)
    new_through = max(end, through) if through is not None else end
    months = sorted({d.replace(day=1) for d in days if month_end(d) <= new_through})
    for month in months:
        _fold_month(connection, month)
        fold_device_month(connection, month, month_end(month))
    if end >= start:
        _set_through(connection, end)
    return Folded(len(days), len(months), new_through, done=end >= last_over)


def reset(connection: Connection, since: date | None) -> None:
    """Forget the sums from ``since`` (all of them without it): the next folds redo them.
    For a rebuild of the rollups."""
    for table in (*SUM_TABLES, DeviceSketch):
        wipe = delete(table)
        if since is not None:
            wipe = wipe.where(table.day >= since.replace(day=1))
        connection.execute(wipe)
    connection.execute(delete(StaleDay))
    if since is None:
        _set_through(connection, None)
        return
    through = folded_through(connection)
    if through is not None:
        # Month rows of since's month went too: refold from that month's first day.
        _set_through(connection, min(through, since.replace(day=1) - timedelta(days=1)))


def _fold_days(connection: Connection, first: date, last: date) -> None:
    """Each sum table's day rows of ``first``..``last``, summed again from the rollups."""
    for table in SUM_TABLES:
        keys = _keys(table)
        connection.execute(delete(table).where(table.span == "day", table.day.between(first, last)))
        source = select(
            ScanRollup.day,
            literal("day"),
            *(getattr(ScanRollup, k) for k in keys),
            *(func.sum(getattr(ScanRollup, c)) for c in _COUNTS),
        ).where(ScanRollup.day.between(first, last))
        source = source.group_by(ScanRollup.day, *(getattr(ScanRollup, k) for k in keys))
        connection.execute(insert(table).from_select(["day", "span", *keys, *_COUNTS], source))


def _fold_month(connection: Connection, month: date) -> None:
    """Each sum table's month row of ``month``, summed from its day rows."""
    last = month_end(month)
    for table in SUM_TABLES:
        keys = _keys(table)
        if "hour" in keys:
            continue  # hours are only ever asked per day
        connection.execute(delete(table).where(table.span == "month", table.day == month))
        source = (
            select(
                literal(month, Date),
                literal("month"),
                *(getattr(table, k) for k in keys),
                *(func.sum(getattr(table, c)) for c in _COUNTS),
            )
            .where(table.span == "day", table.day.between(month, last))
            .group_by(*(getattr(table, k) for k in keys))
        )
        connection.execute(insert(table).from_select(["day", "span", *keys, *_COUNTS], source))


def _keys(table: Any) -> list[str]:
    return [c.name for c in table.__table__.primary_key.columns if c.name not in ("day", "span")]


def _set_through(connection: Connection, day: date | None) -> None:
    done = connection.execute(
        update(FoldState).where(FoldState.name == _STATE).values(day=day)
    ).rowcount
    if not done:
        connection.execute(insert(FoldState).values(name=_STATE, day=day))


def _first_day(connection: Connection) -> date | None:
    return _date(connection.scalar(select(func.min(ScanRollup.day))))


def _range(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def runs(days: list[date]) -> Iterable[tuple[date, date]]:
    """Sorted days as runs of consecutive ones: [1, 2, 3, 7] → (1, 3), (7, 7)."""
    if not days:
        return
    first = last = days[0]
    for day in days[1:]:
        if day - last == timedelta(days=1):
            last = day
            continue
        yield first, last
        first = last = day
    yield first, last


def month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def _day(value: Any) -> date:
    day = _date(value)
    assert day is not None  # NOT NULL columns
    return day


def _date(value: Any) -> date | None:
    """A Date column's value (SQLite may hand back ISO text from an aggregate)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


#: Days one background fold takes at most: a fresh deployment with a year of scans
#: catches up in under an hour of minutes, each fold short enough not to stall writers.
BACKGROUND_DAYS = 7


def fold_job(factory: sessionmaker[Session]) -> Folded:
    """One background fold in a transaction of its own (app.py runs it every minute)."""
    with unit_of_work(factory) as session:
        return fold(session.connection(), now=utcnow(), max_days=BACKGROUND_DAYS)
