"""The transparency log's pure core: RFC 9162 Merkle trees and C2SP tlog-tiles.

No database, no web: storage is reached through a :data:`~traceseal.merkle.tree.HashReader`
that the caller supplies, and everything here is strictly typed.
"""

from traceseal.merkle.tree import (
    EMPTY_ROOT,
    HASH_SIZE,
    Address,
    Appended,
    HashReader,
    Node,
    append_leaves,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Address",
    "Appended",
    "HashReader",
    "Node",
    "append_leaves",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "root_from_inclusion",
    "verify_consistency",
    "verify_inclusion",
]
