"""the telephone channel: scans may come from the IVR (channel 'phone')

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "'qr', 'web', 'api', 'sms', 'voice', 'chat', 'wechat'"
_NEW = "'qr', 'web', 'api', 'sms', 'voice', 'chat', 'wechat', 'phone'"


def _channels(allowed: str) -> None:
    # SQLite cannot change a CHECK constraint in place: batch mode copies the scan log once.
    # PostgreSQL drops and adds it (checking the existing rows).
    with op.batch_alter_table("scans") as batch:
        batch.drop_constraint(op.f("ck_scans_channel"), type_="check")
        batch.create_check_constraint("channel", f"channel IN ({allowed})")


def upgrade() -> None:
    _channels(_NEW)


def downgrade() -> None:
    # Scans taken by telephone cannot be kept under the old constraint.
    op.execute("DELETE FROM scans WHERE channel = 'phone'")
    op.execute("UPDATE scanned_codes SET first_channel = NULL WHERE first_channel = 'phone'")
    _channels(_OLD)
