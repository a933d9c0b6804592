"""Tables as CSV files a spreadsheet opens: UTF-8 with a byte-order mark (Excel otherwise
reads Chinese as mojibake), and no cell a spreadsheet would run as a formula.

A cell opening with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some
spreadsheets skip before one) is a formula to Excel and LibreOffice: a brand name typed
as ``=HYPERLINK(...)`` would become a link in the regulator's sheet. Such cells get a
leading apostrophe, which shows as text (OWASP, "CSV Injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from fastapi import Request
from starlette.responses import Response

from traceseal.console.render import finish

BOM = "\ufeff"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A value as a safe CSV cell.

    >>> cell("=1+1"), cell("-3"), cell(5), cell(None)
    ("'=1+1", "'-3", '5', '')
    """
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return BOM + out.getvalue()


def csv_response(
    request: Request, filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """A download named ``filename`` (ASCII and UTF-8 forms, RFC 6266)."""
    body = csv_text(header, rows).encode("utf-8")
    disposition = f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"
    response = Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )
    return finish(request, response)
