"""The brand's counterfeit reports: a filtered, paged list, and each report with its photo,
its workflow (new → investigating → resolved or rejected) and the reply its reporter reads
on their status page (verify/reports/status.py).

Handlers call the same services as ``/api/v1/reports``: another brand's report answers 404
like a missing one; every change is recorded in the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import Response

import traceseal.console.plain as plain
from traceseal.bounds import MAX_ID
from traceseal.console.deps import BrandDep, ConsoleError, Viewer, check_csrf
from traceseal.console.menu import brand
from traceseal.console.render import finish, page, see_other
from traceseal.errors import DomainError, NotFound
from traceseal.people import audit
from traceseal.registry.models import Product
from traceseal.verify.reports import workflow
from traceseal.verify.reports.models import CounterfeitReport, ReportState
from traceseal.verify.reports.service import get_photo, get_report, list_reports
from traceseal.web.deps import PathId, SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

MENU = (brand("/console/reports", "假货举报", "Counterfeit reports", order=41),)
PAGE = 25
Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Reply = Annotated[str, Form(max_length=4000)]
#: The form's buttons: which step each asks for.
STEPS = {
    "investigate": ReportState.INVESTIGATING,
    "resolve": ReportState.RESOLVED,
    "reject": ReportState.REJECTED,
}


@router.get("/console/reports")
def reports(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    before: Before = None,
    state: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    state = state if state in plain.REPORT_STATES else ""
    rows = list_reports(db, viewer.org, before=before, limit=PAGE + 1, state=state or None)
    params = dict(request.query_params)
    older = rows[PAGE - 1].id if len(rows) > PAGE else None
    context = {
        "rows": rows[:PAGE],
        "state": state,
        "products": _names(db, rows),
        "older": plain.page_link(request.url.path, params, before=older) if older else None,
        "first": plain.page_link(request.url.path, params, before="") if before else None,
        "words": plain,
    }
    return page(request, "workflows/reports.html", context, viewer=viewer)


def _names(db: SessionDep, rows: list[CounterfeitReport]) -> dict[int, str]:
    ids = {r.product_id for r in rows if r.product_id is not None}
    return {p.id: p.name for p in (db.get(Product, i) for i in ids) if p is not None}


def _report(db: SessionDep, viewer: Viewer, report_id: int) -> CounterfeitReport:
    try:
        return get_report(db, viewer.org, report_id)
    except NotFound as exc:
        raise ConsoleError(404, exc.detail) from None


def _detail(
    request: Request,
    viewer: Viewer,
    db: SessionDep,
    report: CounterfeitReport,
    *,
    errors: dict[str, str] | None = None,
    reply: str | None = None,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "report": report,
        "product": _names(db, [report]).get(report.product_id or 0),
        "next": [s.value for s in workflow.allowed_next(viewer.org, report)],
        "errors": errors or {},
        "reply": report.reply if reply is None else reply,
        "done": request.query_params.get("done", ""),
        "words": plain,
    }
    return page(request, "workflows/report.html", context, viewer=viewer, status=status)


@router.get("/console/reports/{report_id}")
def report(request: Request, viewer: BrandDep, db: SessionDep, report_id: PathId) -> Response:
    return _detail(request, viewer, db, _report(db, viewer, report_id))


@router.get("/console/reports/{report_id}/photo")
def photo(request: Request, viewer: BrandDep, db: SessionDep, report_id: PathId) -> Response:
    try:
        found = get_photo(db, viewer.org, report_id)
    except NotFound as exc:
        raise ConsoleError(404, exc.detail) from None
    # The photo was re-encoded on arrival (metadata dropped); nosniff keeps it an image.
    response = Response(
        found.data, media_type=found.media_type, headers={"X-Content-Type-Options": "nosniff"}
    )
    return finish(request, response)


@router.post("/console/reports/{report_id}")
def act(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    report_id: PathId,
    reply: Reply = "",
    step: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """One form: save the reply, or save it and take a step (the button pressed)."""
    found = _report(db, viewer, report_id)
    try:
        if step in STEPS:
            moved = workflow.move(db, viewer.org, report_id, STEPS[step], reply=reply)
            action, done = f"report.{moved.state}", moved.state
        else:
            moved = workflow.set_reply(db, viewer.org, report_id, reply)
            action, done = "report.reply", "replied"
    except DomainError as exc:
        status = 409 if exc.kind == "conflict" else 403 if exc.kind == "forbidden" else 422
        field = "reply" if exc.field == "reply" else "state"
        return _detail(
            request, viewer, db, found, errors={field: exc.detail}, reply=reply, status=status
        )
    audit.record(
        db,
        viewer.actor,
        action,
        organization_id=moved.organization_id,
        target=f"report {moved.id}",
        details={"state": moved.state, "replied": bool(moved.reply)},
    )
    return see_other(request, f"/console/reports/{report_id}?done={done}")
