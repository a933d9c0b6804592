"""``/scan``: the scanning page for dealers' phones and handheld terminals.

The page is the same for everyone; it signs in with an API key kept in the browser
(``static/scan/signin.js``, the one place that knows how a person signs in) and calls
``/api/v1/scan/...`` with it. People's accounts will replace the key behind that seam.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from traceseal.web.headers import PAGE_POLICY
from traceseal.web.negotiation import language

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")

#: The vendored decoder is WebAssembly: compiling it needs 'wasm-unsafe-eval' (not
#: 'unsafe-eval': no JavaScript string is ever evaluated). The camera is this page's own.
SCAN_POLICY = PAGE_POLICY.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'")


@router.get("/scan")
def scan_page(request: Request) -> Response:
    response = templates.TemplateResponse(request, "scan/page.html", {"lang": language(request)})
    response.headers["Content-Security-Policy"] = SCAN_POLICY
    response.headers["Permissions-Policy"] = "camera=(self)"
    return response
