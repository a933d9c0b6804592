"""What one verification costs the database: statements and round trips, on each engine.

Builds a small database (one run of 1,000 activated codes, assigned to a distributor so risk
evaluation does its reads and writes), then verifies codes through the same edge the HTTP
handlers use (``Verifier.verify_async``: limits, one transaction, the verification service) and
counts, per verification:

* statements: on SQLite every statement its trace callback sees (BEGIN and COMMIT
  included); on PostgreSQL every statement run, read from libpq's own protocol trace
  (``Bind`` of the extended protocol, ``Query`` of the simple one), whichever cursor or
  layer sent it;
* round trips (PostgreSQL): the messages after which the client waits for the server, from
  the same trace (``Sync``, ``Query``, and ``Flush``, which a pipelined connection sends
  to read results without ending the pipeline), so pool pings, BEGIN and COMMIT count whatever
  issued them.

PostgreSQL is measured twice, its verifications in worker threads (``PG threads``,
TRACESEAL_VERIFY_ON_EVENT_LOOP=0, as for a database across a network) and on the event loop
(``PG on loop``); both run on pipelined connections of their own (connections.pipelined).

Three kinds of query, each on codes not asked before: a first query (genuine), a repeat of
one (genuine_repeat), and a code never issued in a real slot (not_found).

Then, without the counting (libpq's trace slows the client), what a first query costs in
CPU: this process's (the verification's own Python, SQLAlchemy, the driver) and that of the
PostgreSQL backends serving its connections (the commit's flush included; not the WAL
writer's or checkpointer's background work), over 2,000 first queries one after another;
and the price of one round trip alone (``SELECT 1`` on a pooled connection, 5,000 times) on
each side. Together they say how much of a verification's cost its round trips are.

Usage: python bench/statements.py [--postgres URL] [--redis URL]
  (--postgres defaults to TRACESEAL_TEST_POSTGRES_URL; with --redis, PostgreSQL again with
  the limits counted in Redis: those calls are not database round trips and not counted)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import Pool

from traceseal.codes.service import Keyring, activate, issue_run, run_cipher
from traceseal.config import load_settings
from traceseal.db import make_engine, make_session_factory, migrate, unit_of_work
from traceseal.logistics.service import assign_range, register_distributor
from traceseal.orgs.models import Role
from traceseal.orgs.service import create_organization
from traceseal.registry.schemas import BatchCreate, ProductCreate
from traceseal.registry.service import add_batch, add_product
from traceseal.verify.channel import Verifier
from traceseal.verify.models import Channel
from traceseal.verify.service import Query

GTIN = "09506000134352"
SAMPLES = 50


class Counter:
    """Statements and round trips seen since the last :meth:`take`."""

    def __init__(self) -> None:
        self.statements = 0
        self.trace: Path | None = None
        self._trace_seen = (0, 0)
        self.flush: list[Any] = []

    def round_trips(self) -> tuple[int, int]:
        """(statements, round trips) since the last call, from libpq's trace."""
        for flush in self.flush:
            flush()
        assert self.trace is not None
        lines = self.trace.read_text(errors="replace").splitlines()
        sent = [line.split("\t")[2] for line in lines if line.startswith("F\t")]
        statements = sum(1 for name in sent if name in _STATEMENTS)
        waits = sum(1 for name in sent if name in _WAITS)
        found = (statements - self._trace_seen[0], waits - self._trace_seen[1])
        self._trace_seen = (statements, waits)
        return found

    def take(self) -> tuple[int, int]:
        # SQLite has no round trips: each statement is a call into the library.
        found = (self.statements, self.statements) if self.trace is None else self.round_trips()
        self.statements = 0
        return found


#: Frontend messages the client sends and then waits on (libpq's trace names).
_WAITS = {"Sync", "Query", "Flush"}
#: Messages that run one statement: Bind (the extended protocol: each execution of a
#: prepared or unnamed statement) and Query (the simple protocol: psycopg's BEGIN, COMMIT).
_STATEMENTS = {"Bind", "Query"}


def instrument(engine: Any, counter: Counter, trace: Path | None) -> None:
    """Count every statement of the engine's connections: SQLite's own trace callback
    (BEGIN and COMMIT included), libpq's protocol trace on PostgreSQL."""
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            def seen(_sql: str) -> None:
                counter.statements += 1

            dbapi_connection.set_trace_callback(seen)

        return

    import psycopg

    assert trace is not None
    handle = trace.open("a")

    # Every pool's: verifications on the event loop have an engine of their own.
    @every_connection
    def _pg(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.pgconn.trace(handle.fileno())
        dbapi_connection.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        pgconn = dbapi_connection.pgconn

        def flush() -> None:  # libpq buffers its trace; untrace() flushes it
            pgconn.untrace()
            pgconn.trace(handle.fileno())
            pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)

        counter.flush.append(flush)


#: Listeners on every pool's new connections (removed by forget_connections).
_LISTENERS: list[Any] = []


def every_connection(handler: Any) -> Any:
    """Call ``handler(dbapi_connection, record)`` for each connection any pool opens, until
    :func:`forget_connections`."""
    event.listen(Pool, "connect", handler)
    _LISTENERS.append(handler)
    return handler


def forget_connections() -> None:
    while _LISTENERS:
        event.remove(Pool, "connect", _LISTENERS.pop())


def build(url: str, directory: Path, count: int = 1_000) -> tuple[Any, list[str], str]:
    settings = load_settings(
        {}, data_dir=directory, database_url=url, master_key=secrets.token_hex(32)
    )
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    factory = make_session_factory(engine)
    keyring = Keyring(bytes.fromhex(settings.master_key))
    with unit_of_work(factory) as session:
        org, _ = create_organization(session, "Bench Enterprise", Role.ENTERPRISE)
        product = add_product(session, org, ProductCreate(gtin=GTIN, name="Bench product"))
        product.scan_limit = 1_000_000
        batch = add_batch(session, product, BatchCreate(lot="BENCH1"))
        run = issue_run(session, keyring, settings, org, count, product=product)
        activate(session, run, run.first, run.first + run.count, batch)
        distributor, _ = register_distributor(
            session, org, "Bench Distributor", territory=["440000"]
        )
        assign_range(session, distributor, run, run.first, run.first + run.count)
        cipher = run_cipher(session, keyring, run)
        codes = [cipher.code(run.first + i) for i in range(run.count)]
        # A code of the same slot past everything issued: not_found.
        missing = cipher.code(run.first + run.count + 5)
    engine.dispose()
    return settings, codes, missing


def measure(
    url: str, trace_dir: Path, redis: str = "", loop: bool = False
) -> dict[str, tuple[float, float]]:
    settings, codes, missing = build(url, trace_dir)
    engine = make_engine(settings.resolved_database_url)
    counter = Counter()
    trace = trace_dir / "libpq.trace" if engine.dialect.name == "postgresql" else None
    counter.trace = trace
    instrument(engine, counter, trace)
    keyring = Keyring(bytes.fromhex(settings.master_key))
    verifier = Verifier(_settings(settings, redis, loop), make_session_factory(engine), keyring)
    verify = _verifying(verifier)
    # Warm: the slot's cipher, the compiled statements, psycopg's prepared statements.
    for i, code in enumerate(codes[-20:]):
        client = verifier.client(f"10.9.0.{i}", "bench-device")
        verify(Query(code, channel=Channel.QR, region="440305"), client)
    counter.take()
    found: dict[str, tuple[float, float]] = {}
    for kind, sample in (("first", codes[:SAMPLES]), ("repeat", codes[:SAMPLES])):
        totals = [0, 0]
        for i, code in enumerate(sample):
            # A phone of its own, from an address of its own (under the flood limit).
            device = verifier.client(f"10.{len(found)}.{i}.1", secrets.token_hex(8))
            verify(Query(code, channel=Channel.QR, region="440305"), device)
            statements, trips = counter.take()
            totals[0] += statements
            totals[1] += trips
        found[kind] = (totals[0] / len(sample), totals[1] / len(sample))
    totals = [0, 0]
    for i in range(SAMPLES):
        device = verifier.client(f"10.0.{i}.1", None)
        verify(Query(missing, channel=Channel.QR), device)
        statements, trips = counter.take()
        totals[0] += statements
        totals[1] += trips
    found["not_found"] = (totals[0] / SAMPLES, totals[1] / SAMPLES)
    verifier.close()
    engine.dispose()
    forget_connections()
    return found


def _settings(settings: Any, redis: str, loop: bool) -> Any:
    """Risk evaluation on; PostgreSQL's verifications in worker threads (as the thread
    pool runs them: the engine's own connections) or on the event loop (``loop``: their
    own, pipelined connections, verify/channel.py)."""
    return settings.replace(
        risk_evaluation=1, redis_url=redis, verify_on_event_loop="1" if loop else "0"
    )


def _verifying(verifier: Verifier) -> Any:
    """``verify(query, client)`` as the HTTP handlers call it: through ``verify_async``,
    which runs on the event loop where the settings put it, else in a worker thread."""
    loop = asyncio.new_event_loop()

    def verify(query: Query, client: Any) -> Any:
        return loop.run_until_complete(verifier.verify_async(query, client))

    return verify


#: Round trips per verification as docs/benchmarks.md records them: more is a regression
#: (the script exits 1), fewer is news for the docs.
RECORDED = {
    ("SQLite", "first"): 16,
    ("SQLite", "repeat"): 15,
    ("SQLite", "not_found"): 12,
    ("PG threads", "first"): 5,
    ("PG threads", "repeat"): 4,
    ("PG threads", "not_found"): 5,
    ("PG on loop", "first"): 5,
    ("PG on loop", "repeat"): 4,
    ("PG on loop", "not_found"): 5,
    ("PG+Redis", "first"): 3,
    ("PG+Redis", "repeat"): 3,
    ("PG+Redis", "not_found"): 2,
}
#: First queries timed for the CPU figures, after as many again to warm up.
TIMED = 2_000
#: Round trips timed for the price of one.
TRIPS = 5_000


def cpu_costs(url: str, directory: Path, redis: str = "", loop: bool = False) -> dict[str, float]:
    """CPU per first query and per bare round trip, in ms: this process's and PostgreSQL's."""
    settings, codes, _missing = build(url, directory, 2 * TIMED)
    engine = make_engine(settings.resolved_database_url)
    backends = _backends(engine)
    keyring = Keyring(bytes.fromhex(settings.master_key))
    verifier = Verifier(_settings(settings, redis, loop), make_session_factory(engine), keyring)
    verify = _verifying(verifier)
    # Each query from an address and a phone of its own, hashed before the clock starts.
    clients = [
        verifier.client(f"10.{i // 250 % 250}.{i % 250}.1", secrets.token_hex(8))
        for i in range(2 * TIMED)
    ]
    queries = [Query(code, channel=Channel.QR, region="440305") for code in codes]
    for query, client in zip(queries[:TIMED], clients[:TIMED], strict=True):
        verify(query, client)
    found: dict[str, float] = {}
    own, postgres = time.process_time(), _backend_seconds(backends)
    for query, client in zip(queries[TIMED:], clients[TIMED:], strict=True):
        verify(query, client)
    found["verify_client"] = (time.process_time() - own) / TIMED * 1000
    found["verify_postgres"] = (_backend_seconds(backends) - postgres) / TIMED * 1000
    with engine.connect() as connection:
        cursor = connection.connection.cursor()
        own, postgres = time.process_time(), _backend_seconds(backends)
        for _ in range(TRIPS):
            cursor.execute("SELECT 1")
            cursor.fetchone()
        found["trip_client"] = (time.process_time() - own) / TRIPS * 1000
        found["trip_postgres"] = (_backend_seconds(backends) - postgres) / TRIPS * 1000
    verifier.close()
    engine.dispose()
    forget_connections()
    return found


def _backends(engine: Any) -> list[int]:
    """The process ids of the PostgreSQL backends serving ``engine``'s connections, as they
    open: their CPU is this process's share of PostgreSQL's, whatever else the server runs
    meanwhile (other clients' backends come and go, which a sum over the machine counts)."""
    found: list[int] = []
    if engine.dialect.name == "postgresql":

        @every_connection
        def _noted(dbapi_connection: Any, _record: Any) -> None:
            found.append(dbapi_connection.info.backend_pid)

    return found


def _backend_seconds(backends: list[int]) -> float:
    """CPU seconds used so far by the backends of ``backends`` that still run."""
    processes = processes_now()
    return sum(processes[pid][2] for pid in backends if pid in processes)


def processes_now() -> dict[int, tuple[str, int, float]]:
    """Every process on the machine: its name, session id and CPU seconds used so far
    (user + system), from /proc/PID/stat. Linux only."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # gone meanwhile
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        found[int(stat.parent.name)] = (
            name,
            int(fields[3]),
            (int(fields[11]) + int(fields[12])) / tick,
        )
    return found


def cpu_seconds(session: int) -> tuple[float, float]:
    """CPU seconds used so far by the processes of ``session`` (bench/serve.py: the server
    and its workers) and by every PostgreSQL process on the machine (its backends and
    writers)."""
    server = postgres = 0.0
    for name, process_session, used in processes_now().values():
        if process_session == session:
            server += used
        elif name.startswith("postgres"):
            postgres += used
    return server, postgres


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    schema = "bench_" + secrets.token_hex(4)
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        sep = "&" if "?" in url else "?"
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("TRACESEAL_TEST_POSTGRES_URL", ""))
    parser.add_argument("--redis", default="", help="also with the limits in this Redis")
    args = parser.parse_args()
    results = {}
    costs = {}
    engines: list[tuple[str, str | None, str, bool]] = [("SQLite", None, "", False)]
    if args.postgres:
        engines.append(("PG threads", args.postgres, "", False))
        engines.append(("PG on loop", args.postgres, "", True))
        if args.redis:
            engines.append(("PG+Redis", args.postgres, args.redis, False))
    for name, postgres, redis, loop in engines:
        for step in (measure, cpu_costs):
            with tempfile.TemporaryDirectory() as tmp, _database(postgres, tmp) as url:
                if step is measure:
                    results[name] = measure(url, Path(tmp), redis, loop)
                else:
                    costs[name] = cpu_costs(url, Path(tmp), redis, loop)
    print("per verification (risk evaluation on)   statements   round trips")
    for engine_name, rows in results.items():
        for kind, (statements, trips) in rows.items():
            print(
                f"  {engine_name:<11} {kind:<12}              {statements:>6.1f}      {trips:>6.1f}"
            )
    print(f"CPU, ms (first queries, {TIMED:,} in a row)   this process   PostgreSQL")
    for engine_name, cost in costs.items():
        print(
            f"  {engine_name:<11} one verification        {cost['verify_client']:>8.3f}"
            f"   {cost['verify_postgres']:>8.3f}"
        )
        print(
            f"  {engine_name:<11} one round trip          {cost['trip_client']:>8.3f}"
            f"   {cost['trip_postgres']:>8.3f}"
        )
    over = [
        f"{engine_name} {kind}: {trips:.1f} round trips, {RECORDED[engine_name, kind]} recorded"
        for engine_name, rows in results.items()
        for kind, (_statements, trips) in rows.items()
        if trips > RECORDED.get((engine_name, kind), float("inf")) + 0.5
    ]
    if over:
        sys.exit("more round trips than docs/benchmarks.md records:\n  " + "\n  ".join(over))


@contextmanager
def _database(postgres: str | None, directory: str) -> Iterator[str]:
    """A fresh database: a schema of its own on ``postgres``, else SQLite in ``directory``."""
    if postgres is None:
        yield f"sqlite:///{directory}/traceseal.db"
        return
    with postgres_schema(postgres) as url:
        yield url


if __name__ == "__main__":
    main()
