"""The tile map of China's provinces: each province-level division a same-size square
placed roughly where it lies (our own grid, geo/data/tile_grid.json), so a figure per
province can be drawn without shipping boundary polygons (docs/analytics.md, "The map")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

__all__ = ["Tile", "TileGrid", "grid"]


@dataclass(frozen=True, slots=True)
class Tile:
    """One province's square: its GB/T 2260 code, place (row 0 north, col 0 west), names."""

    code: str
    row: int
    col: int
    zh: str
    en: str

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh-CN" else self.en


@dataclass(frozen=True, slots=True)
class TileGrid:
    rows: int
    cols: int
    tiles: tuple[Tile, ...]

    def by_code(self) -> dict[str, Tile]:
        return {tile.code: tile for tile in self.tiles}


@cache
def grid() -> TileGrid:
    """The bundled grid, read once.

    >>> grid().by_code()["440000"].zh
    '广东'
    """
    raw = json.loads((files("traceseal.geo") / "data" / "tile_grid.json").read_text("utf-8"))
    tiles = tuple(
        Tile(code, int(spot["row"]), int(spot["col"]), str(spot["zh"]), str(spot["en"]))
        for code, spot in sorted(raw["tiles"].items())
    )
    return TileGrid(int(raw["rows"]), int(raw["cols"]), tiles)
