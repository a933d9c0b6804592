"""Anti-enumeration and flood limits for the unauthenticated verification channels.

Three mechanisms, each answering a different threat:

* :class:`RequestRate` caps requests per client address and minute, in process memory. It
  is flood protection only: cheap enough for every request, but each worker process
  keeps its own count.
* :class:`FailureGuard` caps ``not_found``/``mistyped``/malformed answers per client
  address and per device in fixed windows kept in the database, so the limit holds across
  worker processes and restarts. Someone guessing codes gets a handful of guesses, then 429.
  Genuine answers never tick it, so a shopper is never slowed by it.
* :class:`BurstWatch` counts ``not_found`` answers across the whole platform and raises one
  alert per window in which they cross a threshold: guessing spread over many addresses.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from traceseal.alerts.models import Severity
from traceseal.alerts.service import raise_alert
from traceseal.counters import RateWindow
from traceseal.db import Executor, Prepared, dialect_insert
from traceseal.errors import TooManyRequests

#: Windows are kept this many lengths back, then pruned.
_KEEP_WINDOWS = 2

# Read on every request, so compiled once and run on the DBAPI cursor. A client has at
# most two keys (address, device); with one, it is passed twice.
_USED = Prepared(
    select(func.max(RateWindow.count)).where(
        RateWindow.key.in_([bindparam("key1"), bindparam("key2")]),
        RateWindow.window_start == bindparam("start"),
    )
)


def _bump(session: Executor, key: str, window_start: int, window: int) -> int:
    """Add one to ``key``'s counter in the window; return the new count (atomic upsert)."""
    upsert = dialect_insert(session, RateWindow).values(key=key, window_start=window_start, count=1)
    upsert = upsert.on_conflict_do_update(
        index_elements=[RateWindow.key, RateWindow.window_start],
        set_={"count": RateWindow.count + 1},
    ).returning(RateWindow.count)
    count = int(session.execute(upsert).scalar_one())
    if count == 1:
        # The first tick of a window clears this key's old windows, so the table holds
        # about one row per recently failing client.
        session.execute(
            delete(RateWindow).where(
                RateWindow.key == key,
                RateWindow.window_start < window_start - _KEEP_WINDOWS * window,
            )
        )
    return count


class FailureGuard:
    """At most ``limit`` failures per client key in each window of ``window`` seconds."""

    def __init__(self, limit: int, window: int) -> None:
        self.limit = limit
        self.window = window

    def _start(self, now: float) -> int:
        return int(now) - int(now) % self.window

    def check(self, session: Executor, keys: Iterable[str], now: float) -> None:
        """Raise TooManyRequests if any of ``keys`` used up its failures in this window."""
        keys = list(keys)
        if not self.limit or not keys:
            return
        start = self._start(now)
        params = {"key1": keys[0], "key2": keys[-1], "start": start}
        connection = session.connection() if isinstance(session, Session) else session
        (used,) = _USED.run(connection, params).fetchone()
        if used is not None and used >= self.limit:
            raise self.refusal(now)

    def tick(self, session: Executor, keys: Iterable[str], now: float) -> bool:
        """Count one failure for each key; True if one of them is now over the limit."""
        if not self.limit:
            return False
        start = self._start(now)
        counts = [_bump(session, key, start, self.window) for key in keys]
        return max(counts, default=0) > self.limit

    def refusal(self, now: float) -> TooManyRequests:
        wait = self._start(now) + self.window - int(now)
        return TooManyRequests(
            f"too many codes that do not exist or do not check from this client; "
            f"try again in {wait} s",
            retry_after=wait,
        )


class BurstWatch:
    """Counts ``not_found`` answers platform-wide; one alert per window over the threshold."""

    KEY = "platform:not_found"

    def __init__(self, threshold: int, window: int) -> None:
        self.threshold = threshold
        self.window = window

    def tick(self, session: Executor, now: float) -> None:
        if not self.threshold:
            return
        start = int(now) - int(now) % self.window
        count = _bump(session, self.KEY, start, self.window)
        if count == 1:
            # Also sweep windows of clients that never came back.
            session.execute(delete(RateWindow).where(RateWindow.window_start < start - 86_400))
        if count == self.threshold:
            raise_alert(
                session,
                kind="enumeration_burst",
                severity=Severity.WARNING,
                summary=(
                    f"{count} queries of codes that were never issued within "
                    f"{self.window} s: someone may be guessing codes"
                ),
                dedupe_key=f"enumeration_burst:{start}",
                details={"window_start": start, "window": self.window, "threshold": count},
            )


class RequestRate:
    """Token buckets per client address: ``per_minute`` requests, refilled continuously.

    In process memory, guarded by a lock (handlers run in a thread pool). The table is
    bounded: when it grows past ``max_clients`` the buckets that have refilled are dropped.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 100_000,
    ) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, client: str) -> None:
        if not self.per_minute:
            return
        rate = self.per_minute / 60.0
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - at) * rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / rate)
                raise TooManyRequests(
                    f"more than {self.per_minute} verification requests a minute from this "
                    f"address; try again in {wait} s",
                    retry_after=wait,
                )
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > self._max_clients:
                self._prune(now, rate)

    def _prune(self, now: float, rate: float) -> None:
        full = [
            client
            for client, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * rate >= self.per_minute
        ]
        for client in full:
            del self._buckets[client]
