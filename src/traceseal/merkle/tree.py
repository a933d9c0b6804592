"""RFC 9162 Merkle tree hashes, appends and proofs over stored complete subtrees.

The log keeps one hash per *complete* subtree, addressed by ``(level, index)``: the node at
level ``L`` and index ``i`` is the Merkle Tree Hash of leaves ``[i * 2**L, (i + 1) * 2**L)``.
Such a node never changes once its last leaf is appended, so storage is append-only. Every
hash the RFC asks for (a root, a proof element) is either one of these nodes or the hash of
an incomplete right-edge subtree, which is rebuilt from at most ``log2(n)`` complete ones.

Functions that need stored hashes take a :data:`HashReader` and call it once with every
address they need (or not at all when they need none), so a database answers each root,
proof or append batch with one query. Verifiers take nothing but their arguments and never
touch storage.

>>> store = {}
>>> def read(addresses):
...     return [store[a] for a in addresses]
>>> appended = append_leaves(0, [leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")], read)
>>> store.update(((n.level, n.index), n.hash) for n in appended.nodes)
>>> root(3, read) == appended.root
True
>>> verify_inclusion(2, 3, leaf_hash(b"c"), inclusion_proof(2, 3, read), appended.root)
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

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

HASH_SIZE: Final = 32
#: RFC 9162, section 2.1.1: the hash of an empty list is the hash of an empty string.
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()

_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"

#: ``(level, index)`` of a complete subtree: leaves ``[index << level, (index + 1) << level)``.
Address = tuple[int, int]

#: Returns the stored hash of every address, in the order asked, or raises. Every address a
#: function of this module asks for is a complete subtree of the tree size it was given.
HashReader = Callable[[Sequence[Address]], Sequence[bytes]]


@dataclass(frozen=True, slots=True)
class Node:
    """A complete subtree's hash, ready to store under ``(level, index)``."""

    level: int
    index: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class Appended:
    """What :func:`append_leaves` produced: new nodes to store, the new size and root."""

    size: int
    root: bytes
    nodes: list[Node]


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash ``SHA-256(0x00 || data)``.

    >>> leaf_hash(b"").hex()[:16]
    '6e340b9cffb37a98'
    """
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash ``SHA-256(0x01 || left || right)``.

    >>> node_hash(leaf_hash(b""), leaf_hash(b"\\x00")).hex()[:16]
    'fac54203e7cc696c'
    """
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``): RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def _decompose(lo: int, hi: int) -> list[Address]:
    """Complete subtrees covering ``[lo, hi)``, largest first.

    Every range RFC 9162's recursion produces starts at a multiple of a power of two at least
    as large as the range, so taking the largest power of two that fits each time lands on
    aligned nodes, and folding their hashes right to left gives ``MTH(D[lo:hi])``.
    """
    out: list[Address] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        assert lo & ((1 << level) - 1) == 0, "range is not aligned as RFC 9162 ranges are"
        out.append((level, lo >> level))
        lo += 1 << level
    return out


def _fold(hashes: Sequence[bytes]) -> bytes:
    """``MTH`` of a range from the hashes of its :func:`_decompose` nodes."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def _read(read: HashReader, addresses: Sequence[Address]) -> Sequence[bytes]:
    if not addresses:
        return []
    hashes = read(addresses)
    if len(hashes) != len(addresses):
        raise ValueError(f"hash reader returned {len(hashes)} hashes for {len(addresses)}")
    for value in hashes:
        if len(value) != HASH_SIZE:
            raise ValueError(f"hash reader returned a {len(value)}-byte hash")
    return hashes


def _range_hashes(ranges: Sequence[tuple[int, int]], read: HashReader) -> list[bytes]:
    """``MTH`` of each range, with one call to ``read`` for all of them."""
    groups = [_decompose(lo, hi) for lo, hi in ranges]
    hashes = _read(read, [address for group in groups for address in group])
    out: list[bytes] = []
    start = 0
    for group in groups:
        out.append(_fold(hashes[start : start + len(group)]))
        start += len(group)
    return out


def append_leaves(size: int, leaf_hashes: Iterable[bytes], read: HashReader) -> Appended:
    """Append leaves to a tree of ``size`` leaves; return every node they complete.

    ``read`` is called at most once, for the right edge of the current tree (one node per set
    bit of ``size``); nodes completed within the batch are carried in memory, so a batch costs
    about two hashes per leaf. The nodes come out in order, each leaf ``Node(0, i, leaf)``
    followed by the parents it completes. The caller must store all of them, together with
    the leaves, in the same transaction, and must hold the log's write lock from reading
    ``size`` until then: two appenders at the same size would fork the log.

    >>> appended = append_leaves(0, [leaf_hash(b"a"), leaf_hash(b"b")], lambda a: [])
    >>> [(n.level, n.index) for n in appended.nodes]
    [(0, 0), (0, 1), (1, 0)]
    >>> appended.size, appended.root == node_hash(leaf_hash(b"a"), leaf_hash(b"b"))
    (2, True)
    """
    if size < 0:
        raise ValueError("tree size must not be negative")
    # The right edge: hashes of the complete subtrees making up the tree, highest level
    # first, so the lowest one, the next left sibling, is always at the end.
    edge = list(_read(read, _decompose(0, size)))
    nodes: list[Node] = []
    add = nodes.append
    sha256 = hashlib.sha256
    count = size
    for leaf in leaf_hashes:
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, got {len(leaf)}")
        add(Node(0, count, leaf))
        level, index, value = 0, count, leaf
        while index & 1:
            value = sha256(_NODE_PREFIX + edge.pop() + value).digest()
            level += 1
            index >>= 1
            add(Node(level, index, value))
        edge.append(value)
        count += 1
    return Appended(count, _fold(edge) if edge else EMPTY_ROOT, nodes)


def root(size: int, read: HashReader) -> bytes:
    """RFC 9162 ``MTH`` of the first ``size`` leaves, from one read of at most log2 nodes.

    The caller must only ask for sizes the log has reached (their nodes must be stored).

    >>> root(0, lambda addresses: []) == EMPTY_ROOT
    True
    """
    if size < 0:
        raise ValueError("tree size must not be negative")
    if size == 0:
        return EMPTY_ROOT
    return _range_hashes([(0, size)], read)[0]


def _path_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges of RFC 9162 ``PATH(index, D[0:size])``'s elements, leaf side first."""
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, size: int, read: HashReader) -> list[bytes]:
    """RFC 9162 section 2.1.3.1 ``PATH(index, D[0:size])``, from one read.

    The caller must only ask for sizes the log has reached.

    >>> inclusion_proof(0, 1, lambda addresses: [])
    []
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of {size} leaves")
    return _range_hashes(_path_ranges(index, size), read)


def _subproof_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """Leaf ranges of RFC 9162 ``PROOF(old, D[0:new])``'s elements, in proof order."""
    ranges: list[tuple[int, int]] = []
    lo, hi, m, whole_old_tree = 0, new, old, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            m -= k
            whole_old_tree = False
    if not whole_old_tree:
        # SUBPROOF(m, D[m], false): the verifier does not hold this subtree's hash.
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def consistency_proof(old: int, new: int, read: HashReader) -> list[bytes]:
    """RFC 9162 section 2.1.4.1 ``PROOF(old, D[0:new])``, from one read.

    Empty when ``old`` is 0 or equal to ``new``: there is nothing to prove. The caller must
    only ask for sizes the log has reached.

    >>> consistency_proof(4, 4, lambda addresses: [])
    []
    """
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    if old in (0, new):
        return []
    return _range_hashes(_subproof_ranges(old, new), read)


def _is_hash(value: bytes) -> bool:
    return len(value) == HASH_SIZE


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` links ``leaf`` at ``index`` to (RFC 9162 section 2.1.3.2).

    Raises ``ValueError`` when ``index >= size``, a hash is not 32 bytes, or the proof has the
    wrong number of elements for ``index`` and ``size``. The caller must compare the result
    with a root it trusts for ``size``, such as a verified checkpoint's.

    >>> root_from_inclusion(0, 1, leaf_hash(b"x"), []) == leaf_hash(b"x")
    True
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of {size} leaves")
    if not _is_hash(leaf) or not all(_is_hash(p) for p in proof):
        raise ValueError(f"proof hashes are {HASH_SIZE} bytes")
    fn, sn, result = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ValueError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            result = node_hash(p, result)
            # On the right edge a node with no right sibling is carried up unchanged.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("inclusion proof is shorter than the path to the root")
    return result


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """True when ``proof`` shows ``leaf`` at ``index`` in the tree ``(size, root_hash)``.

    Never raises: malformed input (``index >= size``, hashes that are not 32 bytes, a proof
    of the wrong length) is a failed verification and returns False. The algorithm binds the
    size only through the root (a proof for leaf 0 of 3 leaves also passes as leaf 0 of 4
    leaves with the same root), so the caller must take ``size`` and ``root_hash`` from one
    verified checkpoint.

    >>> verify_inclusion(0, 1, leaf_hash(b"x"), [], leaf_hash(b"x"))
    True
    >>> verify_inclusion(1, 1, leaf_hash(b"x"), [], leaf_hash(b"x"))
    False
    """
    try:
        return root_from_inclusion(index, size, leaf, proof) == root_hash
    except ValueError:
        return False


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """True when ``proof`` shows the tree ``(old, old_root)`` is a prefix of ``(new, new_root)``.

    RFC 9162 section 2.1.4.2, for ``0 < old < new``. Two cases the RFC leaves out accept only
    an empty proof: ``old == new`` with equal roots, and ``old == 0`` with the empty tree's
    root (it is a prefix of every tree). Never raises: malformed input (``old > new``, hashes
    that are not 32 bytes, a proof of the wrong length) returns False. The caller must take
    each size and root from one verified checkpoint.

    >>> verify_consistency(1, 1, leaf_hash(b"x"), leaf_hash(b"x"), [])
    True
    >>> verify_consistency(2, 1, leaf_hash(b"x"), leaf_hash(b"x"), [])
    False
    """
    if not _is_hash(old_root) or not _is_hash(new_root) or not all(map(_is_hash, proof)):
        return False
    if not 0 <= old <= new:
        return False
    if old == 0:
        return not proof and old_root == EMPTY_ROOT and (new > 0 or new_root == EMPTY_ROOT)
    if old == new:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:
        # The old tree is one complete subtree of the new one, so the proof leaves it out.
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
