"""schemathesis hooks for tests/fuzz (loaded with SCHEMATHESIS_HOOKS=tests.fuzz.hooks).

Each request carries the API key of the role whose operation it is, so the fuzzer reaches
the handlers' logic instead of a role refusal; the keys come from the test that serves the
platform (TRACESEAL_FUZZ_KEYS, a JSON object of role -> key). Bodies schemathesis cannot
invent (PDF, CSV) come from small strategies here.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import schemathesis
from hypothesis import strategies as st
from pypdf import PdfWriter


def _one_page_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# A real one-page PDF, one that only starts like a PDF, something that is not one, and nothing.
schemathesis.openapi.media_type(
    "application/pdf",
    st.sampled_from([_one_page_pdf(), b"%PDF-1.7\n<html></html>", b"not a pdf", b""]),
)
schemathesis.openapi.media_type(
    "text/csv",
    st.sampled_from([b"", b"number,holder\n1,1\n", b"\xff\xfe\x00", "名称,编号\n一,二\n".encode()]),
)


def role_for(method: str, path: str) -> str:
    """The role whose key reaches an operation's logic rather than a role refusal."""
    if path.startswith(("/api/v1/certificates", "/api/v1/inspection-reports")) or (
        method == "POST" and path == "/api/v1/attachments"
    ):
        return "lab"
    if path.startswith(("/api/v1/sampling-results", "/api/v1/credit-ratings")):
        return "regulator"
    brand_writes = ("/api/v1/products", "/api/v1/code-runs", "/api/v1/commitments")
    if method != "GET" and path.startswith((*brand_writes, "/api/v1/distributors")):
        return "brand"
    return "operator"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    keys = json.loads(os.environ["TRACESEAL_FUZZ_KEYS"])
    key = keys[role_for(case.operation.method.upper(), case.operation.path)]
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}
