"""The edge every verification channel shares: limits, the unit of work, client hashing.

HTTP (the API, the Digital Link resolver, the entry page) calls :meth:`Verifier.verify`;
the message channels (``channels/``: SMS, WeChat) call it with a :class:`Once`, whose
message row commits with the scan, so a delivery the provider retries is one scan. It owns
the transaction: the verdict's counter bump, its scan-log row and the failure counters
commit together.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar, overload

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from traceseal.codes.service import Keyring
from traceseal.config import Settings
from traceseal.connections import impatient_engine, pipelined_pool, same_host
from traceseal.db import (
    POOL_OVERFLOW,
    POOL_SIZE,
    dbapi_errors,
    unit_of_work,
    utcnow,
    writer_gate,
    writer_turn,
)
from traceseal.errors import InvalidInput
from traceseal.geo.locate import IpRegions
from traceseal.risk.service import RiskEngine
from traceseal.verify.limits import (
    BurstWatch,
    DatabaseWindows,
    FailureGuard,
    RedisRate,
    RedisWindows,
    WindowRate,
    Windows,
    redis_client,
    sweep,
)
from traceseal.verify.models import FAILURES, Verdict
from traceseal.verify.networks import NetworkTally, network_of
from traceseal.verify.reports.service import ReportInput, submit_report
from traceseal.verify.reports.status import Receipt, issue_status_token
from traceseal.verify.salts import ClientKeys
from traceseal.verify.service import Query, Verification, verify

log = logging.getLogger("traceseal.verify.channel")

#: Counterfeit reports one client may file per hour.
REPORTS_PER_HOUR = 10
#: How long a verification on the event loop waits for SQLite's lock, or a lock in
#: PostgreSQL, before it moves to a worker thread; and SQLite's busy timeout otherwise (db.py).
INLINE_BUSY_MS = 20
BUSY_TIMEOUT_MS = 10_000
#: How long a statement of a verification on the event loop may run on PostgreSQL before
#: it is cancelled and the verification moves to a worker thread.
INLINE_STATEMENT_MS = 200
#: Seconds verifications stay in the thread pool after the event loop's PostgreSQL
#: connection could not be opened.
LOOP_PAUSE = 10.0
#: PostgreSQL connections kept for verifications in worker threads where the loop does not
#: verify, and opened beyond them under a burst (docs/architecture.md: the budget). As many
#: as the main pool's: a verification finding none kept opens one and closes it after, and
#: a backend started per request costs more than the verification.
THREADS_POOL = POOL_SIZE
THREADS_OVERFLOW = POOL_OVERFLOW
#: PostgreSQL's errors for a wait given up: lock_timeout (lock_not_available), and
#: statement_timeout (query_canceled).
_IMPATIENT = frozenset({"55P03", "57014"})
#: How long a verification waits for this process's write turn before going its own way.
_GATE_WAIT = 30.0


class _Busy(Exception):
    """The attempt on the event loop gave up: SQLite's write lock was not free within
    INLINE_BUSY_MS, or PostgreSQL kept it waiting (Verifier._on_loop)."""


def _loop_engine(settings: Settings, engine: Engine) -> Engine | None:
    """The PostgreSQL connections of verifications on the event loop, if they run there
    (config.verify_on_event_loop); None on SQLite."""
    setting = settings.verify_on_event_loop
    if engine.dialect.name == "sqlite" or setting == "0":
        return None
    if setting == "auto" and not same_host(engine):
        return None
    return impatient_engine(engine, lock_ms=INLINE_BUSY_MS, statement_ms=INLINE_STATEMENT_MS)


def _threads_engine(engine: Engine, loop_engine: Engine | None) -> Engine | None:
    """PostgreSQL's connections for verifications in worker threads, where the event loop
    does not verify (a database across a network): pipelined, so a verification takes 5
    round trips rather than 12. Where the loop verifies, its rare hand-offs use ``engine``'s
    pool, and no connection is added."""
    if engine.dialect.name == "sqlite" or loop_engine is not None:
        return None
    return pipelined_pool(engine, pool_size=THREADS_POOL, max_overflow=THREADS_OVERFLOW)


def _dispose(*engines: Engine | None) -> None:
    for engine in engines:
        if engine is not None:
            engine.dispose()


def _network(ip: str | None) -> str | None:
    """The address limits and hashes key on: an IPv6 client by its /64, which one
    subscriber usually holds whole; an IPv4 address as it is."""
    if not ip or ":" not in ip:
        return ip
    try:
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    except ValueError:
        return ip


@dataclass(frozen=True, slots=True)
class Client:
    """Who is asking, pseudonymised: keyed hashes of the address and the device cookie."""

    ip_hash: str | None
    device_hash: str | None
    #: The region the address maps to (TRACESEAL_IP_REGIONS_FILE), looked up before hashing.
    ip_region: str | None = None
    #: Keyed hash of the address's network (verify/networks.py: answers per network).
    network: str | None = None

    @property
    def keys(self) -> list[str]:
        return self.keys_for("")

    def keys_for(self, purpose: str) -> list[str]:
        keys = []
        if self.ip_hash:
            keys.append(f"{purpose}ip:{self.ip_hash}")
        if self.device_hash:
            keys.append(f"{purpose}device:{self.device_hash}")
        return keys


def _flood_key(client: Client) -> str:
    return client.ip_hash or client.device_hash or "-"


class Once(Protocol):
    """A channel's message, to be answered once however often the provider delivers it.

    Both steps run inside the verification's transaction, so the message and its scan
    commit together or not at all.
    """

    def claim(self, connection: Connection) -> bool:
        """Record the message; False if it was received before (then nothing is verified)."""

    def keep(self, connection: Connection, result: Verification | None) -> None:
        """Record the answer given (None: the message held no code to verify)."""


_T = TypeVar("_T")


class Verifier:
    def __init__(
        self, settings: Settings, session_factory: sessionmaker[Session], keyring: Keyring
    ) -> None:
        self._session_factory = session_factory
        self._keyring = keyring
        # Addresses and device ids are stored only as keyed hashes: the key comes from the
        # master key, so the small IPv4 space cannot be searched from the database alone,
        # and from a salt per period that is deleted with the period's scans (salts.py).
        self._keys = ClientKeys(
            keyring.derive("client-hash"), settings.client_salt_days, session_factory
        )
        # Every limit is shared by all processes and hosts: in Redis when there is one (no
        # statement in the verification's transaction), else in the database (limits.py).
        redis = redis_client(settings.redis_url) if settings.redis_url else None
        windows: Windows = DatabaseWindows() if redis is None else RedisWindows(redis)
        self.rate = None if redis is None else RedisRate(settings.verify_rate_limit, redis)
        self.window_rate = (
            WindowRate(settings.verify_rate_limit, DatabaseWindows(prune=False))
            if redis is None
            else None
        )
        self.guard = FailureGuard(
            settings.verify_failure_limit, settings.verify_failure_window, windows
        )
        self.burst = BurstWatch(
            settings.enumeration_alert_threshold, settings.enumeration_alert_window, windows
        )
        # SQLite runs inside this process and admits one writer at a time, so a worker
        # thread per verification adds two thread hand-offs and GIL contention and no
        # concurrency: on SQLite the API verifies on the event loop (about 0.25 ms of CPU,
        # bench/verify.py). A PostgreSQL on the same host answers a round trip in tens of
        # microseconds, so its verifications run on the loop too (config.verify_on_event_loop),
        # on pipelined connections (five round trips) that give up a wait the loop cannot
        # afford; across a network each round trip would hold the loop: the thread pool.
        self._engine: Engine = session_factory.kw["bind"]
        self.inline = self._engine.dialect.name == "sqlite"
        self._loop_engine = _loop_engine(settings, self._engine)
        self._threads_engine = _threads_engine(self._engine, self._loop_engine)
        self._closed = weakref.finalize(self, _dispose, self._loop_engine, self._threads_engine)
        #: After the loop's connection failed to open: when to try it again (monotonic).
        self._loop_resumes = 0.0
        # Opted into by the operator (config.verify_synchronous_commit): one statement
        # more, and no wait for the WAL's flush at commit.
        self._relaxed = not self.inline and not settings.verify_synchronous_commit
        self.report_guard = FailureGuard(REPORTS_PER_HOUR, 3600, windows)
        self.max_photo_bytes = settings.report_photo_max_bytes
        # The sequential-burst counter is an anti-enumeration count like the failures: in
        # Redis when there is one. (In the database it is a row per client and block that
        # only that client's concurrent first queries wait on.)
        counter = None if redis is None else windows.bump
        self.risk = RiskEngine(settings, counter) if settings.risk_evaluation else None
        self.ip_regions = (
            IpRegions.from_csv(settings.ip_regions_file) if settings.ip_regions_file else None
        )
        #: Told each committed answer's channel and verdict (app.py: the /metrics counter).
        self.tally: Callable[[str, str], None] = lambda _channel, _verdict: None
        #: Answers per client network, written by a background job (app.py).
        self.networks = NetworkTally()

    @property
    def on_event_loop(self) -> bool:
        """Whether verify_async runs PostgreSQL verifications on the event loop."""
        return self._loop_engine is not None

    def close(self) -> None:
        """Close the event loop's own connections (PostgreSQL); the verifier's engine is
        its owner's to dispose of."""
        self._closed()

    def sweep(self) -> None:
        """Delete the flood limit's past minutes (kept in the database without Redis)."""
        if self.window_rate is not None:
            with unit_of_work(self._session_factory) as session:
                sweep(session, time.time())

    def client(self, ip: str | None, device: str | None) -> Client:
        region = None if self.ip_regions is None else self.ip_regions.lookup(ip)
        return Client(
            self._hash(_network(ip)), self._hash(device), region, self._hash(network_of(ip))
        )

    def sender(self, channel: str, who: str) -> Client:
        """A message's sender (a phone number, a WeChat OpenID), pseudonymised like a
        device: its failure limit and reload window are the device's."""
        return Client(None, self._hash(f"{channel}:{who}"))

    def pseudonym(self, value: str) -> str:
        """The keyed hash of ``value`` (128 bits, hex)."""
        digest = self._hash(value)
        assert digest is not None
        return digest

    def _hash(self, value: str | None) -> str | None:
        if not value:
            return None
        digest = hmac.new(self._keys.current(), value.encode(), hashlib.sha256).hexdigest()
        return digest[:32]

    def throttle(self, client: Client) -> None:
        """Flood protection, before any work: raises TooManyRequests. (Without Redis the
        request is counted in the verification's transaction instead: :meth:`_counted`.)"""
        if self.rate is not None:
            self.rate.take(_flood_key(client))

    def _counted(
        self, connection: Connection, client: Client, now: float
    ) -> tuple[Exception | None, int | None]:
        """Count the request against the flood limit in the database (no Redis): the
        refusal to raise once the transaction has committed the count, and the client's
        failure count if the same statement read it (WindowRate.count), else None."""
        if self.window_rate is None:
            return None, None
        return self.window_rate.count(
            connection, _flood_key(client), now, guard=self.guard, keys=client.keys
        )

    @overload
    def verify(self, query: Query, client: Client) -> Verification: ...
    @overload
    def verify(self, query: Query, client: Client, once: Once) -> Verification | None: ...
    def verify(self, query: Query, client: Client, once: Once | None = None) -> Verification | None:
        """Answer one query, waiting for this process's SQLite write turn if need be.
        With ``once``: None if its message was answered before."""
        with writer_turn(self._session_factory):
            return self._verify(query, client, self._in_thread, once)

    def record(self, step: Callable[[Connection], _T]) -> _T:
        """Run ``step`` in a transaction of its own (a channel's message without a code)."""
        with writer_turn(self._session_factory), self._engine.begin() as connection:
            return step(connection)

    @overload
    async def verify_async(self, query: Query, client: Client) -> Verification: ...
    @overload
    async def verify_async(
        self, query: Query, client: Client, once: Once
    ) -> Verification | None: ...
    async def verify_async(
        self, query: Query, client: Client, once: Once | None = None
    ) -> Verification | None:
        """:meth:`verify` for async handlers: on the event loop on SQLite and on a PostgreSQL
        of this host, else in the thread pool.

        The event loop never waits behind another transaction. On SQLite, if this process's
        write turn is taken (the checkpoint publisher, a report), the verification yields to
        the loop and tries again a millisecond later; nothing holds the turn on its behalf,
        so the next requests still find it free and run on the loop too (a worker thread
        waiting for the turn would hold it for its coroutine, and every request after it
        would queue the same way). If another process holds SQLite's lock beyond
        INLINE_BUSY_MS, or the turn stays taken for _GATE_WAIT seconds, a worker thread
        takes over and waits. On PostgreSQL the attempt on the loop gives up if a lock is
        not granted within INLINE_BUSY_MS or a statement runs past INLINE_STATEMENT_MS, and
        a worker thread redoes it: the attempt's transaction was rolled back, so nothing of
        it is counted twice (but a count kept in Redis, the sequential-burst watch's, may be).
        """
        if self._loop_engine is not None:
            try:
                return self._verify(query, client, self._on_loop, once)
            except _Busy:
                pass
        gate = writer_gate(self._session_factory) if self.inline else None
        if gate is not None:
            deadline = time.monotonic() + _GATE_WAIT
            while not gate.acquire(blocking=False):
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.001)
            else:
                try:
                    return self._verify(query, client, self._impatient, once)
                except _Busy:
                    pass
                finally:
                    gate.release()
        if once is None:
            return await run_in_threadpool(self.verify, query, client)
        return await run_in_threadpool(self.verify, query, client, once)

    @contextmanager
    def _on_loop(self) -> Iterator[Connection]:
        """A transaction on the event loop's pipelined PostgreSQL connection that raises
        _Busy if it cannot connect, waits for a lock or runs a statement too long, up to and
        including its COMMIT (then it has rolled back). Any other error is the caller's,
        as in the thread pool."""
        assert self._loop_engine is not None
        now = time.monotonic()
        if now < self._loop_resumes:
            raise _Busy
        try:
            connection = self._loop_engine.connect()
        except Exception as exc:
            # The database is down or restarting, or the connection lost its timeouts
            # (TimeoutsIgnored): worker threads verify, and report a real fault, meanwhile.
            self._loop_resumes = now + LOOP_PAUSE
            log.warning(
                "verifying in the thread pool for %.0f s: the event loop's connection "
                "could not be opened (%s); TRACESEAL_VERIFY_ON_EVENT_LOOP=0 keeps "
                "verifications there",
                LOOP_PAUSE,
                exc,
            )
            raise _Busy from exc
        try:
            with connection, dbapi_errors(connection), connection.begin():
                yield connection
        except Exception as exc:
            # dbapi_errors gave the driver's own errors SQLAlchemy's form. The connection is
            # pipelined (connections.pipelined): a write nobody read may fail only at COMMIT,
            # which then does not commit, so that error is given up on too. (A COMMIT is
            # never cancelled once its record is written: PostgreSQL holds off interrupts
            # from then on.)
            found = getattr(exc, "sqlstate", None) or getattr(
                getattr(exc, "orig", None), "sqlstate", None
            )
            if found in _IMPATIENT:
                raise _Busy from exc
            raise

    @contextmanager
    def _in_thread(self) -> Iterator[Connection]:
        """A transaction for a worker thread: on PostgreSQL's pipelined pool if it has one."""
        engine = self._threads_engine or self._engine
        with engine.connect() as connection, dbapi_errors(connection), connection.begin():
            yield connection

    @contextmanager
    def _impatient(self) -> Iterator[Connection]:
        """A transaction that gives up (raises _Busy) if SQLite's lock is not free soon."""
        with self._engine.connect() as connection:
            raw = connection.connection.driver_connection
            assert raw is not None
            raw.execute(f"PRAGMA busy_timeout={INLINE_BUSY_MS}")
            try:
                with connection.begin():
                    yield connection
            except OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise _Busy from exc
                raise
            finally:
                raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    def _verify(
        self,
        query: Query,
        client: Client,
        transaction: Callable[[], AbstractContextManager[Connection]],
        once: Once | None = None,
    ) -> Verification | None:
        """The verification's transaction; the caller holds the process's write turn."""
        query = replace(
            query,
            ip_hash=client.ip_hash,
            device_hash=client.device_hash,
            ip_region=client.ip_region,
        )
        now = time.time()
        try:
            with transaction() as connection:
                if self._relaxed:
                    # On the DBAPI cursor: pipelined, it goes with the next statement.
                    connection.connection.cursor().execute("SET LOCAL synchronous_commit TO OFF")
                refused, failures = self._counted(connection, client, now)
                if refused is not None:
                    result, over = None, False  # the count commits, nothing else happens
                else:
                    result, over = self._answer(connection, query, client, now, once, failures)
        except InvalidInput:
            # Not a code at all: nothing is recorded but the client's failure tick (and its
            # request), in a transaction of its own since the one above was rolled back.
            with transaction() as connection:
                self._counted(connection, client, now)
                self.guard.tick(connection, client.keys, now)
            raise
        if refused is not None:
            raise refused
        if result is not None:
            self.tally(query.channel, result.verdict)
            self.networks.note(client.network, client.ip_region, result.verdict, utcnow())
        if over:
            # Parallel requests can all pass the check before any ticks; the tick's count
            # is exact, so the ones past the limit are refused here (the tick is kept).
            raise self.guard.refusal(now)
        return result

    def _answer(
        self,
        connection: Connection,
        query: Query,
        client: Client,
        now: float,
        once: Once | None,
        failures: int | None,
    ) -> tuple[Verification | None, bool]:
        """The answer (None: ``once`` was answered before) and whether the client is now
        over its failure limit (``failures``: its count so far, if read already)."""
        if once is not None and not once.claim(connection):
            return None, False
        self.guard.check(connection, client.keys, now, failures)
        result = verify(connection, self._keyring, query, now=utcnow(), risk=self.risk)
        if once is not None:
            once.keep(connection, result)
        over = False
        # Bots and HEAD requests tick too: a user agent is no proof of innocence.
        if result.verdict in FAILURES:
            over = self.guard.tick(connection, client.keys, now)
        if result.verdict is Verdict.NOT_FOUND:
            self.burst.tick(connection, now)
        return result, over

    def tick_failure(self, client: Client) -> None:
        """Count a request that failed before reaching :meth:`verify` (a bad path, a body
        that does not parse). Raises TooManyRequests first if the client is over the flood
        limit, as :meth:`throttle` does."""
        self.throttle(client)
        now = time.time()
        with writer_turn(self._session_factory), self._engine.begin() as connection:
            refused, _ = self._counted(connection, client, now)
            self.guard.tick(connection, client.keys, now)
        if refused is not None:
            raise refused

    def report(self, data: ReportInput, client: Client) -> int:
        """Store a consumer's counterfeit report; at most REPORTS_PER_HOUR per client."""
        return self.file_report(data, client).id

    def file_report(self, data: ReportInput, client: Client) -> Receipt:
        """``report``, answering with the receipt: the report's number and the token of its
        public status link (given once: only its digest is stored)."""
        now = time.time()
        keys = client.keys_for("report:")
        with unit_of_work(self._session_factory) as session:
            self.report_guard.check(session, keys, now)
            report = submit_report(
                session,
                self._keyring,
                data,
                now=utcnow(),
                max_photo_bytes=self.max_photo_bytes,
                ip_hash=client.ip_hash,
                device_hash=client.device_hash,
            )
            token = issue_status_token(report)
            self.report_guard.tick(session, keys, now)
            return Receipt(report.id, token)
