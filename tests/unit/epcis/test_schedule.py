"""EPCIS query schedules (schedule.py): the grammar, its ranges, and the next query time,
checked against a second-by-second walk."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traceseal.epcis import delivery, named, schedule
from traceseal.epcis.schedule import ScheduleError, parse, parse_offset

BEIJING = timezone(timedelta(hours=8))


@pytest.mark.parametrize("module", [schedule, named, delivery])
def test_examples(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "after", "expected"),
    [
        # The standard's examples: top of every hour; 2:30 am daily; weekdays hourly.
        ({"second": "0", "minute": "0"}, "2026-12-04T10:15:00", "2026-12-04T11:00:00"),
        (
            {"second": "0", "minute": "30", "hour": "2"},
            "2026-12-04T02:30:00",
            "2026-12-05T02:30:00",
        ),
        # 2026-12-04 is a Friday (5): the next weekday hour after Friday 23:00 is Monday.
        (
            {"second": "0", "minute": "0", "dayOfWeek": "[1-5]"},
            "2026-12-04T23:00:00",
            "2026-12-07T00:00:00",
        ),
        ({"hour": "2"}, "2026-12-04T02:00:00", "2026-12-04T02:00:01"),
        (
            {"dayOfMonth": "29", "month": "2", "hour": "0", "minute": "0", "second": "0"},
            "2026-12-04T00:00:00",
            "2028-02-29T00:00:00",
        ),
        ({"second": "5,[10-12]"}, "2026-12-04T00:00:10", "2026-12-04T00:00:11"),
    ],
)
def test_the_next_query_time(fields: dict[str, str], after: str, expected: str) -> None:
    start = datetime.fromisoformat(after).replace(tzinfo=BEIJING)
    found = parse(fields).next_after(start, BEIJING)
    assert found == datetime.fromisoformat(expected).replace(tzinfo=BEIJING)
    assert found is not None
    assert found.tzinfo == UTC


def test_a_schedule_that_never_comes_round_has_no_next_time() -> None:
    assert (
        parse({"dayOfMonth": "31", "month": "[2-2],4"}).next_after(datetime.now(UTC), UTC) is None
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "schedule"),
        ({"hour": "24"}, "hour"),
        ({"dayOfMonth": "0"}, "dayOfMonth"),
        ({"dayOfWeek": "8"}, "dayOfWeek"),
        ({"minute": "[30-5]"}, "minute"),
        ({"second": "*/5"}, "second"),
        ({"second": "1,"}, "second"),
        ({"second": 5}, "second"),
        ({"year": "2026"}, "year"),
    ],
)
def test_fields_outside_the_grammar_are_refused(fields: dict[str, object], field: str) -> None:
    with pytest.raises(ScheduleError) as refused:
        parse(fields)
    assert refused.value.field == field


def test_offsets() -> None:
    assert parse_offset("-05:30") == timezone(-timedelta(hours=5, minutes=30))
    with pytest.raises(ValueError, match="offset"):
        parse_offset("08:00")


_values = st.lists(st.integers(0, 59), min_size=1, max_size=3)


@given(
    seconds=_values,
    minutes=st.lists(st.integers(0, 3), min_size=1, max_size=2),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 1, 1)),
)
def test_the_next_time_is_the_first_matching_second(
    seconds: list[int], minutes: list[int], start: datetime
) -> None:
    plan = parse({"second": ",".join(map(str, seconds)), "minute": ",".join(map(str, minutes))})
    at = start.replace(tzinfo=UTC)
    found = plan.next_after(at, UTC)
    assert found is not None
    walk = at.replace(microsecond=0) + timedelta(seconds=1)
    while not plan.matches(walk.replace(tzinfo=None)):
        walk += timedelta(seconds=1)
    assert found == walk
