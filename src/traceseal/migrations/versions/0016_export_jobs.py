"""export jobs

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "export_jobs",
        sa.Column("id", _ID, nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("format", sa.String(length=4), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_export_jobs_state")
        ),
        sa.CheckConstraint("format IN ('csv', 'zip', 'pdf')", name=op.f("ck_export_jobs_format")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_export_jobs_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["code_runs.id"], name=op.f("fk_export_jobs_run_id_code_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_jobs")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("export_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_export_jobs_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_export_jobs_run_id"), ["run_id"], unique=False)
        batch_op.create_index("ix_export_jobs_state_id", ["state", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("export_jobs")
