"""The edge every verification channel shares: limits, the unit of work, client hashing.

HTTP (the API, the Digital Link resolver, the entry page) calls :meth:`Verifier.verify`;
later channels (SMS, voice, chat) will too. It owns the transaction: the verdict's counter
bump, its scan-log row and the failure counters commit together.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from traceseal.codes.service import Keyring
from traceseal.config import Settings
from traceseal.db import unit_of_work, utcnow, writer_gate, writer_turn
from traceseal.errors import InvalidInput
from traceseal.reports.service import ReportInput, submit_report
from traceseal.verify.limits import BurstWatch, FailureGuard, RequestRate
from traceseal.verify.models import FAILURES, Verdict
from traceseal.verify.service import Query, Verification, verify

#: Counterfeit reports one client may file per hour.
REPORTS_PER_HOUR = 10


@dataclass(frozen=True, slots=True)
class Client:
    """Who is asking, pseudonymised: keyed hashes of the address and the device cookie."""

    ip_hash: str | None
    device_hash: str | None

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


class Verifier:
    def __init__(
        self, settings: Settings, session_factory: sessionmaker[Session], keyring: Keyring
    ) -> None:
        self._session_factory = session_factory
        self._keyring = keyring
        # Addresses and device ids are stored only as keyed hashes: the key comes from the
        # master key, so the small IPv4 space cannot be searched from the database alone.
        self._hash_key = keyring.derive("client-hash")
        self.rate = RequestRate(settings.verify_rate_limit)
        self.guard = FailureGuard(settings.verify_failure_limit, settings.verify_failure_window)
        self.burst = BurstWatch(
            settings.enumeration_alert_threshold, settings.enumeration_alert_window
        )
        # SQLite runs inside this process and admits one writer at a time, so a worker
        # thread per verification adds two thread hand-offs and GIL contention and no
        # concurrency: on SQLite the API verifies on the event loop (about 0.25 ms of CPU,
        # bench/verify.py). PostgreSQL waits on the network, so it gets the thread pool.
        self._engine: Engine = session_factory.kw["bind"]
        self.inline = self._engine.dialect.name == "sqlite"
        self.report_guard = FailureGuard(REPORTS_PER_HOUR, 3600)
        self.max_photo_bytes = settings.report_photo_max_bytes

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A Core transaction (the verification path needs no ORM session)."""
        with writer_turn(self._session_factory), self._engine.begin() as connection:
            yield connection

    def client(self, ip: str | None, device: str | None) -> Client:
        return Client(self._hash(ip), self._hash(device))

    def _hash(self, value: str | None) -> str | None:
        if not value:
            return None
        digest = hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()
        return digest[:32]

    def throttle(self, client: Client) -> None:
        """Flood protection, before any work: raises TooManyRequests."""
        self.rate.take(client.ip_hash or "-")

    def verify(self, query: Query, client: Client) -> Verification:
        query = replace(query, ip_hash=client.ip_hash, device_hash=client.device_hash)
        now = time.time()
        try:
            with self._transaction() as connection:
                self.guard.check(connection, client.keys, now)
                result = verify(connection, self._keyring, query, now=utcnow())
                # Bots and HEAD requests tick too: a user agent is no proof of innocence.
                if result.verdict in FAILURES:
                    self.guard.tick(connection, client.keys, now)
                if result.verdict is Verdict.NOT_FOUND:
                    self.burst.tick(connection, now)
                return result
        except InvalidInput:
            # Not a code at all: nothing is recorded but the client's failure tick, in a
            # transaction of its own since the one above was rolled back.
            with self._transaction() as connection:
                self.guard.tick(connection, client.keys, now)
            raise

    async def verify_async(self, query: Query, client: Client) -> Verification:
        """:meth:`verify` for async handlers: inline on SQLite, in the thread pool otherwise.

        Inline only when this process's SQLite write turn is free at once: the event loop
        must never wait behind another thread's transaction (a long activation, say). The
        lock is reentrant, so :meth:`verify` takes it again without waiting.
        """
        gate = writer_gate(self._session_factory) if self.inline else None
        if gate is not None and gate.acquire(blocking=False):
            try:
                return self.verify(query, client)
            finally:
                gate.release()
        return await run_in_threadpool(self.verify, query, client)

    def tick_failure(self, client: Client) -> None:
        """Count a request that failed before reaching :meth:`verify` (e.g. a bad path)."""
        with self._transaction() as connection:
            self.guard.tick(connection, client.keys, time.time())

    def report(self, data: ReportInput, client: Client) -> int:
        """Store a consumer's counterfeit report; at most REPORTS_PER_HOUR per client."""
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
            self.report_guard.tick(session, keys, now)
            return report.id
