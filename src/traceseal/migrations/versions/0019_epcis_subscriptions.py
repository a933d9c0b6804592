"""standing EPCIS queries: named queries, subscriptions and their delivery outbox

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "epcis_named_queries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_epcis_named_queries_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epcis_named_queries")),
        sa.UniqueConstraint(
            "organization_id", "name", name=op.f("uq_epcis_named_queries_organization_id_name")
        ),
    )
    op.create_table(
        "epcis_subscriptions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("subscription_id", sa.String(length=36), nullable=False),
        sa.Column("query_id", _ID, nullable=False),
        sa.Column("dest", sa.String(length=500), nullable=False),
        sa.Column("wrapped_token", sa.LargeBinary(), nullable=True),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("schedule", sa.Text(), nullable=True),
        sa.Column("report_if_empty", sa.Boolean(), nullable=False),
        sa.Column("initial_record_time", _TIME, nullable=True),
        sa.Column("min_record_time", _TIME, nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("next_run_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("last_notified_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["query_id"],
            ["epcis_named_queries.id"],
            name=op.f("fk_epcis_subscriptions_query_id_epcis_named_queries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epcis_subscriptions")),
        sa.UniqueConstraint("subscription_id", name=op.f("uq_epcis_subscriptions_subscription_id")),
    )
    with op.batch_alter_table("epcis_subscriptions") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_epcis_subscriptions_query_id"), ["query_id"], unique=False
        )
        batch_op.create_index("ix_epcis_subscriptions_stream", ["stream"], unique=False)
        batch_op.create_index("ix_epcis_subscriptions_next_run_at", ["next_run_at"], unique=False)
    op.create_table(
        "epcis_subscription_deliveries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("subscription_id", _ID, nullable=False),
        sa.Column("event_ids", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TIME, nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("delivered_at", _TIME, nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'failed')",
            name=op.f("ck_epcis_subscription_deliveries_state"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["epcis_subscriptions.id"],
            name=op.f("fk_epcis_subscription_deliveries_subscription_id_epcis_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_epcis_subscription_deliveries")),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_epcis_subscription_deliveries_idempotency_key")
        ),
    )
    with op.batch_alter_table("epcis_subscription_deliveries") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_epcis_subscription_deliveries_subscription_id"),
            ["subscription_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_epcis_subscription_deliveries_state_next_attempt_at",
            ["state", "next_attempt_at"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("epcis_subscription_deliveries")
    op.drop_table("epcis_subscriptions")
    op.drop_table("epcis_named_queries")
