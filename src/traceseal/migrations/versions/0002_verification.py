"""verification, scans, alerts, recalls, reports

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_windows",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("window_start", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_windows")),
    )
    op.create_table(
        "report_photos",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=30), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_report_photos")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "acknowledged_by_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "severity IN ('info', 'warning', 'critical')", name=op.f("ck_alerts_severity")
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["organizations.id"],
            name=op.f("fk_alerts_acknowledged_by_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_alerts_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_alerts_dedupe_key")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alerts_organization_raised_at", ["organization_id", "raised_at"], unique=False
        )

    op.create_table(
        "scanned_codes",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("scan_count", sa.BigInteger(), nullable=False),
        sa.Column("first_scan_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_region", sa.String(length=6), nullable=True),
        sa.Column("last_scan_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_region", sa.String(length=6), nullable=True),
        sa.Column("last_device_hash", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_scanned_codes_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("slot", "sequence", name=op.f("pk_scanned_codes")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("scanned_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scanned_codes_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "counterfeit_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("code_status", sa.String(length=16), nullable=False),
        sa.Column("where_bought", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("photo_sha256", sa.String(length=64), nullable=True),
        sa.Column("ip_hash", sa.String(length=32), nullable=True),
        sa.Column("device_hash", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_counterfeit_reports_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["photo_sha256"],
            ["report_photos.sha256"],
            name=op.f("fk_counterfeit_reports_photo_sha256_report_photos"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_counterfeit_reports_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counterfeit_reports")),
    )
    with op.batch_alter_table("counterfeit_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_counterfeit_reports_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_counterfeit_reports_reported_at"), ["reported_at"], unique=False
        )

    op.create_table(
        "recalls",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "announced_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["announced_by_id"],
            ["organizations.id"],
            name=op.f("fk_recalls_announced_by_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_recalls_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_recalls_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recalls")),
    )
    with op.batch_alter_table("recalls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recalls_product_id_ended_at", ["product_id", "ended_at"], unique=False
        )

    op.create_table(
        "scans",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.String(length=200), nullable=False),
        sa.Column("scan_count", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("ip_hash", sa.String(length=32), nullable=True),
        sa.Column("device_hash", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "channel IN ('qr', 'web', 'api', 'sms', 'voice', 'chat')", name=op.f("ck_scans_channel")
        ),
        sa.CheckConstraint(
            "verdict IN ('genuine', 'genuine_repeat', 'suspicious', 'inactive', 'void', "
            "'recalled', 'not_found', 'mistyped')",
            name=op.f("ck_scans_verdict"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_scans_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_scans_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_scans_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scans")),
    )
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scans_organization_scanned_at", ["organization_id", "scanned_at"], unique=False
        )
        batch_op.create_index("ix_scans_slot_sequence", ["slot", "sequence"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_index("ix_scans_slot_sequence")
        batch_op.drop_index("ix_scans_organization_scanned_at")

    op.drop_table("scans")
    with op.batch_alter_table("recalls", schema=None) as batch_op:
        batch_op.drop_index("ix_recalls_product_id_ended_at")

    op.drop_table("recalls")
    with op.batch_alter_table("counterfeit_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_counterfeit_reports_reported_at"))
        batch_op.drop_index(batch_op.f("ix_counterfeit_reports_organization_id"))

    op.drop_table("counterfeit_reports")
    with op.batch_alter_table("scanned_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scanned_codes_organization_id"))

    op.drop_table("scanned_codes")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_organization_raised_at")

    op.drop_table("alerts")
    op.drop_table("report_photos")
    op.drop_table("rate_windows")
