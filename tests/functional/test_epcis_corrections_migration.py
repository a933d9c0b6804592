"""Migration 0018 over events captured before it: those that carry an errorDeclaration (their
eventID was new to their capturer, so they declared nothing) are marked by themselves, so the
errorDeclaration query parameters find them and journeys skip them."""

from __future__ import annotations

import json

from sqlalchemy import Connection, text

from traceseal.config import Settings
from traceseal.db import make_engine, migrate

_NOW = "2026-12-01 00:00:00+00:00"
_DECLARATION = {
    "declarationTime": "2026-11-03T09:00:00+08:00",
    "reason": "urn:epcglobal:cbv:er:incorrect_data",
    "correctiveEventIDs": ["urn:uuid:2", "urn:uuid:2", "urn:uuid:3"],
}


def test_events_carrying_a_declaration_are_marked_by_themselves(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate(engine, "0017")
        with engine.begin() as conn:
            _rows_at_0017(conn)
        migrate(engine)
        with engine.begin() as conn:
            rows = conn.execute(
                text(
                    "SELECT event, leaf_index, organization_id, capture_job_id, reason, body "
                    "FROM epcis_error_declarations"
                )
            ).all()
            assert [tuple(row) for row in rows] == [(2, 2, 1, 1, "incorrect_data", None)]
            corrective = conn.execute(
                text("SELECT corrective_event_id, event FROM epcis_corrective_events")
            ).all()
            assert sorted(tuple(row) for row in corrective) == [
                ("urn:uuid:2", 2),
                ("urn:uuid:3", 2),
            ]
        migrate(engine, "0017")  # and back down
        with engine.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM epcis_events")).scalar_one() == 2
    finally:
        engine.dispose()


def _rows_at_0017(conn: Connection) -> None:
    conn.execute(
        text(
            "INSERT INTO organizations (id, name, role, created_at) "
            "VALUES (1, 'org 1', 'enterprise', :t)"
        ),
        {"t": _NOW},
    )
    conn.execute(
        text(
            "INSERT INTO epcis_capture_jobs (id, capture_id, organization_id, created_at, "
            "running, success, error_behaviour, source_format, event_count, duplicate_count, "
            "context, errors) VALUES (1, 'c1', 1, :t, false, true, 'rollback', 'json', 2, 0, "
            "'{}', '[]')"
        ),
        {"t": _NOW},
    )
    for row, body in ((1, {"type": "ObjectEvent"}), (2, {"errorDeclaration": _DECLARATION})):
        conn.execute(
            text(
                "INSERT INTO epcis_events (id, event_id, event_hash, capture_job_id, "
                "organization_id, event_type, event_time, record_time, leaf_index, body) VALUES "
                "(:i, :e, :h, 1, 1, 'ObjectEvent', :t, :t, :i, :b)"
            ),
            {"i": row, "e": f"urn:uuid:e{row}", "h": f"h{row}", "t": _NOW, "b": json.dumps(body)},
        )
