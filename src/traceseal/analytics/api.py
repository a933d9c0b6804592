"""``/api/v1/analytics/...``: scan figures from the rollups, scoped to the caller."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from traceseal.analytics.schemas import FiguresRead
from traceseal.analytics.service import (
    Figures,
    Filters,
    owns_all,
    regions,
    series,
    verdict_mix,
)
from traceseal.orgs.deps import ReadCaller
from traceseal.orgs.models import Organization
from traceseal.verify.models import Channel
from traceseal.verify.rollups import CHINA
from traceseal.web.deps import ReadSessionDep, SettingsDep

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, or an unknown, revoked or expired one."},
    403: {"description": "Analytics are for brands, distributors, regulators and the operator."},
    422: {"description": "An invalid filter: a date, a range over a year, 'to' before 'from'."},
}
_ID = Query(ge=1, le=2**63 - 1)
From = Annotated[
    date | None, Query(alias="from", description="First day (CST); default 29 days before 'to'.")
]
To = Annotated[
    date | None, Query(alias="to", description="Last day (CST), included; default today.")
]
ProductId = Annotated[int | None, _ID]
BatchId = Annotated[int | None, _ID]
ChannelFilter = Annotated[Channel | None, Query()]
Province = Annotated[
    str | None,
    Query(pattern="^[1-9][0-9]0000$", description="A province's code: its cities instead."),
]


def _filters(
    start: date | None,
    end: date | None,
    product: int | None,
    batch: int | None,
    channel: Channel | None,
) -> Filters:
    last = end or datetime.now(CHINA).date()
    # The first 29 days of the calendar have no 29 days before them.
    first = start or max(last, date.min + timedelta(days=29)) - timedelta(days=29)
    return Filters(first, last, product, batch, None if channel is None else channel.value)


def _answer(
    viewer: Organization, minimum: int, run: Callable[[], list[Figures]]
) -> list[FiguresRead]:
    hide = not owns_all(viewer)
    return [FiguresRead.of(figures, minimum=minimum, hide=hide) for figures in run()]


@router.get("/series", response_model=list[FiguresRead], responses=_RESPONSES)
def get_series(
    session: ReadSessionDep,
    caller: ReadCaller,
    settings: SettingsDep,
    start: From = None,
    end: To = None,
    product_id: ProductId = None,
    batch_id: BatchId = None,
    channel: ChannelFilter = None,
    bucket: Annotated[
        Literal["day", "hour"], Query(description="Per day (2026-10-01) or hour (2026-10-01T08).")
    ] = "day",
) -> list[FiguresRead]:
    """Scans per day or hour (China Standard Time), oldest first; empty ones are left out.
    每日或每小时查询量（北京时间）。"""
    filters = _filters(start, end, product_id, batch_id, channel)
    return _answer(
        caller,
        settings.analytics_min_cell,
        lambda: series(session, caller, filters, hourly=bucket == "hour"),
    )


@router.get("/regions", response_model=list[FiguresRead], responses=_RESPONSES)
def get_regions(
    session: ReadSessionDep,
    caller: ReadCaller,
    settings: SettingsDep,
    start: From = None,
    end: To = None,
    product_id: ProductId = None,
    batch_id: BatchId = None,
    channel: ChannelFilter = None,
    province: Province = None,
) -> list[FiguresRead]:
    """Scans per province (GB/T 2260), or per city of ``province``; '' is unplaced scans.
    按省（或某省内按市）统计的查询量。"""
    filters = _filters(start, end, product_id, batch_id, channel)
    return _answer(
        caller,
        settings.analytics_min_cell,
        lambda: regions(session, caller, filters, province=province),
    )


@router.get("/verdicts", response_model=list[FiguresRead], responses=_RESPONSES)
def get_verdicts(
    session: ReadSessionDep,
    caller: ReadCaller,
    settings: SettingsDep,
    start: From = None,
    end: To = None,
    product_id: ProductId = None,
    batch_id: BatchId = None,
    channel: ChannelFilter = None,
) -> list[FiguresRead]:
    """Scans per verdict (genuine, genuine_repeat, suspicious, ...). 各验证结果的数量。"""
    filters = _filters(start, end, product_id, batch_id, channel)
    return _answer(
        caller, settings.analytics_min_cell, lambda: verdict_mix(session, caller, filters)
    )
