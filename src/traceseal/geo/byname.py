"""GB/T 2260 divisions found by the names people write: "广东省", "广东", "深圳市",
"广东省深圳市南山区", "Guangdong", or the 6-digit code itself.

A quality manager choosing a distributor's territory knows places by name, not code. A
name that several divisions share (朝阳区 is in Beijing and in Changchun) is not guessed:
the caller is told which divisions it could be, to write the one meant with its province
or city, or its code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from traceseal.geo.regions import RegionTable, table

__all__ = ["Lookup", "find_regions", "split_names"]

#: Names GB/T 2260 gives to a grouping, not a place ("the districts under the city").
_PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
#: What a province-level name may be written without: "广东" for 广东省.
_PROVINCE_SUFFIX = re.compile(r"(省|市|特别行政区|壮族自治区|回族自治区|维吾尔自治区|自治区)$")
#: Between names: commas, the ideographic comma and semicolons, or line breaks.
_SEPARATORS = re.compile(r"[,，、;；\n\r]+")
_SPACE = re.compile(r"\s+")


def split_names(text: str) -> list[str]:
    """The names of a free-text list, blanks dropped.

    >>> split_names("广东省、深圳市南山区\\n Beijing ,")
    ['广东省', '深圳市南山区', 'Beijing']
    """
    return [part.strip() for part in _SEPARATORS.split(text) if part.strip()]


def _key(name: str) -> str:
    return _SPACE.sub("", name).casefold()


@dataclass(frozen=True)
class Lookup:
    """What names resolved to (codes, in the order written) and what did not (messages)."""

    codes: tuple[str, ...]
    problems: tuple[str, ...]


@cache
def _index() -> dict[str, tuple[str, ...]]:
    regions = table()
    found: dict[str, list[str]] = {}

    def add(name: str, code: str) -> None:
        codes = found.setdefault(_key(name), [])
        if code not in codes:
            codes.append(code)

    # Coarser divisions first, so a list of candidates reads from the province down.
    for region in sorted(regions.by_code.values(), key=lambda r: (r.level, r.code)):
        if region.name_zh in _PLACEHOLDERS:
            continue
        add(region.name_zh, region.code)
        add(regions.label(region.code, "zh-CN").rsplit(" ", 1)[0], region.code)
        parent = regions.get(region.parent)
        if parent is not None and parent.name_zh not in _PLACEHOLDERS:
            add(parent.name_zh + region.name_zh, region.code)  # 深圳市南山区
        if region.level == 1:
            add(_PROVINCE_SUFFIX.sub("", region.name_zh), region.code)
            if region.name_en:
                add(region.name_en, region.code)
        elif region.level == 2 and region.name_zh.endswith("市") and len(region.name_zh) > 2:
            add(region.name_zh[:-1], region.code)  # 深圳 for 深圳市
    return {key: tuple(codes) for key, codes in found.items()}


def _one(regions: RegionTable, name: str, lang: str) -> str | list[str]:
    """The code ``name`` names, or the labels of the divisions it could be ([] for none)."""
    compact = _SPACE.sub("", name)
    if compact.isdigit() and compact in regions:
        return compact
    codes = _index().get(_key(compact), ())
    if len(codes) == 1:
        return codes[0]
    return [regions.label(code, lang) for code in codes]


def find_regions(names: Iterable[str], lang: str = "zh-CN") -> Lookup:
    """Resolve each name to one division; problems are worded in English (the console
    words them in the reader's language).

    >>> find_regions(["广东", "深圳市南山区", "朝阳区", "Atlantis"]).codes
    ('440000', '440305')
    """
    regions = table()
    codes: dict[str, None] = {}
    problems: list[str] = []
    for name in names:
        found = _one(regions, name, lang)
        if isinstance(found, str):
            codes[found] = None
        elif found:
            shown = "; ".join(found[:5])
            problems.append(f"{name} could be several places: {shown}")
        else:
            problems.append(f"no region is named {name}")
    return Lookup(tuple(codes), tuple(problems))
