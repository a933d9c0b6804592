"""diversion flows: scans outside their distributor's territory, per day and place

Revision ID: 0021
Revises: 0022
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Created empty: flows are the evidence risk evaluation found as scans arrived
    # (docs/analytics.md); they start with the first scan after this migration.
    op.create_table(
        "diversion_flows",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("distributor_id", _ID, nullable=False),
        sa.Column("batch_id", _ID, nullable=False),
        sa.Column("province", sa.String(length=6), nullable=False),
        sa.Column("city", sa.String(length=6), nullable=False),
        sa.Column("scans", sa.BigInteger(), nullable=False),
        sa.Column("trade", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day",
            "organization_id",
            "distributor_id",
            "batch_id",
            "province",
            "city",
            name=op.f("pk_diversion_flows"),
        ),
    )
    op.create_index(
        "ix_diversion_flows_organization_day", "diversion_flows", ["organization_id", "day"]
    )


def downgrade() -> None:
    op.drop_index("ix_diversion_flows_organization_day", table_name="diversion_flows")
    op.drop_table("diversion_flows")
