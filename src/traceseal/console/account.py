"""A person's own pages: home, password, sessions, two-step sign-in (TOTP)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from traceseal.console.deps import ConsoleError, ViewerDep, check_csrf, settings_of
from traceseal.console.homes import home_cards
from traceseal.console.menu import MenuItem
from traceseal.console.render import page, see_other
from traceseal.errors import DomainError, NotFound
from traceseal.people import audit, sessions, signin, totp
from traceseal.people.service import count_people, policy
from traceseal.people.throttle import Policy
from traceseal.web.deps import PathId, SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

Secret = Annotated[str, Form(max_length=1024)]


MENU = (
    MenuItem("/console", "首页", "Home", order=0),
    MenuItem("/console/account/password", "修改密码", "Password", order=90),
    MenuItem("/console/account/two-step", "两步验证", "Two-step sign-in", order=91),
    MenuItem("/console/account/sessions", "登录设备", "Sessions", order=92),
)


@router.get("/console")
def home(request: Request, viewer: ViewerDep, db: SessionDep) -> Response:
    cards, context = home_cards(db, viewer)
    context |= {
        "cards": cards,
        "people": count_people(db, viewer.person.organization_id),
        "require_totp": policy(db, viewer.person.organization_id).require_totp,
        "done": request.query_params.get("done", ""),
    }
    return page(request, "home.html", context, viewer=viewer)


@router.get("/console/account/password")
def password_form(request: Request, viewer: ViewerDep) -> Response:
    done = request.query_params.get("done", "")
    return page(request, "password.html", {"errors": {}, "done": done}, viewer=viewer)


@router.post("/console/account/password")
def password(
    request: Request,
    viewer: ViewerDep,
    db: SessionDep,
    current: Secret = "",
    new: Secret = "",
    again: Secret = "",
) -> Response:
    if new != again:
        return page(
            request,
            "password.html",
            {"errors": {"again": "the two passwords differ"}},
            viewer=viewer,
            status=422,
        )
    try:
        signin.change_password(
            db,
            Policy.of(settings_of(request)),
            viewer.person,
            current,
            new,
            keep=viewer.session.id,
            ip=viewer.ip,
        )
    except DomainError as exc:
        errors = {exc.field or "new": exc.detail}
        return page(request, "password.html", {"errors": errors}, viewer=viewer, status=422)
    audit.record(db, viewer.actor, "password.change", organization_id=viewer.person.organization_id)
    return see_other(request, "/console/account/password?done=changed")


@router.get("/console/account/sessions")
def session_list(request: Request, viewer: ViewerDep, db: SessionDep) -> Response:
    idle = settings_of(request).console_session_idle
    rows = sessions.live_sessions(db, viewer.person, idle_seconds=idle)
    done = request.query_params.get("done", "")
    return page(request, "sessions.html", {"rows": rows, "done": done}, viewer=viewer)


@router.post("/console/account/sessions/{session_id}/revoke")
def revoke_session(
    request: Request, viewer: ViewerDep, db: SessionDep, session_id: PathId
) -> Response:
    try:
        row = sessions.revoke(db, viewer.person, session_id)
    except NotFound as exc:
        raise ConsoleError(404, exc.detail) from None
    audit.record(
        db,
        viewer.actor,
        "session.revoke",
        organization_id=viewer.person.organization_id,
        target=f"session {row.id}",
    )
    if row.id == viewer.session.id:
        return see_other(request, "/console/sign-in?done=signed_out")
    return see_other(request, "/console/account/sessions?done=revoked")


@router.get("/console/account/two-step")
def two_step(request: Request, viewer: ViewerDep, db: SessionDep) -> Response:
    person = viewer.person
    context: dict[str, object] = {
        "errors": {},
        "required": policy(db, person.organization_id).require_totp,
        "left": totp.recovery_codes_left(db, person) if person.totp_enabled else 0,
        "done": request.query_params.get("done", ""),
    }
    return page(request, "two_step.html", context, viewer=viewer)


@router.post("/console/account/two-step/start")
def two_step_start(request: Request, viewer: ViewerDep, db: SessionDep) -> Response:
    person = viewer.person
    try:
        secret = totp.begin(db, person, request.app.state.keyring)
    except DomainError:
        return see_other(request, "/console/account/two-step")
    return _enrol_page(request, viewer, secret, {})


def _enrol_page(
    request: Request, viewer: ViewerDep, secret: str, errors: dict[str, str]
) -> Response:
    uri = totp.provisioning_uri(viewer.person, secret)
    context = {
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "qr": totp.qr_data_uri(uri),
        "errors": errors,
    }
    return page(
        request, "two_step_enrol.html", context, viewer=viewer, status=422 if errors else 200
    )


@router.post("/console/account/two-step/confirm")
def two_step_confirm(
    request: Request,
    viewer: ViewerDep,
    db: SessionDep,
    code: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    person = viewer.person
    keys = request.app.state.keyring
    try:
        codes = totp.confirm(db, person, keys, code)
    except DomainError as exc:
        secret = totp.pending_secret(person, keys)
        if secret is None or person.totp_enabled:
            return see_other(request, "/console/account/two-step")
        return _enrol_page(request, viewer, secret, {"code": exc.detail})
    audit.record(db, viewer.actor, "totp.enable", organization_id=person.organization_id)
    return page(request, "recovery_codes.html", {"codes": codes}, viewer=viewer)


@router.post("/console/account/two-step/off")
def two_step_off(request: Request, viewer: ViewerDep, db: SessionDep) -> Response:
    person = viewer.person
    if policy(db, person.organization_id).require_totp:
        raise ConsoleError(403, "totp_required")
    if person.totp_enabled:
        totp.disable(db, person)
        audit.record(db, viewer.actor, "totp.disable", organization_id=person.organization_id)
    return see_other(request, "/console/account/two-step?done=off")
