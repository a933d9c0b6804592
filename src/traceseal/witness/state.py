"""What a witness remembers: per log, its key and the latest checkpoint it cosigned.

One small SQLite file (the standard library's ``sqlite3``): a witness is run by a party
that does not run the platform, so it needs no database server and no TraceSeal settings.

The one rule that matters (C2SP tlog-witness): checking a request's old size against the
stored size and storing the new checkpoint happen atomically, or two concurrent requests
could both pass the check and the later write would roll the witness back. ``advance`` is
a single ``UPDATE ... WHERE size = old AND root = old root``: of two requests that read the
same state, the second finds nothing to update and is told the size the first stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from traceseal.merkle import EMPTY_ROOT
from traceseal.merkle.note import Verifier

__all__ = ["LogState", "RefusedCheckpoint", "StateError", "WitnessState"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (
    origin TEXT PRIMARY KEY,
    vkey TEXT NOT NULL,          -- the log's verifier key (note format)
    size INTEGER NOT NULL,       -- latest cosigned tree size; 0 before the first
    root BLOB NOT NULL,          -- its root hash (the empty tree's before the first)
    note TEXT NOT NULL,          -- that checkpoint as the log signed it ('' before the first)
    updated_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS refusals (
    origin TEXT NOT NULL,
    checkpoint TEXT NOT NULL,    -- the signed checkpoint that was refused, as received
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    old_size INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (origin, checkpoint)
) STRICT;
"""


class StateError(Exception):
    """The state file disagrees with how the witness was started (another key for a log)."""


@dataclass(frozen=True, slots=True)
class LogState:
    origin: str
    vkey: str
    size: int
    root: bytes
    note: str


@dataclass(frozen=True, slots=True)
class RefusedCheckpoint:
    """A checkpoint signed by the log that the witness refused: possible evidence of a fork."""

    origin: str
    checkpoint: str
    status: int
    reason: str
    old_size: int
    received_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class WitnessState:
    """The state file at ``path``, created on first use.

    Each call opens its own connection: requests are served from a thread pool, and a
    sqlite3 connection belongs to one thread at a time.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # Autocommit: every write below is one statement, atomic by itself.
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            # The witness answers only after its new state is on disk (the spec's MUST);
            # FULL syncs the WAL at every commit, so not even a power loss rolls it back.
            db.execute("PRAGMA synchronous=FULL")
            yield db

    def watch(self, verifier: Verifier, *, replace_key: bool = False) -> LogState:
        """Start watching the log named by ``verifier`` (its origin), or keep watching it.

        A log seen before must come with the key stored for it: a different key raises
        StateError unless ``replace_key`` (the operator pinned the new key on purpose). The
        size and root are kept either way, so the log's history stays append-only.
        """
        vkey = verifier.encode()
        with self._connect() as db:
            db.execute(
                "INSERT INTO logs (origin, vkey, size, root, note, updated_at) "
                "VALUES (?, ?, 0, ?, '', ?) ON CONFLICT (origin) DO NOTHING",
                (verifier.name, vkey, EMPTY_ROOT, _now()),
            )
            if replace_key:
                db.execute("UPDATE logs SET vkey = ? WHERE origin = ?", (vkey, verifier.name))
        found = self.get(verifier.name)
        assert found is not None
        if found.vkey != vkey:
            raise StateError(
                f"{self.path} knows log {verifier.name} by the key {found.vkey}, not {vkey}"
            )
        return found

    def get(self, origin: str) -> LogState | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT origin, vkey, size, root, note FROM logs WHERE origin = ?", (origin,)
            ).fetchone()
        return None if row is None else LogState(row[0], row[1], row[2], bytes(row[3]), row[4])

    def advance(self, known: LogState, size: int, root: bytes, note: str) -> bool:
        """Store ``(size, root, note)`` if the log's state is still ``known``; True if so."""
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE logs SET size = ?, root = ?, note = ?, updated_at = ? "
                "WHERE origin = ? AND size = ? AND root = ?",
                (size, root, note, _now(), known.origin, known.size, known.root),
            )
            return cursor.rowcount == 1

    def record_refusal(
        self, origin: str, checkpoint: str, status: int, reason: str, old_size: int
    ) -> None:
        """Keep a refused checkpoint that the log did sign. Each checkpoint is kept once, so
        replaying a public checkpoint cannot fill the disk."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO refusals (origin, checkpoint, status, reason, old_size, "
                "received_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (origin, checkpoint, status, reason, old_size, _now()),
            )

    def refusals(self, origin: str) -> list[RefusedCheckpoint]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT origin, checkpoint, status, reason, old_size, received_at "
                "FROM refusals WHERE origin = ? ORDER BY received_at",
                (origin,),
            ).fetchall()
        return [RefusedCheckpoint(*row) for row in rows]
