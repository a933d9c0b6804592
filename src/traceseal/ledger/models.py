"""The log's storage: leaves, the hashes of complete subtrees, and the head that orders appends.

Complete subtrees are stored by ``(level, index)``: the node at level L, index i covers
leaves ``[i * 2^L, (i + 1) * 2^L)`` (docs/ledger.md). Nothing here is ever updated but the
head's size, and nothing is ever deleted. Witnesses' cosignatures are kept by checkpoint.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from traceseal.db import WITHOUT_ROWID, Base, UtcDateTime


class LedgerHead(Base):
    """One row: the tree size. Appenders bump it first, which queues them on its row lock."""

    __tablename__ = "ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)


class LedgerLeaf(Base):
    __tablename__ = "ledger_leaves"

    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(40))
    #: The leaf record as hashed: canonical JSON (RFC 8785), docs/ledger.md.
    data: Mapped[bytes] = mapped_column(LargeBinary)
    appended_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LedgerKey(Base):
    """One row: the log's Ed25519 signing key, wrapped by the master key."""

    __tablename__ = "ledger_key"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: The key name, which is also the log's origin line in every checkpoint.
    name: Mapped[str] = mapped_column(String(200))
    wrapped_seed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LedgerCheckpoint(Base):
    """A signed checkpoint, as published; the latest is served at /ledger/checkpoint."""

    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LedgerCosignature(Base):
    """A witness's cosignature on a checkpoint (C2SP tlog-cosignature), verified with the
    witness's key before it was stored; served appended to the checkpoint it signs."""

    __tablename__ = "ledger_cosignatures"
    __table_args__ = (
        # The size each witness last cosigned: the old size of the next request to it.
        Index("ix_ledger_cosignatures_witness_size", "witness", "size"),
    )

    size: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("ledger_checkpoints.size"), primary_key=True, autoincrement=False
    )
    #: The witness's verifier key, ``<name>+<hex key ID>+<base64 key>``.
    witness: Mapped[str] = mapped_column(String(400), primary_key=True)
    #: The note signature line, without its newline.
    signature: Mapped[str] = mapped_column(Text)
    #: The cosignature's own timestamp (POSIX seconds), as the witness signed it.
    cosigned_at: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LedgerNode(Base):
    __tablename__ = "ledger_nodes"
    # The key is the table: one B-tree on SQLite.
    __table_args__ = WITHOUT_ROWID

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)
