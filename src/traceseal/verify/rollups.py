"""The rollup key and counts of one scan (verify/models.ScanRollup), pure.

Used by the verification path for each scan it logs and by the rebuild for each scan it
reads back, so both count by the same rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from traceseal.geo.buckets import CHINA, bucket, place

__all__ = ["CHINA", "bucket", "place", "rollup"]


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
) -> dict[str, Any]:
    """The key and the increments of one logged scan (the parameters of statements.ROLLUP)."""
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
        "scans": 1,
        # A consumer's first query is answered genuine (count 1); any consumer's answer about
        # a code already queried before (a repeat, over its limit, a clone's) is a repeat.
        "firsts": int(not trade and verdict == "genuine"),
        "repeats": int(not trade and (scan_count or 0) > 1),
        "trade": int(trade),
    }
