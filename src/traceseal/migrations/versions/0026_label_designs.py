"""label designs on export jobs

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-04

A PDF export job started from the label designer carries the design (label size, symbol,
texts, scratch-off box) its worker draws; NULL for the API's fixed A4 sheet.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("export_jobs") as batch:
        batch.add_column(sa.Column("design", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("export_jobs") as batch:
        batch.drop_column("design")
