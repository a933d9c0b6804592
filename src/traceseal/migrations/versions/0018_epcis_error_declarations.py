"""epcis error declarations: events declared erroneous, and their corrective events

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "epcis_error_declarations",
        sa.Column("event", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("capture_job_id", _ID, nullable=False),
        sa.Column("declaration_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["capture_job_id"],
            ["epcis_capture_jobs.id"],
            name=op.f("fk_epcis_error_declarations_capture_job_id_epcis_capture_jobs"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_epcis_error_declarations_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("event", name=op.f("pk_epcis_error_declarations")),
    )
    with op.batch_alter_table("epcis_error_declarations") as batch:
        batch.create_index(
            batch.f("ix_epcis_error_declarations_declaration_time"), ["declaration_time"]
        )
    op.create_table(
        "epcis_corrective_events",
        sa.Column("corrective_event_id", sa.String(length=300), nullable=False),
        sa.Column("event", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint(
            "corrective_event_id", "event", name=op.f("pk_epcis_corrective_events")
        ),
        sqlite_with_rowid=False,
    )
    _existing_declarations()


def _existing_declarations() -> None:
    """Events captured before this revision that carry an errorDeclaration declared nothing
    (their eventID was new to their capturer): each gets its row pointing at itself."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT id, organization_id, capture_job_id, body FROM epcis_events "
            "WHERE body LIKE '%\"errorDeclaration\"%'"
        )
    ).fetchall()
    declarations = sa.table(
        "epcis_error_declarations",
        sa.column("event"),
        sa.column("leaf_index"),
        sa.column("organization_id"),
        sa.column("capture_job_id"),
        sa.column("declaration_time", sa.DateTime(timezone=True)),
        sa.column("reason"),
    )
    corrective = sa.table(
        "epcis_corrective_events", sa.column("corrective_event_id"), sa.column("event")
    )
    for event, organization, job, body in rows:
        declaration = json.loads(body).get("errorDeclaration")
        if not isinstance(declaration, dict):
            continue
        at = datetime.fromisoformat(declaration["declarationTime"]).astimezone(UTC)
        reason = declaration.get("reason")
        if isinstance(reason, str):
            # The bare CBV term, as capture stores it (vocab.normalise, frozen here).
            for prefix in ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"):
                reason = reason.removeprefix(prefix)
        op.execute(
            declarations.insert().values(
                event=event,
                leaf_index=event,
                organization_id=organization,
                capture_job_id=job,
                declaration_time=at,
                reason=reason,
            )
        )
        for corrective_id in dict.fromkeys(declaration.get("correctiveEventIDs") or ()):
            op.execute(corrective.insert().values(corrective_event_id=corrective_id, event=event))


def downgrade() -> None:
    # The events declared erroneous stay; what marked them goes (the declarations' leaves
    # stay in the log, which is append-only).
    op.drop_table("epcis_corrective_events")
    with op.batch_alter_table("epcis_error_declarations") as batch:
        batch.drop_index(batch.f("ix_epcis_error_declarations_declaration_time"))
    op.drop_table("epcis_error_declarations")
