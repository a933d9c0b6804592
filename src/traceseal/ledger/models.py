"""The log's storage: leaves, the hashes of complete subtrees, and the head that orders appends.

Complete subtrees are stored by ``(level, index)``: the node at level L, index i covers
leaves ``[i * 2^L, (i + 1) * 2^L)`` (docs/ledger.md). Nothing here is ever updated but the
head's size, and nothing is ever deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from traceseal.db import Base, UtcDateTime


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


class LedgerNode(Base):
    __tablename__ = "ledger_nodes"
    # The key is the table: one B-tree on SQLite.
    __table_args__: ClassVar[dict[str, Any]] = {"sqlite_with_rowid": False}

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)
