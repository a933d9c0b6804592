"""The scans behind a figure: the rows of the scan log a brand's hot spot or count stands on.

The one analytics read of the log itself, and only of one brand's own scans in a few days:
``ix_scans_organization_scanned_at`` bounds it. Only the brand sees them (its own codes);
regulators and the operator read figures, never consumers' rows (docs/analytics.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceseal.analytics.service import Filters, check_filters
from traceseal.db import py_time
from traceseal.errors import Forbidden
from traceseal.geo.buckets import CHINA
from traceseal.orgs.models import Organization, Role
from traceseal.verify.models import Scan

__all__ = ["MAX_PAGE", "ScanRow", "scans_behind"]

#: Rows per page at most.
MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class ScanRow:
    id: int
    at: datetime
    code: str
    verdict: str
    channel: str
    region: str
    count: int
    trade: bool


def scans_behind(
    session: Session,
    viewer: Organization,
    filters: Filters,
    *,
    province: str | None = None,
    verdict: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[ScanRow]:
    """The brand's own scans in the filters' days (CST), newest first, ``limit`` of them
    with ids below ``before`` (the last id of the page before)."""
    if viewer.role != Role.ENTERPRISE.value:
        raise Forbidden("the scans behind a figure are the brand's own to read")
    check_filters(filters)
    start = datetime.combine(filters.start, time(), CHINA).astimezone(UTC)
    end = datetime.combine(filters.end + timedelta(days=1), time(), CHINA).astimezone(UTC)
    query = (
        select(
            Scan.id,
            Scan.scanned_at,
            Scan.code,
            Scan.verdict,
            Scan.channel,
            Scan.region,
            Scan.scan_count,
            Scan.trade_org_id,
        )
        .where(
            Scan.organization_id == viewer.id,
            Scan.scanned_at >= start,
            Scan.scanned_at < end,
        )
        .order_by(Scan.id.desc())
        .limit(min(limit, MAX_PAGE))
    )
    if before is not None:
        query = query.where(Scan.id < before)
    if filters.product_id is not None:
        query = query.where(Scan.product_id == filters.product_id)
    if filters.batch_id is not None:
        query = query.where(Scan.batch_id == filters.batch_id)
    if filters.channel is not None:
        query = query.where(Scan.channel == filters.channel)
    if verdict is not None:
        query = query.where(Scan.verdict == verdict)
    if province is not None:
        # Regions are districts (PPCCDD): a province's share the first two digits.
        query = query.where(Scan.region.startswith(province[:2]))
    rows = []
    for id_, at, code, found, channel, region, count, trader in session.execute(query):
        moment = py_time(at)
        assert moment is not None  # NOT NULL column
        rows.append(
            ScanRow(
                id=int(id_),
                at=moment,
                code=code,
                verdict=found,
                channel=channel,
                region=region or "",
                count=int(count),
                trade=trader is not None,
            )
        )
    return rows
