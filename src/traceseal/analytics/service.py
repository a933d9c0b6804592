"""Scan analytics read from the rollups (verify/models.ScanRollup), and their rebuild.

The rollups are kept by the verification path, one upsert per logged scan; nothing here
reads the scan log except :func:`rebuild`. Services take a session or connection and never
commit (docs/analytics.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Connection, Select, delete, func, or_, select, text
from sqlalchemy.orm import Session

from traceseal.analytics.fold import reset
from traceseal.analytics.sums import plan, summed
from traceseal.db import py_time
from traceseal.errors import Forbidden, InvalidInput
from traceseal.logistics.models import Distributor, TerritoryRegion
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.tenancy import OVERSIGHT, mine
from traceseal.verify.models import Scan, ScanRollup
from traceseal.verify.rollups import CHINA, SHARDS, rollup
from traceseal.verify.statements import ROLLUP

__all__ = [
    "COUNTS",
    "Figures",
    "Filters",
    "check_viewer",
    "owns_all",
    "rebuild",
    "regions",
    "scoped",
    "series",
    "verdict_mix",
]

#: The counts each figure carries.
COUNTS = ("scans", "firsts", "repeats", "trade")
#: The longest range one query may cover: a year and a day (a leap year's whole year).
MAX_DAYS = 366
#: Scans summed in memory before their sums are written (one upsert per bucket).
FLUSH_EVERY = 20_000

_ROLES = {Role.ENTERPRISE.value, Role.DISTRIBUTOR.value} | OVERSIGHT
_KEY = tuple(c.name for c in ScanRollup.__table__.c if c.primary_key)


@dataclass(frozen=True, slots=True)
class Filters:
    """What an analytics query covers: days (China Standard Time, both ends included)."""

    start: date
    end: date
    product_id: int | None = None
    batch_id: int | None = None
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class Figures:
    """One row of an answer: its key (a day, a region, a verdict) and its counts."""

    key: str
    counts: dict[str, int]


def check_viewer(viewer: Organization) -> None:
    """Brands, distributors, regulators and the operator read analytics; labs are refused."""
    if viewer.role not in _ROLES:
        raise Forbidden(
            "analytics are for brands, distributors, regulators and the operator; "
            f"yours is {viewer.role}"
        )


def scoped(query: Select[Any], viewer: Organization, table: Any = ScanRollup) -> Select[Any]:
    """``query`` over the rollups (or a sum table of analytics/models.py with the same
    columns) narrowed to what the viewer may see (tenancy.mine), or for a distributor to
    the brands that registered it, within its territory there.

    A territory's province or city matches the rollups' own; a district of a territory
    matches nothing, as the rollups go down to cities only (docs/analytics.md).
    """
    if viewer.role != Role.DISTRIBUTOR.value:
        return mine(query, table.organization_id, viewer, OVERSIGHT)
    territory = (
        select(TerritoryRegion.region)
        .join(Distributor, Distributor.id == TerritoryRegion.distributor_id)
        .where(
            Distributor.organization_id == viewer.id,
            Distributor.enterprise_id == table.organization_id,
            or_(
                TerritoryRegion.region == table.province,
                TerritoryRegion.region == table.city,
            ),
        )
        .correlate(table)
    )
    return query.where(territory.exists())


def owns_all(viewer: Organization) -> bool:
    """Whether every figure the viewer sees is its own: a brand's are, so it sees small
    counts as they are; anyone else's answer spans brands and hides them (docs/analytics.md)."""
    return viewer.role == Role.ENTERPRISE.value


def check_filters(filters: Filters) -> None:
    if filters.end < filters.start:
        raise InvalidInput("'to' is before 'from'", field="to")
    if (filters.end - filters.start).days >= MAX_DAYS:
        raise InvalidInput(f"a range covers at most {MAX_DAYS} days", field="from")


def series(
    session: Session, viewer: Organization, filters: Filters, *, hourly: bool = False
) -> list[Figures]:
    """Counts per day (``2026-10-01``) or hour (``2026-10-01T08``, CST), oldest first;
    buckets without scans are left out."""
    if hourly:
        return _grouped(session, viewer, filters, "day", "hour")
    return _grouped(session, viewer, filters, "day")


def regions(
    session: Session, viewer: Organization, filters: Filters, *, province: str | None
) -> list[Figures]:
    """Counts per province, or per city of ``province``; '' is the unplaced scans."""
    if province is None:
        return _grouped(session, viewer, filters, "province")
    return _grouped(session, viewer, filters, "city", equal={"province": province})


def verdict_mix(session: Session, viewer: Organization, filters: Filters) -> list[Figures]:
    """Counts per verdict."""
    return _grouped(session, viewer, filters, "verdict")


def needs(viewer: Organization, filters: Filters, *names: str) -> set[str]:
    """The columns a question grouped by ``names`` reads, with the filters' and the
    viewer's scope (a distributor's territory is matched by province and city)."""
    columns = {"organization_id", *names}
    for name in ("product_id", "batch_id", "channel"):
        if getattr(filters, name) is not None:
            columns.add(name)
    if viewer.role == Role.DISTRIBUTOR.value:
        columns |= {"province", "city"}
    return columns


def narrowed(query: Select[Any], table: Any, viewer: Organization, filters: Filters) -> Select[Any]:
    """``query`` over ``table`` with the filters' products, batch and channel, and scoped."""
    if filters.product_id is not None:
        query = query.where(table.product_id == filters.product_id)
    if filters.batch_id is not None:
        query = query.where(table.batch_id == filters.batch_id)
    if filters.channel is not None:
        query = query.where(table.channel == filters.channel)
    return scoped(query, viewer, table)


def _grouped(
    session: Session,
    viewer: Organization,
    filters: Filters,
    *names: str,
    equal: dict[str, str] | None = None,
) -> list[Figures]:
    check_viewer(viewer)
    check_filters(filters)
    equal = equal or {}

    def build(table: Any) -> Select[Any]:
        columns = [getattr(table, name) for name in names]
        sums = [func.sum(getattr(table, name)) for name in COUNTS]
        query = select(*columns, *sums).group_by(*columns)
        for name, value in equal.items():
            query = query.where(getattr(table, name) == value)
        return narrowed(query, table, viewer, filters)

    columns = needs(viewer, filters, *names) | set(equal)
    segments = plan(session, filters.start, filters.end, columns, daily="day" in names)
    totals = summed(session, segments, build, len(names))
    return [
        Figures(_key(key), dict(zip(COUNTS, totals[key], strict=True))) for key in sorted(totals)
    ]


def _key(values: Any) -> str:
    """A row's key: the day, region or verdict; a day and hour as ``2026-10-01T08``."""
    if len(values) == 2:
        return f"{values[0]}T{int(values[1]):02d}"
    return str(values[0])


def rebuild(
    connection: Connection,
    *,
    since: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Recompute the rollups from the scan log, from day ``since`` (CST) or from the start.

    The days rebuilt are emptied first, then the log is read once, streamed in id order,
    and summed per bucket in memory for :data:`FLUSH_EVERY` scans at a time; each sum is
    added with the verification path's own upsert (statements.ROLLUP) and counted by its
    own rules (verify/rollups.py), so a rebuild equals what the path kept. Returns the
    number of scans read. The caller owns the transaction.
    """
    scans = select(
        Scan.scanned_at,
        Scan.organization_id,
        Scan.product_id,
        Scan.batch_id,
        Scan.region,
        Scan.channel,
        Scan.verdict,
        Scan.scan_count,
        Scan.trade_org_id,
        Scan.sequence,
    ).order_by(Scan.id)
    wipe = delete(ScanRollup)
    total = select(func.count()).select_from(Scan)
    if since is not None:
        start = datetime.combine(since, time(), CHINA).astimezone(UTC)
        scans = scans.where(Scan.scanned_at >= start)
        total = total.where(Scan.scanned_at >= start)
        wipe = wipe.where(ScanRollup.day >= since)
    if connection.dialect.name == "postgresql":
        # Verifications' upserts wait until the rebuild commits; those done before the lock
        # was granted are committed, so their scans are in the read below, counted once.
        # (SQLite: the transaction began IMMEDIATE, which already holds every writer off.)
        connection.execute(text("LOCK TABLE scan_rollups IN SHARE ROW EXCLUSIVE MODE"))
    count = int(connection.execute(total).scalar_one())
    connection.execute(wipe)
    reset(connection, since)  # the day and month sums are refolded from the new rollups
    sums: dict[tuple[Any, ...], list[int]] = {}
    shards = SHARDS[connection.dialect.name]
    done = 0
    for row in connection.execution_options(yield_per=FLUSH_EVERY).execute(scans):
        _add(sums, row, shards)
        done += 1
        if done % FLUSH_EVERY == 0:
            _flush(connection, sums)
            if progress is not None:
                progress(done, count)
    _flush(connection, sums)
    if progress is not None:
        progress(done, count)
    return done


def _add(sums: dict[tuple[Any, ...], list[int]], row: Any, shards: int) -> None:
    at, org, product, batch, region, channel, verdict, scan_count, trader, sequence = row
    moment = py_time(at)
    assert moment is not None  # NOT NULL column
    one = rollup(
        moment,
        organization_id=org,
        product_id=product,
        batch_id=batch,
        region=region,
        channel=channel,
        verdict=verdict,
        scan_count=scan_count,
        trade=trader is not None,
        sequence=sequence,
        shards=shards,
    )
    key = tuple(one[name] for name in _KEY)
    found = sums.get(key)
    if found is None:
        sums[key] = [one[name] for name in COUNTS]
    else:
        for i, name in enumerate(COUNTS):
            found[i] += one[name]


def _flush(connection: Connection, sums: dict[tuple[Any, ...], list[int]]) -> None:
    if not sums:
        return
    sqlite = connection.dialect.name == "sqlite"
    rows = []
    for key, counts in sums.items():
        row = dict(zip(_KEY, key, strict=True)) | dict(zip(COUNTS, counts, strict=True))
        if sqlite:
            row["day"] = row["day"].isoformat()
        rows.append(row)
    ROLLUP[connection.dialect.name].run_many(connection, rows)
    sums.clear()
