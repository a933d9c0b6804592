"""``/report/status/{token}``: the reporter's own page of their report, reached from the
receipt shown after reporting. Public (whoever holds the link), zh-CN and English, no
sign-in; it shows the state and the brand's reply only (status.py says what it never shows).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from traceseal.errors import NotFound
from traceseal.verify.reports.status import by_token
from traceseal.web.deps import ReadSessionDep
from traceseal.web.negotiation import language

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent.parent / "templates")

Token = Annotated[str, PathParam(max_length=100)]


@router.get("/report/status/{token}")
def report_status(request: Request, token: Token, session: ReadSessionDep) -> Response:
    lang = language(request)
    try:
        report = by_token(session, token)
    except NotFound:
        context: dict[str, Any] = {"lang": lang, "report": None}
        response = templates.TemplateResponse(
            request, "verify/status.html", context, status_code=404
        )
    else:
        context = {"lang": lang, "report": report}
        response = templates.TemplateResponse(request, "verify/status.html", context)
    # The token is the key to the page: it must not leave in a Referer header, and a shared
    # computer's cache should not keep the reply.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response
