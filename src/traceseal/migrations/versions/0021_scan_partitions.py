"""the scan log range-partitioned by month on PostgreSQL; an index for alert lists

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04

On PostgreSQL ``scans`` becomes a table partitioned by range of ``scanned_at``, one
partition per calendar month (UTC) and a DEFAULT partition that takes any row no month
partition covers, so an insert never fails for want of a partition. Existing rows are
copied, ids continue from the same sequence. The primary key becomes
``(id, scanned_at, slot)``: a partitioned table's unique keys must contain the partition
column, and the key is then ready for hashing by slot too (docs/scaling.md).

SQLite has no partitioning: the scan log stays as it is there (``traceseal scans prune``
deletes in batches instead). On both engines, alerts get the index a brand's alert list
needs (found by bench/explain.py, docs/scaling.md).
"""

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from alembic import op
from sqlalchemy import text

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Months created ahead of the current one (the server's job keeps this many ahead:
#: TRACESEAL_SCAN_PARTITIONS_AHEAD; verify/partitions.py).
_AHEAD = 3


def _month(year: int, month: int) -> datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


def _months(first: datetime, last: datetime) -> list[datetime]:
    months = [_month(first.year, first.month)]
    while months[-1] < _month(last.year, last.month):
        months.append(_month(months[-1].year, months[-1].month + 1))
    return months


#: ``CREATE INDEX name ON [ONLY] schema.table``, as pg_indexes gives an index's definition.
_ON_OLD = re.compile(r" ON (ONLY )?(\S+\.)?scans_unpartitioned ")


def _set_aside() -> tuple[list[str], list[tuple[str, str]]]:
    """Rename the table out of the way; return its indexes and foreign keys, to rebuild.

    Read from the catalogue rather than listed here, so an index or key another migration
    added to ``scans`` before this one is carried over too.
    """
    bind = op.get_bind()
    op.execute("ALTER TABLE scans RENAME TO scans_unpartitioned")
    op.execute("ALTER TABLE scans_unpartitioned RENAME CONSTRAINT pk_scans TO pk_scans_old")
    indexes = bind.execute(
        text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = 'scans_unpartitioned' AND indexname <> 'pk_scans_old'"
        )
    ).all()
    keys = bind.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'scans_unpartitioned'::regclass AND contype = 'f'"
        )
    ).all()
    # Their names are free for the new table's once the old ones are gone.
    for name, _ in indexes:
        op.execute(f'DROP INDEX "{name}"')
    # The sequence outlives the old table and numbers the new one's rows from where it was.
    op.execute("ALTER SEQUENCE scans_id_seq OWNED BY NONE")
    return [_ON_OLD.sub(" ON scans ", definition) for _, definition in indexes], list(keys)


def _copy_and_finish(indexes: list[str], keys: list[tuple[str, str]]) -> None:
    op.execute("INSERT INTO scans SELECT * FROM scans_unpartitioned")
    op.execute("DROP TABLE scans_unpartitioned")
    for name, definition in keys:
        op.execute(f'ALTER TABLE scans ADD CONSTRAINT "{name}" {definition}')
    # After the copy: building each index once is faster than keeping it during the insert.
    for statement in indexes:
        op.execute(statement)
    op.execute("ALTER SEQUENCE scans_id_seq OWNED BY scans.id")


def upgrade() -> None:
    # Found missing by bench/explain.py (docs/scaling.md): a brand's alert list, newest first.
    op.create_index("ix_alerts_organization_id_id", "alerts", ["organization_id", "id"])
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    indexes, keys = _set_aside()
    # Columns in the same order, with their NOT NULLs, defaults (the id sequence) and CHECKs.
    op.execute(
        "CREATE TABLE scans (LIKE scans_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
        "PARTITION BY RANGE (scanned_at)"
    )
    op.execute("ALTER TABLE scans ADD CONSTRAINT pk_scans PRIMARY KEY (id, scanned_at, slot)")
    now = datetime.now(UTC)
    oldest = bind.execute(text("SELECT min(scanned_at) FROM scans_unpartitioned")).scalar()
    for start in _months(min(oldest or now, now), _month(now.year, now.month + _AHEAD)):
        stop = _month(start.year, start.month + 1)
        op.execute(
            f"CREATE TABLE scans_p{start:%Y%m} PARTITION OF scans "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{stop.isoformat()}')"
        )
    op.execute("CREATE TABLE scans_default PARTITION OF scans DEFAULT")
    _copy_and_finish(indexes, keys)


def downgrade() -> None:
    op.drop_index("ix_alerts_organization_id_id", table_name="alerts")
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    indexes, keys = _set_aside()
    op.execute(
        "CREATE TABLE scans (LIKE scans_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    op.execute("ALTER TABLE scans ADD CONSTRAINT pk_scans PRIMARY KEY (id)")
    # Dropping the partitioned table drops every month's partition with it.
    _copy_and_finish(indexes, keys)
