"""eventIDs and event hashes unique per capturing organisation

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every stored pair is unique already (each value was unique on its own).
    with op.batch_alter_table("epcis_events") as batch:
        batch.drop_constraint("uq_epcis_events_event_hash", type_="unique")
        batch.drop_constraint("uq_epcis_events_event_id", type_="unique")
        batch.create_unique_constraint(
            "uq_epcis_events_organization_id_event_id", ["organization_id", "event_id"]
        )
        batch.create_unique_constraint(
            "uq_epcis_events_organization_id_event_hash", ["organization_id", "event_hash"]
        )
        batch.create_index("ix_epcis_events_event_id", ["event_id"])


def downgrade() -> None:
    # Fails if two organisations have captured the same eventID or event since the upgrade:
    # such a repository cannot go back to global uniqueness without losing events.
    with op.batch_alter_table("epcis_events") as batch:
        batch.drop_index("ix_epcis_events_event_id")
        batch.drop_constraint("uq_epcis_events_organization_id_event_hash", type_="unique")
        batch.drop_constraint("uq_epcis_events_organization_id_event_id", type_="unique")
        batch.create_unique_constraint("uq_epcis_events_event_id", ["event_id"])
        batch.create_unique_constraint("uq_epcis_events_event_hash", ["event_hash"])
