"""GS1 identifiers: GTINs parsed with biip (a maintained GS1 library) and batch/lot numbers."""

from __future__ import annotations

import re

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


# GS1 AI (10) uses the character set 82 (General Specifications, figure 7.11-1).
_CSET82 = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$")


def check_lot(lot: str, field: str = "lot") -> str:
    """Return ``lot`` if it is a valid GS1 batch/lot number (AI 10), else raise InvalidInput.

    >>> check_lot("L2026-11A")
    'L2026-11A'
    """
    if not _CSET82.match(lot):
        raise InvalidInput(
            f"lot {lot!r} must be 1-20 characters of the GS1 character set 82", field=field
        )
    return lot
