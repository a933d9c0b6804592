"""EPCIS query schedules (EPCIS 2.0 section 8.2.5.3 ``QuerySchedule``; the REST binding's
``schedule`` object and ``query-schedule.json``): pure, no database.

Each field (second, minute, hour, dayOfMonth, month, dayOfWeek) is a string of the grammar

    QueryScheduleField ::= Element ( "," Element )*
    Element ::= Number | Range
    Range   ::= "[" Number "-" Number "]"

with each number in its field's range and a range's first number no greater than its
second (else SubscriptionControlsException). A time matches when every given field matches;
an omitted field matches any value. dayOfWeek is 1 (Monday) to 7 (Sunday). The standard
leaves the time zone to the service: this one reads schedules at a fixed UTC offset
(``TRACESEAL_EPCIS_SCHEDULE_UTC_OFFSET``, +08:00 by default: China has no daylight saving,
so a fixed offset is exact and every time has exactly one reading).

>>> s = parse({"second": "0", "minute": "30", "hour": "2"})
>>> s.next_after(datetime(2026, 12, 4, 1, 0, tzinfo=UTC), timezone.utc).isoformat()
'2026-12-04T02:30:00+00:00'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["FIELDS", "Schedule", "ScheduleError", "parse", "parse_offset"]

#: Each field's legal range, inclusive.
FIELDS: dict[str, tuple[int, int]] = {
    "second": (0, 59),
    "minute": (0, 59),
    "hour": (0, 23),
    "dayOfMonth": (1, 31),
    "month": (1, 12),
    "dayOfWeek": (1, 7),
}
_ELEMENT = re.compile(r"(\d{1,2})|\[(\d{1,2})-(\d{1,2})\]")
#: Searching further than this finds nothing new: the calendar repeats every 28 years
#: for (day of month, month, day of week) between century years.
_HORIZON_DAYS = 29 * 366


class ScheduleError(ValueError):
    """A field that breaks the grammar or its range; ``field`` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Schedule:
    """The allowed values of each field; None where the field was omitted (any)."""

    second: frozenset[int] | None = None
    minute: frozenset[int] | None = None
    hour: frozenset[int] | None = None
    day_of_month: frozenset[int] | None = None
    month: frozenset[int] | None = None
    day_of_week: frozenset[int] | None = None

    def _day(self, t: datetime) -> bool:
        return _ok(self.month, t.month) and (
            _ok(self.day_of_month, t.day) and _ok(self.day_of_week, t.isoweekday())
        )

    def matches(self, t: datetime) -> bool:
        """Whether the wall-clock time ``t`` is a query time."""
        return (
            self._day(t)
            and _ok(self.hour, t.hour)
            and _ok(self.minute, t.minute)
            and _ok(self.second, t.second)
        )

    def next_after(self, after: datetime, zone: timezone) -> datetime | None:
        """The first query time strictly after ``after`` (whole seconds, UTC), or None if
        the schedule never matches (such as 31 February).

        Walks from day to hour to minute to second, skipping a whole unit as soon as a
        coarser field fails, so a yearly schedule costs a few hundred steps, not 31 million.
        """
        t = after.astimezone(zone).replace(microsecond=0, tzinfo=None) + timedelta(seconds=1)
        limit = t + timedelta(days=_HORIZON_DAYS)
        while t < limit:
            if not self._day(t):
                t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
            elif not _ok(self.hour, t.hour):
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
            elif not _ok(self.minute, t.minute):
                t = t.replace(second=0) + timedelta(minutes=1)
            elif not _ok(self.second, t.second):
                t += timedelta(seconds=1)
            else:
                return t.replace(tzinfo=zone).astimezone(UTC)
        return None


def _ok(allowed: frozenset[int] | None, value: int) -> bool:
    return allowed is None or value in allowed


def _field(name: str, raw: object) -> frozenset[int]:
    low, high = FIELDS[name]
    if not isinstance(raw, str) or not raw:
        raise ScheduleError(f'schedule.{name} must be a string such as "5" or "[1-5],7"', name)
    values: set[int] = set()
    for element in raw.split(","):
        found = _ELEMENT.fullmatch(element.strip())
        if found is None:
            raise ScheduleError(
                f"schedule.{name}: {element!r} is neither a number nor a range like [1-5]", name
            )
        single, first, last = found.groups()
        start, end = (int(single), int(single)) if single else (int(first), int(last))
        if not (low <= start <= high and low <= end <= high):
            raise ScheduleError(f"schedule.{name} takes numbers from {low} to {high}", name)
        if start > end:
            raise ScheduleError(f"schedule.{name}: a range's first number exceeds its last", name)
        values.update(range(start, end + 1))
    return frozenset(values)


def parse(fields: Mapping[str, object]) -> Schedule:
    """A schedule from the binding's ``schedule`` object (or a WebSocket's query string).

    An empty schedule would run every second: it is refused, as are unknown fields.

    >>> sorted(parse({"dayOfWeek": "[1-3],5"}).day_of_week or ())
    [1, 2, 3, 5]
    """
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise ScheduleError(f"schedule has no field {unknown[0]!r}", unknown[0])
    if not fields:
        raise ScheduleError("a schedule needs at least one of " + ", ".join(FIELDS), "schedule")
    sets = {name: _field(name, raw) for name, raw in fields.items()}
    return Schedule(
        second=sets.get("second"),
        minute=sets.get("minute"),
        hour=sets.get("hour"),
        day_of_month=sets.get("dayOfMonth"),
        month=sets.get("month"),
        day_of_week=sets.get("dayOfWeek"),
    )


def parse_offset(text: str) -> timezone:
    """``+08:00`` as a time zone.

    >>> parse_offset("+08:00")
    datetime.timezone(datetime.timedelta(seconds=28800))
    """
    found = re.fullmatch(r"([+-])(\d{2}):(\d{2})", text)
    if found is None or int(found[2]) > 14 or int(found[3]) > 59:
        raise ValueError(f"not a UTC offset like +08:00: {text!r}")
    minutes = int(found[2]) * 60 + int(found[3])
    return timezone(timedelta(minutes=-minutes if found[1] == "-" else minutes))
