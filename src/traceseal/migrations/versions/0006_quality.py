"""quality dossier

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("wrapped_private", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_signing_keys_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("public_key", name=op.f("uq_signing_keys_public_key")),
    )
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signing_keys_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "quality_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column(
            "issuer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "enterprise_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "subject_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("scheme", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("attachment", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.Column("key_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_quality_records_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["organizations.id"],
            name=op.f("fk_quality_records_enterprise_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["organizations.id"],
            name=op.f("fk_quality_records_issuer_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["key_id"], ["signing_keys.id"], name=op.f("fk_quality_records_key_id_signing_keys")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_quality_records_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["quality_records.id"],
            name=op.f("fk_quality_records_subject_id_quality_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_records")),
    )
    with op.batch_alter_table("quality_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_quality_records_enterprise_kind_date",
            ["enterprise_id", "kind", "issued_on"],
            unique=False,
        )
        batch_op.create_index(
            "ix_quality_records_issuer_kind_number", ["issuer_id", "kind", "number"], unique=False
        )
        batch_op.create_index(
            "ix_quality_records_product_kind_date",
            ["product_id", "kind", "issued_on"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_quality_records_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "programmes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column(
            "record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["quality_records.id"],
            name=op.f("fk_programmes_record_id_quality_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programmes")),
        sa.UniqueConstraint("name", name=op.f("uq_programmes_name")),
    )
    op.create_table(
        "quality_scopes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "enterprise_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("category", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["organizations.id"],
            name=op.f("fk_quality_scopes_enterprise_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_quality_scopes_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["quality_records.id"],
            name=op.f("fk_quality_scopes_record_id_quality_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_scopes")),
    )
    with op.batch_alter_table("quality_scopes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_quality_scopes_enterprise_category", ["enterprise_id", "category"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_quality_scopes_product_id"), ["product_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_quality_scopes_record_id"), ["record_id"], unique=False
        )

    with op.batch_alter_table("code_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "programme_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_code_runs_programme_id_programmes"),
            "programmes",
            ["programme_id"],
            ["id"],
        )

    with op.batch_alter_table("recalls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "end_record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_index(
            "uq_recalls_active_batch",
            ["product_id", "batch_id"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL AND batch_id IS NOT NULL"),
            postgresql_where=sa.text("ended_at IS NULL AND batch_id IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_recalls_active_product",
            ["product_id"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL AND batch_id IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL AND batch_id IS NULL"),
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_recalls_end_record_id_quality_records"),
            "quality_records",
            ["end_record_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_recalls_record_id_quality_records"),
            "quality_records",
            ["record_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("recalls", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_recalls_record_id_quality_records"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_recalls_end_record_id_quality_records"), type_="foreignkey"
        )
        batch_op.drop_index(
            "uq_recalls_active_product",
            sqlite_where=sa.text("ended_at IS NULL AND batch_id IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL AND batch_id IS NULL"),
        )
        batch_op.drop_index(
            "uq_recalls_active_batch",
            sqlite_where=sa.text("ended_at IS NULL AND batch_id IS NOT NULL"),
            postgresql_where=sa.text("ended_at IS NULL AND batch_id IS NOT NULL"),
        )
        batch_op.drop_column("end_record_id")
        batch_op.drop_column("record_id")

    with op.batch_alter_table("code_runs", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_code_runs_programme_id_programmes"), type_="foreignkey"
        )
        batch_op.drop_column("programme_id")

    with op.batch_alter_table("quality_scopes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quality_scopes_record_id"))
        batch_op.drop_index(batch_op.f("ix_quality_scopes_product_id"))
        batch_op.drop_index("ix_quality_scopes_enterprise_category")

    op.drop_table("quality_scopes")
    op.drop_table("programmes")
    with op.batch_alter_table("quality_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quality_records_subject_id"))
        batch_op.drop_index("ix_quality_records_product_kind_date")
        batch_op.drop_index("ix_quality_records_issuer_kind_number")
        batch_op.drop_index("ix_quality_records_enterprise_kind_date")

    op.drop_table("quality_records")
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_keys_organization_id"))

    op.drop_table("signing_keys")
