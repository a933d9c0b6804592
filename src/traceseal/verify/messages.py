"""What a verdict says to a person, in zh-CN and en."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from traceseal.verify.models import Verdict
from traceseal.verify.regions import region_name
from traceseal.verify.service import Verification

LANGS = ("zh-CN", "en")

#: Consumers read times in China Standard Time (UTC+8, no daylight saving).
CHINA_TIME = timezone(timedelta(hours=8), "CST")

_TITLES = {
    Verdict.GENUINE: ("正品", "Genuine"),
    Verdict.GENUINE_REPEAT: ("正品（已被查询过）", "Genuine, checked before"),
    Verdict.SUSPICIOUS: ("可疑", "Suspicious"),
    Verdict.INACTIVE: ("未激活的防伪码", "Code not activated"),
    Verdict.VOID: ("已作废的防伪码", "Code void"),
    Verdict.RECALLED: ("正品，但已召回", "Genuine, but recalled"),
    Verdict.NOT_FOUND: ("查无此码", "No such code"),
    Verdict.MISTYPED: ("防伪码有误", "Code mistyped"),
}

_REASONS = {
    "gtin_mismatch": (
        "这个防伪码属于另一种产品，标签可能是仿冒的。",
        "This code belongs to a different product: the label may have been copied.",
    ),
    "lot_mismatch": (
        "二维码中的批号与该防伪码的批次不符。",
        "The lot in the QR code does not match this code's batch.",
    ),
    "scan_limit": (
        "该防伪码被查询的次数超过正常范围，可能已被复制。",
        "This code has been checked more often than a genuine label is: it may have been copied.",
    ),
    # Risk signals (docs/logistics.md).
    "impossible_travel": (
        "该防伪码在相距很远的两地先后被查询，间隔时间不足以往返，标签可能已被复制。",
        "This code was checked in two places too far apart for the time between: "
        "the label may have been copied.",
    ),
    "many_devices": (
        "该防伪码已被许多不同的手机查询，标签可能已被复制。",
        "This code has been checked from many different phones: the label may have been copied.",
    ),
    "unshipped_region": (
        "该产品从未发往本地区，却在此被再次查询。",
        "This product was never shipped to this region, yet its code is checked here again.",
    ),
    "under_investigation": (
        "品牌方正在调查这个防伪码（疑似标签被复制或产品被窜货），请谨慎购买，如有疑问请举报。",
        "The brand is investigating this code (its label may have been copied, or the goods "
        "sold outside their region): be careful, and report it if in doubt.",
    ),
    "sequential_burst": (
        "同一客户端刚刚首次查询了大量连号的防伪码。",
        "The same client has just checked many consecutive codes for the first time.",
    ),
}


#: What an error page says, by what went wrong (the JSON answer keeps the technical detail).
_PAGE_ERRORS = {
    "bad_link": (
        "这个链接不是有效的产品二维码链接，可能扫描不完整或被改动过。请直接输入标签上的20位防伪码。",
        "This link is not a valid product label link: it may be incomplete or altered. "
        "Type the 20-digit code from the label instead.",
    ),
    "unknown_product": (
        "平台上没有登记这个产品。请核对标签，或直接输入20位防伪码。",
        "This product is not registered here. Check the label, or type its 20-digit code.",
    ),
    "not_found": (
        "找不到这个页面。请输入标签上的20位防伪码查询。",
        "This page was not found. Type the 20-digit code from the label to check it.",
    ),
    "wait": (
        "查询过于频繁，请稍后再试。",
        "Too many checks from here: please wait a moment and try again.",
    ),
}


def page_error(key: str, lang: str) -> str:
    zh, en = _PAGE_ERRORS[key]
    return zh if lang == "zh-CN" else en


# Input errors shown on pages, by field. English pages show the service's own detail.
_INPUT_ERRORS_ZH = {
    "code": "防伪码为20位数字（0-9），可含空格或横线，请核对后重新输入。",
    "description": "请填写购买地点或情况说明，或附上照片。",
    "photo": "照片须为 JPEG、PNG、WebP 或 GIF 格式，且不超过大小限制。",
    "where_bought": "购买地点太长。",
    "contact": "联系方式太长。",
}


def input_error(field: str | None, detail: str, lang: str) -> str:
    """What a page says about bad input in ``field``."""
    if lang == "zh-CN":
        return _INPUT_ERRORS_ZH.get(field or "", "输入有误，请检查后重试。")
    return detail


def title(verdict: Verdict, lang: str) -> str:
    zh, en = _TITLES[verdict]
    return zh if lang == "zh-CN" else en


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def local_time(at: datetime | None, lang: str = "zh-CN") -> str:
    """A moment as a person in China reads it: 2026年11月3日 14:05, or 3 Nov 2026, 14:05."""
    if at is None:
        return ""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    at = at.astimezone(CHINA_TIME)
    if lang == "zh-CN":
        return f"{at.year}年{at.month}月{at.day}日 {at:%H:%M}"
    return f"{at.day} {_MONTHS[at.month - 1]} {at.year}, {at:%H:%M}"


#: Verdicts whose message depends on nothing but the language: (zh-CN, English).
_FIXED: dict[Verdict, tuple[str, str]] = {
    Verdict.GENUINE: (
        "这是正品，本次是该防伪码的首次查询。",
        "This is a genuine product, and this is the first check of its code.",
    ),
    Verdict.INACTIVE: (
        "该防伪码已发行但尚未激活：正品出厂前会激活防伪码。请向商家核实，或举报。",
        "This code was issued but never activated: genuine products leave the "
        "factory with active codes. Ask the seller, or report it.",
    ),
    Verdict.VOID: (
        "该防伪码已作废（标签遗失或被盗），贴有它的产品可能是仿冒品。",
        "This code is void (its labels were lost or stolen): the product carrying "
        "it may be counterfeit.",
    ),
    Verdict.NOT_FOUND: (
        "查无此码：该防伪码从未发行，产品很可能是仿冒品。",
        "No such code was ever issued: the product is probably counterfeit.",
    ),
    Verdict.MISTYPED: (
        "防伪码校验未通过，很可能是输入有误。请核对后重新输入。",
        "The code's check digit does not match, so it was most likely mistyped. "
        "Please check it and enter it again.",
    ),
}


def message(result: Verification, lang: str) -> str:
    zh = lang == "zh-CN"
    match result.verdict:
        case Verdict.GENUINE_REPEAT:
            return _repeat(result, lang)
        case Verdict.SUSPICIOUS:
            reasons = [_REASONS[r][0 if zh else 1] for r in result.reasons if r in _REASONS]
            lead = "该产品可疑。" if zh else "This product is suspicious. "
            return lead + ("".join(reasons) if zh else " ".join(reasons))
        case Verdict.RECALLED:
            recall = result.recall
            instructions = recall.instructions if recall else ""
            return (
                f"这是正品，但所属批次已被召回，请停止使用。{instructions}"
                if zh
                else f"This product is genuine, but its batch has been recalled: stop using it. "
                f"{instructions}"
            ).strip()
    return _FIXED[result.verdict][0 if zh else 1]


def _repeat(result: Verification, lang: str) -> str:
    first = local_time(result.first_scan_at, lang)
    where = region_name(result.first_region, lang)
    if lang == "zh-CN":
        place = f"，地点 {where}" if where else ""
        return (
            f"这是正品防伪码，已被查询 {result.scan_count} 次，首次查询时间 {first}"
            f"{place}。如果首次查询的不是您，请谨慎购买。"
        )
    place = f" in {where}" if where else ""
    return (
        f"This genuine code has been checked {result.scan_count} times, first on "
        f"{first} (China time){place}. If that first check was not yours, be careful."
    )
