"""network days: answers, made-up and mistyped codes per client network and day

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "network_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("network", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=6), server_default="", nullable=False),
        sa.Column("answers", sa.BigInteger(), nullable=False),
        sa.Column("not_found", sa.BigInteger(), nullable=False),
        sa.Column("mistyped", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "network", name=op.f("pk_network_days")),
    )


def downgrade() -> None:
    op.drop_table("network_days")
