"""Distinct devices' HyperLogLog sketches folded from the scan log (analytics/devices.py
reads them). Pure of the analytics' readers, so that analytics/fold.py can call it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import datasketches as ds
from sqlalchemy import Connection, delete, insert, select

from traceseal.analytics.models import DeviceSketch
from traceseal.db import py_time
from traceseal.geo.buckets import CHINA, place
from traceseal.orgs.models import Organization
from traceseal.verify.models import Scan

__all__ = ["LG_K", "estimate", "fold_device_days", "fold_device_month", "scan_devices", "sketch_of"]

#: log2 of the sketches' registers: 4,096, about 1.6 % standard error.
LG_K = 12
_Key = tuple[int, int, str]


def sketch_of(blob: bytes) -> Any:
    return ds.hll_sketch.deserialize(bytes(blob))


def estimate(union: Any) -> int:
    return round(float(union.get_result(ds.tgt_hll_type.HLL_8).get_estimate()))


def _sketch() -> Any:
    return ds.hll_sketch(LG_K, ds.tgt_hll_type.HLL_8)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), CHINA).astimezone(UTC)


def scan_devices(
    connection: Connection, first: date, last: date, owners: Iterable[int] | None = None
) -> dict[tuple[date, int, int, str], Any]:
    """Sketches per CST day, brand, product and province, from the log's device hashes."""
    owner_ids = select(Organization.id) if owners is None else list(owners)
    query = select(
        Scan.scanned_at, Scan.organization_id, Scan.product_id, Scan.region, Scan.device_hash
    ).where(
        Scan.organization_id.in_(owner_ids),
        Scan.scanned_at >= _day_start(first),
        Scan.scanned_at < _day_start(last + timedelta(days=1)),
        Scan.device_hash.is_not(None),
    )
    sketches: dict[tuple[date, int, int, str], Any] = defaultdict(_sketch)
    for at, owner, product, region, device in connection.execute(query):
        moment = py_time(at)
        assert moment is not None  # NOT NULL column
        day = moment.astimezone(CHINA).date()
        sketches[(day, int(owner or 0), int(product or 0), place(region)[0])].update(device)
    return sketches


def fold_device_days(connection: Connection, first: date, last: date) -> None:
    """The day sketches of ``first``..``last``: the log's devices, joined to the sketches
    folded before.

    Joined, not replaced: scans only leave the log by retention, so a day refolded after
    some of its scans were pruned (a late scan older than the retention) would otherwise
    lose the devices of the pruned ones. A HyperLogLog union counts a device in both once,
    so joining a day with itself changes nothing.
    """
    kept = select(
        DeviceSketch.day,
        DeviceSketch.organization_id,
        DeviceSketch.product_id,
        DeviceSketch.province,
        DeviceSketch.sketch,
    ).where(DeviceSketch.span == "day", DeviceSketch.day.between(first, last))
    unions: dict[tuple[date, int, int, str], Any] = defaultdict(lambda: ds.hll_union(LG_K))
    for day, owner, product, province, blob in connection.execute(kept):
        unions[(day, owner, product, province)].update(sketch_of(blob))
    for key, sketch in scan_devices(connection, first, last).items():
        unions[key].update(sketch)
    connection.execute(
        delete(DeviceSketch).where(
            DeviceSketch.span == "day", DeviceSketch.day.between(first, last)
        )
    )
    rows = [
        {
            "day": day,
            "span": "day",
            "organization_id": owner,
            "product_id": product,
            "province": province,
            "sketch": union.get_result(ds.tgt_hll_type.HLL_8).serialize_compact(),
        }
        for (day, owner, product, province), union in unions.items()
    ]
    if rows:
        connection.execute(insert(DeviceSketch), rows)


def fold_device_month(connection: Connection, month: date, last: date) -> None:
    """The month sketches of ``month``: the union of its day sketches per key."""
    connection.execute(
        delete(DeviceSketch).where(DeviceSketch.span == "month", DeviceSketch.day == month)
    )
    unions: dict[_Key, Any] = defaultdict(lambda: ds.hll_union(LG_K))
    days = select(
        DeviceSketch.organization_id,
        DeviceSketch.product_id,
        DeviceSketch.province,
        DeviceSketch.sketch,
    ).where(DeviceSketch.span == "day", DeviceSketch.day.between(month, last))
    for owner, product, province, blob in connection.execute(days):
        unions[(owner, product, province)].update(ds.hll_sketch.deserialize(bytes(blob)))
    rows = [
        {
            "day": month,
            "span": "month",
            "organization_id": owner,
            "product_id": product,
            "province": province,
            "sketch": union.get_result(ds.tgt_hll_type.HLL_8).serialize_compact(),
        }
        for (owner, product, province), union in unions.items()
    ]
    if rows:
        connection.execute(insert(DeviceSketch), rows)
