"""The rollup key and counts of one scan (verify/models.ScanRollup), pure.

Used by the verification path for each scan it logs and by the rebuild for each scan it
reads back, so both count by the same rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from traceseal.geo.buckets import CHINA, bucket, place

__all__ = ["CHINA", "SHARDS", "bucket", "place", "rollup"]

#: Rows per rollup bucket, by engine. PostgreSQL holds a row's lock from a verification's
#: upsert until its commit, so with one row per bucket every scan of a product in one
#: place and hour (a launch, a promotion) queues behind the one before it: measured with
#: 16 connections, 2 workers, that single row capped verification at about 300/s
#: (docs/benchmarks.md). Spreading a bucket over 8 rows by the code's sequence number
#: (consecutive codes, a case of goods, land on different rows) lets 8 commit at once.
#: SQLite has one writer at a time anyway: one row.
SHARDS = {"sqlite": 1, "postgresql": 8}


def rollup(
    moment: datetime,
    *,
    organization_id: int | None,
    product_id: int | None,
    batch_id: int | None,
    region: str | None,
    channel: str,
    verdict: str,
    scan_count: int | None,
    trade: bool,
    sequence: int | None,
    shards: int,
) -> dict[str, Any]:
    """The key and the increments of one logged scan (the parameters of statements.ROLLUP);
    ``shards`` is the engine's :data:`SHARDS`."""
    day, hour = bucket(moment)
    province, city = place(region)
    return {
        "day": day,
        "hour": hour,
        "organization_id": organization_id or 0,
        "product_id": product_id or 0,
        "batch_id": batch_id or 0,
        "province": province,
        "city": city,
        "channel": channel,
        "verdict": verdict,
        "shard": (sequence or 0) % shards,
        "scans": 1,
        # A consumer's first query is answered genuine (count 1); any consumer's answer about
        # a code already queried before (a repeat, over its limit, a clone's) is a repeat.
        "firsts": int(not trade and verdict == "genuine"),
        "repeats": int(not trade and (scan_count or 0) > 1),
        "trade": int(trade),
    }
