"""Signing in and out: the password step, the second-factor step, reset links."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from traceseal.console.deps import (
    SESSION,
    ConsoleError,
    CurrentSession,
    check_csrf,
    clear_cookie,
    safe_next,
    set_cookie,
    settings_of,
)
from traceseal.console.render import page, see_other
from traceseal.errors import DomainError, NotFound, TooManyRequests
from traceseal.people import audit, resets, sessions, signin
from traceseal.people.audit import Actor
from traceseal.people.models import ConsoleSession, Person, SessionStage
from traceseal.people.throttle import Policy
from traceseal.web.deps import SessionDep
from traceseal.web.negotiation import client_ip

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

Login = Annotated[str, Form(max_length=254)]
Secret = Annotated[str, Form(max_length=1024)]
Next = Annotated[str, Form(max_length=500)]


def _agent(request: Request) -> str:
    return request.headers.get("user-agent", "")[:200]


def _refusal(
    request: Request,
    name: str,
    exc: DomainError,
    current: ConsoleSession | None,
    context: Mapping[str, object],
) -> Response:
    """The form again with the reason beside its field; 401, or 429 while blocked. The
    transaction still commits: the failure just counted must be kept (people/throttle.py)."""
    status = 429 if isinstance(exc, TooManyRequests) else 401
    response = page(
        request,
        name,
        {**context, "errors": {exc.field or "form": exc.detail}},
        current=current,
        status=status,
    )
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.get("/console/sign-in")
def sign_in_form(request: Request, current: CurrentSession, next: str = "") -> Response:
    if current is not None and current.stage == SessionStage.SIGNED_IN.value:
        return see_other(request, safe_next(next))
    done = request.query_params.get("done", "")
    return page(
        request,
        "sign_in.html",
        {"next": safe_next(next), "login": "", "done": done},
        current=current,
    )


@router.post("/console/sign-in")
def sign_in(
    request: Request,
    db: SessionDep,
    current: CurrentSession,
    login: Login = "",
    password: Secret = "",
    next: Next = "",
) -> Response:
    settings = settings_of(request)
    ip = client_ip(request)
    try:
        person = signin.check_password(db, Policy.of(settings), login, password, ip)
    except DomainError as exc:
        context = {"next": safe_next(next), "login": login}
        return _refusal(request, "sign_in.html", exc, current, context)
    if person.totp_enabled:
        token, _ = sessions.start(
            db,
            person,
            SessionStage.SECOND_FACTOR,
            absolute_seconds=settings.console_session_idle,
            ip=ip,
            user_agent=_agent(request),
            replaces=current,
        )
        to = "/console/sign-in/code?" + urlencode({"next": safe_next(next)})
        response = see_other(request, to)
    else:
        token = _signed_in(request, db, person, current)
        response = see_other(request, safe_next(next))
    set_cookie(response, settings, SESSION, token, max_age=None)
    return response


def _signed_in(
    request: Request, db: SessionDep, person: Person, current: ConsoleSession | None
) -> str:
    """A new signed-in session (a new id: never the one the browser came with)."""
    settings = settings_of(request)
    ip = client_ip(request)
    token, _ = sessions.start(
        db,
        person,
        SessionStage.SIGNED_IN,
        absolute_seconds=settings.console_session_absolute,
        ip=ip,
        user_agent=_agent(request),
        replaces=current,
    )
    signin.signed_in(person)
    actor = Actor.of(person, ip, _agent(request))
    audit.record(db, actor, "session.sign_in", organization_id=person.organization_id)
    return token


def _pending(current: ConsoleSession | None) -> ConsoleSession | None:
    if current is None or current.stage != SessionStage.SECOND_FACTOR.value:
        return None
    return current


@router.get("/console/sign-in/code")
def code_form(request: Request, current: CurrentSession, next: str = "") -> Response:
    if _pending(current) is None:
        return see_other(request, "/console/sign-in")
    return page(request, "code.html", {"next": safe_next(next)}, current=current)


@router.post("/console/sign-in/code")
def code(
    request: Request,
    db: SessionDep,
    current: CurrentSession,
    code: Annotated[str, Form(max_length=40)] = "",
    next: Next = "",
) -> Response:
    pending = _pending(current)
    if pending is None:
        return see_other(request, "/console/sign-in")
    settings = settings_of(request)
    person = pending.person
    try:
        signin.check_second_factor(
            db, Policy.of(settings), person, request.app.state.keyring, code, client_ip(request)
        )
    except DomainError as exc:
        return _refusal(request, "code.html", exc, current, {"next": safe_next(next)})
    token = _signed_in(request, db, person, pending)
    response = see_other(request, safe_next(next))
    set_cookie(response, settings, SESSION, token, max_age=None)
    return response


@router.post("/console/sign-out")
def sign_out(request: Request, db: SessionDep, current: CurrentSession) -> Response:
    if current is not None:
        sessions.end(db, current)
        person = current.person
        actor = Actor.of(person, client_ip(request), _agent(request))
        audit.record(db, actor, "session.sign_out", organization_id=person.organization_id)
    response = see_other(request, "/console/sign-in?done=signed_out")
    clear_cookie(response, settings_of(request), SESSION)
    return response


def _reset_page(request: Request, current: ConsoleSession | None, **context: object) -> Response:
    response = page(request, "reset.html", context, current=current)
    # The token is in this page's URL: no other site may see it in a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/console/reset/{token}")
def reset_form(request: Request, db: SessionDep, current: CurrentSession, token: str) -> Response:
    try:
        link = resets.find(db, token)
    except NotFound as exc:
        raise ConsoleError(404, exc.detail) from None
    return _reset_page(request, current, login=link.person.login, errors={})


@router.post("/console/reset/{token}")
def reset(
    request: Request,
    db: SessionDep,
    current: CurrentSession,
    token: str,
    password: Secret = "",
    again: Secret = "",
) -> Response:
    try:
        link = resets.find(db, token)
    except NotFound as exc:
        raise ConsoleError(404, exc.detail) from None
    if password != again:
        errors = {"again": "the two passwords differ"}
        return _reset_page(request, current, login=link.person.login, errors=errors)
    try:
        person = resets.use(db, token, password)
    except DomainError as exc:
        errors = {"password": exc.detail}
        return _reset_page(request, current, login=link.person.login, errors=errors)
    actor = Actor.of(person, client_ip(request), _agent(request))
    target = f"person {person.id} ({person.login})"
    audit.record(db, actor, "password.reset", organization_id=person.organization_id, target=target)
    return see_other(request, "/console/sign-in?done=reset")
