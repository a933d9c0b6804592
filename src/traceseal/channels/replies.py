"""What a channel answers, in a few words: zh-CN and English, at most 70 characters.

One SMS segment holds 70 characters of Chinese (UCS-2), so every reply fits one; WeChat's
passive replies use the same text. The verdict comes from the verification core; only its
wording is made here (the web page's longer messages are ``verify/messages.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from traceseal.verify.messages import CHINA_TIME
from traceseal.verify.models import Verdict
from traceseal.verify.records import Verification

__all__ = ["SMS_LIMIT", "fixed", "reply", "sentence"]

#: Characters of one SMS segment when the text needs UCS-2 (any Chinese character).
SMS_LIMIT = 70

_SENTENCES: dict[Verdict, tuple[str, str]] = {
    Verdict.GENUINE: ("正品，本次为首次查询。", "Genuine: this is the first check of its code."),
    Verdict.SUSPICIOUS: (
        "可疑：标签可能被复制，请谨慎购买并举报。",
        "Suspicious: the label may be a copy. Be careful; report it.",
    ),
    Verdict.INACTIVE: (
        "该码未激活，正品出厂时已激活，请向商家核实。",
        "Code not activated: genuine goods leave with active codes.",
    ),
    Verdict.VOID: ("该码已作废，产品可能是仿冒品。", "Code void: the product may be counterfeit."),
    Verdict.RECALLED: (
        "正品，但该批次已召回，请停止使用。",
        "Genuine, but its batch is recalled: stop using it.",
    ),
    Verdict.NOT_FOUND: (
        "查无此码，产品很可能是仿冒品。",
        "No such code: the product is probably counterfeit.",
    ),
    Verdict.MISTYPED: (
        "防伪码有误，可能输错了，请核对后重新发送。",
        "The code does not check: likely a typo. Check it, send again.",
    ),
}

#: Answers that depend on no verdict.
_FIXED = {
    "help": (
        "请发送标签上的20位防伪码查询真伪，如：1234 5678 9012 3456 7890",
        "Send the 20-digit code on the label, e.g. 1234 5678 9012 3456 7890",
    ),
    "length": (
        "防伪码为20位数字，请核对后重新发送。",
        "A code has 20 digits: please check it and send it again.",
    ),
    "wait": ("查询过于频繁，请稍后再试。", "Too many checks from you: please try again later."),
}


def fixed(key: str, lang: str) -> str:
    """The help text (``help``), the 20-digit hint (``length``) or the limit's (``wait``)."""
    zh, en = _FIXED[key]
    return zh if lang == "zh-CN" else en


def _day(at: datetime | None, lang: str) -> str:
    if at is None:
        return ""
    at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(CHINA_TIME)
    return f"{at.year}年{at.month}月{at.day}日" if lang == "zh-CN" else f"{at:%Y-%m-%d}"


def sentence(result: Verification, lang: str) -> str:
    """The verdict in one short sentence (the SMS template's ``result``).

    >>> sentence(Verification(Verdict.NOT_FOUND, "1" * 20), "en")
    'No such code: the product is probably counterfeit.'
    """
    if result.verdict is Verdict.GENUINE_REPEAT:
        day = _day(result.first_scan_at, lang)
        if lang == "zh-CN":
            return f"正品，已被查询{result.scan_count}次，首次{day}，非您查询请谨慎。"
        return f"Genuine, checked {result.scan_count} times, first {day}. Not you? Take care."
    zh, en = _SENTENCES[result.verdict]
    return zh if lang == "zh-CN" else en


def product_name(result: Verification) -> str:
    """The product's name (the SMS template's ``product``); empty when unknown."""
    return "" if result.product is None else result.product.name


def reply(result: Verification, lang: str, limit: int = SMS_LIMIT) -> str:
    """The whole reply: the product's name (shortened to fit) and the sentence.

    >>> reply(Verification(Verdict.VOID, "1" * 20), "zh-CN")
    '该码已作废，产品可能是仿冒品。'
    """
    text = sentence(result, lang)
    name = product_name(result).strip()
    # The name's wrapping: 【name】 in Chinese, "name: " in English.
    room = limit - len(text) - 2
    if not name or room < 2:
        return text[:limit]
    if len(name) > room:
        name = name[: room - 1] + "…"
    return f"【{name}】{text}" if lang == "zh-CN" else f"{name}: {text}"
