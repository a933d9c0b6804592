"""GB/T 2260 administrative divisions: the bundled table, coverage, and where a point lies.

A code has six digits: province (2), city (2), district (2). ``440000`` is Guangdong,
``440300`` Shenzhen, ``440305`` Nanshan district. A province's code covers every city and
district in it, a city's every district: coverage is a prefix test on the code, so
checking a scan against a territory needs no table look-up at all.

The table (``data/regions.csv.gz``, provenance in ``data/PROVENANCE``) is read once, on
first use, and kept for the life of the process. Nothing here touches the network.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np

__all__ = [
    "Region",
    "RegionTable",
    "covers",
    "distance_km",
    "level_of",
    "table",
]

_SHAPE = re.compile(r"^[0-9]{6}$")
#: Mean Earth radius (IUGG), for great-circle distances.
EARTH_RADIUS_KM = 6371.0088
LEVELS = {1: "province", 2: "city", 3: "district"}


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    parent: str | None
    level: int
    name_zh: str
    name_en: str
    lat: float
    lon: float

    def name(self, lang: str) -> str:
        """The name in ``lang``; English falls back to the province's name plus the code."""
        return self.name_zh if lang == "zh-CN" or not self.name_en else self.name_en


def level_of(code: str) -> int:
    """1 for a province's code (``440000``), 2 for a city's (``440300``), else 3.

    >>> level_of("440000"), level_of("440300"), level_of("440305")
    (1, 2, 3)
    """
    if code[2:] == "0000":
        return 1
    return 2 if code[4:] == "00" else 3


def _prefix(code: str) -> str:
    return code[: 2 * level_of(code)]


def covers(territory: str, region: str) -> bool:
    """Whether ``territory`` (a province, city or district code) includes ``region``.

    A territory covers itself and everything below it; a region coarser than the territory
    (a scan placed only to its province) is not covered by a city: the caller decides what
    an imprecise location means (logistics treats it as not provably outside).

    >>> covers("440000", "440305"), covers("440300", "440305"), covers("440300", "440000")
    (True, True, False)
    """
    return region.startswith(_prefix(territory))


def overlaps(territory: str, region: str) -> bool:
    """Whether the two areas share any ground: one covers the other.

    >>> overlaps("440300", "440000"), overlaps("440300", "110000")
    (True, False)
    """
    return covers(territory, region) or covers(region, territory)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine).

    >>> round(distance_km(39.90, 116.40, 31.23, 121.47))
    1067
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


class RegionTable:
    """Every division by code, and a nearest-centroid index over the districts."""

    def __init__(self, regions: list[Region]) -> None:
        self.by_code = {region.code: region for region in regions}
        # Districts, and the cities and provinces with none under them (Dongguan; Hong Kong).
        parents = {r.parent for r in regions}
        leaves = [r for r in regions if r.code not in parents]
        self._leaf_codes = [r.code for r in leaves]
        lat = np.radians([r.lat for r in leaves])
        lon = np.radians([r.lon for r in leaves])
        # Unit vectors: the nearest centroid is the one with the greatest dot product,
        # one small matrix-vector product for ~3,000 districts (tens of microseconds).
        self._xyz = np.column_stack(
            (np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat))
        )

    def __contains__(self, code: str) -> bool:
        return code in self.by_code

    def get(self, code: str | None) -> Region | None:
        return None if code is None else self.by_code.get(code)

    def parse(self, raw: str | None) -> str | None:
        """A code as given, if it is in the table; None for None or blank. Raises ValueError.

        >>> table().parse(" 440305 ")
        '440305'
        """
        if raw is None or not raw.strip():
            return None
        code = raw.strip()
        if not _SHAPE.match(code):
            raise ValueError("a region is a 6-digit GB/T 2260 code such as 440305")
        if code not in self.by_code:
            raise ValueError(f"{code} is not a division in GB/T 2260")
        return code

    def province(self, code: str) -> Region | None:
        return self.by_code.get(code[:2] + "0000")

    def nearest(self, lat: float, lon: float) -> str:
        """The district whose centroid is nearest the point (precision: district centroid).

        >>> table().nearest(22.54, 113.93)  # Shenzhen, Nanshan
        '440305'
        """
        p, lam = math.radians(lat), math.radians(lon)
        point = np.array((math.cos(p) * math.cos(lam), math.cos(p) * math.sin(lam), math.sin(p)))
        return self._leaf_codes[int(np.argmax(self._xyz @ point))]

    def centroid(self, code: str) -> tuple[float, float] | None:
        region = self.by_code.get(code)
        return None if region is None else (region.lat, region.lon)

    def label(self, code: str | None, lang: str) -> str:
        """'广东省 深圳市 南山区 (440305)' or 'Guangdong 440305'; '' for None."""
        if not code:
            return ""
        region = self.by_code.get(code)
        if region is None:
            return code
        chain = [region]
        while chain[-1].parent in self.by_code and len(chain) < 3:
            chain.append(self.by_code[chain[-1].parent])
        chain.reverse()
        if lang == "zh-CN":
            # Municipalities list their districts under a placeholder "市辖区" city.
            names = [r.name_zh for r in chain if r.name_zh not in ("市辖区", "县")]
            return f"{''.join(names)} {code}"
        return f"{chain[0].name_en or chain[0].name_zh} {code}"


@cache
def table() -> RegionTable:
    """The bundled table, read on first use."""
    raw = (files("traceseal.geo") / "data" / "regions.csv.gz").read_bytes()
    rows = csv.DictReader(io.StringIO(gzip.decompress(raw).decode("utf-8")))
    return RegionTable(
        [
            Region(
                code=row["code"],
                parent=row["parent"] or None,
                level=int(row["level"]),
                name_zh=row["name_zh"],
                name_en=row["name_en"],
                lat=float(row["lat"]),
                lon=float(row["lon"]),
            )
            for row in rows
        ]
    )
