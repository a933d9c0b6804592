"""message channels: SMS and WeChat

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OLD = "'qr', 'web', 'api', 'sms', 'voice', 'chat'"
_NEW = "'qr', 'web', 'api', 'sms', 'voice', 'chat', 'wechat'"


def _channels(allowed: str) -> None:
    # SQLite cannot change a CHECK constraint in place: batch mode copies the scan log once.
    # PostgreSQL drops and adds it (checking the existing rows).
    with op.batch_alter_table("scans") as batch:
        batch.drop_constraint(op.f("ck_scans_channel"), type_="check")
        batch.create_check_constraint("channel", f"channel IN ({allowed})")


def upgrade() -> None:
    # Nullable and set only by the counter's insert: both engines add it in place.
    op.add_column("scanned_codes", sa.Column("first_channel", sa.String(length=8), nullable=True))
    _channels(_NEW)
    op.create_table(
        "channel_messages",
        sa.Column("id", _ID, nullable=False),
        sa.Column("provider", sa.String(length=10), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("sender_hash", sa.String(length=32), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("code", sa.String(length=20), nullable=True),
        sa.Column("lang", sa.String(length=5), nullable=False),
        sa.Column("reply", sa.String(length=500), nullable=False),
        sa.CheckConstraint(
            "provider IN ('aliyun', 'tencent', 'generic', 'wechat', 'cli')",
            name=op.f("ck_channel_messages_provider"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_channel_messages_dedupe_key")),
    )
    op.create_index(
        "ix_channel_messages_sender_received_at",
        "channel_messages",
        ["sender_hash", "received_at"],
    )
    op.create_table(
        "sms_outbox",
        sa.Column("id", _ID, nullable=False),
        sa.Column("message_id", _ID, nullable=False),
        sa.Column("provider", sa.String(length=10), nullable=False),
        sa.Column("wrapped_phone", sa.LargeBinary(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_id", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'failed')", name=op.f("ck_sms_outbox_state")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["channel_messages.id"],
            name=op.f("fk_sms_outbox_message_id_channel_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_outbox")),
    )
    op.create_index("ix_sms_outbox_message_id", "sms_outbox", ["message_id"])
    op.create_index(
        "ix_sms_outbox_state_next_attempt_at", "sms_outbox", ["state", "next_attempt_at"]
    )
    op.create_table(
        "channel_tokens",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("wrapped_value", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshing_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_channel_tokens")),
    )


def downgrade() -> None:
    op.drop_table("channel_tokens")
    op.drop_table("sms_outbox")
    op.drop_table("channel_messages")
    op.execute("DELETE FROM scans WHERE channel = 'wechat'")
    _channels(_OLD)
    with op.batch_alter_table("scanned_codes") as batch:
        batch.drop_column("first_channel")
