"""Where and when a scan is counted: its China Standard Time day and hour, and the GB/T
2260 province and city of its district. Pure; shared by the scan rollups
(verify/rollups.py) and the diversion flows (risk/service.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final

__all__ = ["CHINA", "bucket", "place"]

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
