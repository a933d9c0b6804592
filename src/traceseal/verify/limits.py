"""Anti-enumeration and flood limits for the unauthenticated verification channels.

Three mechanisms, each answering a different threat:

* a request rate (flood protection) caps requests per client address and minute:
  :class:`RedisRate` (a token bucket in Redis, shared by every process and host) when
  TRACESEAL_REDIS_URL is set, else :class:`WindowRate` (a fixed one-minute window counted
  in the database inside the verification's own transaction). Both are shared by every
  process, unlike the token buckets in process memory kept before.
* :class:`FailureGuard` caps ``not_found``/``mistyped``/malformed answers per client
  address and per device in fixed windows, so someone guessing codes gets a handful of
  guesses, then 429. Genuine answers never tick it, so a shopper is never slowed by it.
* :class:`BurstWatch` counts ``not_found`` answers across the whole platform and raises one
  alert per window in which they cross a threshold: guessing spread over many addresses.

The fixed-window counts of the last two are kept by a :class:`Windows` store: in the
database (``rate_windows``, ticked in the verification's transaction), or in Redis. Either
way every worker process and every host sees the same counts, so a limit holds however
many serve.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from traceseal.alerts.models import Severity
from traceseal.alerts.service import raise_alert
from traceseal.counters import RateWindow
from traceseal.db import Executor, Prepared, connection_of, insert_for
from traceseal.errors import TooManyRequests

log = logging.getLogger("traceseal.verify.limits")

#: Windows are kept this many lengths back, then pruned.
_KEEP_WINDOWS = 2
#: A Redis that does not answer within this long is passed over (the limit fails open).
REDIS_TIMEOUT = 0.25

# Read on every request, so compiled once and run on the DBAPI cursor. A client has at
# most two keys (address, device); with one, it is passed twice.
_USED = Prepared(
    select(func.max(RateWindow.count)).where(
        RateWindow.key.in_([bindparam("key1"), bindparam("key2")]),
        RateWindow.window_start == bindparam("start"),
    )
)


class Windows(Protocol):
    """Fixed-window counters: ``count`` events for a key in the window starting then."""

    def used(self, executor: Executor, keys: list[str], start: int) -> int:
        """The largest count of ``keys`` in the window starting at ``start`` (0: none)."""

    def bump(self, executor: Executor, key: str, start: int, window: int) -> int:
        """Add one to ``key``'s count in the window; the new count, exact under concurrency."""


class DatabaseWindows:
    """The counts in ``rate_windows``, written in the caller's transaction.

    With ``prune``, the first count of a key in a window also deletes that key's old
    windows (one statement more, once per key and window). Without, :func:`sweep` does it
    for all keys at once: for the flood limit, whose every client is new each minute.
    """

    def __init__(self, *, prune: bool = True) -> None:
        self.prune = prune

    def used(self, executor: Executor, keys: list[str], start: int) -> int:
        params = {"key1": keys[0], "key2": keys[-1], "start": start}
        connection = connection_of(executor)
        (used,) = _USED.run(connection, params).fetchone()
        return int(used or 0)

    def bump(self, executor: Executor, key: str, start: int, window: int) -> int:
        return _bump(executor, key, start, window, prune=self.prune)


def sweep(session: Session, now: float) -> int:
    """Delete the flood limit's past minutes (a background job, every minute); the count."""
    found = session.execute(
        delete(RateWindow).where(
            RateWindow.key.startswith(WindowRate.PREFIX, autoescape=True),
            RateWindow.window_start < int(now) - 2 * WindowRate.WINDOW,
        )
    )
    return int(getattr(found, "rowcount", 0))


def _bump(
    executor: Executor, key: str, window_start: int, window: int, *, prune: bool = True
) -> int:
    """Add one to ``key``'s counter in the window; return the new count (atomic upsert)."""
    connection = connection_of(executor)
    params = {"key": key, "start": window_start}
    (count,) = _BUMP[connection.dialect.name].run(connection, params).fetchone()
    if count == 1 and prune:
        # The first tick of a window clears this key's old windows, so the table holds
        # about one row per recently failing client.
        _PRUNE.run(connection, {"key": key, "before": window_start - _KEEP_WINDOWS * window})
    return int(count)


def _bump_statement(dialect: str) -> Any:
    upsert = insert_for(dialect, RateWindow).values(
        key=bindparam("key"), window_start=bindparam("start"), count=1
    )
    return upsert.on_conflict_do_update(
        index_elements=[RateWindow.key, RateWindow.window_start],
        set_={"count": RateWindow.count + 1},
    ).returning(RateWindow.count)


# Every verification bumps the flood limit's window (without Redis): compiled once, like
# _USED, which saves SQLAlchemy's statement building and caching on each request.
_BUMP = {name: Prepared(_bump_statement(name)) for name in ("sqlite", "postgresql")}
_PRUNE = Prepared(
    delete(RateWindow).where(
        RateWindow.key == bindparam("key"), RateWindow.window_start < bindparam("before")
    )
)


def _bump_and_used() -> Prepared:
    """PostgreSQL: the flood limit's upsert and the failure windows' read in one statement,
    the upsert a data-modifying CTE: one round trip fewer for every verification without
    Redis. Their keys never meet (``rate:`` against ``ip:`` and ``device:``). The read sees
    the statement's snapshot: a failure that the client's own simultaneous request commits
    while the upsert waits for that request's row lock is not seen, as a check running
    beside that request would not see it either; the failure tick's exact count refuses
    the excess afterwards (channel.Verifier._verify). Parameters: _BUMP's, and _USED's
    with ``used_start``."""
    bumped = _bump_statement("postgresql").cte("bumped")
    used = select(func.max(RateWindow.count)).where(
        RateWindow.key.in_([bindparam("key1"), bindparam("key2")]),
        RateWindow.window_start == bindparam("used_start"),
    )
    return Prepared(
        select(select(bumped.c.count).scalar_subquery(), used.scalar_subquery()).add_cte(bumped)
    )


_BUMP_AND_USED = _bump_and_used()


def redis_client(url: str) -> Any:
    """A redis-py client (thread-safe, pooled) with short timeouts: a limit must never hold
    a verification up for long."""
    import redis

    return redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
    )


class RedisWindows:
    """The counts in Redis: ``INCR`` and ``EXPIRE`` in one MULTI, read with ``MGET``.

    Redis's single thread makes each ``INCR`` exact, like the database's upsert. The count
    is not part of the verification's transaction: a verification that fails afterwards
    still counted, which only errs towards refusing. If Redis does not answer, the limit
    is passed over (logged): a guess slipping through is less harm than every shopper
    getting an error.
    """

    PREFIX = "traceseal:window:"

    def __init__(self, client: Any) -> None:
        self._redis = client

    def used(self, executor: Executor, keys: list[str], start: int) -> int:  # noqa: ARG002
        try:
            found = self._redis.mget([f"{self.PREFIX}{key}:{start}" for key in keys])
        except Exception:
            _redis_down()
            return 0
        return max((int(v) for v in found if v is not None), default=0)

    def bump(self, executor: Executor, key: str, start: int, window: int) -> int:  # noqa: ARG002
        name = f"{self.PREFIX}{key}:{start}"
        try:
            pipe = self._redis.pipeline(transaction=True)
            pipe.incr(name)
            pipe.expire(name, _KEEP_WINDOWS * window)
            count, _ = pipe.execute()
        except Exception:
            _redis_down()
            return 0
        return int(count)


_last_warning = [0.0]


def _redis_down() -> None:
    """Log that Redis did not answer, at most once a minute (not once per request)."""
    now = time.monotonic()
    if now - _last_warning[0] > 60:
        _last_warning[0] = now
        log.warning("Redis did not answer; verification limits are not enforced", exc_info=True)


class FailureGuard:
    """At most ``limit`` failures per client key in each window of ``window`` seconds."""

    def __init__(self, limit: int, window: int, windows: Windows | None = None) -> None:
        self.limit = limit
        self.window = window
        self.windows: Windows = windows or DatabaseWindows()

    def window_start(self, now: float) -> int:
        return int(now) - int(now) % self.window

    def check(
        self, session: Executor, keys: Iterable[str], now: float, used: int | None = None
    ) -> None:
        """Raise TooManyRequests if any of ``keys`` used up its failures in this window.
        ``used``: their largest count, if the caller read it already (WindowRate.count)."""
        keys = list(keys)
        if not self.limit or not keys:
            return
        if used is None:
            used = self.windows.used(session, keys, self.window_start(now))
        if used >= self.limit:
            raise self.refusal(now)

    def tick(self, session: Executor, keys: Iterable[str], now: float) -> bool:
        """Count one failure for each key; True if one of them is now over the limit."""
        if not self.limit:
            return False
        start = self.window_start(now)
        counts = [self.windows.bump(session, key, start, self.window) for key in keys]
        return max(counts, default=0) > self.limit

    def refusal(self, now: float) -> TooManyRequests:
        wait = self.window_start(now) + self.window - int(now)
        return TooManyRequests(
            f"too many codes that do not exist or do not check from this client; "
            f"try again in {wait} s",
            retry_after=wait,
        )


class BurstWatch:
    """Counts ``not_found`` answers platform-wide; one alert per window over the threshold."""

    KEY = "platform:not_found"

    def __init__(self, threshold: int, window: int, windows: Windows | None = None) -> None:
        self.threshold = threshold
        self.window = window
        self.windows: Windows = windows or DatabaseWindows()

    def tick(self, session: Executor, now: float) -> None:
        if not self.threshold:
            return
        start = int(now) - int(now) % self.window
        count = self.windows.bump(session, self.KEY, start, self.window)
        if count == 1 and isinstance(self.windows, DatabaseWindows):
            # Also sweep windows of clients that never came back (Redis expires its own).
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


def _too_many(per_minute: int, wait: int) -> TooManyRequests:
    return TooManyRequests(
        f"more than {per_minute} verification requests a minute from this address; "
        f"try again in {wait} s",
        retry_after=wait,
    )


class WindowRate:
    """``per_minute`` requests per client address in each fixed minute, counted by a
    :class:`Windows` store in the verification's own transaction (one upsert more).

    A fixed window lets a client send up to twice ``per_minute`` across a minute's edge,
    where the token bucket of :class:`RedisRate` smooths that out; both cap a flood at the
    same sustained rate, which is what the limit is for.
    """

    WINDOW = 60
    PREFIX = "rate:"

    def __init__(self, per_minute: int, windows: Windows) -> None:
        self.per_minute = per_minute
        self._windows = windows

    def count(
        self,
        executor: Executor,
        client: str,
        now: float,
        *,
        guard: FailureGuard | None = None,
        keys: Sequence[str] = (),
    ) -> tuple[TooManyRequests | None, int | None]:
        """Count this request: the refusal to raise (after commit) if it is over the limit,
        and, where the two share a statement (PostgreSQL, both counted in the database),
        the largest failure count of ``keys`` in ``guard``'s window, for ``guard.check``;
        else None, and the check reads it itself."""
        if not self.per_minute:
            return None, None
        start = int(now) - int(now) % self.WINDOW
        key = self.PREFIX + client
        connection = connection_of(executor)
        if (
            guard is not None
            and guard.limit
            and keys
            and connection.dialect.name == "postgresql"
            and isinstance(self._windows, DatabaseWindows)
            and not self._windows.prune  # the statement does not prune; the sweep does
            and isinstance(guard.windows, DatabaseWindows)
        ):
            params = {
                "key": key,
                "start": start,
                "key1": keys[0],
                "key2": keys[-1],
                "used_start": guard.window_start(now),
            }
            count, used = _BUMP_AND_USED.run(connection, params).fetchone()
            used = int(used or 0)
        else:
            count, used = self._windows.bump(executor, key, start, self.WINDOW), None
        if count <= self.per_minute:
            return None, used
        return _too_many(self.per_minute, start + self.WINDOW - int(now)), used


# A token bucket kept in a Redis hash, refilled at ``rate`` tokens a second up to
# ``capacity``, on Redis's own clock (every host then agrees on the time).
_BUCKET = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local held = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(held[1]) or capacity
local at = tonumber(held[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return {taken, tostring(tokens)}
"""


class RedisRate:
    """A token bucket per client address: ``per_minute`` requests, refilled continuously,
    kept in Redis for every process and host (one script call, atomic in Redis)."""

    PREFIX = "traceseal:rate:"

    def __init__(self, per_minute: int, client: Any) -> None:
        self.per_minute = per_minute
        self._script = client.register_script(_BUCKET)

    def take(self, client: str) -> None:
        if not self.per_minute:
            return
        rate = self.per_minute / 60.0
        try:
            taken, tokens = self._script(keys=[self.PREFIX + client], args=[self.per_minute, rate])
        except Exception:
            _redis_down()
            return
        if not int(taken):
            raise _too_many(self.per_minute, math.ceil((1.0 - float(tokens)) / rate))
