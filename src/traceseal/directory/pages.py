"""``/directory``: the public quality directory, for anyone, no sign-in.

Certified products and their certificates, sampling results, recalls in force and label
programme holders, searchable by product or brand name or GTIN; each entry links to its
signed record (``/directory/records/{id}``, which links the JSON record and its proof in
the log). zh-CN first, English on request (web/negotiation.py, as the consumer pages).
Public data only, so answers may be cached; the language is part of the cache key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from traceseal.bounds import MAX_ID
from traceseal.db import utcnow
from traceseal.directory import service
from traceseal.directory.service import Section
from traceseal.errors import NotFound
from traceseal.quality.service import effective_status
from traceseal.web.deps import PathId, ReadSessionDep
from traceseal.web.negotiation import language

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")

#: Public facts change when a checkpoint is published (twice a second at most) or a
#: record's status changes: a few minutes' staleness is acceptable for a directory.
CACHE = "public, max-age=300"

Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Text = Annotated[str, Query(max_length=100)]
Show = Annotated[str, Query(max_length=20)]


def _finish(response: Response) -> Response:
    response.headers["Cache-Control"] = CACHE
    response.headers["Vary"] = "Accept-Language"
    return response


def _link(request: Request, **changes: object) -> str:
    params = dict(request.query_params)
    for key, value in changes.items():
        if value == "" or value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return f"{request.url.path}?{urlencode(params)}"


@router.get("/directory")
def directory(
    request: Request, session: ReadSessionDep, q: Text = "", show: Show = "", before: Before = None
) -> Response:
    lang = language(request)
    section = next((s for s in Section if s.value == show), Section.CERTIFICATES)
    query = q.strip()
    today = utcnow().date()
    if section == Section.CERTIFICATES:
        listing = service.certificates(session, query=query, before=before, today=today)
    elif section == Section.SAMPLING:
        listing = service.sampling(session, query=query, before=before)
    elif section == Section.RECALLS:
        listing = service.recalls(session, query=query, before=before)
    else:
        listing = service.holders(session, query=query, before=before)
    covers = (
        service.covered(session, [r.id for r in listing.rows])
        if section == Section.CERTIFICATES
        else {}
    )
    context = {
        "lang": lang,
        "q": query,
        "covers": covers,
        "show": section.value,
        "sections": list(Section),
        "rows": listing.rows,
        "older": _link(request, before=listing.older) if listing.older else None,
        "first": _link(request, before="") if before else None,
        "tab": lambda s: _link(request, show=s, before=""),
    }
    return _finish(templates.TemplateResponse(request, "directory/index.html", context))


@router.get("/directory/records/{record_id}")
def record_page(request: Request, session: ReadSessionDep, record_id: PathId) -> Response:
    lang = language(request)
    try:
        record = service.record(session, record_id)
    except NotFound:
        response = templates.TemplateResponse(
            request, "directory/record.html", {"lang": lang, "record": None}, status_code=404
        )
        return _finish(response)
    payload: dict[str, Any] = json.loads(record.payload)
    context = {
        "lang": lang,
        "record": record,
        "status": effective_status(record, utcnow().date()),
        "payload": payload,
        "covers": service.covered(session, [record.id])[record.id],
    }
    return _finish(templates.TemplateResponse(request, "directory/record.html", context))
