"""GTIN parsing with biip (a maintained GS1 library), normalised to GTIN-14."""

from __future__ import annotations

from biip import ParseError
from biip.gtin import Gtin

from traceseal.errors import InvalidInput


def normalize_gtin(raw: str, field: str = "gtin") -> str:
    """Return the GTIN-14 form of a GTIN-8/12/13/14, or raise :class:`InvalidInput`.

    >>> normalize_gtin("9506000134352")
    '09506000134352'
    """
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) not in (8, 12, 13, 14):
        raise InvalidInput(
            f"{raw!r} is not a GTIN: expected 8, 12, 13 or 14 ASCII digits", field=field
        )
    try:
        return Gtin.parse(text).as_gtin_14()
    except ParseError as exc:
        raise InvalidInput(f"{raw!r} is not a valid GTIN: {exc}", field=field) from exc
