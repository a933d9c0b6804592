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

_INDEXES = (
    "CREATE INDEX ix_scans_slot_sequence ON scans (slot, sequence)",
    "CREATE INDEX ix_scans_organization_scanned_at ON scans (organization_id, scanned_at)",
    "CREATE INDEX ix_scans_trade_by_brand ON scans (organization_id, id) "
    "WHERE trade_org_id IS NOT NULL",
    "CREATE INDEX ix_scans_trade_by_checker ON scans (trade_org_id, id) "
    "WHERE trade_org_id IS NOT NULL",
)
_FOREIGN_KEYS = (
    ("organization_id", "organizations"),
    ("product_id", "products"),
    ("batch_id", "batches"),
)


def _month(year: int, month: int) -> datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


def _months(first: datetime, last: datetime) -> list[datetime]:
    months = [_month(first.year, first.month)]
    while months[-1] < _month(last.year, last.month):
        months.append(_month(months[-1].year, months[-1].month + 1))
    return months


def _old_table_aside() -> None:
    """Rename the plain table out of the way; its index names are free for the new one."""
    op.execute("ALTER TABLE scans RENAME TO scans_unpartitioned")
    op.execute("ALTER TABLE scans_unpartitioned RENAME CONSTRAINT pk_scans TO pk_scans_old")
    for statement in _INDEXES:
        op.execute(f"DROP INDEX {statement.split()[2]}")
    # The sequence outlives the old table and numbers the new one's rows from where it was.
    op.execute("ALTER SEQUENCE scans_id_seq OWNED BY NONE")


def _keys_and_indexes() -> None:
    for column, table in _FOREIGN_KEYS:
        op.execute(
            f"ALTER TABLE scans ADD CONSTRAINT fk_scans_{column}_{table} "
            f"FOREIGN KEY ({column}) REFERENCES {table} (id)"
        )
    # After the copy: building each index once is faster than keeping it during the insert.
    for statement in _INDEXES:
        op.execute(statement)
    op.execute("ALTER SEQUENCE scans_id_seq OWNED BY scans.id")


def upgrade() -> None:
    # Found missing by bench/explain.py (docs/scaling.md): a brand's alert list, newest first.
    op.create_index("ix_alerts_organization_id_id", "alerts", ["organization_id", "id"])
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _old_table_aside()
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
    op.execute("INSERT INTO scans SELECT * FROM scans_unpartitioned")
    op.execute("DROP TABLE scans_unpartitioned")
    _keys_and_indexes()


def downgrade() -> None:
    op.drop_index("ix_alerts_organization_id_id", table_name="alerts")
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE scans RENAME TO scans_unpartitioned")
    op.execute("ALTER TABLE scans_unpartitioned RENAME CONSTRAINT pk_scans TO pk_scans_old")
    for statement in _INDEXES:
        op.execute(f"DROP INDEX {statement.split()[2]}")
    op.execute("ALTER SEQUENCE scans_id_seq OWNED BY NONE")
    op.execute(
        "CREATE TABLE scans (LIKE scans_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    op.execute("INSERT INTO scans SELECT * FROM scans_unpartitioned")
    # Dropping the parent drops every month's partition with it.
    op.execute("DROP TABLE scans_unpartitioned")
    op.execute("ALTER TABLE scans ADD CONSTRAINT pk_scans PRIMARY KEY (id)")
    _keys_and_indexes()
