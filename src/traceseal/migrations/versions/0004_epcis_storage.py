"""epcis storage

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "epcis_biz_transactions",
        sa.Column("type", sa.String(length=300), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.Column("event", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("type", "value", "event", name=op.f("pk_epcis_biz_transactions")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "epcis_epcs",
        sa.Column("epc", sa.String(length=300), nullable=False),
        sa.Column("event", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("role", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("epc", "event", "role", name=op.f("pk_epcis_epcs")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "epcis_event_access",
        sa.Column("organization_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("organization_id", "event", name=op.f("pk_epcis_event_access")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "epcis_capture_jobs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("capture_id", sa.String(length=40), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("running", sa.Boolean(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("error_behaviour", sa.String(length=10), nullable=False),
        sa.Column("source_format", sa.String(length=10), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("duplicate_count", sa.Integer(), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("errors", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_epcis_capture_jobs_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epcis_capture_jobs")),
        sa.UniqueConstraint("capture_id", name=op.f("uq_epcis_capture_jobs_capture_id")),
    )
    with op.batch_alter_table("epcis_capture_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_epcis_capture_jobs_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "epcis_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.String(length=300), nullable=False),
        sa.Column("event_hash", sa.String(length=100), nullable=False),
        sa.Column(
            "capture_job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=True),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("biz_step", sa.String(length=300), nullable=True),
        sa.Column("disposition", sa.String(length=300), nullable=True),
        sa.Column("read_point", sa.String(length=300), nullable=True),
        sa.Column("biz_location", sa.String(length=300), nullable=True),
        sa.Column("leaf_index", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["capture_job_id"],
            ["epcis_capture_jobs.id"],
            name=op.f("fk_epcis_events_capture_job_id_epcis_capture_jobs"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_epcis_events_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epcis_events")),
        sa.UniqueConstraint("event_hash", name=op.f("uq_epcis_events_event_hash")),
        sa.UniqueConstraint("event_id", name=op.f("uq_epcis_events_event_id")),
    )
    with op.batch_alter_table("epcis_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_epcis_events_biz_location"), ["biz_location"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_epcis_events_biz_step"), ["biz_step"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_epcis_events_capture_job_id"), ["capture_job_id"], unique=False
        )
        batch_op.create_index("ix_epcis_events_event_time_id", ["event_time", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_epcis_events_read_point"), ["read_point"], unique=False
        )
        batch_op.create_index("ix_epcis_events_record_time_id", ["record_time", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("epcis_events", schema=None) as batch_op:
        batch_op.drop_index("ix_epcis_events_record_time_id")
        batch_op.drop_index(batch_op.f("ix_epcis_events_read_point"))
        batch_op.drop_index("ix_epcis_events_event_time_id")
        batch_op.drop_index(batch_op.f("ix_epcis_events_capture_job_id"))
        batch_op.drop_index(batch_op.f("ix_epcis_events_biz_step"))
        batch_op.drop_index(batch_op.f("ix_epcis_events_biz_location"))

    op.drop_table("epcis_events")
    with op.batch_alter_table("epcis_capture_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_epcis_capture_jobs_organization_id"))

    op.drop_table("epcis_capture_jobs")
    op.drop_table("epcis_event_access")
    op.drop_table("epcis_epcs")
    op.drop_table("epcis_biz_transactions")
