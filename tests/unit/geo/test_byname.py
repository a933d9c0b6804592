"""Divisions found by the names people write (geo/byname.py)."""

from __future__ import annotations

import doctest

from traceseal.geo import byname
from traceseal.geo.byname import find_regions, split_names


def test_the_modules_examples_hold() -> None:
    assert doctest.testmod(byname).failed == 0


def test_full_short_and_english_names_and_codes_resolve() -> None:
    found = find_regions(
        [
            "广东省",
            "广东",
            "Guangdong",
            "深圳市",
            "深圳",
            "广东省深圳市南山区",
            "深圳市南山区",
            "440305",
        ]
    )
    assert found.problems == ()
    assert found.codes == ("440000", "440300", "440305")
    # A municipality's districts sit under a placeholder city, which is never a place.
    assert find_regions(["北京市", "北京市朝阳区"]).codes == ("110000", "110105")
    assert find_regions(["市辖区"]).codes == ()


def test_a_shared_name_is_not_guessed() -> None:
    found = find_regions(["朝阳区", "Atlantis"], "en")
    assert found.codes == ()
    assert found.problems == (
        "朝阳区 could be several places: Beijing 110105; Jilin 220104",
        "no region is named Atlantis",
    )


def test_lists_split_on_the_separators_people_type() -> None:
    assert split_names("广东省，深圳市、北京市;上海市；\n\n杭州市") == [
        "广东省",
        "深圳市",
        "北京市",
        "上海市",
        "杭州市",
    ]
