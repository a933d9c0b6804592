"""C2SP tlog-tiles (https://c2sp.org/tlog-tiles): tile addresses and tile contents.

A tile at tile level ``L`` and index ``N`` holds up to 256 consecutive hashes of tree level
``8 * L``: the hashes of nodes ``(8 * L, N * 256 + i)`` for ``i`` below the tile's width. A
full tile is 256 hashes; the rightmost tile of a level is partial (1 to 255 hashes) until the
tree grows past it. Entry bundles, the leaves' data, use the same indices and widths under
``tile/entries/``. Paths are relative to the log's URL prefix.

>>> tile_path(0, 1234067)
'tile/0/x001/x234/067'
>>> parse_tile_path("tile/entries/000.p/7")
Tile(level=-1, index=0, width=7)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from traceseal.merkle.tree import HASH_SIZE, Address, HashReader, Node, node_hash

__all__ = [
    "ENTRIES",
    "MAX_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "Tile",
    "decode_entry_bundle",
    "encode_entry_bundle",
    "new_tiles",
    "nodes_from_tile",
    "parse_tile_path",
    "tile_addresses",
    "tile_content",
    "tile_for_node",
    "tile_path",
    "tiles_for_size",
]

TILE_HEIGHT: Final = 8
TILE_WIDTH: Final = 1 << TILE_HEIGHT
MAX_LEVEL: Final = 63
#: The tile level of entry bundles, ``tile/entries/<N>``.
ENTRIES: Final = -1
_MAX_ENTRY: Final = 0xFFFF

# The shape only; level <= 63, width <= 255 and the canonical index are checked in code.
_PATH = re.compile(
    r"tile/(?P<level>entries|0|[1-9][0-9]?)/(?P<index>(?:x[0-9]{3}/)*[0-9]{3})"
    r"(?:\.p/(?P<width>[1-9][0-9]{0,2}))?",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class Tile:
    """A tile: tile level (or :data:`ENTRIES`), index within the level, width in hashes."""

    level: int
    index: int
    width: int = TILE_WIDTH

    @property
    def path(self) -> str:
        """The tile's path, as :func:`tile_path` writes it."""
        return tile_path(self.level, self.index, self.width)


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """The path of a tile or, with ``level=ENTRIES``, of an entry bundle.

    >>> tile_path(1, 5, 17)
    'tile/1/005.p/17'
    >>> tile_path(ENTRIES, 1000)
    'tile/entries/x001/000'
    """
    if not (0 <= level <= MAX_LEVEL or level == ENTRIES):
        raise ValueError(f"tile level must be 0 to {MAX_LEVEL}, got {level}")
    if index < 0:
        raise ValueError("tile index must not be negative")
    if not 1 <= width <= TILE_WIDTH:
        raise ValueError(f"tile width must be 1 to {TILE_WIDTH}, got {width}")
    digits = str(index)
    digits = digits.zfill(len(digits) + (-len(digits)) % 3)  # whole groups of three
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    encoded = "/".join(["x" + group for group in groups[:-1]] + groups[-1:])
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    name = "entries" if level == ENTRIES else str(level)
    return f"tile/{name}/{encoded}{suffix}"


def parse_tile_path(path: str) -> Tile:
    """The tile a path names; ``ValueError`` unless :func:`tile_path` would write it so.

    Besides the spec's rules (level 0 to 63 and widths 1 to 255 without leading zeros,
    3-digit index elements with an ``x`` on all but the last), an index with a leading
    ``x000/`` element is refused, so each tile has one path.

    >>> parse_tile_path("tile/3/x001/x234/067.p/8")
    Tile(level=3, index=1234067, width=8)
    """
    match = _PATH.fullmatch(path)
    if match is None:
        raise ValueError(f"not a tile path: {path!r}")
    name, encoded, width = match.group("level", "index", "width")
    level = ENTRIES if name == "entries" else int(name)
    if level > MAX_LEVEL:
        raise ValueError(f"tile level must be 0 to {MAX_LEVEL}: {path!r}")
    if encoded.startswith("x000/"):
        raise ValueError(f"tile index has a leading zero element: {path!r}")
    if width is not None and int(width) >= TILE_WIDTH:
        raise ValueError(f"partial tile width must be 1 to {TILE_WIDTH - 1}: {path!r}")
    index = int(encoded.replace("x", "").replace("/", ""))
    return Tile(level, index, TILE_WIDTH if width is None else int(width))


def _level_widths(size: int, level: int) -> tuple[int, int]:
    """Full tiles at a tile level for a tree of ``size``, and the partial tile's width."""
    hashes = size >> (TILE_HEIGHT * level)
    return hashes >> TILE_HEIGHT, hashes & (TILE_WIDTH - 1)


def new_tiles(old_size: int, new_size: int) -> Iterator[Tile]:
    """Tiles of the tree of ``new_size`` that the tree of ``old_size`` does not have.

    Level by level: the tiles that became full, then the new partial tile if any. Entry
    bundles have the same indices and widths as the level 0 tiles.

    >>> [tile.path for tile in new_tiles(200, 300)]
    ['tile/0/000', 'tile/0/001.p/44', 'tile/1/000.p/1']
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"tree sizes must satisfy 0 <= {old_size} <= {new_size}")
    level = 0
    while new_size >> (TILE_HEIGHT * level):
        old_full, old_width = _level_widths(old_size, level)
        new_full, new_width = _level_widths(new_size, level)
        for index in range(old_full, new_full):
            yield Tile(level, index)
        if new_width and (new_full, new_width) != (old_full, old_width):
            yield Tile(level, new_full, new_width)
        level += 1


def tiles_for_size(size: int) -> Iterator[Tile]:
    """Every tile of a tree of ``size`` leaves, level by level.

    >>> list(tiles_for_size(256))
    [Tile(level=0, index=0, width=256), Tile(level=1, index=0, width=1)]
    """
    return new_tiles(0, size)


def tile_for_node(level: int, index: int, size: int) -> Tile:
    """The tile, as published for a tree of ``size``, from which a complete node is rebuilt.

    A node of tree level ``8 * L + k`` comes from the level ``L`` tile holding its ``2**k``
    descendants at level ``8 * L``. The caller must pass a node that is complete in the tree
    of ``size`` leaves.

    >>> tile_for_node(8, 260, 70_000)
    Tile(level=1, index=1, width=17)
    """
    if level < 0 or index < 0 or (index + 1) << level > size:
        raise ValueError(f"node ({level}, {index}) is not complete in a tree of {size}")
    tile_level, depth = divmod(level, TILE_HEIGHT)
    tile_index = (index << depth) >> TILE_HEIGHT
    full, width = _level_widths(size, tile_level)
    return Tile(tile_level, tile_index, TILE_WIDTH if tile_index < full else width)


def tile_addresses(tile: Tile) -> list[Address]:
    """The stored nodes whose hashes, concatenated, are the tile's content.

    >>> tile_addresses(Tile(1, 2, 3))
    [(8, 512), (8, 513), (8, 514)]
    """
    if tile.level == ENTRIES:
        raise ValueError("entry bundles hold leaf data, not hashes")
    base = tile.index << TILE_HEIGHT
    return [(tile.level * TILE_HEIGHT, base + i) for i in range(tile.width)]


def tile_content(tile: Tile, read: HashReader) -> bytes:
    """The bytes served at the tile's path, from one read of the stored nodes.

    The caller must only serve tiles of a tree size the log has reached.

    >>> tile_content(Tile(0, 0, 1), lambda addresses: [bytes(32)]) == bytes(32)
    True
    """
    addresses = tile_addresses(tile)
    hashes = read(addresses)
    if len(hashes) != len(addresses) or any(len(h) != HASH_SIZE for h in hashes):
        raise ValueError("hash reader did not return one 32-byte hash per address")
    return b"".join(hashes)


def nodes_from_tile(tile: Tile, content: bytes) -> list[Node]:
    """Every complete node a tile's content implies, lowest level first.

    The tile's own hashes, then the nodes above them that the tile covers completely, up to
    and including the tile's root at tree level ``8 * (L + 1)`` when the tile is full. The
    caller must check the result against a trusted root (for instance through a proof built
    from these nodes) before relying on it: a tile is only as good as its source.

    >>> nodes = nodes_from_tile(Tile(0, 0, 2), bytes(64))
    >>> [(n.level, n.index) for n in nodes]
    [(0, 0), (0, 1), (1, 0)]
    """
    if tile.level == ENTRIES:
        raise ValueError("entry bundles hold leaf data, not hashes")
    if len(content) != tile.width * HASH_SIZE:
        raise ValueError(f"a tile of width {tile.width} is {tile.width * HASH_SIZE} bytes")
    level = tile.level * TILE_HEIGHT
    first = tile.index << TILE_HEIGHT
    row = [content[i : i + HASH_SIZE] for i in range(0, len(content), HASH_SIZE)]
    nodes = [Node(level, first + i, value) for i, value in enumerate(row)]
    for height in range(1, TILE_HEIGHT + 1):
        row = [node_hash(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
        nodes.extend(Node(level + height, (first >> height) + i, v) for i, v in enumerate(row))
    return nodes


def encode_entry_bundle(entries: Iterable[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length and its bytes.

    >>> encode_entry_bundle([b"ab", b""])
    b'\\x00\\x02ab\\x00\\x00'
    """
    out = bytearray()
    for entry in entries:
        if len(entry) > _MAX_ENTRY:
            raise ValueError(f"an entry in a bundle is at most {_MAX_ENTRY} bytes")
        out += len(entry).to_bytes(2, "big")
        out += entry
    return bytes(out)


def decode_entry_bundle(data: bytes) -> list[bytes]:
    """The entries of a bundle; ``ValueError`` when a length runs past the end.

    The caller must check the count against the bundle's width and each entry's leaf hash
    against the level 0 tile.

    >>> decode_entry_bundle(b"\\x00\\x02ab\\x00\\x00")
    [b'ab', b'']
    """
    entries: list[bytes] = []
    position = 0
    while position < len(data):
        if position + 2 > len(data):
            raise ValueError("entry bundle ends inside a length prefix")
        length = int.from_bytes(data[position : position + 2], "big")
        position += 2
        if position + length > len(data):
            raise ValueError("entry bundle ends inside an entry")
        entries.append(data[position : position + length])
        position += length
    return entries
