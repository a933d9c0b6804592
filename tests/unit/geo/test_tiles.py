"""The tile grid: every province-level division of GB/T 2260 once, each on its own square."""

from __future__ import annotations

from traceseal.geo.names import ENGLISH, OUTSIDE_TABLE
from traceseal.geo.regions import table
from traceseal.geo.tiles import grid


def test_every_province_level_division_has_one_square_of_its_own() -> None:
    tiles = grid().tiles
    codes = {tile.code for tile in tiles}
    assert codes == set(ENGLISH) | {code for code, *_ in OUTSIDE_TABLE}
    assert len(tiles) == 34
    assert len({(tile.row, tile.col) for tile in tiles}) == 34
    assert all(0 <= t.row < grid().rows and 0 <= t.col < grid().cols for t in tiles)


def test_the_squares_keep_the_rough_lie_of_the_land() -> None:
    spot = grid().by_code()
    # North above south, west left of east, for a few pairs anyone would check.
    assert spot["230000"].row < spot["440000"].row < spot["460000"].row
    assert spot["650000"].col < spot["510000"].col < spot["310000"].col
    assert spot["110000"].row < spot["130000"].row
    # The names are the region table's (its short forms for the tiles).
    for tile in grid().tiles:
        region = table().get(tile.code)
        if region is not None:
            assert region.name_zh.startswith(tile.zh[:2]), tile
