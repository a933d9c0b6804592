"""The log's signing key and its signed checkpoints (C2SP tlog-checkpoint, docs/ledger.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from traceseal.codes.service import Keyring
from traceseal.db import dialect_insert, unit_of_work, utcnow
from traceseal.ledger import service
from traceseal.ledger.models import LedgerCheckpoint, LedgerKey
from traceseal.merkle.note import Checkpoint, Signer, Verifier, sign_note

_PURPOSE = "ledger-key"


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


def publish_now(session_factory: sessionmaker[Session], keyring: Keyring, origin: str) -> None:
    """Publish in a transaction of its own; the server calls it twice a second, so that a
    checkpoint follows new leaves within a second, not on every request."""
    with unit_of_work(session_factory) as session:
        publish(session, keyring, origin)
