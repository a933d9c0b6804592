"""The operator's platform pages: label programmes, code-guessing alerts, platform health
(its page is ops/pages.py).

Programmes are written by the same service as POST /api/v1/programmes (signed with the
operator's managed key, a leaf in the log); alerts are read and acknowledged through
alerts/service.py with the operator's organisation as the viewer, as the API does; the
health page shows the figures /metrics reads (ops/service.py), not queries of its own.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from traceseal.alerts.models import Alert
from traceseal.alerts.service import acknowledge, list_alerts
from traceseal.console.deps import ConsoleError, OperatorDep, StaffDep, Viewer, check_csrf
from traceseal.console.menu import only
from traceseal.console.operator import ENUMERATION
from traceseal.console.render import page, see_other
from traceseal.errors import DomainError, NotFound
from traceseal.orgs.models import Role
from traceseal.people import audit
from traceseal.quality import programmes as service
from traceseal.quality.deps import IssuingDep
from traceseal.quality.rules import describe
from traceseal.quality.schemas import ProgrammeCreate
from traceseal.web.deps import PathId, SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

MENU = (
    only(Role.OPERATOR, "/console/programmes", "标识项目", "Label programmes", order=20),
    only(Role.OPERATOR, "/console/enumeration", "猜码告警", "Guessing alerts", order=30),
    # The page itself is ops/pages.py: it shows what ops computes, and ops sits above the
    # console in the layers (pyproject.toml), so the console may not import it.
    only(Role.OPERATOR, "/console/health", "平台状态", "Platform health", order=40),
)

#: What a new programme's rule box starts with: the simplest rule, as an example.
EXAMPLE_RULE = '{"certificate": {"scheme": "CCC"}}'


@router.get("/console/programmes")
def programmes(request: Request, viewer: StaffDep, db: SessionDep) -> Response:
    rows = [(p, describe(service.programme_rule(p))) for p in service.list_programmes(db)]
    context = {"rows": rows, "done": request.query_params.get("done", "")}
    return page(request, "operator/programmes.html", context, viewer=viewer)


def _new_page(
    request: Request, viewer: Viewer, errors: dict[str, str], form: dict[str, str], status: int
) -> Response:
    context = {"errors": errors, "form": form}
    return page(request, "operator/programme_new.html", context, viewer=viewer, status=status)


@router.get("/console/programmes/new")
def new_programme_form(request: Request, viewer: OperatorDep) -> Response:
    return _new_page(request, viewer, {}, {"rules": EXAMPLE_RULE}, 200)


def _first_problem(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors()[0]
    where = str(error["loc"][0]) if error["loc"] else "rules"
    field = where if where in ("name", "name_en", "description") else "rules"
    return field, str(error["msg"])


@router.post("/console/programmes/new")
def new_programme(
    request: Request,
    viewer: OperatorDep,
    db: SessionDep,
    issuing: IssuingDep,
    name: Annotated[str, Form(max_length=200)] = "",
    name_en: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    rules: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    form = {"name": name, "name_en": name_en, "description": description, "rules": rules}
    try:
        parsed = json.loads(rules)
    except ValueError:
        return _new_page(request, viewer, {"rules": "the rule is not valid JSON"}, form, 422)
    try:
        body = ProgrammeCreate.model_validate(
            {"name": name, "name_en": name_en, "description": description, "rules": parsed}
        )
    except ValidationError as exc:
        field, message = _first_problem(exc)
        return _new_page(request, viewer, {field: message}, form, 422)
    try:
        programme = service.create_programme(db, issuing, viewer.org, body)
    except DomainError as exc:
        return _new_page(request, viewer, {exc.field or "name": exc.detail}, form, 422)
    audit.record(
        db,
        viewer.actor,
        "programme.create",
        organization_id=viewer.org.id,
        target=f"programme {programme.id} ({programme.name})",
    )
    return see_other(request, f"/console/programmes/{programme.id}?done=created")


@router.get("/console/programmes/{programme_id}")
def programme(request: Request, viewer: StaffDep, db: SessionDep, programme_id: PathId) -> Response:
    try:
        found = service.get_programme(db, programme_id)
    except NotFound:
        raise ConsoleError(404, "no such programme") from None
    context = {
        "p": found,
        "rule": describe(service.programme_rule(found)),
        "rules": json.dumps(json.loads(found.rules), ensure_ascii=False, indent=2),
        "done": request.query_params.get("done", ""),
    }
    return page(request, "operator/programme.html", context, viewer=viewer)


@router.get("/console/enumeration")
def enumeration(request: Request, viewer: StaffDep, db: SessionDep) -> Response:
    rows = [
        alert for kind in ENUMERATION for alert in list_alerts(db, viewer.org, kind=kind, limit=100)
    ]
    rows.sort(key=lambda alert: alert.id, reverse=True)
    context = {"rows": rows[:100], "done": request.query_params.get("done", "")}
    return page(request, "operator/enumeration.html", context, viewer=viewer)


@router.post("/console/enumeration/{alert_id}/acknowledge")
def acknowledge_alert(
    request: Request, viewer: OperatorDep, db: SessionDep, alert_id: PathId
) -> Response:
    # Only guessing alerts are this page's: another kind answers as a missing one.
    found = db.get(Alert, alert_id)
    if found is None or found.kind not in ENUMERATION:
        raise ConsoleError(404, "no such alert")
    alert = acknowledge(db, viewer.org, alert_id)
    audit.record(
        db, viewer.actor, "alert.acknowledge", organization_id=None, target=f"alert {alert.id}"
    )
    return see_other(request, "/console/enumeration?done=acknowledged")
