"""The figures of the analytics dashboards, read through the analytics API's own handlers.

The console is an edge like the API: it calls the very functions that answer
``/api/v1/analytics/...`` (analytics/api.py) with the signed-in person's organisation, so
the tenancy (a brand its own, a distributor its territory, regulators and the operator
across brands) and the small-cell rule ("<5" for anyone but the brand owner) are the
API's, never a second copy of them. This module only arranges the answers for the page,
the CSV exports and the weekly PDF (docs/analytics.md, "Dashboards").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceseal.analytics import api
from traceseal.analytics.schemas import Count, FiguresRead, FlowRead, HotSpotRead
from traceseal.config import Settings
from traceseal.geo.regions import table
from traceseal.geo.tiles import grid
from traceseal.orgs.models import Organization
from traceseal.registry.models import Product
from traceseal.verify.models import Channel
from traceseal.verify.rollups import CHINA

__all__ = [
    "CHARTS",
    "Dashboard",
    "Query",
    "csv_bytes",
    "gather",
    "numeric",
    "place_name",
    "rows_of",
]

#: The charts a CSV export can be asked for.
CHARTS = ("series", "verdicts", "provinces", "cities", "flows", "hotspots")
#: Shades of the tile map, lightest first (0 scans is the page's background).
SHADES = 5

_VERDICTS_ZH = {
    "genuine": "正品（首次查询）",
    "genuine_repeat": "正品（重复查询）",
    "suspicious": "可疑",
    "inactive": "未激活",
    "void": "已作废",
    "recalled": "已召回",
    "not_found": "查无此码",
    "mistyped": "输入有误",
}
_VERDICTS_EN = {
    "genuine": "Genuine (first query)",
    "genuine_repeat": "Genuine (queried before)",
    "suspicious": "Suspicious",
    "inactive": "Not activated",
    "void": "Void",
    "recalled": "Recalled",
    "not_found": "No such code",
    "mistyped": "Mistyped",
}
_MEASURES = {
    "suspicious_rate": ("可疑率", "Suspicious rate"),
    "repeat_rate": ("重复查询率", "Repeat rate"),
    "not_found": ("查无此码", "Made-up codes"),
}


@dataclass(frozen=True)
class Query:
    """The dashboard's filters, as parsed from its GET form."""

    start: date
    end: date
    product_id: int | None = None
    batch_id: int | None = None
    channel: Channel | None = None
    province: str | None = None

    def params(self, **changes: object) -> dict[str, str]:
        """The filters as query parameters (for links that keep them)."""
        found: dict[str, object] = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "product_id": self.product_id,
            "batch_id": self.batch_id,
            "channel": None if self.channel is None else self.channel.value,
            "province": self.province,
        }
        found |= changes
        return {k: str(v) for k, v in found.items() if v not in (None, "")}

    def link(self, path: str, **changes: object) -> str:
        return f"{path}?{urlencode(self.params(**changes))}"


def default_range(today: date | None = None) -> tuple[date, date]:
    """The API's default: the 30 days ending today (China Standard Time)."""
    last = today or datetime.now(CHINA).date()
    return last - timedelta(days=29), last


@dataclass
class Dashboard:
    """Every figure of one page, as the API answers them to this viewer."""

    series: list[FiguresRead] = field(default_factory=list)
    verdicts: list[FiguresRead] = field(default_factory=list)
    provinces: list[FiguresRead] = field(default_factory=list)
    cities: list[FiguresRead] = field(default_factory=list)
    flows: list[FlowRead] = field(default_factory=list)
    hotspots: list[HotSpotRead] = field(default_factory=list)
    #: The names of the products the hot spots name (0: made-up codes, no product).
    products: dict[int, str] = field(default_factory=dict)

    def product(self, product_id: int, lang: str) -> str:
        if product_id == 0:
            return "（查无此码）" if lang == "zh-CN" else "(no such code)"
        return self.products.get(product_id, str(product_id))


def gather(
    session: Session,
    viewer: Organization,
    settings: Settings,
    query: Query,
    charts: Iterable[str] = CHARTS,
) -> Dashboard:
    """The charts asked for, each from its API handler. Raises the services' errors
    (InvalidInput for a bad range, Forbidden for a kind analytics are not for)."""
    wanted = set(charts)
    common = (query.start, query.end, query.product_id, query.batch_id)
    found = Dashboard()
    if "series" in wanted:
        found.series = api.get_series(session, viewer, settings, *common, query.channel)
    if "verdicts" in wanted:
        found.verdicts = api.get_verdicts(session, viewer, settings, *common, query.channel)
    if "provinces" in wanted:
        found.provinces = api.get_regions(session, viewer, settings, *common, query.channel)
    if "cities" in wanted and query.province:
        found.cities = api.get_regions(
            session, viewer, settings, *common, query.channel, query.province
        )
        found.cities.sort(key=lambda row: (-numeric(row.scans), row.key))
    if "flows" in wanted:
        found.flows = api.get_flows(session, viewer, settings, *common)
    if "hotspots" in wanted:
        found.hotspots = api.get_hotspots(session, viewer, settings, query.end, query.product_id)
        ids = {spot.product_id for spot in found.hotspots} - {0}
        if ids:
            named = select(Product.id, Product.name).where(Product.id.in_(ids))
            found.products = {int(key): str(name) for key, name in session.execute(named)}
    return found


def numeric(value: Count) -> int:
    """A count for drawing: a hidden small count ("<5") is drawn as 1, never as its truth."""
    if isinstance(value, int):
        return value
    return 1


def place_name(code: str, lang: str) -> str:
    """A province's or city's name ('' is the scans that could not be placed)."""
    zh = lang == "zh-CN"
    if not code:
        return "未能定位" if zh else "Not placed"
    tile = grid().by_code().get(code)
    if tile is not None:
        return tile.name(lang)
    region = table().get(code)
    if region is None:
        return code
    if region.name_zh in ("市辖区", "县"):
        # A municipality's districts sit under a placeholder city: name it after the province.
        return place_name(code[:2] + "0000", lang)
    return region.name_zh if zh else (region.name_en or region.name_zh)


def verdict_name(verdict: str, lang: str) -> str:
    names = _VERDICTS_ZH if lang == "zh-CN" else _VERDICTS_EN
    return names.get(verdict, verdict)


def measure_name(measure: str, lang: str) -> str:
    zh, en = _MEASURES.get(measure, (measure, measure))
    return zh if lang == "zh-CN" else en


def shade(value: Count, top: int) -> int:
    """The tile's shade, 0 (no scans) to SHADES, in equal steps of the largest count."""
    number = numeric(value)
    if number <= 0 or top <= 0:
        return 0
    return max(1, min(SHADES, -(-number * SHADES // top)))


_COUNT_HEADS = {
    "zh-CN": ["查询总数", "首次查询", "重复查询", "渠道核验"],
    "en": ["Scans", "First queries", "Repeat queries", "Trade checks"],
}


def rows_of(chart: str, figures: Dashboard, lang: str) -> list[list[object]]:
    """The chart's table: a header row, then one row per figure, values as the API gives
    them (a hidden count stays "<5")."""
    zh = lang == "zh-CN"
    counts = _COUNT_HEADS["zh-CN" if zh else "en"]

    def tally(row: FiguresRead) -> list[object]:
        return [row.scans, row.firsts, row.repeats, row.trade]

    if chart == "series":
        head: list[object] = ["日期" if zh else "Day", *counts]
        return [head, *([row.key, *tally(row)] for row in figures.series)]
    if chart == "verdicts":
        head = ["验证结果" if zh else "Verdict", "代码" if zh else "Code", *counts]
        return [
            head,
            *([verdict_name(row.key, lang), row.key, *tally(row)] for row in figures.verdicts),
        ]
    if chart in ("provinces", "cities"):
        rows = figures.provinces if chart == "provinces" else figures.cities
        head = ["地区" if zh else "Region", "区划代码" if zh else "GB/T 2260", *counts]
        return [head, *([place_name(row.key, lang), row.key, *tally(row)] for row in rows)]
    if chart == "flows":
        head = (
            ["经销商", "授权区域", "省份", "城市", "查询数", "其中渠道核验"]
            if zh
            else ["Distributor", "Territory", "Province", "City", "Scans", "Of which trade"]
        )
        return [
            head,
            *(
                _row(
                    flow.distributor,
                    " ".join(place_name(code, lang) for code in flow.territory),
                    place_name(flow.province, lang),
                    place_name(flow.city, lang),
                    flow.scans,
                    flow.trade,
                )
                for flow in figures.flows
            ),
        ]
    if chart == "hotspots":
        head = (
            ["省份", "产品", "指标", "本周值", "基线", "偏离(z)", "起", "止", "查询", "可疑"]
            if zh
            else [
                "Province",
                "Product",
                "Measure",
                "Value",
                "Baseline",
                "z",
                "From",
                "To",
                "Scans",
                "Suspicious",
            ]
        )
        return [
            head,
            *(
                _row(
                    place_name(spot.province, lang),
                    figures.product(spot.product_id, lang),
                    measure_name(spot.measure, lang),
                    spot.value,
                    spot.baseline,
                    spot.z,
                    spot.start,
                    spot.end,
                    spot.scans,
                    spot.suspicious,
                )
                for spot in figures.hotspots
            ),
        ]
    raise ValueError(f"no chart {chart!r}")


def _row(*values: object) -> list[object]:
    return list(values)


#: A cell starting with one of these is read as a formula by spreadsheet programs.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP's
    advice for CSV injection); numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def csv_bytes(rows: Sequence[Sequence[object]]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel on a Chinese Windows reads it as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_safe(value) for value in row])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
