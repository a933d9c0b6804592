"""The Alembic migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from traceseal import db
from traceseal.config import Settings
from traceseal.db import db_time, make_engine, migrate, py_time
from traceseal.models import Base
from traceseal.verify.partitions import is_partition, is_partitioned, month_partitions


def test_models_and_migrations_agree(migrated: Settings) -> None:
    engine = make_engine(migrated.resolved_database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": _not_a_partition}
        )
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def _not_a_partition(name: str | None, type_: str, _parents: object) -> bool:
    return not (type_ == "table" and is_partition(name))


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


_SCAN = (
    "INSERT INTO scans (id, scanned_at, code, slot, organization_id, verdict, reasons, "
    "scan_count, channel) VALUES (:i, :t, :c, 7, 1, 'genuine', '', 1, 'qr')"
)


def _downgrade(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _scans(conn: Connection) -> list[tuple[object, ...]]:
    rows = conn.execute(text("SELECT id, code, scanned_at FROM scans ORDER BY id")).all()
    return [(row[0], row[1], py_time(row[2])) for row in rows]


def test_the_scan_log_is_partitioned_with_its_rows_and_back(settings: Settings) -> None:
    """0021 over scans written at 0017: every row kept with its id, new ids continue; on
    PostgreSQL the table is partitioned by month (with a DEFAULT), and the downgrade
    brings the plain table back with the rows."""
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate(engine, "0017")
        times = [
            datetime(2025, 3, 9, 12, tzinfo=UTC),
            datetime.now(UTC),
            datetime(2031, 1, 1, tzinfo=UTC),
        ]
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organizations (id, name, role, created_at) VALUES "
                    "(1, 'brand', 'enterprise', :t)"
                ),
                {"t": _NOW},
            )
            for i, at in enumerate(times, start=1):
                conn.execute(text(_SCAN), {"i": i, "t": db_time(at, conn.dialect), "c": f"c{i}"})
            if conn.dialect.name == "postgresql":
                # Where the sequence would be had the rows been numbered by it.
                conn.execute(text("SELECT setval('scans_id_seq', 3)"))
            before = _scans(conn)
        migrate(engine)
        postgres = engine.dialect.name == "postgresql"
        with engine.begin() as conn:
            assert _scans(conn) == before
            assert is_partitioned(conn) is postgres
            if postgres:
                names = [p.name for p in month_partitions(conn)]
                assert names[0] == "scans_p202503"  # from the oldest row's month on
                assert len(names) > 20
                homes = conn.execute(text("SELECT tableoid::regclass::text FROM scans ORDER BY id"))
                assert list(homes.scalars()) == [
                    "scans_p202503",
                    f"scans_p{times[1]:%Y%m}",
                    "scans_default",
                ]
            # New rows are numbered after the copied ones.
            conn.execute(
                text(_SCAN.replace("(id, ", "(").replace("(:i, ", "(")),
                {"t": db_time(times[1], conn.dialect), "c": "new"},
            )
            assert _scans(conn)[-1][:2] == (4, "new")
        _downgrade(engine, "0017")
        with engine.begin() as conn:
            assert is_partitioned(conn) is False
            assert [row[:2] for row in _scans(conn)] == [
                (1, "c1"),
                (2, "c2"),
                (3, "c3"),
                (4, "new"),
            ]
            shape = inspect(conn)
            # The plain table has every index and foreign key back.
            assert {i["name"] for i in shape.get_indexes("scans")} == {
                "ix_scans_slot_sequence",
                "ix_scans_organization_scanned_at",
                "ix_scans_trade_by_brand",
                "ix_scans_trade_by_checker",
            }
            assert shape.get_pk_constraint("scans")["constrained_columns"] == ["id"]
            assert {fk["referred_table"] for fk in shape.get_foreign_keys("scans")} == {
                "organizations",
                "products",
                "batches",
            }
        migrate(engine)
        with engine.begin() as conn:
            assert len(_scans(conn)) == 4
            assert is_partitioned(conn) is postgres
    finally:
        engine.dispose()


_ROLLUP = (
    "INSERT INTO scan_rollups (day, hour, organization_id, product_id, batch_id, province, "
    "city, channel, verdict, shard, scans, firsts, repeats, trade) VALUES "
    "(:day, 3, 1, 2, 0, '440000', '440300', 'qr', 'genuine', :shard, :n, :n, 0, 0)"
)


def test_rollup_shards_are_added_as_shard_0_and_merged_back_on_downgrade(
    settings: Settings,
) -> None:
    """0034 keys a rollup bucket's rows by shard: rows from before are shard 0; going back,
    a bucket's shards are summed into its one row again."""
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate(engine, "0033")
        old = "INSERT INTO scan_rollups (day, hour, organization_id, product_id, batch_id, "
        with engine.begin() as conn:
            conn.execute(
                text(
                    old + "province, city, channel, verdict, scans, firsts, repeats, trade) "
                    "VALUES ('2026-10-01', 3, 1, 2, 0, '440000', '440300', 'qr', 'genuine', "
                    "5, 5, 0, 0)"
                )
            )
        migrate(engine)
        with engine.begin() as conn:
            assert conn.execute(text("SELECT shard, scans FROM scan_rollups")).all() == [(0, 5)]
            for shard, n in ((1, 7), (6, 11)):
                conn.execute(text(_ROLLUP), {"day": "2026-10-01", "shard": shard, "n": n})
            conn.execute(text(_ROLLUP), {"day": "2026-10-02", "shard": 3, "n": 2})
        _downgrade(engine, "0033")
        with engine.begin() as conn:
            rows = conn.execute(
                text("SELECT day, scans, firsts FROM scan_rollups ORDER BY day")
            ).all()
            assert [(str(day)[:10], scans, firsts) for day, scans, firsts in rows] == [
                ("2026-10-01", 23, 23),
                ("2026-10-02", 2, 2),
            ]
            pk = inspect(conn).get_pk_constraint("scan_rollups")["constrained_columns"]
            assert "shard" not in pk
            assert len(pk) == 9
    finally:
        engine.dispose()


def test_the_tests_template_copy_equals_a_migrated_database(
    migrated: Settings, tmp_path: Path, database_url: str
) -> None:
    """tests/conftest.py gives each test a copy of one database migrated per process (a
    file copy on SQLite, a replayed pg_dump on PostgreSQL). The copy must be what running
    the migrations gives: the same tables, columns, indexes, constraints, rows and
    revision."""
    copied = make_engine(migrated.resolved_database_url)
    if database_url.startswith("sqlite"):
        fresh_url = f"sqlite:///{tmp_path / 'fresh.db'}"
        fresh = make_engine(fresh_url)
        migrate(fresh)
        assert _fingerprint(copied) == _fingerprint(fresh)
        fresh.dispose()
    else:
        from tests.conftest import postgres_schema

        with postgres_schema() as fresh_url:
            fresh = make_engine(fresh_url)
            migrate(fresh)
            assert _fingerprint(copied) == _fingerprint(fresh)
            fresh.dispose()
    copied.dispose()


def _fingerprint(engine: Engine) -> dict[str, object]:
    tables: dict[str, object] = {}
    with engine.connect() as conn:
        inspector = inspect(conn)
        for name in sorted(inspector.get_table_names()):
            tables[name] = (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)],
                sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(name)),
                sorted(str(u["name"]) for u in inspector.get_unique_constraints(name)),
                sorted(str(f["name"]) for f in inspector.get_foreign_keys(name)),
                inspector.get_pk_constraint(name)["constrained_columns"],
                # The names come from the database's own catalogue.
                conn.scalar(text(f'SELECT count(*) FROM "{name}"')),  # noqa: S608
            )
        tables["revision"] = conn.scalar(text("SELECT version_num FROM alembic_version"))
    return tables
