"""tlog-tiles paths, the tiles of a tree size, and what tile contents imply."""

from __future__ import annotations

import doctest
from collections.abc import Sequence
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traceseal.merkle import tiles
from traceseal.merkle.tiles import (
    ENTRIES,
    TILE_WIDTH,
    Tile,
    decode_entry_bundle,
    encode_entry_bundle,
    new_tiles,
    nodes_from_tile,
    parse_tile_path,
    tile_addresses,
    tile_content,
    tile_for_node,
    tile_path,
    tiles_for_size,
)
from traceseal.merkle.tree import (
    Address,
    HashReader,
    Node,
    append_leaves,
    inclusion_proof,
    leaf_hash,
)

# The tlog-tiles spec's own example tree size: it has two levels of full tiles and a third.
BIG = 70_000


@cache
def store() -> dict[Address, bytes]:
    nodes: dict[Address, bytes] = {}
    leaves = (leaf_hash(i.to_bytes(4, "big")) for i in range(BIG))
    nodes.update(((n.level, n.index), n.hash) for n in append_leaves(0, leaves, lambda _: []).nodes)
    return nodes


def reader(size: int) -> HashReader:
    """Stored hashes, refusing nodes that are not complete in a tree of ``size``."""
    nodes = store()

    def read(addresses: Sequence[Address]) -> list[bytes]:
        assert all((index + 1) << level <= size for level, index in addresses)
        return [nodes[address] for address in addresses]

    return read


# ---------------------------------------------------------------------------------------------
# Paths.


@pytest.mark.parametrize(
    ("tile", "path"),
    [
        (Tile(0, 0), "tile/0/000"),
        (Tile(0, 1234067), "tile/0/x001/x234/067"),
        (Tile(3, 1234067, 8), "tile/3/x001/x234/067.p/8"),
        (Tile(1, 999), "tile/1/999"),
        (Tile(1, 1000), "tile/1/x001/000"),
        (Tile(63, 5, 255), "tile/63/005.p/255"),
        (Tile(ENTRIES, 1234067), "tile/entries/x001/x234/067"),
        (Tile(ENTRIES, 0, 1), "tile/entries/000.p/1"),
    ],
)
def test_paths(tile: Tile, path: str) -> None:
    assert tile_path(tile.level, tile.index, tile.width) == path
    assert tile.path == path
    assert parse_tile_path(path) == tile


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/000/",
        "/tile/0/000",
        "tile/00/000",
        "tile/07/000",
        "tile/64/000",
        "tile/-1/000",
        "tile/data/000",
        "tile/0/00",
        "tile/0/0000",
        "tile/0/x000",
        "tile/0/001/234",
        "tile/0/x001/x234",
        "tile/0/x000/001",
        "tile/0/X001/234",
        "tile/0/00a",
        "tile/0/\u0661\u0662\u0663",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/007",
        "tile/0/000.p/",
        "tile/0/000.p",
        "tile/0/000.p/1/",
        "tile/entries/000.p/300",
        "tile//000",
    ],
)
def test_malformed_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match="tile"):
        parse_tile_path(path)


@given(
    st.one_of(st.just(ENTRIES), st.integers(0, 63)),
    st.integers(0, 2**70),
    st.integers(1, TILE_WIDTH),
)
def test_paths_round_trip(level: int, index: int, width: int) -> None:
    path = tile_path(level, index, width)
    assert parse_tile_path(path) == Tile(level, index, width)
    assert parse_tile_path(path).path == path


@pytest.mark.parametrize(
    ("level", "index", "width"), [(64, 0, 1), (-2, 0, 1), (0, -1, 1), (0, 0, 0), (0, 0, 257)]
)
def test_impossible_tiles_have_no_path(level: int, index: int, width: int) -> None:
    with pytest.raises(ValueError, match="tile"):
        tile_path(level, index, width)


# ---------------------------------------------------------------------------------------------
# The tiles of a tree size.


def test_spec_example_sizes() -> None:
    # "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level
    # 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and
    # one partial level 2 tile of width 1."
    assert list(tiles_for_size(BIG)) == [
        *(Tile(0, i) for i in range(273)),
        Tile(0, 273, 112),
        Tile(1, 0),
        Tile(1, 1, 17),
        Tile(2, 0, 1),
    ]
    # "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
    # tile of width 1."
    assert list(tiles_for_size(256)) == [Tile(0, 0), Tile(1, 0, 1)]
    assert list(tiles_for_size(0)) == []


@given(st.integers(0, 2**20), st.integers(0, 2**16))
def test_new_tiles_are_those_the_older_tree_lacks(old: int, growth: int) -> None:
    new = old + growth
    before = set(tiles_for_size(old))
    assert list(new_tiles(old, new)) == [t for t in tiles_for_size(new) if t not in before]


@given(st.integers(1, 2**20))
def test_partial_widths_follow_the_spec(size: int) -> None:
    # "The partial tile at level l for a tree of size s has floor(s / 256**l) mod 256 entries."
    partial = {t.level: t.width for t in tiles_for_size(size) if t.width < TILE_WIDTH}
    for level in range(4):
        width = (size // 256**level) % 256
        assert partial.get(level, 0) == width


def test_sizes_must_grow() -> None:
    with pytest.raises(ValueError, match="tree sizes"):
        list(new_tiles(10, 9))


# ---------------------------------------------------------------------------------------------
# Tile contents.


def test_tile_contents_reproduce_stored_nodes() -> None:
    nodes = store()
    read = reader(BIG)
    tops: dict[Address, bytes] = {}
    for tile in tiles_for_size(BIG):
        content = tile_content(tile, read)
        assert len(content) == 32 * tile.width
        implied = nodes_from_tile(tile, content)
        assert all(nodes[n.level, n.index] == n.hash for n in implied)
        # A tile of width w covers w, w // 2, ..., nodes, plus its root when full.
        assert len(implied) == sum(tile.width >> h for h in range(9))
        if tile.width == TILE_WIDTH:
            top = implied[-1]
            assert (top.level, top.index) == (8 * tile.level + 8, tile.index)
            tops[top.level, top.index] = top.hash
    # Each hash of a level 1 tile is the hash of a full level 0 tile, as the spec defines.
    level_one = tile_content(Tile(1, 0), read)
    assert level_one == b"".join(tops[8, i] for i in range(256))


def test_tile_addresses_and_bad_contents() -> None:
    assert tile_addresses(Tile(2, 1, 2)) == [(16, 256), (16, 257)]
    with pytest.raises(ValueError, match="64 bytes"):
        nodes_from_tile(Tile(0, 0, 2), bytes(63))
    with pytest.raises(ValueError, match="leaf data"):
        nodes_from_tile(Tile(ENTRIES, 0, 1), bytes(32))
    with pytest.raises(ValueError, match="leaf data"):
        tile_addresses(Tile(ENTRIES, 0))
    with pytest.raises(ValueError, match="one 32-byte hash"):
        tile_content(Tile(0, 0, 2), lambda _: [bytes(32)])


@given(st.integers(1, BIG), st.data())
def test_tile_for_node_holds_the_node(size: int, data: st.DataObject) -> None:
    level = data.draw(st.integers(0, size.bit_length() - 1), label="level")
    index = data.draw(st.integers(0, (size >> level) - 1), label="index")
    tile = tile_for_node(level, index, size)
    assert tile in set(tiles_for_size(size))
    implied = nodes_from_tile(tile, tile_content(tile, reader(size)))
    assert Node(level, index, store()[level, index]) in implied


def test_tile_for_node_refuses_incomplete_nodes() -> None:
    with pytest.raises(ValueError, match="not complete"):
        tile_for_node(1, 2, 5)


@pytest.mark.parametrize("size", [1, 255, 256, 257, 65_537, BIG])
def test_proofs_from_tiles_equal_proofs_from_storage(size: int) -> None:
    # What a client holding only the published tiles does: rebuild nodes, then use the same
    # proof code. Fetches are by tile, so the set of tiles touched is recorded too.
    fetched: dict[Tile, dict[Address, bytes]] = {}

    def from_tiles(addresses: Sequence[Address]) -> list[bytes]:
        out = []
        for level, index in addresses:
            tile = tile_for_node(level, index, size)
            if tile not in fetched:
                content = tile_content(tile, reader(size))
                fetched[tile] = {(n.level, n.index): n.hash for n in nodes_from_tile(tile, content)}
            out.append(fetched[tile][level, index])
        return out

    for index in {0, size // 3, size - 1}:
        assert inclusion_proof(index, size, from_tiles) == inclusion_proof(
            index, size, reader(size)
        )
    # At most the leaf's tile and the right edge's tile per tile level, for each proof.
    assert len(fetched) <= 3 * 2 * ((size.bit_length() + 7) // 8)


# ---------------------------------------------------------------------------------------------
# Entry bundles.


@given(st.lists(st.binary(max_size=300), max_size=20))
def test_entry_bundles_round_trip(entries: list[bytes]) -> None:
    assert decode_entry_bundle(encode_entry_bundle(entries)) == entries


def test_entry_bundle_limits() -> None:
    assert len(encode_entry_bundle([bytes(0xFFFF)])) == 0x10001
    with pytest.raises(ValueError, match="at most 65535"):
        encode_entry_bundle([bytes(0x10000)])
    with pytest.raises(ValueError, match="length prefix"):
        decode_entry_bundle(b"\x00\x01a\x00")
    with pytest.raises(ValueError, match="inside an entry"):
        decode_entry_bundle(b"\x00\x03ab")


def test_docstring_examples() -> None:
    results = doctest.testmod(tiles)
    assert results.attempted > 0
    assert results.failed == 0
