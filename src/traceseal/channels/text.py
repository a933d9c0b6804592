"""Finding a seal code in a message as people send it. Pure: no database, no web.

People type "查询 1234 5678 9012 3456 7890", with full-width digits from a Chinese keyboard,
dashes as printed on the label, or paste the label's Digital Link. :func:`extract` finds the
code (and the GTIN and lot a Digital Link names, which verification checks against the
code's product); :func:`language` picks the reply's language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from traceseal.codes.sealcode import CODE_DIGITS

__all__ = ["Found", "extract", "language"]

#: Runs of digits with the separators people put between groups (spaces, dashes, dots).
_RUN = re.compile(r"\d(?:[\d \t\-‐‑‒–—―.·_/]*\d)?")
_NOT_DIGIT = re.compile(r"\D")
_URL = re.compile(r"https?://[^\s<>\"'，。；]+", re.IGNORECASE)
#: Digital Link paths: /01/{gtin}[/10/{lot}]/21/{serial}, and the short form /v/{code}.
_DIGITAL_LINK = re.compile(
    r"/01/(?P<gtin>\d{8,14})(?:/10/(?P<lot>[^/?#]{1,20}))?/21/(?P<serial>[^/?#]+)"
)
_SHORT = re.compile(r"/v/(?P<serial>[^/?#]+)")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]{2,}")
#: Digit runs this close to 20 digits are a code with a digit missing or doubled.
_NEAR = range(CODE_DIGITS - 4, CODE_DIGITS + 5)


@dataclass(frozen=True, slots=True)
class Found:
    """What a message holds: a code (20 digits, check digit not yet checked), or why not."""

    code: str | None = None
    gtin: str | None = None
    lot: str | None = None
    #: "code", "none" (no code at all: help text) or "length" (a near miss: say 20 digits).
    kind: str = "none"


def extract(text: str) -> Found:
    """The code a message carries.

    >>> extract("查询 １２３４－５６７８ 9012 3456 7890").code
    '12345678901234567890'
    >>> extract("https://v.example/01/09506000134352/21/12345678901234567890").gtin
    '09506000134352'
    >>> extract("hello").kind, extract("1234 5678 9012 3456 789").kind
    ('none', 'length')
    """
    text = unicodedata.normalize("NFKC", text)
    for url in _URL.findall(text):
        found = _from_link(url)
        if found is not None:
            return found
    near = False
    for run in _RUN.findall(_URL.sub(" ", text)):
        digits = _NOT_DIGIT.sub("", run)
        if len(digits) == CODE_DIGITS:
            return Found(code=digits, kind="code")
        near = near or len(digits) in _NEAR
    return Found(kind="length" if near else "none")


def _from_link(url: str) -> Found | None:
    path = unquote(urlsplit(url).path)
    match = _DIGITAL_LINK.search(path) or _SHORT.search(path)
    if match is None:
        return None
    serial = _NOT_DIGIT.sub("", match["serial"])
    if len(serial) != CODE_DIGITS:
        return Found(kind="length")
    groups = match.groupdict()
    return Found(code=serial, gtin=groups.get("gtin"), lot=groups.get("lot"), kind="code")


def language(text: str) -> str:
    """zh-CN unless the message is written in English (Latin words and no Chinese).

    >>> language("查询 1234"), language("check 1234"), language("1234")
    ('zh-CN', 'en', 'zh-CN')
    """
    if _CJK.search(text) or not _LATIN.search(_URL.sub(" ", text)):
        return "zh-CN"
    return "en"
