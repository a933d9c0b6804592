"""The log's signing key and its signed checkpoints (C2SP tlog-checkpoint, docs/ledger.md)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from traceseal.codes.service import Keyring
from traceseal.db import dialect_insert, unit_of_work, utcnow
from traceseal.ledger import service
from traceseal.ledger.models import LedgerCheckpoint, LedgerKey
from traceseal.merkle.note import Checkpoint, Signer, Verifier, sign_note

_PURPOSE = "ledger-key"
log = logging.getLogger("traceseal.ledger")


def log_signer(session: Session, keyring: Keyring, origin: str) -> Signer:
    """The log's signing key, created (named ``origin``) the first time it is needed.

    The name is fixed from then on: checkpoints name the log, and verifiers trust the key.
    """
    row = session.get(LedgerKey, 1)
    if row is None:
        signer = Signer.generate(origin)
        session.execute(
            dialect_insert(session, LedgerKey)
            .values(
                id=1,
                name=origin,
                wrapped_seed=keyring.wrap_secret(_PURPOSE, signer.seed),
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=[LedgerKey.id])
        )
        row = session.get(LedgerKey, 1, populate_existing=True)
        assert row is not None
    return Signer(row.name, keyring.unwrap_secret(_PURPOSE, row.wrapped_seed))


def log_verifier(session: Session, keyring: Keyring) -> Verifier | None:
    """The log's verifier key, or None before the key exists."""
    row = session.get(LedgerKey, 1)
    if row is None:
        return None
    return Signer(row.name, keyring.unwrap_secret(_PURPOSE, row.wrapped_seed)).verifier


def latest(session: Session) -> LedgerCheckpoint | None:
    return session.scalar(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1))


def publish(
    session: Session, keyring: Keyring, origin: str, *, now: datetime | None = None
) -> LedgerCheckpoint | None:
    """Sign and store a checkpoint of the current tree if it grew; None if it did not."""
    size = service.size(session)
    previous = latest(session)
    if previous is not None and previous.size >= size:
        return None
    signer = log_signer(session, keyring, origin)
    root = service.root_hash(session, size)
    note = sign_note(Checkpoint(signer.name, size, root).text(), [signer])
    session.execute(
        dialect_insert(session, LedgerCheckpoint)
        .values(size=size, root=root, note=note, published_at=now or utcnow())
        .on_conflict_do_nothing(index_elements=[LedgerCheckpoint.size])
    )
    return session.get(LedgerCheckpoint, size)


class Publisher:
    """Publishes a checkpoint within ``interval`` seconds of new leaves, in a thread.

    Not on every request: a checkpoint costs a root computation and a signature, and
    readers need one per second at most.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        keyring: Keyring,
        origin: str,
        interval: float = 0.5,
    ) -> None:
        self._session_factory = session_factory
        self._keyring = keyring
        self._origin = origin
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="checkpoints", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                with unit_of_work(self._session_factory) as session:
                    publish(session, self._keyring, self._origin)
            except Exception:  # retried at the next tick; the log stays as it is
                log.warning("publishing a checkpoint failed", exc_info=True)
