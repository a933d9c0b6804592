"""Storage: one SQL schema for SQLite (embedded default) and PostgreSQL (production).

Engines and sessions are made by factories from :class:`~traceseal.config.Settings`; nothing
here connects at import time. The edge (HTTP request, CLI command, job) opens the unit of work
with :func:`unit_of_work`; services take a session and never commit.
"""

from __future__ import annotations

import copy
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "BigId",
    "Executor",
    "Prepared",
    "UtcDateTime",
    "checkpoint_wal",
    "connection_of",
    "db_time",
    "dbapi_errors",
    "dialect_insert",
    "dialect_of",
    "make_engine",
    "make_session_factory",
    "migrate",
    "py_date",
    "py_time",
    "sends_ahead",
    "unit_of_work",
    "utcnow",
    "writer_gate",
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
_GATES: weakref.WeakKeyDictionary[Engine, Any] = weakref.WeakKeyDictionary()
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
    cursor.execute("PRAGMA busy_timeout=10000")  # verify/channel.py BUSY_TIMEOUT_MS
    # Reads through a memory map rather than read() calls into each connection's own
    # page cache: the hot pages of the code and scan indexes are shared by every thread.
    cursor.execute("PRAGMA mmap_size=1073741824")
    # A checkpoint copies the WAL into the database and syncs it; the server runs them in
    # a background thread (checkpoint_wal), so a committing request only does one when the
    # WAL has outgrown 20,000 pages, 80 MB (the checkpointer stopped, or a big CLI job).
    cursor.execute("PRAGMA wal_autocheckpoint=20000")
    cursor.close()


def _begin(connection: Connection) -> None:
    # A read-only unit of work (read_only_factory) begins DEFERRED: in WAL mode it reads a
    # snapshot while writers go on, instead of queueing for the one write lock.
    if connection.get_execution_options().get("read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            _private_file(Path(database))
        # LIFO: the connection used last, whose page cache is warm, is the one reused.
        kwargs.setdefault("pool_use_lifo", True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN, which lets two writers both
        # read before either writes. Emit BEGIN IMMEDIATE ourselves so a write transaction
        # holds the write lock from its first statement.
        event.listen(engine, "begin", _begin)

        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        # Held only within one synchronous call of one thread (unit_of_work, verification).
        _GATES[engine] = threading.Lock()
        return engine
    # A pool as large as the threads that verify at once in one process; past it requests
    # wait for a connection rather than open more (workers x pool must stay under the
    # server's max_connections: docs/architecture.md).
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", POOL_OVERFLOW)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    return engine


#: Connections kept open per process (PostgreSQL), and opened beyond them under a burst.
POOL_SIZE = 10
POOL_OVERFLOW = 5
#: A connection idle longer than this is pinged before use (seconds).
PING_AFTER_IDLE = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only if it sat idle for PING_AFTER_IDLE.

    ``pool_pre_ping`` pings at every checkout: one round trip more for every request, a
    fifteenth of a verification. A connection in steady use was just seen working; one
    that sat idle may have been closed by the server, a proxy or a failover meanwhile, and
    is pinged, and replaced if the ping fails (the pool retries on DisconnectionError).
    """

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            pipeline = record.info.get(PIPELINE_INFO)
            if pipeline is not None:
                pipeline.sync()  # a ping's query would only be queued (pipelined())
                alive = True
            else:
                alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("the pooled connection did not answer") from exc
        if not alive:
            raise DisconnectionError("the pooled connection did not answer")


def _private_file(path: Path) -> None:
    """Create the database file (and its directory) readable by its owner only.

    The file holds every tenant's data. SQLite would create it with the process's umask
    (often 0644); its -wal and -shm files take the database file's mode, so creating it
    0600 first keeps all three private. An existing file is left as it is (``traceseal
    doctor`` reports one that others can read).
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_only_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for requests that only read (queries, proofs, traces).

    On SQLite their transactions begin DEFERRED, so they neither wait for nor hold the write
    lock; a write attempted in one fails rather than silently serialising. On PostgreSQL they
    are ordinary sessions.
    """
    return sessionmaker(engine.execution_options(read_only=True), expire_on_commit=False)


def writer_gate(factory: sessionmaker[Session]) -> Any:
    """The in-process SQLite writer lock behind ``factory``, or None (PostgreSQL)."""
    engine = factory.kw.get("bind")
    return _GATES.get(engine) if engine is not None else None


@contextmanager
def writer_turn(factory: sessionmaker[Session]) -> Iterator[None]:
    """Wait for this process's turn at SQLite's single write lock; no-op on PostgreSQL.

    Every SQLite transaction starts with BEGIN IMMEDIATE, so only one runs at a time. Left
    to SQLite, the threads that find the lock taken poll it with growing sleeps (up to
    100 ms), which under load turns a 1 ms transaction into a long tail. Queueing on a
    lock in process hands the turn over as soon as the holder is done. Other processes
    still meet SQLite's busy timeout.
    """
    gate = writer_gate(factory)
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


def schema_revisions(engine: Engine) -> tuple[str | None, str]:
    """The database's schema revision (None for an empty database) and the code's latest."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(Path(__file__).parent / "migrations"))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    head = script.get_current_head()
    assert head is not None
    return current, head


#: What runs statements: an ORM session, or a Core connection (the verification hot path).
Executor = Session | Connection


def connection_of(executor: Executor) -> Connection:
    """The Core connection a statement runs on: the session's own (in its transaction)."""
    return executor.connection() if isinstance(executor, Session) else executor


def dialect_of(executor: Executor) -> Any:
    return executor.dialect if isinstance(executor, Connection) else executor.get_bind().dialect


#: ``__table_args__`` of a table whose primary key is the table (SQLite ``WITHOUT ROWID``):
#: one B-tree instead of a rowid table plus a key index, so each write touches a page fewer.
WITHOUT_ROWID = ({"sqlite_with_rowid": False},)


def dialect_insert(session: Executor, model: Any) -> Any:
    """An INSERT with ``on_conflict_do_update``/``_do_nothing`` for the session's engine.

    SQLite (3.35+) and PostgreSQL share the ``ON CONFLICT`` syntax and ``RETURNING``, so one
    statement is an atomic upsert on both: the way counters are kept without a
    read-modify-write (PRODUCT.md, decision 3).
    """
    return insert_for(dialect_of(session).name, model)


def insert_for(dialect: str, model: Any) -> Any:
    """:func:`dialect_insert` by the engine's name, for statements compiled once per engine."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model)


class Prepared:
    """A Core statement compiled once per engine kind and run straight on the DBAPI cursor.

    For the few statements of a hot path (verification) SQLAlchemy's per-execution work
    (cache key, parameter processing, result wrapping) costs several times what SQLite
    spends running them. The SQL still comes from SQLAlchemy, so it is the same on both
    engines; what is skipped is type processing, so the caller passes and reads values the
    driver understands: use :func:`db_time`, :func:`py_time` and :func:`py_date` for times.

    On PostgreSQL the statement is compiled with the server's own ``$1`` placeholders and
    run on one psycopg ``RawCursor`` kept with each pooled connection: psycopg then neither
    rewrites the query nor builds a cursor per statement, which together were about a
    fifth of the driver's Python time per verification (bench/statements.py). Each
    statement has its cursor, so a caller reads a result before it runs the same
    statement again.

    Usage: ``COUNT = Prepared(select(T.n).where(T.id == bindparam("id")))`` once at import,
    then ``COUNT.run(session.connection(), {"id": 7}).fetchone()`` per request.
    """

    def __init__(self, statement: Any, column_keys: list[str] | None = None) -> None:
        self._statement = statement
        self._column_keys = column_keys
        self._by_dialect: dict[str, tuple[str, dict[str, Any], tuple[str, ...] | None]] = {}

    def _compiled(self, dialect: Any) -> tuple[str, dict[str, Any], tuple[str, ...] | None]:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            compiled = self._statement.compile(
                dialect=_server_placeholders(dialect), column_keys=self._column_keys
            )
            order = tuple(compiled.positiontup) if compiled.positional else None
            # Literal binds such as LIMIT 1 keep the values they were built with.
            found = (compiled.string, dict(compiled.params), order)
            self._by_dialect[dialect.name] = found
        return found

    def run_many(self, connection: Any, rows: list[dict[str, Any]]) -> None:
        """``executemany`` of the statement on the DBAPI cursor (bulk inserts)."""
        sql, defaults, order = self._compiled(connection.dialect)
        cursor = _cursor(connection, self)
        if order is not None:
            cursor.executemany(sql, [[{**defaults, **row}[k] for k in order] for row in rows])
        else:
            cursor.executemany(sql, [{**defaults, **row} for row in rows])

    def run_rows(self, connection: Any, rows: list[tuple[Any, ...]]) -> None:
        """:meth:`run_many` for rows given as tuples in ``column_keys`` order.

        For the largest bulk inserts (an EPCIS document's index rows): no dict per row.
        """
        assert self._column_keys is not None, "run_rows needs the statement's column_keys"
        sql, _defaults, order = self._compiled(connection.dialect)
        cursor = _cursor(connection, self)
        keys = self._column_keys
        if order is not None and tuple(order) == tuple(keys):
            cursor.executemany(sql, rows)
        elif order is not None:
            # The compiled statement's parameter order is the table's column order; an
            # itemgetter reorders each row in C.
            cursor.executemany(sql, map(itemgetter(*[keys.index(k) for k in order]), rows))
        else:
            cursor.executemany(sql, [dict(zip(keys, row, strict=True)) for row in rows])

    def run(self, connection: Any, params: dict[str, Any]) -> Any:
        """Execute on ``connection`` (a SQLAlchemy Connection); returns the DBAPI cursor.

        If the same read with the same parameters was sent ahead in this transaction
        (:meth:`send`), its cursor is returned instead: the statement is not run twice.
        """
        sql, defaults, order = self._compiled(connection.dialect)
        values = {**defaults, **params}
        sent = connection.connection.info.get(SENT_INFO)
        if sent:
            found = sent.pop(self, None)
            if found is not None and found[0] == values:
                return found[1]
        cursor = _cursor(connection, self)
        cursor.execute(sql, [values[k] for k in order] if order is not None else values)
        return cursor

    def send(self, connection: Any, params: dict[str, Any]) -> None:
        """Send this read now, on a pipelined connection (connections.pipelined), so that it
        travels with the statements sent before the next result is read: one round trip
        for all. Elsewhere (SQLite, a connection not pipelined) it does nothing.

        The caller then asks as usual: the next :meth:`run` of this statement with the
        same parameters in the transaction takes the result. For reads only: a statement
        sent and never run is not waited for, and its result is dropped at checkin.
        """
        sent = connection.connection.info.get(SENT_INFO)
        if sent is None:
            return
        sql, defaults, order = self._compiled(connection.dialect)
        values = {**defaults, **params}
        cursor = _cursor(connection, self)
        cursor.execute(sql, [values[k] for k in order] if order is not None else values)
        sent[self] = (values, cursor)


def sends_ahead(connection: Connection) -> bool:
    """Whether :meth:`Prepared.send` sends on ``connection`` (a pipelined one), so that a
    caller can skip building the parameters of reads that would not be sent."""
    return SENT_INFO in connection.connection.info


@contextmanager
def dbapi_errors(connection: Connection) -> Iterator[None]:
    """Give the driver's own errors raised in the block (Prepared's statements, a pipelined
    connection's commit) SQLAlchemy's form, as its own statements' have, so that callers
    and the web's error handlers see one kind (a lost database: OperationalError, 503); and
    invalidate ``connection`` if the error says it is lost, so the pool does not hand it
    out again."""
    error = connection.dialect.loaded_dbapi.Error
    try:
        yield
    except error as exc:
        lost = False
        if not connection.invalidated:
            raw = connection.connection.dbapi_connection
            lost = connection.dialect.is_disconnect(exc, raw, None)
            if lost:
                connection.invalidate(exc)
        raise DBAPIError.instance(None, None, exc, error, connection_invalidated=lost) from exc


#: The dialects Prepared compiles with, by the engine's dialect (PostgreSQL: ``$1``).
_COMPILING: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
#: Where a pipelined connection (connections.pipelined) keeps its pipeline, and the reads
#: sent ahead (Prepared.send: statement -> (parameters, cursor)).
PIPELINE_INFO = "traceseal.pipeline"
SENT_INFO = "traceseal.sent"
#: Where a pooled PostgreSQL connection keeps Prepared's cursors, one per statement (the
#: pool clears them when the connection is replaced).
_CURSOR = "traceseal.prepared_cursor"


def _server_placeholders(dialect: Any) -> Any:
    """``dialect``, or for psycopg a copy of it that writes PostgreSQL's ``$n`` placeholders,
    which a RawCursor sends as they are."""
    if dialect.name != "postgresql":
        return dialect
    found = _COMPILING.get(dialect)
    if found is None:
        found = copy.copy(dialect)
        found.paramstyle = "numeric_dollar"
        found.positional = True
        _COMPILING[dialect] = found
    return found


def _cursor(connection: Any, statement: Prepared) -> Any:
    """The DBAPI cursor Prepared runs ``statement`` on: a new one on SQLite (cheap), on
    PostgreSQL a RawCursor kept with the connection for the statement, so that a result
    can be read after other statements ran (and, pipelined, after they were sent)."""
    fairy = connection.connection
    if connection.dialect.name != "postgresql":
        return fairy.cursor()
    cursors = fairy.info.get(_CURSOR)
    if cursors is None:
        cursors = fairy.info[_CURSOR] = {}
    cursor = cursors.get(statement)
    if cursor is None or cursor.closed:
        from psycopg import RawCursor

        cursor = cursors[statement] = RawCursor(fairy.dbapi_connection)
    return cursor


def db_time(value: datetime, dialect: Any) -> Any:
    """A UTC datetime as the driver stores it (SQLite: SQLAlchemy's text form)."""
    if dialect.name == "sqlite":
        # isoformat writes the same text as strftime("%Y-%m-%d %H:%M:%S.%f"), faster.
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return value


def py_time(value: Any) -> datetime | None:
    if value is None:
        return None
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def py_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def checkpoint_wal(engine: Engine) -> None:
    """One PASSIVE checkpoint of an SQLite database's WAL; the server runs it every second.

    A PASSIVE checkpoint never waits for readers or writers; it copies what it can. Without
    it, the request whose commit crosses the WAL threshold pays for the copy and the sync,
    which shows as the slowest 1 % of verifications.
    """
    connection = engine.raw_connection()
    try:
        connection.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        connection.close()
