"""scan rollups: counts per hour and key, kept as scans arrive

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Created empty: `traceseal analytics rebuild` fills it from the scan log once.
    op.create_table(
        "scan_rollups",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("batch_id", _ID, nullable=False),
        sa.Column("province", sa.String(length=6), nullable=False),
        sa.Column("city", sa.String(length=6), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("scans", sa.BigInteger(), nullable=False),
        sa.Column("firsts", sa.BigInteger(), nullable=False),
        sa.Column("repeats", sa.BigInteger(), nullable=False),
        sa.Column("trade", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("hour BETWEEN 0 AND 23", name=op.f("ck_scan_rollups_hour")),
        sa.PrimaryKeyConstraint(
            "day",
            "hour",
            "organization_id",
            "product_id",
            "batch_id",
            "province",
            "city",
            "channel",
            "verdict",
            name=op.f("pk_scan_rollups"),
        ),
    )
    op.create_index("ix_scan_rollups_organization_day", "scan_rollups", ["organization_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_scan_rollups_organization_day", table_name="scan_rollups")
    op.drop_table("scan_rollups")
