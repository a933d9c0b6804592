"""partial indexes of the trade checks in the scan log

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRADE = sa.text("trade_org_id IS NOT NULL")


def upgrade() -> None:
    # Partial: the log's consumer scans, nearly all of it, stay out of both.
    for name, column in (
        ("ix_scans_trade_by_brand", "organization_id"),
        ("ix_scans_trade_by_checker", "trade_org_id"),
    ):
        op.create_index(name, "scans", [column, "id"], sqlite_where=_TRADE, postgresql_where=_TRADE)


def downgrade() -> None:
    op.drop_index("ix_scans_trade_by_checker", table_name="scans")
    op.drop_index("ix_scans_trade_by_brand", table_name="scans")
