"""The analytics dashboards: /console/analytics and its CSV exports, the scans behind a
brand's hot spot, and a brand's weekly summary PDF.

Who sees what is the analytics API's rule, applied by the API's own handlers
(console/dashboard_figures.py): a brand its own figures as they are; a distributor its
territory's for the brands it serves; regulators across brands and the operator
everything, small counts shown as "<5". Labs have no analytics (403). Read-only pages:
no forms that write, so no audit entries (docs/consoles.md, "Analytics dashboards").
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from traceseal.analytics.evidence import scans_behind
from traceseal.analytics.schemas import HotSpotRead
from traceseal.analytics.service import Filters
from traceseal.bounds import MAX_ID
from traceseal.console.dashboard_figures import (
    CHARTS,
    SHADES,
    Dashboard,
    csv_bytes,
    default_range,
    gather,
    measure_name,
    numeric,
    place_name,
    rows_of,
    shade,
    verdict_name,
)
from traceseal.console.dashboard_figures import Query as Filter
from traceseal.console.deps import (
    BrandDep,
    ConsoleError,
    Viewer,
    check_csrf,
    console_language,
    of_kind,
)
from traceseal.console.menu import MenuItem, brand
from traceseal.console.render import finish, page, see_other
from traceseal.console.weekly_pdf import last_week, parse_week, week_label, weekly_pdf
from traceseal.errors import DomainError
from traceseal.geo.regions import table
from traceseal.geo.tiles import grid
from traceseal.orgs.models import Role
from traceseal.registry.models import Product
from traceseal.registry.service import list_batches, list_products
from traceseal.verify.models import Channel, Verdict
from traceseal.web.deps import SessionDep, SettingsDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

#: Brands, distributors, regulators and the operator: the kinds the analytics API answers.
AnalyticsDep = Annotated[
    Viewer, Depends(of_kind(Role.ENTERPRISE, Role.DISTRIBUTOR, Role.REGULATOR, Role.OPERATOR))
]

MENU = (
    brand("/console/analytics", "数据分析", "Analytics", order=15),
    MenuItem(
        "/console/analytics",
        "数据分析",
        "Analytics",
        kinds=frozenset({Role.REGULATOR, Role.OPERATOR, Role.DISTRIBUTOR}),
        order=15,
    ),
)

Text = Annotated[str, Query(max_length=40)]
Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]

#: The services' messages the filters can meet, in zh-CN.
_ZH = {
    "'to' is before 'from'": "截止日期早于起始日期",
    "a range covers at most 366 days": "日期范围最多 366 天",
    "a date is YYYY-MM-DD": "日期格式应为 YYYY-MM-DD",
    "no such product": "找不到该产品",
    "no such batch": "找不到该批次",
    "no such channel": "没有这个渠道",
    "a week is YYYY-Www, such as 2026-W41": "周的格式应为 YYYY-Www，例如 2026-W41",
}
_CHANNELS = {
    "qr": ("扫码", "QR scan"),
    "web": ("网页输入", "Web page"),
    "api": ("接口", "API"),
    "sms": ("短信", "SMS"),
    "voice": ("语音", "Voice"),
    "chat": ("在线客服", "Chat"),
    "wechat": ("微信", "WeChat"),
    "phone": ("电话", "Phone"),
}


def _words(message: str, zh: bool) -> str:
    return _ZH.get(message, message) if zh else message


def _parse(
    raw_from: str, raw_to: str, product: str, batch: str, channel: str, province: str
) -> tuple[Filter, dict[str, str]]:
    """The GET form's filters, and the errors beside its fields (then the defaults)."""
    errors: dict[str, str] = {}
    first, last = default_range()
    for name, raw in (("from", raw_from), ("to", raw_to)):
        if not raw:
            continue
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            errors[name] = "a date is YYYY-MM-DD"
            continue
        if name == "from":
            first = day
        else:
            last = day
    if raw_to and not raw_from and "to" not in errors:
        first = last - timedelta(days=29)
    ids: dict[str, int | None] = {"product": None, "batch": None}
    for name, raw in (("product", product), ("batch", batch)):
        if raw:
            ids[name] = int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_ID else None
            if ids[name] is None:
                errors[name] = f"no such {name}"
    picked = None
    if channel:
        try:
            picked = Channel(channel)
        except ValueError:
            errors["channel"] = "no such channel"
    place = province if province in grid().by_code() else None
    found = Filter(first, last, ids["product"], ids["batch"], picked, place)
    return found, errors


FromQ = Annotated[str, Query(alias="from", max_length=40)]
ToQ = Annotated[str, Query(alias="to", max_length=40)]


@router.get("/console/analytics")
def dashboard(
    request: Request,
    viewer: AnalyticsDep,
    db: SessionDep,
    settings: SettingsDep,
    raw_from: FromQ = "",
    raw_to: ToQ = "",
    product_id: Text = "",
    batch_id: Text = "",
    channel: Text = "",
    province: Text = "",
) -> Response:
    lang = console_language(request)
    zh = lang == "zh-CN"
    query, errors = _parse(raw_from, raw_to, product_id, batch_id, channel, province)
    figures = Dashboard()
    if not errors:
        try:
            figures = gather(db, viewer.org, settings, query)
        except DomainError as error:
            errors[getattr(error, "field", None) or "from"] = str(error)
    own = viewer.kind == Role.ENTERPRISE
    products = list_products(db, viewer.org) if own else []
    chosen = next((p for p in products if p.id == query.product_id), None)
    batches = list_batches(db, chosen) if chosen is not None else []
    context: dict[str, Any] = {
        "q": query,
        "errors": {name: _words(message, zh) for name, message in errors.items()},
        "figures": figures,
        "own": own,
        "minimum": settings.analytics_min_cell,
        "products": products,
        "batches": batches,
        "channels": [(c.value, _CHANNELS[c.value][0 if zh else 1]) for c in Channel],
        "tiles": _tiles(figures, query, lang),
        "grid": grid(),
        "province_name": place_name(query.province, lang) if query.province else "",
        "place_name": lambda code: place_name(code, lang),
        "verdict_name": lambda verdict: verdict_name(verdict, lang),
        "measure_name": lambda measure: measure_name(measure, lang),
        "evidence": lambda spot: _evidence(spot) if own else None,
        "export": lambda chart: query.link("/console/analytics/export.csv", chart=chart),
        # "<" escaped: the JSON sits in a <script> element and a name may hold "</script>".
        "chart_data": json.dumps(_chart_data(figures, lang), ensure_ascii=False).replace(
            "<", "\\u003c"
        ),
        "close": query.link("/console/analytics", province=""),
        "scans_link": query.link("/console/analytics/scans", batch_id="", channel=""),
        "week": week_label(last_week()),
        "bad_week": request.query_params.get("weekly") == "bad",
    }
    return page(request, "analytics.html", context, viewer=viewer)


def _again(request: Request, path: str, *, drop: str) -> str:
    """``path`` with the request's query but ``drop``."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != drop]
    return f"{path}?{urlencode(kept)}" if kept else path


def _lang(request: Request) -> str:
    return console_language(request)


def _tiles(figures: Dashboard, query: Filter, lang: str) -> list[dict[str, Any]]:
    """Each province's square: place, name, shown count, shade and drill-down link."""
    counts = {row.key: row for row in figures.provinces}
    top = max((numeric(row.scans) for row in figures.provinces if row.key), default=0)
    tiles = []
    for tile in grid().tiles:
        row = counts.get(tile.code)
        scans = row.scans if row is not None else 0
        tiles.append(
            {
                "code": tile.code,
                "row": tile.row + 1,
                "col": tile.col + 1,
                "name": tile.name(lang),
                "scans": scans,
                "shade": shade(scans, top),
                "current": tile.code == query.province,
                "link": query.link("/console/analytics", province=tile.code) + "#cities",
            }
        )
    return tiles


def _evidence(spot: HotSpotRead) -> str | None:
    """The brand's link to the scans behind a hot spot: the API's evidence query (days,
    province, product, verdict), read by the console's page of the same scans."""
    if spot.evidence is None:
        return None
    return "/console/analytics/scans?" + spot.evidence.partition("?")[2]


def _chart_data(figures: Dashboard, lang: str) -> dict[str, Any]:
    """What the page's script draws (static/console-dashboards.js): numbers for the
    drawing, and the shown text (a hidden count stays "<5") for its labels."""
    zh = lang == "zh-CN"

    def pair(value: Any) -> list[Any]:
        return [numeric(value), str(value)]

    return {
        "lang": lang,
        "names": {
            "scans": "查询总数" if zh else "Scans",
            "firsts": "首次查询" if zh else "First queries",
            "repeats": "重复查询" if zh else "Repeat queries",
            "trade": "渠道核验" if zh else "Trade checks",
        },
        "series": [
            {
                "day": row.key,
                **{k: pair(getattr(row, k)) for k in ("scans", "firsts", "repeats", "trade")},
            }
            for row in figures.series
        ],
        "verdicts": [
            {"name": verdict_name(row.key, lang), "value": pair(row.scans)}
            for row in figures.verdicts
        ],
        "cities": [
            {"name": place_name(row.key, lang), "value": pair(row.scans)} for row in figures.cities
        ],
        "flows": [
            {
                "from": flow.distributor,
                "to": place_name(flow.province, lang),
                "value": pair(flow.scans),
            }
            for flow in figures.flows
        ],
    }


@router.get("/console/analytics/export.csv")
def export_csv(
    request: Request,
    viewer: AnalyticsDep,
    db: SessionDep,
    settings: SettingsDep,
    chart: Annotated[str, Query(max_length=20)] = "series",
    raw_from: FromQ = "",
    raw_to: ToQ = "",
    product_id: Text = "",
    batch_id: Text = "",
    channel: Text = "",
    province: Text = "",
) -> Response:
    """One chart's figures as CSV, exactly as the page (and the API) shows them."""
    if chart not in CHARTS:
        raise ConsoleError(404, "chart")
    query, errors = _parse(raw_from, raw_to, product_id, batch_id, channel, province)
    # Filters the dashboard would refuse: back to it, where the refusal shows beside them.
    back = _again(request, "/console/analytics", drop="chart")
    if errors:
        return see_other(request, back)
    try:
        figures = gather(db, viewer.org, settings, query, charts=(chart,))
    except DomainError:
        return see_other(request, back)
    lang = _lang(request)
    body = csv_bytes(rows_of(chart, figures, lang))
    name = f"traceseal-{chart}-{query.start.isoformat()}-{query.end.isoformat()}.csv"
    response = Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
    return finish(request, response)


@router.get("/console/analytics/scans")
def evidence_scans(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    raw_from: FromQ = "",
    raw_to: ToQ = "",
    product_id: Text = "",
    province: Text = "",
    verdict: Text = "",
    before: Before = None,
) -> Response:
    """The brand's own scans behind a hot spot or figure, newest first, a page at a time."""
    zh = _lang(request) == "zh-CN"
    query, errors = _parse(raw_from, raw_to, product_id, "", "", province)
    picked = verdict if verdict in {v.value for v in Verdict} else None
    rows = []
    if not errors:
        filters = Filters(query.start, query.end, query.product_id)
        try:
            rows = scans_behind(
                db,
                viewer.org,
                filters,
                province=query.province,
                verdict=picked,
                before=before,
                limit=50,
            )
        except DomainError as error:
            errors[getattr(error, "field", None) or "from"] = str(error)
    product = db.get(Product, query.product_id) if query.product_id else None
    lang = "zh-CN" if zh else "en"
    here = {**query.params(), **({"verdict": picked} if picked else {})}
    older = None
    if len(rows) == 50:
        older = Filter(query.start, query.end).link(
            "/console/analytics/scans", **here, before=rows[-1].id
        )
    context = {
        "rows": rows,
        "q": query,
        "errors": {name: _words(message, zh) for name, message in errors.items()},
        "product": product
        if product is not None and product.organization_id == viewer.org.id
        else None,
        "verdict": verdict_name(picked, lang) if picked else "",
        "province_name": place_name(query.province, lang) if query.province else "",
        "region": lambda code: table().label(code, lang) if code else ("—"),
        "verdict_name": lambda value: verdict_name(value, lang),
        "channel_name": lambda value: _CHANNELS.get(value, (value, value))[0 if zh else 1],
        "older": older,
        "first": Filter(query.start, query.end).link("/console/analytics/scans", **here)
        if before
        else None,
        "back": query.link("/console/analytics", province=query.province or ""),
    }
    return page(request, "analytics_scans.html", context, viewer=viewer)


@router.get("/console/analytics/weekly.pdf")
def weekly(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    settings: SettingsDep,
    week: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    """The brand's summary of one ISO week (Monday to Sunday, CST) as a PDF."""
    try:
        monday = parse_week(week) if week else last_week()
    except ValueError:
        return see_other(request, "/console/analytics?weekly=bad")
    lang = _lang(request)
    query = Filter(monday, monday + timedelta(days=6))
    figures = gather(db, viewer.org, settings, query)  # a week is always a valid range
    body = weekly_pdf(viewer.org.name, query, figures, lang, made=datetime.now().astimezone())
    label = week_label(monday)
    response = Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="traceseal-week-{label}.pdf"'},
    )
    return finish(request, response)


__all__ = ["MENU", "SHADES", "router"]
