"""Plain words for the brand's workflow pages: alert kinds, states and outcomes, report
states, and an alert's evidence as lines a quality manager reads (no ids, no JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from traceseal.geo.regions import table

#: (zh-CN, English) per value.
Words = dict[str, tuple[str, str]]

ALERT_KINDS: Words = {
    "diversion": ("窜货：在销售区域外扫码", "Diverted: scanned outside its territory"),
    "clone": ("疑似复制码", "Looks copied"),
    "sequential_burst": ("连号批量查询", "Consecutive codes queried in bulk"),
    "enumeration_burst": ("平台遭猜码攻击", "Codes being guessed platform-wide"),
    "hot_spot": ("某地区数据异常", "A region stands out this week"),
}
#: The figures a hot spot is judged on (analytics/hotspots.py MEASURES).
HOT_SPOT_MEASURES: Words = {
    "suspicious_rate": ("可疑结果占比", "Share of suspicious answers"),
    "repeat_rate": ("重复查询占比", "Share of repeat queries"),
    "not_found": ("伪造码（平台上没有的码）次数", "Made-up codes (not on the platform)"),
}
ALERT_STATES: Words = {
    "open": ("待处理", "Open"),
    "investigating": ("调查中", "Investigating"),
    "closed": ("已关闭", "Closed"),
}
OUTCOMES: Words = {
    "counterfeit": ("确认假货", "Confirmed counterfeit"),
    "diverted": ("确认窜货", "Diverted goods"),
    "false_alarm": ("误报", "False alarm"),
    "other": ("其他", "Other"),
}
SEVERITIES: Words = {
    "info": ("提示", "Note"),
    "warning": ("注意", "Warning"),
    "critical": ("严重", "Critical"),
}
REPORT_STATES: Words = {
    "new": ("新举报", "New"),
    "investigating": ("调查中", "Investigating"),
    "resolved": ("已处理", "Resolved"),
    "rejected": ("不予受理", "Rejected"),
}
CODE_STATUSES: Words = {
    "not_found": ("平台上没有此码", "No such code on the platform"),
    "issued": ("已发码，未激活", "Issued, not activated"),
    "active": ("已激活（正品码）", "Active (a genuine code)"),
    "void": ("已作废", "Voided"),
}
SIGNALS: Words = {
    "many_devices": ("被很多台手机查询过", "queried from many phones"),
    "impossible_travel": ("短时间内相距很远的两地都有查询", "queried far apart too quickly"),
    "unshipped_region": ("在未发货的地区重复查询", "queried again where it was not shipped"),
    "sequential_burst": ("有人在批量查询连号", "consecutive codes queried in bulk"),
}


def word(words: Words, value: str | None, zh: bool) -> str:
    if value is None:
        return "—"
    found = words.get(value)
    return value if found is None else found[0 if zh else 1]


@dataclass(frozen=True)
class Line:
    """One line of evidence: what, in both languages, and its value (already worded)."""

    zh: str
    en: str
    value: str
    #: Where the value leads (the scans behind a hot spot), if anywhere.
    href: str | None = None


def evidence(kind: str, details: dict[str, Any], zh: bool) -> list[Line]:
    """An alert's details as lines; keys the pages do not know are left out, not dumped."""
    regions = table()
    lang = "zh-CN" if zh else "en"
    lines = []
    if details.get("code"):
        code = str(details["code"])
        grouped = " ".join(code[i : i + 4] for i in range(0, len(code), 4))
        lines.append(Line("防伪码", "Code", grouped))
    if details.get("lot"):
        lines.append(Line("批号", "Lot", str(details["lot"])))
    if details.get("distributor"):
        lines.append(Line("负责的经销商", "Distributor responsible", str(details["distributor"])))
    if kind == "diversion":
        expected = [regions.label(r, lang) for r in details.get("expected_regions") or []]
        if expected:
            lines.append(Line("应销售区域", "Its territory", "、".join(expected)))
        if details.get("actual_region"):
            lines.append(
                Line("实际扫码地点", "Scanned in", regions.label(details["actual_region"], lang))
            )
        trade = details.get("trade_scan")
        lines.append(
            Line(
                "扫码人",
                "Scanned by",
                ("经销商或门店" if zh else "a trader (distributor or shop)")
                if trade
                else ("消费者" if zh else "a consumer"),
            )
        )
    if kind == "clone":
        signals = [word(SIGNALS, s, zh) for s in details.get("signals") or []]
        if signals:
            lines.append(Line("可疑之处", "What looks wrong", "；".join(signals)))
        if details.get("score") is not None:
            lines.append(Line("风险分（满分100）", "Risk (out of 100)", str(details["score"])))
        if details.get("devices"):
            lines.append(Line("查询过的手机数", "Phones that queried it", str(details["devices"])))
        if details.get("region"):
            lines.append(
                Line("最近扫码地点", "Last scanned in", regions.label(details["region"], lang))
            )
    if kind == "hot_spot":
        lines += _hot_spot(details, zh, lang)
    if kind in ("sequential_burst", "enumeration_burst"):
        count = details.get("count") or details.get("threshold")
        if count:
            lines.append(Line("查询次数", "Queries", str(count)))
    return lines


def _hot_spot(details: dict[str, Any], zh: bool, lang: str) -> list[Line]:
    measure = str(details.get("measure", ""))
    rate = measure.endswith("_rate")

    def shown(value: object) -> str:
        number = float(value) if isinstance(value, int | float) else 0.0
        return f"{number:.1%}" if rate else f"{number:g}"

    lines = [
        Line("地区", "Region", table().label(str(details.get("province", "")), lang)),
        Line("指标", "Figure", word(HOT_SPOT_MEASURES, measure, zh)),
        Line(
            "本周 / 往常",
            "This week / usually",
            f"{shown(details.get('value'))} / {shown(details.get('baseline'))}",
        ),
        Line("时间", "Week", f"{details.get('start', '')} – {details.get('end', '')}"),
    ]
    evidence = str(details.get("evidence", ""))
    if "?" in evidence:
        # The console's own page of the scans behind it (the API path names the query).
        link = "/console/analytics/scans?" + evidence.partition("?")[2]
        lines.append(
            Line("相关扫码记录", "The scans behind it", "查看" if zh else "See them", link)
        )
    return lines


def page_link(path: str, params: dict[str, str], **changes: object) -> str:
    """``path`` with the page's query (``lang`` dropped: the cookie keeps it) changed."""
    kept = {k: v for k, v in params.items() if k != "lang"}
    for key, value in changes.items():
        if value == "" or value is None:
            kept.pop(key, None)
        else:
            kept[key] = str(value)
    return f"{path}?{urlencode(kept)}" if kept else path
