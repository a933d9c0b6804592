"""rollup shards: a busy rollup bucket spread over several rows on PostgreSQL

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = ["day", "hour", "organization_id", "product_id", "batch_id", "province", "city"]
_KEY += ["channel", "verdict"]


def upgrade() -> None:
    # Existing rows are shard 0: readers sum over shards, so they count as before.
    with op.batch_alter_table("scan_rollups") as batch:
        batch.add_column(sa.Column("shard", sa.SmallInteger(), server_default="0", nullable=False))
        batch.drop_constraint("pk_scan_rollups", type_="primary")
        batch.create_primary_key("pk_scan_rollups", [*_KEY, "shard"])


def downgrade() -> None:
    # Shards of one bucket are merged back into one row before the key loses the column.
    op.execute(
        "CREATE TEMPORARY TABLE merged_rollups AS SELECT day, hour, organization_id, "
        "product_id, batch_id, province, city, channel, verdict, sum(scans) AS scans, "
        "sum(firsts) AS firsts, sum(repeats) AS repeats, sum(trade) AS trade "
        "FROM scan_rollups GROUP BY day, hour, organization_id, product_id, batch_id, "
        "province, city, channel, verdict"
    )
    op.execute("DELETE FROM scan_rollups")
    with op.batch_alter_table("scan_rollups") as batch:
        batch.drop_constraint("pk_scan_rollups", type_="primary")
        batch.drop_column("shard")
        batch.create_primary_key("pk_scan_rollups", _KEY)
    op.execute(
        "INSERT INTO scan_rollups (day, hour, organization_id, product_id, batch_id, "
        "province, city, channel, verdict, scans, firsts, repeats, trade) "
        "SELECT * FROM merged_rollups"
    )
    op.execute("DROP TABLE merged_rollups")
