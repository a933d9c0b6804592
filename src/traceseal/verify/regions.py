"""GB/T 2260 region codes in verification: checked against the bundled table, and named.

The table and the lookups live in :mod:`traceseal.geo.regions`; this module turns their
errors into the API's and their names into the answer's.
"""

from __future__ import annotations

from traceseal.errors import InvalidInput
from traceseal.geo.regions import table


def parse_region(raw: str | None) -> str | None:
    """A GB/T 2260 code as given, checked; None for None or blank.

    >>> parse_region("440305")
    '440305'
    """
    try:
        return table().parse(raw)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="region") from None


def region_name(region: str | None, lang: str) -> str:
    """The division's names followed by the code: '广东省深圳市南山区 440305'; '' for None."""
    return table().label(region, lang)
