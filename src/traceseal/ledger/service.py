"""Appending to the log and reading roots and proofs from storage.

Services take a session and never commit: a leaf is appended in the same transaction as the
record it describes, so a record exists if and only if its leaf does (PRODUCT.md, decision 5).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import rfc8785
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from traceseal.db import Prepared, connection_of, db_time, utcnow
from traceseal.errors import InvalidInput, NotFound
from traceseal.ledger.models import LedgerHead, LedgerLeaf, LedgerNode
from traceseal.merkle import (
    Address,
    append_leaves,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root,
)

#: Version of the leaf record format (docs/ledger.md).
LEAF_VERSION = 1
#: Addresses per SELECT when reading stored hashes (SQLite allows 500 parts in a compound
#: SELECT and 32,766 parameters).
_READ_CHUNK = 400
_PROBE = {
    mark: f'SELECT level, "index", hash FROM ledger_nodes WHERE level = {mark} AND "index" = {mark}'  # noqa: S608 - only the driver's placeholder is interpolated
    for mark in ("?", "%s")
}


def canonical_json(content: dict[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of ``content``.

    Flat records of strings, integers, booleans and nulls under ASCII keys (every leaf
    record, and the content of most) take a faster road: for them orjson's sorted, compact
    output is byte for byte the RFC 8785 form (the same escapes, keys in the same order,
    integers as written, non-ASCII as UTF-8). Anything else goes to the ``rfc8785`` package.
    tests/unit/ledger pins the equivalence with a property test.
    """
    for key, value in content.items():
        if not (key.isascii() and (value is None or type(value) in _FLAT)):
            return rfc8785.dumps(content)
        if isinstance(value, int) and abs(value) > _EXACT_INT:
            return rfc8785.dumps(content)
    try:
        return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # lone surrogates: the package says what is wrong
        return rfc8785.dumps(content)


_FLAT = (str, int, bool)
#: Integers beyond 2^53 are not exact in I-JSON; the package refuses them.
_EXACT_INT = 2**53 - 1


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 (hex) of a record's content in canonical JSON (RFC 8785)."""
    return hashlib.sha256(canonical_json(content)).hexdigest()


def leaf_record(kind: str, ref: str, content: dict[str, Any]) -> bytes:
    """A leaf's data: ``{"v": 1, "kind": ..., "ref": ..., "sha256": <content hash>}``.

    >>> leaf_record("code_run.issued", "code_run:1", {"count": 5})[:30]
    b'{"kind":"code_run.issued","ref'
    """
    record = {"v": LEAF_VERSION, "kind": kind, "ref": ref, "sha256": content_hash(content)}
    return canonical_json(record)


def reader(session: Session | Connection) -> Any:
    """A :data:`~traceseal.merkle.HashReader` over the stored nodes: one query per call.

    The query is written here rather than built by SQLAlchemy: its shape changes with the
    addresses asked for, and building and compiling it took longer than running it.
    """
    connection = connection_of(session)
    mark = "?" if connection.dialect.name == "sqlite" else "%s"

    def read(addresses: Sequence[Address]) -> list[bytes]:
        found: dict[Address, bytes] = {}
        cursor = connection.connection.cursor()
        for start in range(0, len(addresses), _READ_CHUNK):
            chunk = addresses[start : start + _READ_CHUNK]
            # One primary-key probe per address, glued with UNION ALL: the statement's text
            # depends only on how many addresses there are, so the driver's statement cache
            # keeps it prepared, and each part is an index seek (an OR of per-level IN lists
            # took half again as long; a row-value IN list made SQLite scan the table).
            cursor.execute(
                " UNION ALL ".join([_PROBE[mark]] * len(chunk)),
                [part for address in chunk for part in address],
            )
            found.update(
                {(level, index): bytes(digest) for level, index, digest in cursor.fetchall()}
            )
        missing = [address for address in addresses if address not in found]
        if missing:
            raise LookupError(f"the log lacks stored nodes {missing[:3]}")
        return [found[address] for address in addresses]

    return read


def append(
    session: Session,
    leaves: Sequence[tuple[str, bytes]],
    *,
    now: datetime | None = None,
    leaf_hashes: Sequence[bytes] | None = None,
) -> list[int]:
    """Append ``(kind, data)`` leaves; return their indexes. The caller's transaction commits.

    ``leaf_hashes``, when given, must be ``merkle.leaf_hash(data)`` of each leaf: a caller
    that prepared its leaves in another process passes them to keep the hashing out of the
    write transaction.

    Bumping the head first takes its row lock (on PostgreSQL; SQLite's transactions are
    serial already), so concurrent appenders queue and each sees the right edge its
    predecessor committed.
    """
    if not leaves:
        return []
    new_size = session.execute(
        update(LedgerHead)
        .where(LedgerHead.id == 1)
        .values(size=LedgerHead.size + len(leaves))
        .returning(LedgerHead.size)
    ).scalar_one()
    old_size = int(new_size) - len(leaves)
    if leaf_hashes is None:
        leaf_hashes = [leaf_hash(data) for _, data in leaves]
    appended = append_leaves(old_size, leaf_hashes, reader(session))
    # Bulk inserts straight on the DBAPI cursor: for thousands of rows per batch,
    # SQLAlchemy's per-row parameter processing would cost more than SQLite's work.
    connection = session.connection()
    at = db_time(now or utcnow(), connection.dialect)
    _LEAVES.run_rows(
        connection, [(old_size + i, kind, data, at) for i, (kind, data) in enumerate(leaves)]
    )
    _NODES.run_rows(connection, [(n.level, n.index, n.hash) for n in appended.nodes])
    return list(range(old_size, int(new_size)))


_LEAVES = Prepared(insert(LedgerLeaf), column_keys=["index", "kind", "data", "appended_at"])
_NODES = Prepared(insert(LedgerNode), column_keys=["level", "index", "hash"])


def size(session: Session) -> int:
    row = _SIZE.run(session.connection(), {}).fetchone()
    return 0 if row is None else int(row[0])


# Every proof asks for the size first: precompiled, like the verification hot path.
_SIZE = Prepared(select(LedgerHead.size).where(LedgerHead.id == 1))


def root_hash(session: Session, tree_size: int | None = None) -> bytes:
    current = size(session)
    tree_size = current if tree_size is None else tree_size
    if not 0 <= tree_size <= current:
        raise NotFound(f"the log has {current} leaves, not {tree_size}")
    return root(tree_size, reader(session))


def get_leaf(session: Session, index: int) -> LedgerLeaf:
    leaf = session.get(LedgerLeaf, index)
    if leaf is None:
        raise NotFound(f"no leaf {index}; the log has {size(session)}")
    return leaf


def prove_inclusion(session: Session, index: int, tree_size: int) -> list[bytes]:
    current = size(session)
    if not 0 <= index < tree_size <= current:
        raise InvalidInput(f"need 0 <= index < size <= {current}", field="index")
    return inclusion_proof(index, tree_size, reader(session))


def prove_consistency(session: Session, old: int, new: int) -> list[bytes]:
    current = size(session)
    if not 0 <= old <= new <= current:
        raise InvalidInput(f"need 0 <= old <= new <= {current}", field="old")
    return consistency_proof(old, new, reader(session))
