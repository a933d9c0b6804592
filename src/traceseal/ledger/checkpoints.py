"""The log's signing key, its signed checkpoints (C2SP tlog-checkpoint) and the witnesses'
cosignatures on them (C2SP tlog-witness, tlog-cosignature); docs/ledger.md."""

from __future__ import annotations

import http.client
import logging
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from traceseal.db import dialect_insert, read_only_factory, unit_of_work, utcnow
from traceseal.keys import MasterKey
from traceseal.ledger import service
from traceseal.ledger.models import LedgerCheckpoint, LedgerCosignature, LedgerKey
from traceseal.merkle.note import (
    Checkpoint,
    NoteSignature,
    Signer,
    Verifier,
    parse_note,
    sign_note,
)
from traceseal.merkle.note import verify_cosignature as check_cosignature
from traceseal.witness.client import Answer, post_add_checkpoint
from traceseal.witness.protocol import (
    SIZE_MEDIA_TYPE,
    AddCheckpoint,
    ProtocolError,
    parse_cosignatures,
    parse_size,
)

log = logging.getLogger("traceseal.ledger.witnesses")

_PURPOSE = "ledger-key"


def log_signer(session: Session, keyring: MasterKey, origin: str) -> Signer:
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


def log_verifier(session: Session, keyring: MasterKey) -> Verifier | None:
    """The log's verifier key, or None before the key exists."""
    row = session.get(LedgerKey, 1)
    if row is None:
        return None
    return Signer(row.name, keyring.unwrap_secret(_PURPOSE, row.wrapped_seed)).verifier


def latest(session: Session) -> LedgerCheckpoint | None:
    return session.scalar(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1))


def publish(
    session: Session, keyring: MasterKey, origin: str, *, now: datetime | None = None
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


def publish_now(session_factory: sessionmaker[Session], keyring: MasterKey, origin: str) -> None:
    """Publish in a transaction of its own; the server calls it twice a second, so that a
    checkpoint follows new leaves within a second, not on every request.

    Whether the log grew is read first, in a read-only transaction: on SQLite a write
    transaction takes the one write lock (and the writer's turn) that verifications queue
    for, and most calls find nothing to publish.
    """
    with read_only_factory(session_factory.kw["bind"])() as session:
        previous = latest(session)
        if previous is not None and previous.size >= service.size(session):
            return
    with unit_of_work(session_factory) as session:
        publish(session, keyring, origin)


def cosigned_note(session: Session, checkpoint: LedgerCheckpoint) -> str:
    """The checkpoint's note with the cosignature lines of every witness that cosigned
    exactly its size appended (C2SP tlog-cosignature: extra signature lines on the note)."""
    lines = session.scalars(
        select(LedgerCosignature.signature)
        .where(LedgerCosignature.size == checkpoint.size)
        .order_by(LedgerCosignature.witness)
    ).all()
    return checkpoint.note + "".join(line + "\n" for line in lines)


def last_cosigned(session: Session, witness: Verifier) -> int:
    """The largest size ``witness`` cosigned as far as the log knows; 0 before the first."""
    size = session.scalar(
        select(func.max(LedgerCosignature.size)).where(
            LedgerCosignature.witness == witness.encode()
        )
    )
    return int(size or 0)


class WitnessFailure(Exception):
    """A witness did not cosign; the message says what it answered."""


@dataclass
class _Witness:
    verifier: Verifier
    url: str
    failures: int = 0
    next_try: float = 0.0


#: Seconds a request to a witness may take: it runs in a background thread, so it never
#: holds up a request or the publishing of checkpoints, only this witness's next turn.
WITNESS_TIMEOUT = 5.0
#: Longest wait before trying a failing witness again; waits double from 1 s up to this.
MAX_BACKOFF = 60.0


class Cosigners:
    """Sends the latest checkpoint to each witness that has not cosigned it, with a
    consistency proof from the size that witness last cosigned, and keeps the answers.

    ``collect`` is what the server's background thread runs twice a second. It reads the
    database in short transactions and talks to witnesses outside them; witnesses are asked
    in parallel, and a failing one is logged and tried again after a growing pause.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        witnesses: Sequence[tuple[Verifier, str]],
        *,
        timeout: float = WITNESS_TIMEOUT,
    ) -> None:
        self._session_factory = session_factory
        self._read_factory = read_only_factory(session_factory.kw["bind"])
        self._witnesses = [_Witness(verifier, url) for verifier, url in witnesses]
        self._timeout = timeout

    def __len__(self) -> int:
        return len(self._witnesses)

    def collect(self) -> int:
        """Ask every witness that is due; return how many cosignatures were stored."""
        now = time.monotonic()
        due = [w for w in self._witnesses if w.next_try <= now]
        if len(due) <= 1:
            return sum(map(self._turn, due))
        with ThreadPoolExecutor(len(due), thread_name_prefix="witness") as pool:
            return sum(pool.map(self._turn, due))

    def _turn(self, witness: _Witness) -> bool:
        try:
            stored = self.cosign(witness.verifier, witness.url)
        except (WitnessFailure, OSError, ValueError, http.client.HTTPException) as exc:
            witness.failures += 1
            pause = min(MAX_BACKOFF, 2.0 ** (witness.failures - 1))
            witness.next_try = time.monotonic() + pause
            log.warning(
                "witness %s at %s: %s (trying again in %.0f s)",
                witness.verifier.name,
                witness.url,
                exc,
                pause,
            )
            return False
        witness.failures = 0
        witness.next_try = 0.0
        return stored

    def cosign(self, witness: Verifier, url: str) -> bool:
        """One witness's turn: True if a new cosignature was stored, False if there was
        nothing to ask; raises WitnessFailure (or OSError: no answer) if it did not cosign."""
        with self._reading() as session:
            latest_checkpoint = latest(session)
            if latest_checkpoint is None:
                return False
            old = last_cosigned(session, witness)
            if old >= latest_checkpoint.size:
                return False
            size, note = latest_checkpoint.size, latest_checkpoint.note
            proof = service.prove_consistency(session, old, size)
        answer = self._ask(url, AddCheckpoint(old, tuple(proof), note))
        if answer.status == 409:
            # The witness cosigned another size (a restart of either side, or another
            # process of this log got there first): its answer says which. One retry.
            seen = _conflict_size(answer)
            if seen == old:
                raise WitnessFailure(f"answered 409 for size {size} from size {old}")
            with self._reading() as session:
                now_latest = latest(session)
                if seen > size:
                    if now_latest is not None and now_latest.size >= seen:
                        return False  # a newer checkpoint was published meanwhile
                    raise WitnessFailure(
                        f"the witness has cosigned size {seen}, past this log's latest "
                        f"checkpoint ({size}): the log has lost leaves it had published"
                    )
                proof = service.prove_consistency(session, seen, size)
            answer = self._ask(url, AddCheckpoint(seen, tuple(proof), note))
            if answer.status == 409:
                raise WitnessFailure(
                    f"answered 409 again, from its own size {seen}: it holds another root "
                    "hash for that size (a fork), or another request advanced it meanwhile"
                )
        if answer.status != 200:
            detail = answer.body[:300].decode("utf-8", errors="replace").strip()
            raise WitnessFailure(f"answered {answer.status}: {detail}")
        text = parse_note(note).text
        signature, timestamp = _verified(witness, text, answer.body)
        with unit_of_work(self._session_factory) as session:
            session.execute(
                dialect_insert(session, LedgerCosignature)
                .values(
                    size=size,
                    witness=witness.encode(),
                    signature=signature.line().rstrip("\n"),
                    cosigned_at=timestamp,
                    received_at=utcnow(),
                )
                .on_conflict_do_nothing()
            )
        return True

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        # Twice a second per witness: on SQLite a read-only transaction neither takes nor
        # waits for the write lock that requests need.
        with self._read_factory() as session, session.begin():
            yield session

    def _ask(self, url: str, request: AddCheckpoint) -> Answer:
        return post_add_checkpoint(url, request.encode(), self._timeout)


def _conflict_size(answer: Answer) -> int:
    if answer.content_type != SIZE_MEDIA_TYPE:
        raise WitnessFailure(f"answered 409 without a size ({answer.content_type})")
    try:
        return parse_size(answer.body)
    except ProtocolError as exc:
        raise WitnessFailure(f"answered 409 with {exc}") from exc


def _verified(witness: Verifier, text: str, body: bytes) -> tuple[NoteSignature, int]:
    """The witness's cosignature among the answer's lines, checked with its key. Lines by
    other keys are ignored, as the spec requires; none by this witness is a failure."""
    try:
        signatures = parse_cosignatures(text, body)
    except ProtocolError as exc:
        raise WitnessFailure(str(exc)) from exc
    for signature in signatures:
        timestamp = check_cosignature(witness, text, signature)
        if timestamp is not None:
            return signature, timestamp
    raise WitnessFailure("the answer holds no valid cosignature by the witness's key")
