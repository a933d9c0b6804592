"""PostgreSQL verifications on the event loop run pipelined (db.pipelined): reads sent ahead
go with the count's upsert, writes nobody reads go with COMMIT. Fewer round trips, the same
answers, and a statement that fails late still leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import bindparam, column, create_engine, event, func, select, table, text
from sqlalchemy.pool import Pool

from tests.conftest import Platform
from tests.functional.conftest import issue
from traceseal.connections import impatient_engine
from traceseal.db import Prepared, make_engine, make_session_factory
from traceseal.verify.channel import Verifier
from traceseal.verify.models import Channel, Scan, ScannedCode, Verdict
from traceseal.verify.service import Query, Verification


def _postgres(platform: Platform) -> str:
    url = platform.settings.resolved_database_url
    if url.startswith("sqlite"):
        pytest.skip("libpq's pipeline mode: PostgreSQL only")
    return url


class Waits:
    """The round trips of every PostgreSQL connection opened meanwhile, read from libpq's
    protocol trace: the messages after which the client waits for the server."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle = path.open("a")
        self.connections: list[Any] = []
        self.seen = 0

    def traced(self, dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.pgconn.trace(self.handle.fileno())
        dbapi_connection.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        self.connections.append(dbapi_connection.pgconn)

    def take(self) -> int:
        """Round trips since the last call."""
        for pgconn in self.connections:  # libpq buffers its trace; untrace() flushes it
            pgconn.untrace()
            pgconn.trace(self.handle.fileno())
            pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        sent = [
            line.split("\t")[2]
            for line in self.path.read_text(errors="replace").splitlines()
            if line.startswith("F\t")
        ]
        waits = sum(1 for name in sent if name in ("Sync", "Flush", "Query"))
        found, self.seen = waits - self.seen, waits
        return found


@contextmanager
def round_trips(tmp_path: Path) -> Iterator[Waits]:
    waits = Waits(tmp_path / "libpq.trace")
    event.listen(Pool, "connect", waits.traced)
    try:
        yield waits
    finally:
        event.remove(Pool, "connect", waits.traced)
        waits.handle.close()


def _verifier(platform: Platform, on_loop: str) -> Verifier:
    """A verifier over an engine of its own (its connections open after round_trips())."""
    settings = platform.settings.replace(verify_on_event_loop=on_loop, risk_evaluation=1)
    engine = make_engine(settings.resolved_database_url)
    verifier = Verifier(settings, make_session_factory(engine), platform.app.state.keyring)
    weakref.finalize(verifier, engine.dispose)
    return verifier


def _answers(verifier: Verifier, asked: list[tuple[str, str]], waits: Waits) -> list[Any]:
    """Each (code, device) verified through verify_async on a loop of its own (the browser
    tests may hold this thread's): its verdict, count and round trips."""

    async def each() -> list[Any]:
        found = []
        for code, device in asked:
            waits.take()
            client = verifier.client("192.0.2.7", device)
            answer = await verifier.verify_async(Query(code, channel=Channel.QR), client)
            found.append((answer.verdict, answer.scan_count, waits.take()))
        return found

    with ThreadPoolExecutor(max_workers=1) as runner:
        return runner.submit(asyncio.run, each()).result(timeout=60)


def test_a_first_query_costs_five_round_trips_on_the_loop_and_in_threads(
    platform: Platform, acme, tmp_path: Path
) -> None:
    _postgres(platform)
    codes = issue(platform, acme, 8)
    with round_trips(tmp_path) as waits:
        looped = _verifier(platform, "1")
        pooled = _verifier(platform, "0")
        try:
            # Each verifier's first query opens its connections and warms its statements.
            asked = [(codes[0], "a"), (codes[1], "b"), (codes[1], "c"), (codes[2], "d")]
            on_loop = _answers(looped, asked, waits)
            asked = [(codes[4], "a"), (codes[5], "b"), (codes[5], "c"), (codes[6], "d")]
            in_threads = _answers(pooled, asked, waits)
        finally:
            looped.close()
            pooled.close()
    # The same answers either way ...
    assert [a[:2] for a in on_loop] == [a[:2] for a in in_threads]
    assert [a[:2] for a in on_loop[1:]] == [
        (Verdict.GENUINE, 1),
        (Verdict.GENUINE_REPEAT, 2),
        (Verdict.GENUINE, 1),
    ]
    # ... from five round trips for a first query and four for a repeat, where unpipelined
    # connections take one per statement, twelve and eleven (docs/benchmarks.md).
    assert [a[2] for a in on_loop[1:]] == [5, 4, 5]
    assert [a[2] for a in in_threads[1:]] == [5, 4, 5]


def test_a_read_sent_ahead_is_taken_once_and_never_by_a_later_transaction(
    platform: Platform,
) -> None:
    url = _postgres(platform)
    engine = make_engine(url)
    pipelined = impatient_engine(engine, lock_ms=1000, statement_ms=5000)
    ahead = table("ahead", column("id"), column("n"))
    value = Prepared(select(ahead.c.n).where(ahead.c.id == bindparam("id")))
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE ahead (id int PRIMARY KEY, n int)"))
            connection.execute(text("INSERT INTO ahead VALUES (1, 10), (2, 20)"))
        with pipelined.connect() as connection, connection.begin():
            value.send(connection, {"id": 1})
            sent = value.run(connection, {"id": 1})
            assert sent.fetchone() == (10,)
            # Other parameters are asked anew, and the same ones again too: taken once.
            assert value.run(connection, {"id": 2}).fetchone() == (20,)
            value.send(connection, {"id": 1})
            value.send(connection, {"id": 2})  # replaces the first: one per statement
            assert value.run(connection, {"id": 1}).fetchone() == (10,)
            # Sent and never run: dropped when the transaction ends ...
            value.send(connection, {"id": 2})
        with engine.begin() as connection:
            connection.execute(text("UPDATE ahead SET n = 21 WHERE id = 2"))
        # ... so the next transaction on the same connection reads the row as it is now.
        with pipelined.connect() as connection, connection.begin():
            assert value.run(connection, {"id": 2}).fetchone() == (21,)
        # A connection that is not pipelined ignores send().
        with engine.connect() as connection, connection.begin():
            value.send(connection, {"id": 2})
            assert value.run(connection, {"id": 2}).fetchone() == (21,)
        # SQLAlchemy's own statements work in the pipeline (each is synced at once) ...
        with pipelined.connect() as connection, connection.begin():
            connection.execute(text("UPDATE ahead SET n = n + 1 WHERE id = 1"))
            assert connection.execute(text("SELECT n FROM ahead WHERE id = 1")).scalar() == 11
        # ... and a transaction whose every result was read commits all the same (libpq,
        # without a Sync, still thinks it idle), as does one whose writes nobody read.
        with pipelined.connect() as connection, connection.begin():
            value.run(connection, {"id": 1}).fetchone()
            connection.connection.cursor().execute("UPDATE ahead SET n = 12 WHERE id = 1")
            assert value.run(connection, {"id": 1}).fetchone() == (12,)
        with pipelined.connect() as connection, connection.begin():
            connection.connection.cursor().execute("UPDATE ahead SET n = 22 WHERE id = 2")
        with engine.connect() as connection:
            found = connection.execute(text("SELECT n FROM ahead ORDER BY id")).scalars().all()
        assert found == [12, 22]
    finally:
        pipelined.dispose()
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE ahead"))
        engine.dispose()


def test_a_write_that_fails_at_commit_is_redone_in_a_worker_thread_and_counted_once(
    platform: Platform, acme
) -> None:
    url = _postgres(platform)
    code = issue(platform, acme, 1)[0]
    verifier = _verifier(platform, "1")
    answers: list[Verification] = []
    began = threading.Event()

    async def ask() -> None:
        client = verifier.client("192.0.2.8", None)
        began.set()
        answers.append(await verifier.verify_async(Query(code, channel=Channel.QR), client))

    holder = create_engine(url)
    runner = threading.Thread(target=asyncio.run, args=(ask(),))
    try:
        with holder.connect() as connection, connection.begin():
            # The scan's rollup upsert waits for this lock; nothing reads its result, so on
            # the loop it fails (lock_timeout) only when COMMIT syncs the pipeline.
            connection.execute(text("LOCK TABLE scan_rollups IN EXCLUSIVE MODE"))
            runner.start()
            began.wait(timeout=10)
            time.sleep(0.5)
            assert not answers, "answered past a held lock"
        runner.join(timeout=30)
    finally:
        holder.dispose()
        verifier.close()
    assert [(a.verdict, a.scan_count) for a in answers] == [(Verdict.GENUINE, 1)]
    with platform.session_factory() as session:
        logged = session.scalar(select(func.count()).select_from(Scan).where(Scan.code == code))
        counts = session.scalars(select(ScannedCode.scan_count)).all()
    assert (logged, counts) == (1, [1])  # the attempt on the loop left nothing behind
