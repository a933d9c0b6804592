"""What the telephone says: the prompt catalogue (zh-CN and English) and the sentences
composed from it. Pure: no database, no audio (``channels/voice.py`` renders the files).

Every prompt is a file Asterisk plays by its sounds-relative name,
``traceseal/<lang>/<name>``. Numbers and dates cannot be recorded whole, so they are
composed from digit, number-word and unit prompts (:func:`number`, :func:`day`); provinces
have a prompt each (GB/T 2260's 34 province-level divisions). Products' names are not
spoken: a name is free text a brand may change at any time, and a file Asterisk plays must
be on Asterisk's machine before the call, so the product is named only by the web page,
SMS and WeChat replies (docs/channels.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from traceseal.geo.regions import table
from traceseal.verify.messages import CHINA_TIME
from traceseal.verify.models import Verdict

__all__ = ["LANGUAGES", "catalogue", "day", "number", "path", "verdict_prompts"]

LANGUAGES = ("zh-CN", "en")

#: Prompts that depend on no number: (zh-CN, en).
_FIXED: dict[str, tuple[str, str]] = {
    "welcome": ("您好，欢迎致电防伪查询热线。", "Welcome to the product verification line."),
    "for_english": ("For English, press 2.", "For English, press 2."),
    "enter_code": (
        "请输入标签上的20位防伪码，以井号键结束。",
        "Please key in the 20-digit code on the label, then press the hash key.",
    ),
    "mistyped": (
        "防伪码似乎输错了，请重新输入。",
        "The code seems mistyped. Please try again.",
    ),
    "length": (
        "防伪码是20位数字，请重新输入。",
        "The code has 20 digits. Please try again.",
    ),
    "no_input": ("没有收到您的输入。", "We did not receive any digits."),
    "too_many": (
        "输入次数过多，请核对标签后再拨。再见。",
        "Too many tries. Please check the label and call again. Goodbye.",
    ),
    "wait": ("查询过于频繁，请稍后再拨。再见。", "Too many checks. Please call again later."),
    "busy": ("系统繁忙，请稍后再拨。再见。", "The service is busy. Please call again later."),
    "genuine": (
        "查询结果：正品，本次为首次查询。",
        "Result: genuine. This is the first check of this code.",
    ),
    "repeat_1": ("查询结果：正品。此防伪码已被查询", "Result: genuine. This code has been checked"),
    "repeat_2": ("次，首次查询于", "times, first on"),
    "repeat_in": ("在", "in"),
    "repeat_3": (
        "如非您本人查询，请谨慎。",
        "If that was not you, please take care.",
    ),
    "suspicious": (
        "查询结果：可疑。标签可能被复制，请谨慎购买并举报。",
        "Result: suspicious. The label may be a copy. Please be careful and report it.",
    ),
    "inactive": (
        "查询结果：该码未激活。正品出厂时已激活，请向商家核实。",
        "Result: this code is not activated. Genuine goods leave the factory with active "
        "codes. Please ask the seller.",
    ),
    "void": (
        "查询结果：该码已作废，产品可能是仿冒品。",
        "Result: this code is void. The product may be counterfeit.",
    ),
    "recalled": (
        "查询结果：正品，但该批次已被召回，请停止使用并联系商家。",
        "Result: genuine, but its batch has been recalled. Stop using it and contact the seller.",
    ),
    "not_found": (
        "查询结果：这不是已发放的防伪码，产品很可能是仿冒品。",
        "Result: this is not an issued code. The product is probably counterfeit.",
    ),
    "menu": (
        "重听请按1；举报疑似假冒产品并同意我们回电联系您，请按2；结束请挂机。",
        "To hear it again, press 1. To report a suspected fake and agree that we call you "
        "back, press 2. Or hang up.",
    ),
    "reported": (
        "您的举报已记录，我们会回电联系您。感谢您的来电，再见。",
        "Your report is recorded and we will call you back. Thank you, goodbye.",
    ),
    "goodbye": ("感谢您的来电，再见。", "Thank you for calling. Goodbye."),
    # Units that numbers and dates are composed of.
    "year": ("年", ""),
    "month": ("月", ""),
    "day": ("日", ""),
    "ten": ("十", "ten"),
    "hundred": ("百", "hundred"),
    "thousand": ("千", "thousand"),
    "wan": ("万", ""),
    "yi": ("亿", ""),
    "million": ("", "million"),
    "billion": ("", "billion"),
}

_ZH_DIGITS = "零一二三四五六七八九"
_EN_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_EN_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_EN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def path(lang: str, name: str) -> str:
    """The name Asterisk plays (sounds-relative, no extension): ``traceseal/en/genuine``."""
    return f"traceseal/{lang}/{name}"


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Every prompt's text by language and name (a name whose text is empty in a language
    is not used in it)."""
    zh: dict[str, str] = {}
    en: dict[str, str] = {}
    for name, (zh_text, en_text) in _FIXED.items():
        zh[name], en[name] = zh_text, en_text
    for n in range(10):
        zh[f"digit_{n}"] = _ZH_DIGITS[n]
        en[f"digit_{n}"] = _EN_WORDS[n]
    zh["two"] = "两"  # 两千, 两万: 二 is read only as a digit and before 十
    for n in range(20):
        en[f"n_{n}"] = _EN_WORDS[n]
    for i, word in enumerate(_EN_TENS):
        en[f"n_{(i + 2) * 10}"] = word
    for i, month in enumerate(_EN_MONTHS):
        en[f"month_{i + 1}"] = month
    for region in table().by_code.values():
        if region.parent is None and region.code.endswith("0000"):
            zh[f"province_{region.code[:2]}"] = region.name_zh
            en[f"province_{region.code[:2]}"] = region.name_en or region.name_zh
    return {
        "zh-CN": {k: v for k, v in zh.items() if v},
        "en": {k: v for k, v in en.items() if v},
    }


def _zh_below_10000(n: int, leading: bool) -> list[str]:
    """0 < n < 10000 in Chinese (``leading``: nothing is said before it)."""
    out: list[str] = []
    zero = False
    for unit, size in (("thousand", 1000), ("hundred", 100), ("ten", 10), ("", 1)):
        d, n = divmod(n, size)
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("digit_0")
            zero = False
        if unit == "ten" and d == 1 and leading and not out:
            out.append("ten")  # 十二, not 一十二
            continue
        if d == 2 and unit in ("thousand", "hundred"):
            out.append("two")
        else:
            out.append(f"digit_{d}")
        if unit:
            out.append(unit)
    return out


def _zh(n: int) -> list[str]:
    if n == 0:
        return ["digit_0"]
    out: list[str] = []
    for unit, size in (("yi", 100_000_000), ("wan", 10_000), ("", 1)):
        part, n = divmod(n, size)
        if part == 0:
            continue
        if out and part < 1000:
            out.append("digit_0")
        words = _zh_below_10000(part, leading=not out)
        if words == ["digit_2"] and unit:
            words = ["two"]
        out.extend(words)
        if unit:
            out.append(unit)
    return out


def _en_below_1000(n: int) -> list[str]:
    out: list[str] = []
    hundreds, n = divmod(n, 100)
    if hundreds:
        out += [f"n_{hundreds}", "hundred"]
    if n >= 20:
        tens, n = divmod(n, 10)
        out.append(f"n_{tens * 10}")
        if n:
            out.append(f"n_{n}")
    elif n or not out:
        out.append(f"n_{n}")
    return out


def _en(n: int) -> list[str]:
    if n == 0:
        return ["n_0"]
    out: list[str] = []
    for unit, size in (("billion", 10**9), ("million", 10**6), ("thousand", 1000), ("", 1)):
        part, n = divmod(n, size)
        if part:
            out += _en_below_1000(part) + ([unit] if unit else [])
    return out


def number(n: int, lang: str) -> list[str]:
    """The prompts that say ``n`` (0 <= n < 10**12).

    >>> number(12, "zh-CN"), number(2026, "zh-CN")
    (['ten', 'digit_2'], ['two', 'thousand', 'digit_0', 'digit_2', 'ten', 'digit_6'])
    >>> number(115, "en")
    ['n_1', 'hundred', 'n_15']
    """
    if not 0 <= n < 10**12:
        raise ValueError("a number to say is 0 to 10**12")
    return _zh(n) if lang == "zh-CN" else _en(n)


def day(at: datetime, lang: str) -> list[str]:
    """A date, in China's time zone: 二零二六年十二月四日; December 4, 2026.

    >>> day(datetime(2026, 12, 4, 2, tzinfo=UTC), "zh-CN")[:5]
    ['digit_2', 'digit_0', 'digit_2', 'digit_6', 'year']
    """
    at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(CHINA_TIME)
    if lang == "zh-CN":
        years = [f"digit_{d}" for d in str(at.year)]
        return [*years, "year", *number(at.month, lang), "month", *number(at.day, lang), "day"]
    return [f"month_{at.month}", *number(at.day, lang), *number(at.year, lang)]


#: The prompt of each verdict that needs no numbers.
_VERDICTS = {
    Verdict.GENUINE: "genuine",
    Verdict.SUSPICIOUS: "suspicious",
    Verdict.INACTIVE: "inactive",
    Verdict.VOID: "void",
    Verdict.RECALLED: "recalled",
    Verdict.NOT_FOUND: "not_found",
    Verdict.MISTYPED: "mistyped",
}


def verdict_prompts(
    verdict: Verdict,
    lang: str,
    *,
    count: int = 0,
    first_at: datetime | None = None,
    first_region: str | None = None,
) -> list[str]:
    """The prompts (names) that say a verdict; a repeat says the count, the first query's
    date and its province when known.

    >>> verdict_prompts(Verdict.GENUINE_REPEAT, "en", count=3, first_region="440305")
    ['repeat_1', 'n_3', 'repeat_2', 'repeat_in', 'province_44', 'repeat_3']
    """
    if verdict is not Verdict.GENUINE_REPEAT:
        return [_VERDICTS[verdict]]
    # 查询两次: a count of 2 before a measure word is 两, not 二.
    said = ["two"] if lang == "zh-CN" and count == 2 else number(count, lang)
    out = ["repeat_1", *said, "repeat_2"]
    if first_at is not None:
        out += day(first_at, lang)
    province = f"province_{first_region[:2]}" if first_region else None
    if province is not None and province in catalogue()[lang]:
        out += ["repeat_in", province]
    return [*out, "repeat_3"]
