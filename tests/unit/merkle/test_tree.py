"""The storage-based tree against RFC 9162's recursive definitions and published roots."""

from __future__ import annotations

import doctest
import hashlib
from collections.abc import Sequence
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traceseal.merkle import tree
from traceseal.merkle.tree import (
    EMPTY_ROOT,
    Address,
    Appended,
    Node,
    append_leaves,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

# ---------------------------------------------------------------------------------------------
# A naive reference, written from RFC 9162 section 2.1 with its own hashing. Trees are
# prefixes of one fixed list of distinct leaves, so every subtree hash is distinct too.


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


MAX_SIZE = 3000
DATA = [i.to_bytes(4, "big") for i in range(MAX_SIZE)]


def _k(n: int) -> int:
    """The largest power of two smaller than n, for n > 1."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@cache
def mth(lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) (2.1.1)."""
    n = hi - lo
    if n == 0:
        return _sha256(b"")
    if n == 1:
        return _sha256(b"\x00" + DATA[lo])
    k = _k(n)
    return _sha256(b"\x01" + mth(lo, lo + k) + mth(lo + k, hi))


def ref_path(m: int, lo: int, hi: int) -> list[bytes]:
    """PATH(m, D[lo:hi]) (2.1.3.1)."""
    n = hi - lo
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, lo, lo + k), mth(lo + k, hi)]
    return [*ref_path(m - k, lo + k, hi), mth(lo, lo + k)]


def ref_subproof(m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], b) (2.1.4.1)."""
    n = hi - lo
    if m == n:
        return [] if whole else [mth(lo, hi)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, lo, lo + k, whole), mth(lo + k, hi)]
    return [*ref_subproof(m - k, lo + k, hi, False), mth(lo, lo + k)]


def ref_proof(m: int, n: int) -> list[bytes]:
    """PROOF(m, D[n])."""
    return ref_subproof(m, 0, n, True)


# ---------------------------------------------------------------------------------------------
# Storage: a dict of complete-subtree hashes, and readers that answer for one tree size only,
# so an implementation that reads a node not yet complete at that size fails.


class Reader:
    def __init__(self, nodes: dict[Address, bytes], size: int) -> None:
        self.nodes = nodes
        self.size = size
        self.calls: list[list[Address]] = []

    def __call__(self, addresses: Sequence[Address]) -> list[bytes]:
        self.calls.append(list(addresses))
        for level, index in addresses:
            if (index + 1) << level > self.size:
                raise KeyError(f"({level}, {index}) is not complete at size {self.size}")
        return [self.nodes[address] for address in addresses]


def build(data: Sequence[bytes], batch: int = 997) -> dict[Address, bytes]:
    nodes: dict[Address, bytes] = {}
    size = 0
    while size < len(data):
        chunk = [leaf_hash(d) for d in data[size : size + batch]]
        appended = append_leaves(size, chunk, Reader(nodes, size))
        nodes.update(((n.level, n.index), n.hash) for n in appended.nodes)
        size = appended.size
    return nodes


@cache
def store() -> dict[Address, bytes]:
    return build(DATA)


def complete_nodes(size: int) -> set[Address]:
    return {(level, index) for level in range(size.bit_length()) for index in range(size >> level)}


def flip(value: bytes, position: int) -> bytes:
    return value[:position] + bytes([value[position] ^ 0x01]) + value[position + 1 :]


sizes = st.integers(min_value=1, max_value=MAX_SIZE)


@st.composite
def size_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(sizes)
    return size, draw(st.integers(min_value=0, max_value=size - 1))


@st.composite
def old_and_new(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(st.integers(min_value=2, max_value=MAX_SIZE))
    return draw(st.integers(min_value=1, max_value=new - 1)), new


# ---------------------------------------------------------------------------------------------
# Certificate Transparency reference test data (RFC 6962 examples): the leaves' bytes in hex,
# and the roots of the trees of the first 1 to 8 of them.

CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]


def test_ct_roots() -> None:
    nodes = build(CT_LEAVES, batch=1)
    for size, expected in enumerate(CT_ROOTS, start=1):
        assert root(size, Reader(nodes, size)) == expected
        assert append_leaves(0, map(leaf_hash, CT_LEAVES[:size]), Reader({}, 0)).root == expected


def test_ct_proofs_for_every_pair() -> None:
    nodes = build(CT_LEAVES, batch=3)
    leaves = [leaf_hash(d) for d in CT_LEAVES]
    roots = [EMPTY_ROOT, *CT_ROOTS]
    for new in range(1, 9):
        reader = Reader(nodes, new)
        for index in range(new):
            proof = inclusion_proof(index, new, reader)
            assert verify_inclusion(index, new, leaves[index], proof, roots[new])
        for old in range(new + 1):
            proof = consistency_proof(old, new, reader)
            assert verify_consistency(old, new, roots[old], roots[new], proof)


# ---------------------------------------------------------------------------------------------
# Storage-based functions equal the reference.


@pytest.mark.parametrize("size", range(1, 70))
def test_every_proof_of_small_trees(size: int) -> None:
    reader = Reader(store(), size)
    assert root(size, reader) == mth(0, size)
    for m in range(size):
        assert inclusion_proof(m, size, reader) == ref_path(m, 0, size)
    for m in range(1, size):
        assert consistency_proof(m, size, reader) == ref_proof(m, size)


@given(sizes)
def test_root_is_one_read_of_log_n_nodes(size: int) -> None:
    reader = Reader(store(), size)
    assert root(size, reader) == mth(0, size)
    assert len(reader.calls) == 1
    assert len(reader.calls[0]) == size.bit_count()


@given(size_and_index())
def test_inclusion_proof_equals_path(case: tuple[int, int]) -> None:
    size, index = case
    reader = Reader(store(), size)
    proof = inclusion_proof(index, size, reader)
    assert proof == ref_path(index, 0, size)
    assert len(reader.calls) <= 1
    assert sum(map(len, reader.calls)) <= 2 * size.bit_length()


@given(old_and_new())
def test_consistency_proof_equals_proof(case: tuple[int, int]) -> None:
    old, new = case
    reader = Reader(store(), new)
    proof = consistency_proof(old, new, reader)
    assert proof == ref_proof(old, new)
    assert len(reader.calls) == 1
    assert len(reader.calls[0]) <= 2 * new.bit_length()


def test_trivial_consistency_proofs_read_nothing() -> None:
    reader = Reader(store(), 10)
    assert consistency_proof(0, 10, reader) == []
    assert consistency_proof(10, 10, reader) == []
    assert inclusion_proof(0, 1, reader) == []
    assert root(0, reader) == EMPTY_ROOT
    assert reader.calls == []


def test_producers_refuse_impossible_arguments() -> None:
    reader = Reader(store(), 10)
    for index, size in ((10, 10), (-1, 10), (0, 0)):
        with pytest.raises(ValueError, match="not in a tree"):
            inclusion_proof(index, size, reader)
    for old, new in ((11, 10), (-1, 10)):
        with pytest.raises(ValueError, match="no consistency proof"):
            consistency_proof(old, new, reader)
    with pytest.raises(ValueError, match="negative"):
        root(-1, reader)
    with pytest.raises(ValueError, match="negative"):
        append_leaves(-1, [], reader)


def test_a_short_answer_from_storage_is_an_error() -> None:
    with pytest.raises(ValueError, match="returned 1 hashes for 2"):
        root(3, lambda _: [bytes(32)])
    with pytest.raises(ValueError, match="33-byte"):
        root(1, lambda _: [bytes(33)])


# ---------------------------------------------------------------------------------------------
# Appends.


def test_each_append_stores_exactly_the_nodes_it_completes() -> None:
    nodes: dict[Address, bytes] = {}
    for size in range(300):
        reader = Reader(nodes, size)
        appended = append_leaves(size, [leaf_hash(DATA[size])], reader)
        added = [(n.level, n.index) for n in appended.nodes]
        assert set(added) == complete_nodes(size + 1) - complete_nodes(size)
        # Only the right edge is read: one node per trailing one bit, at most.
        assert len(reader.calls) <= 1
        assert all(len(call) == size.bit_count() for call in reader.calls)
        assert appended.size == size + 1
        assert appended.root == mth(0, size + 1)
        nodes.update(((n.level, n.index), n.hash) for n in appended.nodes)
    assert all(value == mth(i << lv, (i + 1) << lv) for (lv, i), value in nodes.items())


@settings(max_examples=50)
@given(st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=8))
def test_batches_of_any_shape_store_the_same_nodes(batches: list[int]) -> None:
    nodes: dict[Address, bytes] = {}
    size = 0
    for count in batches:
        reader = Reader(nodes, size)
        appended = append_leaves(size, map(leaf_hash, DATA[size : size + count]), reader)
        assert len(reader.calls) == (1 if size else 0)
        assert appended.root == mth(0, appended.size)
        nodes.update(((n.level, n.index), n.hash) for n in appended.nodes)
        size = appended.size
    assert size == sum(batches)
    assert nodes.keys() == complete_nodes(size)
    assert all(nodes[address] == store()[address] for address in nodes)


def test_appended_nodes_come_leaf_then_parents() -> None:
    appended = append_leaves(0, map(leaf_hash, DATA[:4]), Reader({}, 0))
    assert [(n.level, n.index) for n in appended.nodes] == [
        (0, 0),
        (0, 1),
        (1, 0),
        (0, 2),
        (0, 3),
        (1, 1),
        (2, 0),
    ]
    assert appended.nodes[-1] == Node(2, 0, mth(0, 4))


def test_empty_batch_returns_current_root() -> None:
    assert append_leaves(0, [], Reader({}, 0)) == Appended(0, EMPTY_ROOT, [])
    appended = append_leaves(5, [], Reader(store(), 5))
    assert (appended.size, appended.root, appended.nodes) == (5, mth(0, 5), [])


def test_leaf_hashes_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        append_leaves(0, [b"not a hash"], Reader({}, 0))


# ---------------------------------------------------------------------------------------------
# Verifiers accept what the reference produces and reject every single change.


@given(size_and_index(), st.data())
def test_inclusion_verifier(case: tuple[int, int], data: st.DataObject) -> None:
    size, index = case
    leaf, proof, good_root = leaf_hash(DATA[index]), ref_path(index, 0, size), mth(0, size)
    assert verify_inclusion(index, size, leaf, proof, good_root)
    assert root_from_inclusion(index, size, leaf, proof) == good_root

    if proof:
        element = data.draw(st.integers(0, len(proof) - 1), label="element")
        byte = data.draw(st.integers(0, 31), label="byte")
        bad = [*proof[:element], flip(proof[element], byte), *proof[element + 1 :]]
        assert not verify_inclusion(index, size, leaf, bad, good_root)
        assert not verify_inclusion(index, size, leaf, proof[:-1], good_root)
    assert not verify_inclusion(index, size, leaf, [*proof, proof[0] if proof else leaf], good_root)
    assert not verify_inclusion(index, size, flip(leaf, 0), proof, good_root)
    assert not verify_inclusion(index, size, leaf, proof, flip(good_root, 31))

    other_index = data.draw(st.integers(0, size), label="other index")
    if other_index != index:
        assert not verify_inclusion(other_index, size, leaf, proof, good_root)
    # A different size, with that tree's root, as a checkpoint would pair them.
    other_size = data.draw(st.integers(index + 1, MAX_SIZE), label="other size")
    if other_size != size:
        assert not verify_inclusion(index, other_size, leaf, proof, mth(0, other_size))


def path_sides(m: int, n: int) -> list[str]:
    """Which side each element of PATH(m, D[n]) joins on, leaf side first."""
    if n == 1:
        return []
    k = _k(n)
    return [*path_sides(m, k), "right"] if m < k else [*path_sides(m - k, n - k), "left"]


def proof_sides(m: int, n: int, whole: bool = True) -> list[str]:
    """The same for SUBPROOF(m, D[n], b); "old" marks the subtree the proof starts from."""
    if m == n:
        return [] if whole else ["old"]
    k = _k(n)
    if m <= k:
        return [*proof_sides(m, k, whole), "right"]
    return [*proof_sides(m - k, n - k, False), "left"]


def test_sizes_are_bound_through_the_root() -> None:
    # Pinned because the verifiers' docstrings warn about it: a proof checked against another
    # size passes with the same root exactly when both sizes give the proof the same shape
    # (PATH(0, D[3]) and PATH(0, D[4]) both join twice on the right), so only a checkpoint
    # pairing size and root tells such sizes apart.
    for size in range(1, 40):
        for index in range(size):
            leaf, proof = leaf_hash(DATA[index]), ref_path(index, 0, size)
            for other in range(index + 1, 40):
                same_shape = path_sides(index, other) == path_sides(index, size)
                assert verify_inclusion(index, other, leaf, proof, mth(0, size)) == same_shape
        for old in range(1, size):
            proof = ref_proof(old, size)
            for other in range(old + 1, 40):
                same_shape = proof_sides(old, other) == proof_sides(old, size)
                assert (
                    verify_consistency(old, other, mth(0, old), mth(0, size), proof) == same_shape
                )
    assert verify_inclusion(0, 4, leaf_hash(DATA[0]), ref_path(0, 0, 3), mth(0, 3))


@given(old_and_new(), st.data())
def test_consistency_verifier(case: tuple[int, int], data: st.DataObject) -> None:
    old, new = case
    proof, old_root, new_root = ref_proof(old, new), mth(0, old), mth(0, new)
    assert verify_consistency(old, new, old_root, new_root, proof)

    element = data.draw(st.integers(0, len(proof) - 1), label="element")
    byte = data.draw(st.integers(0, 31), label="byte")
    bad = [*proof[:element], flip(proof[element], byte), *proof[element + 1 :]]
    assert not verify_consistency(old, new, old_root, new_root, bad)
    assert not verify_consistency(old, new, old_root, new_root, proof[:-1])
    assert not verify_consistency(old, new, old_root, new_root, proof[1:])
    assert not verify_consistency(old, new, old_root, new_root, [*proof, proof[0]])
    assert not verify_consistency(old, new, flip(old_root, byte), new_root, proof)
    assert not verify_consistency(old, new, old_root, flip(new_root, byte), proof)
    assert not verify_consistency(new, old, new_root, old_root, proof)

    other_old = data.draw(st.integers(1, new - 1), label="other old")
    if other_old != old:
        assert not verify_consistency(other_old, new, mth(0, other_old), new_root, proof)
    other_new = data.draw(st.integers(old + 1, MAX_SIZE), label="other new")
    if other_new != new:
        assert not verify_consistency(old, other_new, old_root, mth(0, other_new), proof)


def test_inclusion_verifier_rejects_malformed_input() -> None:
    leaf, proof, good_root = leaf_hash(DATA[2]), ref_path(2, 0, 5), mth(0, 5)
    assert verify_inclusion(2, 5, leaf, proof, good_root)
    assert not verify_inclusion(5, 5, leaf, proof, good_root)
    assert not verify_inclusion(-1, 5, leaf, proof, good_root)
    assert not verify_inclusion(0, 0, leaf, [], EMPTY_ROOT)
    assert not verify_inclusion(2, 5, leaf, [*proof[:-1], proof[-1] + b"\x00"], good_root)
    assert not verify_inclusion(2, 5, leaf[:31], proof, good_root)
    for index, size, bad_proof in ((5, 5, proof), (2, 5, proof[:-1]), (2, 5, [*proof, leaf])):
        with pytest.raises(ValueError, match=r"not in a tree|shorter|longer"):
            root_from_inclusion(index, size, leaf, bad_proof)
    with pytest.raises(ValueError, match="32 bytes"):
        root_from_inclusion(2, 5, leaf, [b"short", *proof[1:]])


def test_consistency_verifier_edge_cases() -> None:
    r5, r8 = mth(0, 5), mth(0, 8)
    assert verify_consistency(5, 5, r5, r5, [])
    assert not verify_consistency(5, 5, r5, r8, [])
    assert not verify_consistency(5, 5, r5, r5, [r5])
    assert verify_consistency(0, 8, EMPTY_ROOT, r8, [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 0, EMPTY_ROOT, r8, [])
    assert not verify_consistency(0, 8, r5, r8, [])
    assert not verify_consistency(0, 8, EMPTY_ROOT, r8, [r8])
    assert not verify_consistency(5, 8, r5, r8, [])
    assert not verify_consistency(8, 5, r8, r5, ref_proof(5, 8))
    assert not verify_consistency(-1, 8, r5, r8, ref_proof(5, 8))
    assert not verify_consistency(5, 8, r5[:31], r8, ref_proof(5, 8))
    assert not verify_consistency(5, 8, r5, r8, [b"", *ref_proof(5, 8)[1:]])


def test_docstring_examples() -> None:
    results = doctest.testmod(tree)
    assert results.attempted > 0
    assert results.failed == 0
