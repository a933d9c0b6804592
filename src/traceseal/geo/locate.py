"""Where a scan happened: an explicit region, coordinates, or the client's address.

In that order of trust: a region code the client sends (a shop's app knows its district),
then coordinates mapped to the nearest district centroid, then an operator-supplied table
of address ranges. The answer says which source placed it and how precisely, since a
diversion decided on an address range means less than one decided on GPS.
"""

from __future__ import annotations

import bisect
import csv
import ipaddress
import itertools
from dataclasses import dataclass
from pathlib import Path

from traceseal.geo.regions import LEVELS, level_of, table

__all__ = ["IpRegions", "Place", "locate"]


@dataclass(frozen=True, slots=True)
class Place:
    region: str | None = None
    #: "client", "coordinates" or "ip"; None when nothing placed the scan.
    source: str | None = None
    #: "province", "city", "district" (a code's own level) or "district-centroid".
    precision: str | None = None


NOWHERE = Place()


class IpRegions:
    """Address ranges -> region codes, from a CSV of ``cidr,region`` lines (no header).

    Loaded once at start; a lookup is a binary search over the ranges' starts. Ranges must
    not overlap (the file is the operator's; a later overlapping line is refused).
    """

    def __init__(self, entries: list[tuple[str, str]]) -> None:
        spans: list[tuple[int, int, int, str]] = []
        regions = table()
        for cidr, region in entries:
            network = ipaddress.ip_network(cidr.strip(), strict=False)
            code = region.strip()
            if code not in regions:
                raise ValueError(f"{code!r} is not a GB/T 2260 division ({cidr})")
            first, last = int(network.network_address), int(network.broadcast_address)
            spans.append((network.version, first, last, code))
        spans.sort()
        for before, after in itertools.pairwise(spans):
            if before[0] == after[0] and after[1] <= before[2]:
                raise ValueError(f"address ranges overlap at {after[3]}")
        self._spans = {version: [s for s in spans if s[0] == version] for version in (4, 6)}
        self._starts = {v: [s[1] for s in spans] for v, spans in self._spans.items()}

    def __len__(self) -> int:
        return sum(len(spans) for spans in self._spans.values())

    @classmethod
    def from_csv(cls, path: Path) -> IpRegions:
        with path.open(encoding="utf-8", newline="") as f:
            rows = [
                (row[0], row[1])
                for row in csv.reader(f)
                if row and not row[0].lstrip().startswith("#")
            ]
        return cls(rows)

    def lookup(self, ip: str | None) -> str | None:
        """The region of ``ip``, or None for an address in no range (or not an address).

        >>> IpRegions([("203.0.113.0/24", "440300")]).lookup("203.0.113.9")
        '440300'
        """
        if not ip or not self._starts:
            return None
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        starts = self._starts.get(address.version)
        if not starts:
            return None
        value = int(address)
        index = bisect.bisect_right(starts, value) - 1
        if index < 0:
            return None
        _, _, last, code = self._spans[address.version][index]
        return code if value <= last else None


def locate(
    region: str | None,
    latitude: float | None,
    longitude: float | None,
    ip_region: str | None = None,
) -> Place:
    """Place a scan; ``region`` must already be a valid code (RegionTable.parse).

    >>> locate(None, 22.54, 113.93)
    Place(region='440305', source='coordinates', precision='district-centroid')
    """
    if region:
        return Place(region, "client", LEVELS[level_of(region)])
    if latitude is not None and longitude is not None:
        return Place(table().nearest(latitude, longitude), "coordinates", "district-centroid")
    if ip_region:
        return Place(ip_region, "ip", LEVELS[level_of(ip_region)])
    return NOWHERE
