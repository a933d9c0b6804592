"""workflows: alerts open → investigating → closed with their history; reports' states,
replies and status links

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ALERT_STATES = "state IN ('open', 'investigating', 'closed')"
_OUTCOMES = "outcome IS NULL OR outcome IN ('counterfeit', 'diverted', 'false_alarm', 'other')"
_REPORT_STATES = "state IN ('new', 'investigating', 'resolved', 'rejected')"


def _add_checked(table: str, column: str, definition: str, check: str | None) -> None:
    """A new column with its CHECK. SQLite takes the constraint inline in ADD COLUMN; batch
    mode would copy the table and lose the partial indexes it cannot reflect."""
    if op.get_bind().dialect.name == "sqlite":
        inline = f" CONSTRAINT ck_{table}_{column} CHECK ({check})" if check else ""
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}{inline}")
        return
    op.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
    if check:
        op.create_check_constraint(f"ck_{table}_{column}", table, check)


def upgrade() -> None:
    _add_checked("alerts", "state", "VARCHAR(16) DEFAULT 'open' NOT NULL", _ALERT_STATES)
    _add_checked("alerts", "outcome", "VARCHAR(16)", _OUTCOMES)
    op.create_table(
        "alert_changes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("alert_id", _ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_changes_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_alert_changes_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_changes")),
    )
    op.create_index(op.f("ix_alert_changes_alert_id"), "alert_changes", ["alert_id"], unique=False)
    _add_checked(
        "counterfeit_reports", "state", "VARCHAR(16) DEFAULT 'new' NOT NULL", _REPORT_STATES
    )
    _add_checked("counterfeit_reports", "reply", "TEXT DEFAULT '' NOT NULL", None)
    op.add_column(
        "counterfeit_reports",
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "counterfeit_reports",
        sa.Column("status_token_hash", sa.String(length=64), nullable=True),
    )
    op.create_index(
        op.f("ix_counterfeit_reports_status_token_hash"),
        "counterfeit_reports",
        ["status_token_hash"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_counterfeit_reports_status_token_hash"), table_name="counterfeit_reports"
    )
    # Plain DROP COLUMN on both engines: each CHECK belongs to its own column, which SQLite
    # (3.35+) drops with it; batch mode would copy the tables and keep the CHECKs.
    for column in ("status_token_hash", "replied_at", "reply", "state"):
        op.execute(f"ALTER TABLE counterfeit_reports DROP COLUMN {column}")
    op.drop_index(op.f("ix_alert_changes_alert_id"), table_name="alert_changes")
    op.drop_table("alert_changes")
    for column in ("outcome", "state"):
        op.execute(f"ALTER TABLE alerts DROP COLUMN {column}")
