"""The Alembic migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from traceseal.config import Settings
from traceseal.db import make_engine, migrate
from traceseal.models import Base


def test_models_and_migrations_agree(migrated: Settings) -> None:
    engine = make_engine(migrated.resolved_database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_upgrading_keeps_events_and_gives_cited_attachments_their_issuers(
    settings: Settings,
) -> None:
    """0011 and 0012 over data written at 0010: cited attachments belong to their records'
    issuers; events stay, now unique per capturing organisation."""
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate(engine, "0010")
        with engine.begin() as conn:
            _rows_at_0010(conn)
        migrate(engine)
        with engine.begin() as conn:
            uploads = conn.execute(
                text("SELECT sha256, organization_id FROM quality_attachments")
            ).all()
            assert [tuple(row) for row in uploads] == [("a" * 64, 2)]
            assert conn.execute(text("SELECT count(*) FROM epcis_events")).scalar_one() == 1
            # Another organisation may now hold the same eventID and hash...
            _event(conn, 2, organization=1)
            # ...but one organisation still holds each once.
            with pytest.raises(IntegrityError), conn.begin_nested():
                _event(conn, 3, organization=1)
    finally:
        engine.dispose()


_NOW = "2026-12-01 00:00:00+00:00"


def _rows_at_0010(conn: Connection) -> None:
    for org, role in ((1, "enterprise"), (2, "lab")):
        conn.execute(
            text("INSERT INTO organizations (id, name, role, created_at) VALUES (:i, :n, :r, :t)"),
            {"i": org, "n": f"org {org}", "r": role, "t": _NOW},
        )
    conn.execute(
        text(
            "INSERT INTO signing_keys (id, organization_id, public_key, created_at) "
            "VALUES (1, 2, :k, :t)"
        ),
        {"k": b"k" * 32, "t": _NOW},
    )
    for record, attachment in ((1, "a" * 64), (2, "a" * 64), (3, None)):
        conn.execute(
            text(
                "INSERT INTO quality_records (id, kind, issuer_id, number, scheme, outcome, "
                "status, issued_on, attachment, payload, signature, key_id, created_at) VALUES "
                "(:i, 'certificate', 2, :n, 'CCC', '', 'valid', '2026-01-01', :a, '{}', :s, 1, :t)"
            ),
            {"i": record, "n": f"N{record}", "a": attachment, "s": b"s" * 64, "t": _NOW},
        )
    conn.execute(
        text(
            "INSERT INTO epcis_capture_jobs (id, capture_id, organization_id, created_at, "
            "running, success, error_behaviour, source_format, event_count, duplicate_count, "
            "context, errors) VALUES (1, 'c1', 2, :t, false, true, 'rollback', 'json', 1, 0, "
            "'{}', '[]')"
        ),
        {"t": _NOW},
    )
    _event(conn, 1, organization=2)


def _event(conn: Connection, row: int, *, organization: int) -> None:
    conn.execute(
        text(
            "INSERT INTO epcis_events (id, event_id, event_hash, capture_job_id, "
            "organization_id, event_type, event_time, record_time, leaf_index, body) VALUES "
            "(:i, 'urn:uuid:1', 'ni:///sha-256;1', 1, :o, 'ObjectEvent', :t, :t, :i, '{}')"
        ),
        {"i": row, "o": organization, "t": _NOW},
    )
