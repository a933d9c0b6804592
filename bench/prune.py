"""Retention: removing half a year of a year's scan log, by engine and by method.

Set-up per case: a fresh database with ``--scans`` scan rows spread evenly over the last 12
months (ids in time order, as verification writes them). Then ``verify.partitions.prune``
with a horizon six months back, timed, and the rows left counted (the check that it did its
work). Cases:

- SQLite: batched deletes (the only way there);
- PostgreSQL, partitioned (migration 0023): whole months dropped, the month holding the
  horizon deleted in batches;
- PostgreSQL, the same log as a plain table (migration 0023 downgraded): every row deleted in
  batches, what retention would cost without partitions.

Prints rows removed per second for each and the partitioned/plain ratio on PostgreSQL.

Usage: python bench/prune.py [--scans 300000] [--url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from traceseal import db
from traceseal.db import make_engine, make_session_factory, migrate
from traceseal.verify.partitions import ensure_partitions, is_partitioned, prune

COLUMNS = "scanned_at, code, slot, organization_id, verdict, reasons, scan_count, channel"


def _rows(count: int, now: datetime) -> list[tuple[datetime, str]]:
    step = timedelta(days=365) / count
    return [(now - timedelta(days=365) + i * step, f"{i:020d}") for i in range(count)]


def _fill_sqlite(path: Path, rows: list[tuple[datetime, str]]) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO organizations (id, name, role, created_at) "
            "VALUES (1, 'brand', 'enterprise', '2026-01-01 00:00:00')"
        )
        conn.executemany(
            f"INSERT INTO scans ({COLUMNS}) VALUES (?, ?, 100, 1, 'genuine', '', 1, 'qr')",  # noqa: S608
            [(at.replace(tzinfo=None).isoformat(" "), code) for at, code in rows],
        )


def _fill_postgres(url: str, rows: list[tuple[datetime, str]]) -> None:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute(
            "INSERT INTO organizations (id, name, role, created_at) "
            "VALUES (1, 'brand', 'enterprise', now())"
        )
        with conn.cursor().copy(f"COPY scans ({COLUMNS}) FROM STDIN") as copy:
            for at, code in rows:
                copy.write_row((at, code, 100, 1, "genuine", "", 1, "qr"))


def _timed_prune(url: str, now: datetime) -> tuple[float, int, int, int]:
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        started = time.perf_counter()
        done = prune(factory, now - timedelta(days=182))
        elapsed = time.perf_counter() - started
        with engine.connect() as conn:
            left = int(conn.execute(text("SELECT count(*) FROM scans")).scalar_one())
        return elapsed, done.rows, len(done.partitions), left
    finally:
        engine.dispose()


def _report(name: str, elapsed: float, rows: int, months: int, left: int) -> float:
    rate = rows / elapsed
    print(
        f"  {name:24} {rows:>9,} rows in {elapsed:6.2f} s = {rate:>10,.0f} rows/s "
        f"({months} months dropped whole; {left:,} rows left)",
        flush=True,
    )
    return rate


def _postgres_case(url: str, rows: list[tuple[datetime, str]], now: datetime, plain: bool) -> float:
    schema = "prune_" + secrets.token_hex(4)
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    scoped = f"{url}{sep}options=-csearch_path%3D{schema}"
    try:
        engine = make_engine(scoped)
        migrate(engine)
        with engine.begin() as conn:
            ensure_partitions(conn, now - timedelta(days=366), 14)
        if plain:
            config = Config()
            config.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
            with engine.begin() as conn:
                config.attributes["connection"] = conn
                command.downgrade(config, "0017")
        with engine.connect() as conn:
            assert is_partitioned(conn) is not plain
        engine.dispose()
        _fill_postgres(scoped, rows)
        libpq = scoped.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(libpq, autocommit=True) as c:
            c.execute("ANALYZE scans")
        return _report(
            "PostgreSQL, " + ("plain table" if plain else "partitioned"),
            *_timed_prune(scoped, now),
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scans", type=int, default=300_000)
    parser.add_argument("--url", default=os.environ.get("TRACESEAL_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    now = datetime.now(UTC)
    rows = _rows(args.scans, now)
    print(f"{args.scans:,} scans over 12 months; removing those older than 182 days")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "traceseal.db"
        engine = make_engine(f"sqlite:///{path}")
        migrate(engine)
        engine.dispose()
        _fill_sqlite(path, rows)
        _report("SQLite", *_timed_prune(f"sqlite:///{path}", now))
    if not args.url.startswith("postgresql"):
        print("  PostgreSQL: give --url (or TRACESEAL_TEST_POSTGRES_URL)")
        sys.exit(0)
    partitioned = _postgres_case(args.url, rows, now, plain=False)
    plain = _postgres_case(args.url, rows, now, plain=True)
    print(
        f"  PostgreSQL partitioned / plain: {partitioned / plain:.1f}x the rows removed per second"
    )


if __name__ == "__main__":
    main()
