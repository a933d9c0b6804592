"""A regulator's console: read-only views across every brand (the regulator's remit in
orgs/tenancy.py is OVERSIGHT, every tenant's data; there is no regional remit in the
model), each table also a CSV download with exactly the page's rows and columns.

Nothing here writes. The counterfeit-report page shows counts only (verify/reports/
stats.py): no report text, contact, photo or hashes, nothing that could name a consumer.
A regulator's own writes (sampling results it publishes) are in sampling.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from traceseal.alerts import service as alerts
from traceseal.bounds import MAX_ID
from traceseal.console.csvout import csv_response
from traceseal.console.deps import RegulatorDep, Viewer, check_csrf, console_language
from traceseal.console.menu import only
from traceseal.console.render import page
from traceseal.db import utcnow
from traceseal.geo.regions import table as regions
from traceseal.orgs.models import Role
from traceseal.orgs.service import list_organizations
from traceseal.quality import listing, programmes
from traceseal.quality.models import Kind, QualityRecord
from traceseal.quality.service import effective_status
from traceseal.recalls.service import list_recalls
from traceseal.verify.reports.stats import report_counts
from traceseal.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])
Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]
PageNo = Annotated[int, Query(ge=1, le=100_000)]

MENU = (
    only(Role.REGULATOR, "/console/oversight/sampling", "抽检结果", "Sampling results", order=20),
    only(Role.REGULATOR, "/console/oversight/recalls", "召回", "Recalls", order=21),
    only(
        Role.REGULATOR,
        "/console/oversight/reports",
        "假冒举报统计",
        "Counterfeit reports",
        order=22,
    ),
    only(Role.REGULATOR, "/console/oversight/alerts", "告警", "Alerts", order=23),
    only(Role.REGULATOR, "/console/oversight/ratings", "信用评级", "Credit ratings", order=24),
    only(Role.REGULATOR, "/console/oversight/programmes", "标识项目", "Label programmes", order=25),
)

#: Rows on one page; a download holds up to EXPORT_ROWS (the newest).
PAGE_ROWS = 50
EXPORT_ROWS = 10_000
#: Lists whose services give the newest N without paging back.
LATEST = 500


@dataclass(frozen=True)
class Link:
    """A cell that links somewhere on the page; in the CSV, its text."""

    text: str
    href: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Ask:
    """What a table is asked for: by whom, in which language, which page, how many rows."""

    db: Session
    viewer: Viewer
    zh: bool
    before: int | None
    limit: int


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[Any]]
    empty: str
    note: str = ""
    older: int | None = None


_WORDS = {
    "pass": ("合格", "pass"),
    "fail": ("不合格", "fail"),
    "valid": ("有效", "valid"),
    "expired": ("已过期", "expired"),
    "suspended": ("暂停", "suspended"),
    "withdrawn": ("已撤销", "withdrawn"),
    "active": ("已激活", "active"),
    "issued": ("已发放未激活", "issued, not activated"),
    "void": ("已作废", "void"),
    "not_found": ("查无此码", "no such code"),
    "open": ("未处理", "open"),
    "acknowledged": ("已处理", "acknowledged"),
    "in force": ("生效中", "in force"),
    "info": ("提示", "info"),
    "warning": ("警告", "warning"),
    "critical": ("严重", "critical"),
    "ended": ("已结束", "ended"),
}


def _w(value: str, zh: bool) -> str:
    pair = _WORDS.get(value)
    return value if pair is None else pair[0 if zh else 1]


def _day(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def _record_link(record: QualityRecord | None, zh: bool) -> Link | str:
    if record is None:
        return ""
    text = f"{'日志序号' if zh else 'log index'} {record.leaf_index}"
    return Link(text, f"/api/v1/quality/records/{record.id}")


def _product(record: QualityRecord) -> str:
    return f"{record.product.name} ({record.product.gtin})" if record.product else ""


def _sampling(ask: Ask) -> Table:
    db, zh, before, limit = ask.db, ask.zh, ask.before, ask.limit
    rows = listing.records(db, (Kind.SAMPLING,), before=before, limit=limit)
    return Table(
        "抽检结果" if zh else "Sampling results",
        ["发布日期", "抽检活动", "企业", "产品", "批号", "结果", "发布机构", "签名记录"]
        if zh
        else [
            "Published",
            "Campaign",
            "Enterprise",
            "Product",
            "Lot",
            "Result",
            "Published by",
            "Signed record",
        ],
        [
            [
                _day(r.issued_on),
                r.number,
                r.enterprise.name if r.enterprise else "",
                _product(r),
                r.batch.lot if r.batch else ("全部批次" if zh else "every lot"),
                _w(r.outcome, zh),
                r.issuer.name,
                _record_link(r, zh),
            ]
            for r in rows.items
        ],
        "还没有抽检结果。" if zh else "No sampling results yet.",
        older=rows.older,
    )


def _ratings(ask: Ask) -> Table:
    db, zh, before, limit = ask.db, ask.zh, ask.before, ask.limit
    rows = listing.records(db, (Kind.CREDIT,), before=before, limit=limit)
    today = utcnow().date()
    return Table(
        "信用评级" if zh else "Credit ratings",
        ["企业", "等级", "起始", "截止", "状态", "评级机构", "签名记录"]
        if zh
        else ["Enterprise", "Grade", "From", "Until", "Status", "Rated by", "Signed record"],
        [
            [
                r.enterprise.name if r.enterprise else "",
                r.outcome,
                _day(r.issued_on),
                _day(r.valid_until),
                _w(effective_status(r, today), zh),
                r.issuer.name,
                _record_link(r, zh),
            ]
            for r in rows.items
        ],
        "还没有信用评级。" if zh else "No credit ratings yet.",
        older=rows.older,
    )


def _recalls(ask: Ask) -> Table:
    db, zh, limit = ask.db, ask.zh, ask.limit
    found = list_recalls(db, active_only=False, limit=min(limit, LATEST))
    return Table(
        "召回" if zh else "Recalls",
        ["发布时间", "企业", "产品", "批号", "原因", "发布机构", "状态", "签名记录"]
        if zh
        else [
            "Announced",
            "Enterprise",
            "Product",
            "Lot",
            "Reason",
            "Announced by",
            "State",
            "Signed record",
        ],
        [
            [
                _day(r.announced_at),
                r.product.organization.name,
                f"{r.product.name} ({r.product.gtin})",
                r.batch.lot if r.batch else ("全部批次" if zh else "every lot"),
                r.reason,
                r.announced_by.name,
                _w("in force" if r.ended_at is None else "ended", zh),
                _record_link(r.record, zh),
            ]
            for r in found
        ],
        "没有召回。" if zh else "No recalls.",
        note=(f"最近 {LATEST} 条。" if zh else f"The latest {LATEST}.")
        if len(found) >= LATEST
        else "",
    )


def _alerts(ask: Ask) -> Table:
    db, viewer, zh, limit = ask.db, ask.viewer, ask.zh, ask.limit
    found = alerts.list_alerts(db, viewer.org, limit=min(limit, LATEST))
    brands = {o.id: o.name for o in list_organizations(db, Role.ENTERPRISE)}
    names = regions()
    lang = "zh-CN" if zh else "en"
    return Table(
        "告警" if zh else "Alerts",
        ["时间", "类型", "级别", "企业", "内容", "地区", "状态"]
        if zh
        else ["Raised", "Kind", "Severity", "Enterprise", "Summary", "Region", "State"],
        [
            [
                _day(a.raised_at),
                a.kind,
                _w(a.severity, zh),
                brands.get(a.organization_id or 0, "平台" if zh else "platform"),
                a.summary,
                names.label(a.region, lang),
                _w("open" if a.acknowledged_at is None else "acknowledged", zh),
            ]
            for a in found
        ],
        "没有告警。" if zh else "No alerts.",
        note=(f"最近 {LATEST} 条。" if zh else f"The latest {LATEST}.")
        if len(found) >= LATEST
        else "",
    )


def _programmes(ask: Ask) -> Table:
    db, zh, limit = ask.db, ask.zh, ask.limit
    found = programmes.list_programmes(db)[:limit]
    return Table(
        "标识项目" if zh else "Label programmes",
        ["名称", "英文名称", "说明", "设立机构", "签名记录"]
        if zh
        else ["Name", "English name", "Description", "Defined by", "Signed record"],
        [
            [p.name, p.name_en, p.description, p.record.issuer.name, _record_link(p.record, zh)]
            for p in found
        ],
        "还没有标识项目。" if zh else "No label programmes yet.",
    )


def _reports(ask: Ask) -> Table:
    db, viewer, zh, limit = ask.db, ask.viewer, ask.zh, ask.limit
    counts = report_counts(db, viewer.org)
    names = regions()
    unknown = "未注明" if zh else "not stated"
    rows = []
    for c in counts[:limit]:
        region = names.get(c.province) if c.province else None
        province = region.name("zh-CN" if zh else "en") if region else unknown
        product = f"{c.product} ({c.gtin})" if c.gtin else ("未知产品" if zh else "unknown product")
        brand = c.brand or ("未知企业" if zh else "unknown brand")
        rows.append([brand, product, province, _w(c.state, zh), c.reports])
    return Table(
        "假冒举报统计" if zh else "Counterfeit report statistics",
        ["企业", "产品", "省份（按购买地点）", "防伪码状态", "举报数"]
        if zh
        else ["Brand", "Product", "Province (from where bought)", "Code state", "Reports"],
        rows,
        "还没有假冒举报。" if zh else "No counterfeit reports yet.",
        note=(
            "只显示数量，不含举报人的任何信息。省份取自举报人填写的购买地点。"
            if zh
            else "Counts only: nothing about who reported. The province is read from where "
            "the reporter said they bought the item."
        ),
    )


Builder = Callable[[Ask], Table]
#: path segment: (the table, its file name, whether it pages back by id)
TABLES: dict[str, tuple[Builder, str, bool]] = {
    "sampling": (_sampling, "sampling-results", True),
    "recalls": (_recalls, "recalls", False),
    "reports": (_reports, "counterfeit-reports", False),
    "alerts": (_alerts, "alerts", False),
    "ratings": (_ratings, "credit-ratings", True),
    "programmes": (_programmes, "label-programmes", False),
}


def _show(name: str) -> Callable[..., Response]:
    build, _, pages = TABLES[name]

    def show(
        request: Request, viewer: RegulatorDep, db: SessionDep, before: Before = None
    ) -> Response:
        zh = console_language(request) == "zh-CN"
        found = build(Ask(db, viewer, zh, before, PAGE_ROWS if pages else EXPORT_ROWS))
        path = request.url.path
        context = {
            "table": found,
            "export": f"{path}/export.csv",
            "older": f"{path}?before={found.older}" if found.older else None,
            "first": path if before else None,
        }
        return page(request, "oversight/table.html", context, viewer=viewer)

    return show


def _export(name: str) -> Callable[..., Response]:
    build, filename, _ = TABLES[name]

    def export(request: Request, viewer: RegulatorDep, db: SessionDep) -> Response:
        zh = console_language(request) == "zh-CN"
        found = build(Ask(db, viewer, zh, None, EXPORT_ROWS))
        day = utcnow().strftime("%Y%m%d")
        return csv_response(request, f"{filename}-{day}.csv", found.header, found.rows)

    return export


def _register() -> None:
    for name in TABLES:
        router.add_api_route(f"/console/oversight/{name}", _show(name), methods=["GET"])
        router.add_api_route(
            f"/console/oversight/{name}/export.csv", _export(name), methods=["GET"]
        )


_register()


def home_cards(db: Session, viewer: Viewer) -> dict[str, Any]:
    """The regulator's home: what is in force and open across the market today."""
    counts = report_counts(db, viewer.org)
    return {
        "recalls": len(list_recalls(db, limit=LATEST)),
        "open_alerts": len(alerts.list_alerts(db, viewer.org, unacknowledged=True, limit=LATEST)),
        "reports": sum(c.reports for c in counts),
        "latest_sampling": listing.records(db, (Kind.SAMPLING,), limit=5).items,
        "mine": listing.counts_by_kind(db, viewer.org.id).get(Kind.SAMPLING.value, 0),
        "limit": LATEST,
    }
