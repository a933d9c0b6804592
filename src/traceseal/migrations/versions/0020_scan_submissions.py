"""scan submissions: the scanning page's client-made ids, so a replay captures nothing

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "scan_submissions",
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("submission_id", sa.String(length=64), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_scan_submissions_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "submission_id", name=op.f("pk_scan_submissions")
        ),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("scan_submissions")
