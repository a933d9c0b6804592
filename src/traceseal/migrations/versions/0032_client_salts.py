"""client salts: a rotating salt per period for the keyed client hashes

Revision ID: 0032
Revises: 0027
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client_salts",
        sa.Column("period", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_client_salts")),
    )
    op.create_index(op.f("ix_client_salts_ends_at"), "client_salts", ["ends_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_client_salts_ends_at"), table_name="client_salts")
    op.drop_table("client_salts")
