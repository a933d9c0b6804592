"""``/api/v1/analytics/...``: scan figures from the rollups, scoped to the caller."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query

from traceseal.analytics.devices import METHOD, count_devices
from traceseal.analytics.evidence import MAX_PAGE, scans_behind
from traceseal.analytics.flows import flows
from traceseal.analytics.hotspots import HotSpot, evidence_query, hot_spots
from traceseal.analytics.networks import NetworkFigures, failing_networks
from traceseal.analytics.schemas import (
    DevicesRead,
    FiguresRead,
    FlowRead,
    HotSpotRead,
    NetworkRead,
    NetworksRead,
    ScanRead,
    shown,
)
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
from traceseal.verify.models import Channel, Verdict
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


@router.get("/hotspots", response_model=list[HotSpotRead], responses=_RESPONSES)
def get_hotspots(
    session: ReadSessionDep,
    caller: ReadCaller,
    settings: SettingsDep,
    end: To = None,
    product_id: ProductId = None,
) -> list[HotSpotRead]:
    """Provinces and products whose week (the 7 days ending 'to') stands out against the
    8 weeks before: suspicious rate, repeat rate, made-up codes. 异常热点。"""
    last = end or datetime.now(CHINA).date()
    # A week and its 8-week baseline need 63 days of calendar before 'to'.
    last = max(last, date.min + timedelta(days=63))
    spots = hot_spots(
        session,
        caller,
        end=last,
        threshold=settings.analytics_hotspot_z,
        min_scans=settings.analytics_hotspot_min_scans,
        product_id=product_id,
    )
    hide = not owns_all(caller)
    minimum = settings.analytics_min_cell
    return [_hot_spot(spot, minimum=minimum, hide=hide) for spot in spots]


def _hot_spot(spot: HotSpot, *, minimum: int, hide: bool) -> HotSpotRead:
    week = spot.week
    evidence = None
    if not hide:
        evidence = f"{router.prefix}/scans?{urlencode(evidence_query(spot))}"
    return HotSpotRead(
        province=spot.province,
        product_id=spot.product_id,
        measure=spot.measure,
        value=round(spot.deviation.value, 6),
        baseline=round(spot.deviation.median, 6),
        spread=round(spot.deviation.spread, 6),
        z=round(spot.deviation.z, 2),
        start=spot.start.isoformat(),
        end=spot.end.isoformat(),
        scans=shown(week.scans, minimum, hide=hide),
        suspicious=shown(week.suspicious, minimum, hide=hide),
        repeats=shown(week.repeats, minimum, hide=hide),
        not_found=shown(week.not_found, minimum, hide=hide),
        evidence=evidence,
    )


@router.get("/flows", response_model=list[FlowRead], responses=_RESPONSES)
def get_flows(
    session: ReadSessionDep,
    caller: ReadCaller,
    settings: SettingsDep,
    start: From = None,
    end: To = None,
    product_id: ProductId = None,
    batch_id: BatchId = None,
) -> list[FlowRead]:
    """Diversion flows: a distributor's goods scanned outside its territory, per place,
    the largest first. 窜货流向。"""
    filters = _filters(start, end, product_id, batch_id, None)
    hide = not owns_all(caller)
    minimum = settings.analytics_min_cell
    return [
        FlowRead(
            distributor_id=flow.distributor_id,
            distributor=flow.distributor,
            territory=list(flow.territory),
            province=flow.province,
            city=flow.city,
            scans=shown(flow.scans, minimum, hide=hide),
            trade=shown(flow.trade, minimum, hide=hide),
        )
        for flow in flows(session, caller, filters)
    ]


@router.get(
    "/scans",
    response_model=list[ScanRead],
    responses=_RESPONSES | {403: {"description": "Only the brand reads its own scans."}},
)
def get_scans(
    session: ReadSessionDep,
    caller: ReadCaller,
    start: From = None,
    end: To = None,
    product_id: ProductId = None,
    batch_id: BatchId = None,
    channel: ChannelFilter = None,
    province: Province = None,
    verdict: Annotated[Verdict | None, Query()] = None,
    before: Annotated[int | None, _ID] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> list[ScanRead]:
    """The brand's own scans behind a figure, newest first; page with 'before' (the last
    id of the page before). 明细（仅品牌方本身）。"""
    filters = _filters(start, end, product_id, batch_id, channel)
    rows = scans_behind(
        session,
        caller,
        filters,
        province=province,
        verdict=None if verdict is None else verdict.value,
        before=before,
        limit=limit,
    )
    return [
        ScanRead(
            id=row.id,
            at=row.at.isoformat(),
            code=row.code,
            verdict=row.verdict,
            channel=row.channel,
            region=row.region,
            count=row.count,
            trade=row.trade,
        )
        for row in rows
    ]


@router.get("/devices", response_model=DevicesRead, responses=_RESPONSES)
def get_devices(
    session: ReadSessionDep,
    caller: ReadCaller,
    settings: SettingsDep,
    start: From = None,
    end: To = None,
    product_id: ProductId = None,
    province: Province = None,
) -> DevicesRead:
    """Distinct devices that queried the codes in the range, in all and per province: a
    device seen on many days counts once. 独立设备数（估计值）。"""
    filters = _filters(start, end, product_id, None, None)
    found = count_devices(session, caller, filters, province=province)
    hide = not owns_all(caller)
    minimum = settings.analytics_min_cell
    return DevicesRead(
        devices=shown(found.total, minimum, hide=hide),
        provinces={k: shown(v, minimum, hide=hide) for k, v in found.provinces.items()},
        method=METHOD,
    )


@router.get("/networks", response_model=NetworksRead, responses=_RESPONSES)
def get_networks(
    session: ReadSessionDep,
    caller: ReadCaller,
    start: From = None,
    end: To = None,
    min_answers: Annotated[
        int, Query(ge=1, le=10**9, description="Networks with fewer answers are left out.")
    ] = 20,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> NetworksRead:
    """Made-up and mistyped codes per client network (IPv4 /24, IPv6 /48, as keyed hashes),
    the highest share first, beside the platform's own: where codes are being guessed.
    Operator only. 各网络段的伪造码与误输码比例。"""
    filters = _filters(start, end, None, None, None)
    overall, found = failing_networks(
        session, caller, start=filters.start, end=filters.end, min_answers=min_answers, limit=limit
    )
    return NetworksRead(
        overall=_network(overall), networks=[_network(figures) for figures in found]
    )


def _network(figures: NetworkFigures) -> NetworkRead:
    return NetworkRead(
        network=figures.network,
        region=figures.region,
        answers=figures.answers,
        not_found=figures.not_found,
        mistyped=figures.mistyped,
        failure_rate=round(figures.failure_rate, 6),
    )
