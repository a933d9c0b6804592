"""The scan log over time: monthly partitions on PostgreSQL, and retention on both engines.

On PostgreSQL ``scans`` is range-partitioned by calendar month (UTC) of ``scanned_at``
(migration 0021): partitions are named ``scans_pYYYYMM`` and created ahead of time
(:func:`ensure_partitions`); ``scans_default`` takes whatever no month covers, so an insert
never fails. Retention (``TRACESEAL_SCAN_RETENTION_DAYS``) drops whole months whose every
row is older than the horizon (:func:`drop_partition`: no row-by-row delete, no dead rows to
vacuum) and deletes the rest in batches (:func:`expired_keys`, :func:`delete_keys`), which
on PostgreSQL touches only the month holding the horizon and the default partition. On
SQLite every expired row is deleted in batches, each its own short transaction so
verifications keep their turn at the single write lock.

The rollups (``scan_rollups``) have no foreign key to the log and are never touched here:
figures stay when raw rows go (docs/analytics.md, "For how long").

The functions that take a connection never commit: their caller owns the transaction.
:func:`prune` and :func:`maintain` are the jobs (``traceseal scans prune``, the server's
hourly ``scan-log``): they open a short transaction per step themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Connection, delete, func, select, text

from traceseal.db import py_date, py_time, read_only_factory, unit_of_work
from traceseal.verify.models import Scan, ScanRollup
from traceseal.verify.rollups import bucket
from traceseal.verify.salts import forget

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from traceseal.config import Settings

__all__ = [
    "Partition",
    "count_expired",
    "delete_keys",
    "drop_partition",
    "ensure_partitions",
    "expired_keys",
    "expired_partitions",
    "first_whole_day",
    "horizon",
    "is_partition",
    "is_partitioned",
    "maintain",
    "month_partitions",
]

DEFAULT = "scans_default"
#: Rows per delete transaction: about 10 ms on SQLite, short enough that a verification
#: waiting for the write lock hardly notices (docs/scaling.md).
BATCH = 5_000
_NAME = re.compile(r"^scans_p(\d{4})(\d{2})$")


@dataclass(frozen=True, order=True)
class Partition:
    """One month of the scan log: rows with ``start <= scanned_at < stop``."""

    start: datetime  # first, so that partitions sort by time
    stop: datetime
    name: str


def _month(year: int, month: int) -> datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


def _partition(start: datetime) -> Partition:
    return Partition(start, _month(start.year, start.month + 1), f"scans_p{start:%Y%m}")


def is_partition(name: str | None) -> bool:
    """Whether a table name is one of the scan log's partitions (schema comparisons skip
    them: the models describe the partitioned table, not its parts)."""
    return name == DEFAULT or (name is not None and _NAME.match(name) is not None)


def horizon(now: datetime, days: int) -> datetime:
    """Scans before this moment are expired under a retention of ``days``."""
    return now - timedelta(days=days)


def is_partitioned(conn: Connection) -> bool:
    """Whether ``scans`` is a partitioned table (PostgreSQL after migration 0021)."""
    if conn.dialect.name != "postgresql":
        return False
    found = conn.execute(
        text("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass('scans')")
    )
    return found.first() is not None


def month_partitions(conn: Connection) -> list[Partition]:
    """The month partitions of ``scans`` in time order (not the default one)."""
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass('scans')"
        )
    ).scalars()
    months = [m for m in map(_NAME.match, names) if m is not None]
    return sorted(_partition(_month(int(m[1]), int(m[2]))) for m in months) if months else []


def ensure_partitions(conn: Connection, now: datetime, ahead: int) -> list[str]:
    """Create the partitions of this month and the ``ahead`` next ones that are missing.

    Rows that already sit in the default partition for a month being created (scans dated
    beyond the partitions made so far) are moved into it first: PostgreSQL refuses to add
    a partition whose range the default partition holds rows of.
    """
    existing = {p.name for p in month_partitions(conn)}
    missing = [_partition(_month(now.year, now.month + n)) for n in range(ahead + 1)]
    missing = [part for part in missing if part.name not in existing]
    if missing:
        # Creating a partition locks ``scans`` exclusively for a moment. Queued behind a long
        # query, it would hold every verification's insert behind it: give up after 2 s
        # instead; the months are made well ahead, so the next hour's try is in time.
        conn.execute(text("SET LOCAL lock_timeout = '2s'"))
    for part in missing:
        _create(conn, part)
    return [part.name for part in missing]


def _create(conn: Connection, part: Partition) -> None:
    bounds = f"FROM ('{part.start.isoformat()}') TO ('{part.stop.isoformat()}')"
    within = "scanned_at >= :start AND scanned_at < :stop"
    times = {"start": part.start, "stop": part.stop}
    # Names below are built from the month's digits (_partition), never from input.
    probe = f"SELECT 1 FROM {DEFAULT} WHERE {within} LIMIT 1"  # noqa: S608 - fixed names
    stray = conn.execute(text(probe), times)
    if stray.first() is None:
        conn.execute(text(f"CREATE TABLE {part.name} PARTITION OF scans FOR VALUES {bounds}"))
        return
    conn.execute(
        text(f"CREATE TABLE {part.name} (LIKE scans INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    )
    conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE {within} RETURNING *) "  # noqa: S608
            f"INSERT INTO {part.name} SELECT * FROM moved"
        ),
        times,
    )
    conn.execute(text(f"ALTER TABLE scans ATTACH PARTITION {part.name} FOR VALUES {bounds}"))


def expired_partitions(conn: Connection, before: datetime) -> list[Partition]:
    """Month partitions whose every row is older than ``before``."""
    return [p for p in month_partitions(conn) if p.stop <= before]


def drop_partition(conn: Connection, part: Partition) -> int:
    """Drop one expired month; returns how many rows it held.

    DROP takes a brief exclusive lock on ``scans`` itself. Waiting for it behind a long
    query would queue every verification behind the DROP, so it gives up after 2 s
    instead (and the next run tries again).
    """
    count = f"SELECT count(*) FROM {part.name}"  # noqa: S608 - a name from _partition
    rows = conn.execute(text(count)).scalar_one()
    conn.execute(text("SET LOCAL lock_timeout = '2s'"))
    conn.execute(text(f"DROP TABLE {part.name}"))
    return int(rows)


def count_expired(conn: Connection, before: datetime) -> int:
    """Rows older than ``before`` that :func:`delete_batch` would delete."""
    return int(conn.execute(select(func.count()).where(Scan.scanned_at < before)).scalar_one())


def expired_keys(
    conn: Connection, before: datetime, after: int = -1, limit: int = BATCH
) -> list[tuple[int, datetime]]:
    """Up to ``limit`` keys ``(id, scanned_at)`` of rows older than ``before``, by id from
    ``after`` on. Ids grow with time, so old rows are found at the start of the key."""
    found = conn.execute(
        select(Scan.id, Scan.scanned_at)
        .where(Scan.scanned_at < before, Scan.id > after)
        .order_by(Scan.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in found]


def delete_keys(conn: Connection, keys: list[tuple[int, datetime]]) -> int:
    """Delete the rows of ``keys`` (from :func:`expired_keys`); returns how many.

    By id (unique: one sequence numbers every row), which the primary key finds; on
    PostgreSQL also within the keys' time span, so that only the partitions holding them
    are searched. A list of (id, scanned_at) pairs would be compared row by row instead.
    """
    where: list[ColumnElement[bool]] = [Scan.id.in_([key[0] for key in keys])]
    if conn.dialect.name == "postgresql":
        times = [key[1] for key in keys]
        where += [Scan.scanned_at >= min(times), Scan.scanned_at <= max(times)]
    return int(conn.execute(delete(Scan).where(*where)).rowcount)


@dataclass
class Pruned:
    """What a prune removed: whole months (PostgreSQL) and rows deleted one batch at a time."""

    partitions: list[str]
    rows: int = 0
    #: Salts of the client hashes deleted with the last of their period's scans (salts.py).
    salts: int = 0


def prune(
    factory: sessionmaker[Session],
    before: datetime,
    progress: Callable[[int, int], object] | None = None,
    batch: int = BATCH,
) -> Pruned:
    """Remove every scan older than ``before``, each step in a transaction of its own.

    With ``progress``, the rows to delete are counted first (a scan of the expired part of
    the log), and ``progress(done, total)`` is called after each step.
    """
    done = Pruned([])
    with unit_of_work(factory) as session:
        conn = session.connection()
        months = expired_partitions(conn, before) if is_partitioned(conn) else []
    for part in months:
        with unit_of_work(factory) as session:
            done.rows += drop_partition(session.connection(), part)
        done.partitions.append(part.name)
    total = 0
    if progress is not None:
        with unit_of_work(factory) as session:
            total = done.rows + count_expired(session.connection(), before)
        progress(done.rows, total)
    # The search runs in a read transaction and only the delete in a write one: on SQLite
    # a search that finds nothing reads the whole log, and must not hold the write lock
    # (verifications) meanwhile.
    reader = read_only_factory(factory.kw["bind"])
    after = -1
    while True:
        with reader() as session, session.begin():
            keys = expired_keys(session.connection(), before, after, batch)
        if not keys:
            break
        with unit_of_work(factory) as session:
            done.rows += delete_keys(session.connection(), keys)
        after = keys[-1][0]
        if progress is not None:
            progress(done.rows, max(total, done.rows))
    with unit_of_work(factory) as session:
        done.salts = forget(session.connection(), before)
    return done


def first_whole_day(conn: Connection) -> date | None:
    """The first day (CST, as rollups count) whose scans are all still in the log, if some
    earlier day's rollups outlived their scans (pruned); None if none did.

    A rebuild of the rollups from before that day would replace counts with the few or no
    scans left of them (``traceseal analytics rebuild`` refuses to).
    """
    oldest = py_time(conn.execute(select(func.min(Scan.scanned_at))).scalar())
    counted = py_date(conn.execute(select(func.min(ScanRollup.day))).scalar())
    if counted is None:
        return None
    if oldest is None:
        # Every scan is gone: only days after today's could be rebuilt from the log.
        return bucket(datetime.now(UTC))[0] + timedelta(days=1)
    first = bucket(oldest)[0]
    # The oldest scan's own day may have lost its earlier hours to the horizon.
    return first + timedelta(days=1) if counted < first else None


#: The server prunes once a day, in the hour starting 19:00 UTC: 03:00 in China, the quiet
#: hour. A search that finds nothing to delete still reads the month holding the horizon
#: (SQLite: the whole log), which is too much to repeat every hour.
PRUNE_HOUR_UTC = 19


def maintain(
    factory: sessionmaker[Session], settings: Settings, now: datetime | None = None
) -> None:
    """The server's hourly job: partitions ahead on PostgreSQL; retention, once a day."""
    now = now or datetime.now(UTC)
    with unit_of_work(factory) as session:
        conn = session.connection()
        if is_partitioned(conn):
            ensure_partitions(conn, now, settings.scan_partitions_ahead)
    if settings.scan_retention_days and now.hour == PRUNE_HOUR_UTC:
        prune(factory, horizon(now, settings.scan_retention_days))
