"""The bundled GB/T 2260 table, territory coverage, nearest-centroid and address lookup."""

from __future__ import annotations

from pathlib import Path

import pytest

from traceseal.geo.locate import IpRegions, Place, locate
from traceseal.geo.regions import covers, distance_km, level_of, overlaps, table
from traceseal.logistics.service import gln_of, in_territory


def test_the_table_has_every_province_city_and_district_with_parents() -> None:
    regions = table()
    levels = [r.level for r in regions.by_code.values()]
    assert levels.count(1) == 34  # 31 in the NBS list, plus Taiwan, Hong Kong, Macao
    assert levels.count(2) > 330
    assert levels.count(3) > 2800
    for region in regions.by_code.values():
        assert level_of(region.code) == region.level or region.name_zh in ("市辖区", "县")
        if region.parent is not None:
            assert region.parent in regions
            assert covers(region.parent, region.code)
        # Every centroid lies in or near China's bounding box.
        assert 3 < region.lat < 54
        assert 73 < region.lon < 136
    assert regions.by_code["440305"].name_zh == "南山区"
    assert regions.by_code["440000"].name_en == "Guangdong"
    assert all(r.name_en for r in regions.by_code.values() if r.level == 1)


@pytest.mark.parametrize(
    ("territory", "region", "covered"),
    [
        ("440000", "440000", True),
        ("440000", "440300", True),  # a province covers its cities
        ("440000", "440305", True),  # and their districts
        ("440300", "440305", True),
        ("440300", "440100", False),
        ("440305", "440300", False),  # a district does not cover its city
        ("440000", "450100", False),
        ("110000", "110105", True),  # municipalities: 1101xx districts under 110000
    ],
)
def test_a_territory_covers_what_is_under_it(territory: str, region: str, covered: bool) -> None:
    assert covers(territory, region) is covered


def test_a_scan_placed_only_coarsely_is_not_shown_to_be_outside() -> None:
    assert overlaps("440300", "440000")
    assert in_territory(["440300"], "440000")  # Guangdong: maybe Shenzhen
    assert not in_territory(["440300"], "450000")
    assert not in_territory(["440300", "440100"], "440400")
    assert not in_territory([], "440305")


def test_points_map_to_the_nearest_district_centroid() -> None:
    regions = table()
    assert regions.nearest(22.54, 113.93) == "440305"  # Nanshan, Shenzhen
    assert regions.nearest(31.23, 121.47)[:4] == "3101"  # central Shanghai
    assert regions.nearest(39.99, 116.30)[:4] == "1101"  # Haidian, Beijing
    assert regions.nearest(22.28, 114.16) == "810000"  # Hong Kong
    assert locate(None, 22.54, 113.93) == Place("440305", "coordinates", "district-centroid")
    assert locate("440300", 22.54, 113.93) == Place("440300", "client", "city")
    assert locate(None, None, None, "440000") == Place("440000", "ip", "province")
    assert locate(None, None, None) == Place()


def test_distances_are_great_circle() -> None:
    assert distance_km(39.9, 116.4, 39.9, 116.4) == 0
    assert 1060 < distance_km(39.90, 116.40, 31.23, 121.47) < 1075  # Beijing - Shanghai
    assert 1880 < distance_km(39.90, 116.40, 22.54, 114.06) < 1960  # Beijing - Shenzhen


def test_the_address_table_is_searched_by_range(tmp_path: Path) -> None:
    path = tmp_path / "ip.csv"
    path.write_text(
        "# cidr,region\n203.0.113.0/25,440305\n203.0.113.128/25,110105\n2001:db8::/32,310000\n"
    )
    table_ = IpRegions.from_csv(path)
    assert len(table_) == 3
    assert table_.lookup("203.0.113.5") == "440305"
    assert table_.lookup("203.0.113.200") == "110105"
    assert table_.lookup("203.0.114.1") is None
    assert table_.lookup("2001:db8::1") == "310000"
    assert table_.lookup("not an address") is None
    assert table_.lookup(None) is None
    with pytest.raises(ValueError, match="overlap"):
        IpRegions([("10.0.0.0/8", "440000"), ("10.1.0.0/16", "110000")])
    with pytest.raises(ValueError, match="GB/T 2260"):
        IpRegions([("10.0.0.0/8", "999999")])


def test_glns_are_read_from_locations_and_parties() -> None:
    assert gln_of("urn:epc:id:sgln:9506000.00002.0") == "9506000000022"
    assert gln_of("https://id.gs1.org/414/9506000000022/254/7") == "9506000000022"
    assert gln_of("urn:epc:id:pgln:9506000.00002") == "9506000000022"
    assert gln_of("urn:example:somewhere") is None
    assert gln_of(None) is None
