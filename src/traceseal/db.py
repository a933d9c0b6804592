"""Storage: one SQL schema for SQLite (embedded default) and PostgreSQL (production).

Engines and sessions are made by factories from :class:`~traceseal.config.Settings`; nothing
here connects at import time. The edge (HTTP request, CLI command, job) opens the unit of work
with :func:`unit_of_work`; services take a session and never commit.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "BigId",
    "UtcDateTime",
    "dialect_insert",
    "make_engine",
    "make_session_factory",
    "migrate",
    "unit_of_work",
    "utcnow",
    "writer_turn",
]

# Constraint names are part of the schema that migrations refer to; make them predictable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: 64-bit keys on PostgreSQL; SQLite only auto-increments a column declared INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both engines (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Any,  # noqa: ARG002 - SQLAlchemy's signature
    ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: One in-process writer queue per SQLite engine (see :func:`writer_turn`).
_GATES: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
#: After this long in the queue, go to SQLite's busy handling rather than wait forever.
_GATE_TIMEOUT = 30.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (verification) proceed while a writer (issuance, capture) commits.
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL is durable across application crashes in WAL mode; only a power loss can lose
    # the last transactions, never corrupt the file.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Reads through a memory map rather than read() calls into each connection's own
    # page cache: the hot pages of the code and scan indexes are shared by every thread.
    cursor.execute("PRAGMA mmap_size=1073741824")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # LIFO: the connection used last, whose page cache is warm, is the one reused.
        kwargs.setdefault("pool_use_lifo", True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN, which lets two writers both
        # read before either writes. Emit BEGIN IMMEDIATE ourselves so a write transaction
        # holds the write lock from its first statement.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))

        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        # Reentrant: a thread already inside a transaction may open another (it then
        # waits on SQLite's own lock, as it would without the gate).
        _GATES[engine] = threading.RLock()
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def writer_turn(factory: sessionmaker[Session]) -> Iterator[None]:
    """Wait for this process's turn at SQLite's single write lock; no-op on PostgreSQL.

    Every SQLite transaction starts with BEGIN IMMEDIATE, so only one runs at a time. Left
    to SQLite, the threads that find the lock taken poll it with growing sleeps (up to
    100 ms), which under load turns a 1 ms transaction into a long tail. Queueing on a
    lock in process hands the turn over as soon as the holder is done. Other processes
    still meet SQLite's busy timeout.
    """
    engine = factory.kw.get("bind")
    gate = _GATES.get(engine) if engine is not None else None
    if gate is None:
        yield
        return
    acquired = gate.acquire(timeout=_GATE_TIMEOUT)
    try:
        yield
    finally:
        if acquired:
            gate.release()


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit if the block finishes, roll back if it raises."""
    with writer_turn(factory), factory() as session, session.begin():
        yield session


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (batch mode on SQLite)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def dialect_insert(session: Session, model: Any) -> Any:
    """An INSERT with ``on_conflict_do_update``/``_do_nothing`` for the session's engine.

    SQLite (3.35+) and PostgreSQL share the ``ON CONFLICT`` syntax and ``RETURNING``, so one
    statement is an atomic upsert on both: the way counters are kept without a
    read-modify-write (PRODUCT.md, decision 3).
    """
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model)
