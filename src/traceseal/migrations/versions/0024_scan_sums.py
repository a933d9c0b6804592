"""scan sums: the rollups folded per day and month for dashboards at scale

Revision ID: 0024
Revises: 0021
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: Each sum table's key columns between (day, span) and the counts.
_SUMS: dict[str, list[sa.Column[Any]]] = {
    "scan_sums_totals": [
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
    ],
    "scan_sums_products": [
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
    ],
    "scan_sums_provinces": [
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("province", sa.String(length=6), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
    ],
    "scan_sums_cities": [
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("province", sa.String(length=6), nullable=False),
        sa.Column("city", sa.String(length=6), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
    ],
    "scan_sums_hours": [
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
    ],
}


def upgrade() -> None:
    # Created empty: the first fold (a background job, or `traceseal analytics rebuild`)
    # fills them from the rollups.
    for name, keys in _SUMS.items():
        op.create_table(
            name,
            sa.Column("day", sa.Date(), nullable=False),
            sa.Column("span", sa.String(length=5), nullable=False),
            *keys,
            sa.Column("scans", sa.BigInteger(), nullable=False),
            sa.Column("firsts", sa.BigInteger(), nullable=False),
            sa.Column("repeats", sa.BigInteger(), nullable=False),
            sa.Column("trade", sa.BigInteger(), nullable=False),
            sa.CheckConstraint("span IN ('day', 'month')", name=op.f(f"ck_{name}_span")),
            sa.PrimaryKeyConstraint(
                "day", "span", *(c.name for c in keys), name=op.f(f"pk_{name}")
            ),
        )
        op.create_index(f"ix_{name}_organization_day", name, ["organization_id", "span", "day"])
        op.create_index(f"ix_{name}_span_day", name, ["span", "day"])
    op.create_table(
        "scan_devices",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("span", sa.String(length=5), nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("province", sa.String(length=6), nullable=False),
        sa.Column("sketch", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("span IN ('day', 'month')", name=op.f("ck_scan_devices_span")),
        sa.PrimaryKeyConstraint(
            "day", "span", "organization_id", "product_id", "province", name=op.f("pk_scan_devices")
        ),
    )
    op.create_index(
        "ix_scan_devices_organization_day", "scan_devices", ["organization_id", "span", "day"]
    )
    op.create_index("ix_scan_devices_span_day", "scan_devices", ["span", "day"])
    op.create_table(
        "rollup_folds",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rollup_folds")),
    )
    op.create_table(
        "rollup_stale",
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_rollup_stale")),
    )


def downgrade() -> None:
    op.drop_table("rollup_stale")
    op.drop_table("rollup_folds")
    op.drop_index("ix_scan_devices_span_day", table_name="scan_devices")
    op.drop_index("ix_scan_devices_organization_day", table_name="scan_devices")
    op.drop_table("scan_devices")
    for name in reversed(list(_SUMS)):
        op.drop_index(f"ix_{name}_span_day", table_name=name)
        op.drop_index(f"ix_{name}_organization_day", table_name=name)
        op.drop_table(name)
