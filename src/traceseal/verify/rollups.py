"""The rollup key and counts of one scan (verify/models.ScanRollup), pure.

Used by the verification path for each scan it logs and by the rebuild for each scan it
reads back, so both count by the same rules.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Final

__all__ = ["CHINA", "bucket", "place", "rollup"]

#: China Standard Time: one offset all year (no daylight saving since 1991), so an hour
#: bucket is a fixed UTC hour and a day bucket is what a brand in China calls that day.
CHINA: Final = timezone(timedelta(hours=8), "CST")


def bucket(moment: datetime) -> tuple[date, int]:
    """The day and hour (China Standard Time) a scan at ``moment`` is counted in.

    >>> bucket(datetime(2026, 12, 3, 17, 30, tzinfo=UTC))
    (datetime.date(2026, 12, 4), 1)
    """
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(CHINA)
    return local.date(), local.hour


def place(region: str | None) -> tuple[str, str]:
    """The GB/T 2260 province and city of a district code; ('', '') when unplaced.

    >>> place("440305")
    ('440000', '440300')
    """
    if not region:
        return "", ""
    return region[:2] + "0000", region[:4] + "00"


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
