"""who uploaded each attachment; cited attachments found by index

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quality_attachments",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "organization_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_quality_attachments_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("sha256", "organization_id", name=op.f("pk_quality_attachments")),
        sqlite_with_rowid=False,
    )
    # Attachments cited before uploads were recorded belong to the records' issuers; an
    # upload no record cites yet has no known uploader and is uploaded again to be cited.
    op.execute(
        "INSERT INTO quality_attachments (sha256, organization_id, uploaded_at) "
        "SELECT attachment, issuer_id, MIN(created_at) FROM quality_records "
        "WHERE attachment IS NOT NULL GROUP BY attachment, issuer_id"
    )
    op.create_index("ix_quality_records_attachment", "quality_records", ["attachment"])


def downgrade() -> None:
    op.drop_index("ix_quality_records_attachment", table_name="quality_records")
    op.drop_table("quality_attachments")
