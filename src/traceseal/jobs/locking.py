"""Each periodic job runs exactly once per interval, however many processes or hosts serve
the same database.

Every server process runs the same background threads (background.Periodic). A job that
must not run twice at once or twice per interval (publishing a checkpoint, sending the
webhook and SMS outboxes, collecting cosignatures) asks :meth:`JobLock.run` on each tick,
which does two things:

1. **Exclusion.** While one process runs a job, no other starts it. On PostgreSQL this is a
   session-level advisory lock (``pg_try_advisory_lock``) held on a connection of its own
   for the run: the server drops it when the process dies, so a crash never leaves a job
   locked. On SQLite, which is one file on one host, it is ``flock`` on a lock file beside
   the database, which the kernel likewise drops with the process.
2. **Cadence.** Of the processes whose ticks fall in the same interval, only the first runs
   the job: the interval's slot (its start, in milliseconds) is claimed under the lock,
   in a ``rate_windows`` row on PostgreSQL (shared by every host) and in the lock file
   itself on SQLite (no write transaction, so the claim never queues behind SQLite's one
   write lock that verifications use).

A tick that finds the job locked, or its slot claimed, skips: the job's work is whatever is
due when it runs, so nothing is lost, only not done twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, bindparam, delete, text
from sqlalchemy.engine import Connection

from traceseal.counters import RateWindow
from traceseal.db import insert_for

__all__ = ["JobLock", "advisory_key"]

#: How far back a job's claimed slots are kept in ``rate_windows`` (PostgreSQL), in ms.
_KEEP_MS = 100_000


def advisory_key(name: str) -> int:
    """A job's PostgreSQL advisory lock key: 64 bits of SHA-256 of its name, signed.

    >>> advisory_key("webhooks") == advisory_key("webhooks") != advisory_key("sms")
    True
    """
    digest = hashlib.sha256(b"traceseal.job:" + name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def slot_of(now: float, interval: float) -> int:
    """The start, in milliseconds, of the interval holding ``now``."""
    step = max(1, round(interval * 1000))
    at = int(now * 1000)
    return at - at % step


class JobLock:
    """Runs jobs at most once per interval across every process of one database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        database = engine.url.database or ""
        self._lock_dir = (
            Path(f"{database}.jobs")
            if self._sqlite and database and database != ":memory:"
            else None
        )

    def run(self, name: str, interval: float, task: Callable[[], object], now: float) -> bool:
        """Run ``task`` if no other process runs ``name`` and none ran it in this interval.

        True if this call ran it. Exceptions of ``task`` propagate after the lock is freed.
        """
        slot = slot_of(now, interval)
        if self._sqlite:
            return self._run_file(name, slot, task)
        return self._run_postgres(name, slot, task)

    # --- PostgreSQL: advisory lock, slot row ----------------------------------------------

    def _run_postgres(self, name: str, slot: int, task: Callable[[], object]) -> bool:
        key = advisory_key(name)
        with self._engine.connect() as connection:
            # A session-level advisory lock needs no transaction: in autocommit a tick is
            # 2-4 round trips (lock, claim, a prune now and then, unlock) where BEGIN and
            # COMMIT around each made it 6-10, and every process ticks several jobs a second.
            # The pool restores the isolation level when the connection goes back.
            connection.execution_options(isolation_level="AUTOCOMMIT")
            if not connection.execute(_LOCK, {"key": key}).scalar_one():
                return False
            try:
                if not _claim_row(connection, name, slot):
                    return False
                task()
                return True
            finally:
                connection.execute(_UNLOCK, {"key": key})

    # --- SQLite: flock, slot in the file --------------------------------------------------

    def _run_file(self, name: str, slot: int, task: Callable[[], object]) -> bool:
        if self._lock_dir is None:  # an in-memory database is one process's own
            task()
            return True
        self._lock_dir.mkdir(mode=0o700, exist_ok=True)
        descriptor = os.open(self._lock_dir / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            last = os.pread(descriptor, 32, 0).decode(errors="replace").strip()
            if last.lstrip("-").isdigit() and int(last) >= slot:
                return False
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, f"{slot}\n".encode(), 0)
            task()
            return True
        finally:
            os.close(descriptor)  # also frees the flock


_LOCK = text("SELECT pg_try_advisory_lock(:key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:key)")
# Built once: a tick would otherwise build them again, several times a second per process.
_CLAIM = (
    insert_for("postgresql", RateWindow)
    .values(key=bindparam("key"), window_start=bindparam("slot"), count=1)
    .on_conflict_do_update(
        index_elements=[RateWindow.key, RateWindow.window_start],
        set_={"count": RateWindow.count + 1},
    )
    .returning(RateWindow.count)
)
_PRUNE = delete(RateWindow).where(
    RateWindow.key == bindparam("key"), RateWindow.window_start < bindparam("before")
)


def _claim_row(connection: Connection, name: str, slot: int) -> bool:
    """Claim ``slot`` for job ``name``: the first to insert its row (count 1) owns it.
    ``connection`` is in autocommit: the claim is committed when this returns."""
    key = f"job:{name}"
    count = connection.execute(_CLAIM, {"key": key, "slot": slot}).scalar_one()
    if count == 1:
        connection.execute(_PRUNE, {"key": key, "before": slot - _KEEP_MS})
    return bool(count == 1)
