"""Engines for particular uses beside the main one (db.make_engine): PostgreSQL connections
that give up waiting (impatient_engine) and that run pipelined (pipelined), for
verifications on the event loop (verify/channel.py)."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import Connection, Engine, event

from traceseal.db import PIPELINE_INFO, SENT_INFO, make_engine

__all__ = ["TimeoutsIgnored", "impatient_engine", "pipelined", "pipelined_pool", "same_host"]


def impatient_engine(engine: Engine, *, lock_ms: int, statement_ms: int) -> Engine:
    """A small pool beside PostgreSQL ``engine`` whose connections give up waiting: for a
    lock after ``lock_ms`` (``lock_timeout``), for any statement after ``statement_ms``
    (``statement_timeout``), raising OperationalError. The timeouts are options of the
    connection, so they cost no statement per transaction.

    For work run where a wait would hold up others (a verification on the event loop);
    dispose of it with the engine. One connection is kept: its caller runs one at a time.
    A new connection is checked to carry both timeouts, else it is refused with
    :class:`TimeoutsIgnored`: a pooler such as PgBouncer may drop connection options, and a
    caller relying on them must not wait without limit. Its connections are
    :func:`pipelined`.
    """
    url = engine.url
    options = url.query.get("options", "")
    if isinstance(options, tuple):  # given more than once in the URL
        options = " ".join(options)
    mine = f"-c lock_timeout={lock_ms} -c statement_timeout={statement_ms}"
    impatient = make_engine(
        url.render_as_string(hide_password=False),
        pool_size=1,
        max_overflow=2,
        pool_timeout=1,
        # A checkin rolls back only a transaction left open (pipelined()).
        pool_reset_on_return=None,
        # libpq's shortest: a server that accepts no connection holds the caller 2 s.
        connect_args={"options": f"{options} {mine}".strip(), "connect_timeout": 2},
    )
    wanted = (str(lock_ms), str(statement_ms))

    @event.listens_for(impatient, "connect")
    def _check(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            # pg_settings in the settings' own unit, ms (current_setting would say "1s").
            cursor.execute(
                "SELECT (SELECT setting FROM pg_settings WHERE name = 'lock_timeout'),"
                " (SELECT setting FROM pg_settings WHERE name = 'statement_timeout')"
            )
            found = tuple(cursor.fetchone())
        dbapi_connection.rollback()
        if found != wanted:
            raise TimeoutsIgnored(
                f"the connection has lock_timeout={found[0]} and statement_timeout="
                f"{found[1]} where {wanted[0]} and {wanted[1]} ms were asked (a connection "
                "pooler dropping connection options?)"
            )

    return pipelined(impatient)


def pipelined_pool(engine: Engine, *, pool_size: int, max_overflow: int) -> Engine:
    """A pool beside PostgreSQL ``engine`` whose connections are :func:`pipelined`: for
    transactions of Prepared statements run in worker threads (verifications, where the
    database is across a network and each round trip costs its latency)."""
    return pipelined(
        make_engine(
            engine.url.render_as_string(hide_password=False),
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_reset_on_return=None,  # a checkin rolls back only what is left open
        )
    )


def pipelined(engine: Engine) -> Engine:
    """Keep ``engine``'s PostgreSQL connections in libpq's pipeline mode, for transactions
    of :class:`Prepared` statements that send their reads ahead (:meth:`Prepared.send`).

    In pipeline mode a statement is queued, not waited for: the client waits only when it
    reads a result, and then for every statement queued before it at once, so reads sent
    ahead and writes whose result nobody reads (a log row) cost no round trip of their
    own; BEGIN goes with the first statement and the writes left with COMMIT. (The
    connection is in autocommit mode and a transaction's BEGIN is sent by a listener:
    psycopg would wait for its own.) Use it with ``connection.begin()`` only. A statement
    that fails makes the rest of the transaction fail: its error is raised where a result
    is read next, at the latest at commit, which then does not commit.

    The mode lasts as long as the connection: leaving it costs a round trip. So a checkin
    rolls back only a transaction left open (the pool's reset would cost one too), an idle
    connection's ping is a Sync, a statement SQLAlchemy executes is synced at once, since
    SQLAlchemy reads its result's shape straight after executing, and a commit queues
    COMMIT and syncs itself (psycopg, reading libpq's idea of the transaction, could skip it).
    """

    @event.listens_for(engine, "connect")
    def _enter(dbapi_connection: Any, record: Any) -> None:
        # psycopg waits for its own BEGIN in pipeline mode: the "begin" listener below
        # queues it instead, and psycopg, in autocommit, sends none.
        dbapi_connection.autocommit = True
        manager = dbapi_connection.pipeline()
        record.info[PIPELINE_INFO] = manager.__enter__()
        record.info[_LEAVE] = manager
        record.info[SENT_INFO] = {}

    @event.listens_for(engine, "close")
    def _leave(_dbapi_connection: Any, record: Any) -> None:
        manager = record.info.pop(_LEAVE, None)
        record.info.pop(PIPELINE_INFO, None)
        if manager is not None:
            with contextlib.suppress(Exception):  # the connection may be gone already
                manager.__exit__(None, None, None)

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection: Any, record: Any) -> None:
        sent = record.info.get(SENT_INFO)
        if sent:
            sent.clear()  # reads of a transaction that did not run them
        if dbapi_connection is not None and dbapi_connection.info.transaction_status:
            dbapi_connection.rollback()  # not IDLE: a transaction left open or failed

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.connection.dbapi_connection.execute("BEGIN")  # type: ignore[union-attr]

    @event.listens_for(engine, "commit")
    def _commit(connection: Connection) -> None:
        # libpq learns the transaction's status only from a Sync's answer: with every result
        # read it still says idle, and psycopg's commit() would send nothing. So COMMIT is
        # queued and synced here; psycopg's then finds the transaction over.
        dbapi_connection = connection.connection.dbapi_connection
        dbapi_connection.execute("COMMIT")  # type: ignore[union-attr]
        connection.connection.info[PIPELINE_INFO].sync()

    @event.listens_for(engine, "after_cursor_execute")
    def _synced(connection: Any, *_args: Any) -> None:
        pipeline = connection.connection.info.get(PIPELINE_INFO)
        if pipeline is not None:
            pipeline.sync()

    return engine


#: Where a pipelined connection keeps the context that leaves its pipeline.
_LEAVE = "traceseal.pipeline_exit"


class TimeoutsIgnored(Exception):
    """An impatient connection came without its timeouts (:func:`impatient_engine`)."""


def same_host(engine: Engine) -> bool:
    """Whether ``engine``'s database server runs on this machine: a Unix socket or a
    loopback address, where a round trip costs microseconds rather than a network's."""
    url = engine.url
    hosts = [url.host or ""]
    given = url.query.get("host")
    if given:
        hosts = list(given) if isinstance(given, tuple) else [given]
    return all(
        host in ("", "localhost", "127.0.0.1", "::1") or host.startswith("/") for host in hosts
    )
