"""Builds ``geo/data/regions.csv.gz`` from the two public sources named in data/PROVENANCE.

Not imported at run time: ``python -m traceseal.geo.build CODES_DIR COORDS_CSV OUT``, where
CODES_DIR holds provinces.csv, cities.csv and areas.csv of the code table and COORDS_CSV is
the coordinate table. Every division gets a centroid; ``centroid`` says how it was found:
``own`` (the division's own coordinates), ``city``/``province`` (its parent's, when its own
name was not in the coordinate table), ``children`` (the mean of its districts').
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from collections import defaultdict
from pathlib import Path

from traceseal.geo.names import ENGLISH, OUTSIDE_TABLE

_Coords = tuple[float, float]


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _far(a: _Coords, b: _Coords) -> bool:
    """Farther apart than any district lies from its city's centre (about 300 km)."""
    return abs(a[0] - b[0]) + abs(a[1] - b[1]) > 3.0


def build(codes: Path, coords_csv: Path) -> list[tuple[str, ...]]:
    provinces = {r["code"]: r["name"] for r in _read(codes / "provinces.csv")}
    cities = {r["code"]: (r["name"], r["provinceCode"]) for r in _read(codes / "cities.csv")}
    # Cities without districts (Dongguan, Zhongshan, Danzhou) list themselves as their own
    # district under the city's code: one row, the city's, is enough.
    areas = [
        (r["code"], r["name"], r["cityCode"])
        for r in _read(codes / "areas.csv")
        if r["code"] != r["cityCode"] + "00"
    ]

    exact: dict[tuple[str, str, str], _Coords] = {}
    by_province: dict[tuple[str, str], list[_Coords]] = defaultdict(list)
    for row in _read(coords_csv):
        coords = (float(row["latitude"]), float(row["longitude"]))
        exact[(row["province"], row["city"], row["county"])] = coords
        by_province[(row["province"], row["county"])].append(coords)

    def own(province: str, city: str, name: str) -> _Coords | None:
        for key in ((province, city, name), (province, province, name)):
            if key in exact:
                return exact[key]
        # Only within the province: the same district name recurs across China.
        candidates = by_province.get((province, name))
        return candidates[0] if candidates and len(candidates) == 1 else None

    rows: list[tuple[str, ...]] = []
    district_points: dict[str, list[_Coords]] = defaultdict(list)
    district_rows: list[tuple[str, str, str, _Coords | None]] = []
    for code, name, city_code in areas:
        city_name, province_code = cities[city_code]
        province = provinces[province_code]
        point = own(province, city_name, name)
        if point is not None:
            district_points[city_code].append(point)
        district_rows.append((code + "", name, city_code, point))

    city_points: dict[str, tuple[_Coords, str]] = {}
    for city_code, (city_name, province_code) in cities.items():
        province = provinces[province_code]
        point = own(province, city_name, city_name)
        if point is not None:
            city_points[city_code] = (point, "own")
        elif district_points[city_code]:
            pts = district_points[city_code]
            mean = (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))
            city_points[city_code] = (mean, "children")

    province_points: dict[str, tuple[_Coords, str]] = {}
    for province_code, province in provinces.items():
        point = own(province, province, province)
        if point is not None:
            province_points[province_code] = (point, "own")
        else:
            pts = [p for c, (p, _) in city_points.items() if c[:2] == province_code]
            mean = (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))
            province_points[province_code] = (mean, "children")

    def fmt(point: _Coords) -> tuple[str, str]:
        return (f"{point[0]:.4f}", f"{point[1]:.4f}")

    for province_code, province in sorted(provinces.items()):
        point, how = province_points[province_code]
        code = province_code + "0000"
        rows.append((code, "", "1", province, ENGLISH.get(code, ""), *fmt(point), how))
    for code, zh, en, lat, lon in OUTSIDE_TABLE:
        rows.append((code, "", "1", zh, en, f"{lat:.4f}", f"{lon:.4f}", "own"))
    for city_code, (city_name, province_code) in sorted(cities.items()):
        if city_code in city_points:
            point, how = city_points[city_code]
        else:
            point, how = province_points[province_code][0], "province"
        rows.append(
            (city_code + "00", province_code + "0000", "2", city_name, "", *fmt(point), how)
        )
    for code, name, city_code, district_point in district_rows:
        city = city_points.get(city_code)
        if district_point is not None and city is not None and _far(district_point, city[0]):
            # A renamed or moved district matched an older namesake: trust the city.
            district_point = None
        if district_point is not None:
            point, how = district_point, "own"
        elif city_code in city_points:
            point, how = city_points[city_code][0], "city"
        else:
            point, how = province_points[city_code[:2]][0], "province"
        rows.append((code, city_code + "00", "3", name, "", *fmt(point), how))
    return sorted(rows)


HEADER = ("code", "parent", "level", "name_zh", "name_en", "lat", "lon", "centroid")


def main(argv: list[str]) -> None:
    codes, coords, out = (Path(a) for a in argv)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(build(codes, coords))
    # mtime 0: the same sources give the same bytes.
    with gzip.GzipFile(out, "wb", mtime=0) as f:
        f.write(text.getvalue().encode())


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
