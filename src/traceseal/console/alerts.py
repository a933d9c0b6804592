"""The brand's alerts: a filtered, paged list, and each alert's evidence, history and the
steps its viewer may take (open → investigating → closed with an outcome and a note).

Handlers call the same services as ``/api/v1/alerts`` (alerts/service.py, workflow.py):
another brand's alert answers 404 like a missing one; every step is recorded in the
alert's history and the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import Response

import traceseal.console.plain as plain
from traceseal.alerts import service, workflow
from traceseal.alerts.models import Alert, AlertState, Outcome
from traceseal.bounds import MAX_ID
from traceseal.console.deps import BrandDep, ConsoleError, Viewer, check_csrf, console_language
from traceseal.console.menu import brand
from traceseal.console.render import page, see_other
from traceseal.errors import DomainError, NotFound
from traceseal.logistics.models import Distributor
from traceseal.orgs.models import Organization
from traceseal.people import audit
from traceseal.web.deps import PathId, SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

MENU = (brand("/console/alerts", "警报", "Alerts", order=40),)
PAGE = 25
Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Choice = Annotated[str, Query(max_length=40)]
Note = Annotated[str, Form(max_length=4000)]


@router.get("/console/alerts")
def alerts(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    before: Before = None,
    state: Choice = "",
    kind: Choice = "",
) -> Response:
    state = state if state in plain.ALERT_STATES else ""
    kind = kind if kind in plain.ALERT_KINDS else ""
    rows = service.list_alerts(
        db, viewer.org, kind=kind or None, state=state or None, before=before, limit=PAGE + 1
    )
    params = dict(request.query_params)
    older = rows[PAGE - 1].id if len(rows) > PAGE else None
    context = {
        "rows": rows[:PAGE],
        "state": state,
        "kind": kind,
        "older": plain.page_link(request.url.path, params, before=older) if older else None,
        "first": plain.page_link(request.url.path, params, before="") if before else None,
        "words": plain,
    }
    return page(request, "workflows/alerts.html", context, viewer=viewer)


def _alert(db: SessionDep, viewer: Viewer, alert_id: int) -> Alert:
    try:
        return service.visible_alert(db, viewer.org, alert_id)
    except NotFound as exc:
        raise ConsoleError(404, exc.detail) from None


def _detail(
    request: Request,
    viewer: Viewer,
    db: SessionDep,
    alert: Alert,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    zh = console_language(request) == "zh-CN"
    distributor = None
    if alert.distributor_id is not None:
        found = db.get(Distributor, alert.distributor_id)
        holder = None if found is None else db.get(Organization, found.organization_id)
        distributor = None if holder is None else holder.name
    context: dict[str, Any] = {
        "alert": alert,
        "distributor": distributor,
        "evidence": plain.evidence(alert.kind, alert.details or {}, zh),
        "history": workflow.history(db, alert),
        "next": [s.value for s in workflow.allowed_next(db, viewer.org, alert)],
        "outcomes": plain.OUTCOMES,
        "errors": errors or {},
        "form": form or {},
        "done": request.query_params.get("done", ""),
        "words": plain,
    }
    return page(request, "workflows/alert.html", context, viewer=viewer, status=status)


@router.get("/console/alerts/{alert_id}")
def alert(request: Request, viewer: BrandDep, db: SessionDep, alert_id: PathId) -> Response:
    return _detail(request, viewer, db, _alert(db, viewer, alert_id))


def _move(
    request: Request,
    viewer: Viewer,
    db: SessionDep,
    alert_id: int,
    to: AlertState,
    note: str,
    outcome: str = "",
) -> Response:
    found = _alert(db, viewer, alert_id)
    form = {"note": note, "outcome": outcome}
    try:
        chosen = Outcome(outcome) if outcome else None
    except ValueError:
        return _detail(
            request,
            viewer,
            db,
            found,
            errors={"outcome": "choose an outcome"},
            form=form,
            status=422,
        )
    try:
        moved = workflow.move(
            db, viewer.org, alert_id, to, actor=viewer.person.login, note=note, outcome=chosen
        )
    except DomainError as exc:
        status = 409 if exc.kind == "conflict" else 403 if exc.kind == "forbidden" else 422
        field = exc.field if exc.field in ("note", "outcome") else "state"
        return _detail(
            request, viewer, db, found, errors={field: exc.detail}, form=form, status=status
        )
    audit.record(
        db,
        viewer.actor,
        f"alert.{to.value}",
        organization_id=moved.organization_id,
        target=f"alert {moved.id} ({moved.kind})",
        details={"outcome": moved.outcome, "note": note.strip()[:200]},
    )
    return see_other(request, f"/console/alerts/{alert_id}?done={to.value}")


@router.post("/console/alerts/{alert_id}/investigate")
def investigate(
    request: Request, viewer: BrandDep, db: SessionDep, alert_id: PathId, note: Note = ""
) -> Response:
    return _move(request, viewer, db, alert_id, AlertState.INVESTIGATING, note)


@router.post("/console/alerts/{alert_id}/close")
def close(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    alert_id: PathId,
    note: Note = "",
    outcome: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    return _move(request, viewer, db, alert_id, AlertState.CLOSED, note, outcome)
