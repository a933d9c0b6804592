"""trade checks in the scan log

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable and without a foreign key: both engines add it in place, where a constraint
    # would make SQLite copy the whole scan log.
    op.add_column(
        "scans",
        sa.Column(
            "trade_org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("scans") as batch:
        batch.drop_column("trade_org_id")
