"""schemathesis hooks for tests/fuzz (loaded with SCHEMATHESIS_HOOKS=tests.fuzz.hooks).

Each request carries the API key of the role whose operation it is, so the fuzzer reaches
the handlers' logic instead of a role refusal; the keys come from the test that serves the
platform (TRACESEAL_FUZZ_KEYS, a JSON object of role -> key). Bodies schemathesis cannot
invent (PDF, CSV) come from small strategies here.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from hypothesis import strategies as st

# The smallest well-formed PDF, something that is not one, and nothing.
_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
schemathesis.openapi.media_type("application/pdf", st.sampled_from([_PDF, b"not a pdf", b""]))
schemathesis.openapi.media_type(
    "text/csv",
    st.sampled_from([b"", b"number,holder\n1,1\n", b"\xff\xfe\x00", "名称,编号\n一,二\n".encode()]),
)


def role_for(method: str, path: str) -> str:
    """The role whose key reaches an operation's logic rather than a role refusal."""
    if path.startswith(("/api/v1/certificates", "/api/v1/inspection-reports")):
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
