"""logistics

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "code_risk",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("devices", sa.String(length=200), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_lat", sa.Float(), nullable=True),
        sa.Column("last_lon", sa.Float(), nullable=True),
        sa.Column("last_region", sa.String(length=6), nullable=True),
        sa.Column("diversion", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_code_risk_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("slot", "sequence", name=op.f("pk_code_risk")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("code_risk", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_code_risk_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "distributors",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "enterprise_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["organizations.id"],
            name=op.f("fk_distributors_enterprise_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_distributors_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_distributors")),
        sa.UniqueConstraint(
            "enterprise_id",
            "organization_id",
            name=op.f("uq_distributors_enterprise_id_organization_id"),
        ),
    )
    with op.batch_alter_table("distributors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_distributors_enterprise_id"), ["enterprise_id"], unique=False
        )

    op.create_table(
        "webhooks",
        sa.Column(
            "organization_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("wrapped_secret", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_webhooks_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "distributor_locations",
        sa.Column("gln", sa.String(length=13), nullable=False),
        sa.Column(
            "distributor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id"],
            ["distributors.id"],
            name=op.f("fk_distributor_locations_distributor_id_distributors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("gln", "distributor_id", name=op.f("pk_distributor_locations")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "distributor_regions",
        sa.Column(
            "distributor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["distributor_id"],
            ["distributors.id"],
            name=op.f("fk_distributor_regions_distributor_id_distributors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("distributor_id", "region", name=op.f("pk_distributor_regions")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "code_assignments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "distributor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("slot", sa.Integer(), nullable=True),
        sa.Column("start", sa.BigInteger(), nullable=True),
        sa.Column("stop", sa.BigInteger(), nullable=True),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_code_assignments_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id"],
            ["distributors.id"],
            name=op.f("fk_code_assignments_distributor_id_distributors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_assignments")),
    )
    with op.batch_alter_table("code_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_code_assignments_batch_id", ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_code_assignments_distributor_id"), ["distributor_id"], unique=False
        )
        batch_op.create_index("ix_code_assignments_slot_start", ["slot", "start"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("alert_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'failed')", name=op.f("ck_webhook_deliveries_state")
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_webhook_deliveries_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_webhook_deliveries_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_webhook_deliveries_idempotency_key")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            "ix_webhook_deliveries_state_next_attempt_at",
            ["state", "next_attempt_at"],
            unique=False,
        )

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region", sa.String(length=6), nullable=True))
        batch_op.add_column(
            sa.Column(
                "distributor_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("code", sa.String(length=20), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_alerts_distributor_id"), ["distributor_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_alerts_distributor_id_distributors"),
            "distributors",
            ["distributor_id"],
            ["id"],
        )

    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region_source", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("region_precision", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_column("region_precision")
        batch_op.drop_column("region_source")

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_alerts_distributor_id_distributors"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_alerts_distributor_id"))
        batch_op.drop_column("code")
        batch_op.drop_column("distributor_id")
        batch_op.drop_column("region")

    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_state_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_organization_id"))

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("code_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_code_assignments_slot_start")
        batch_op.drop_index(batch_op.f("ix_code_assignments_distributor_id"))
        batch_op.drop_index("ix_code_assignments_batch_id")

    op.drop_table("code_assignments")
    op.drop_table("distributor_regions")
    op.drop_table("distributor_locations")
    op.drop_table("webhooks")
    with op.batch_alter_table("distributors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_distributors_enterprise_id"))

    op.drop_table("distributors")
    with op.batch_alter_table("code_risk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_risk_organization_id"))

    op.drop_table("code_risk")
