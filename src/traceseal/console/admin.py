"""Organisation admins' pages: people, the sign-in policy, the audit log. The operator's
staff see the same pages across every organisation (``Viewer.within`` is None for them);
an admin acting on another organisation's person meets 404, as for one that does not exist.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import Response

from traceseal.bounds import MAX_ID
from traceseal.config import Settings
from traceseal.console.deps import AdminDep, ConsoleError, OperatorDep, check_csrf, settings_of
from traceseal.console.menu import MenuItem
from traceseal.console.render import page, see_other
from traceseal.errors import DomainError, NotFound
from traceseal.orgs.models import Organization
from traceseal.orgs.service import list_organizations
from traceseal.people import audit, mail, resets
from traceseal.people.audit import AuditFilter
from traceseal.people.models import Person
from traceseal.people.service import (
    create_person,
    get_person,
    list_people,
    policy,
    set_disabled,
    set_require_totp,
)
from traceseal.web.deps import PathId, SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])
log = logging.getLogger("traceseal.console")

Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]
OrgFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Text = Annotated[str, Query(max_length=100)]
Field = Annotated[str, Form(max_length=254)]

#: The actions the audit page offers as filters (a prefix matches the rest too).
ACTIONS = (
    "person",
    "person.create",
    "person.disable",
    "person.enable",
    "password",
    "reset_link.issue",
    "session",
    "totp",
    "policy.require_totp",
    "alert",
    "report",
    "recall",
    "distributor",
    "api_key",
    "webhook",
    "labels",
    "certificate",
    "inspection_report",
    "sampling_result",
    "credit_rating",
    "signing_key",
)


MENU = (
    MenuItem("/console/users", "用户", "People", admin=True, order=80),
    MenuItem("/console/audit", "审计日志", "Audit log", admin=True, order=81),
    MenuItem("/console/security", "安全设置", "Security", admin=True, order=82),
)


def _orgs(db: SessionDep, viewer: AdminDep) -> list[Organization]:
    return list_organizations(db) if viewer.within is None else []


def _link(request: Request, **changes: object) -> str:
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    for key, value in changes.items():
        if value == "" or value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return f"{request.url.path}?{urlencode(params)}"


@router.get("/console/users")
def users(
    request: Request,
    viewer: AdminDep,
    db: SessionDep,
    before: Before = None,
    q: Text = "",
    org: OrgFilter = None,
) -> Response:
    within = viewer.within if viewer.within is not None else org
    rows = list_people(db, organization_id=within, before=before, query=q)
    context = {
        "rows": rows.items,
        "older": _link(request, before=rows.older) if rows.older else None,
        "first": _link(request, before="") if before else None,
        "q": q,
        "org": org,
        "orgs": _orgs(db, viewer),
        "done": request.query_params.get("done", ""),
    }
    return page(request, "users.html", context, viewer=viewer)


@router.get("/console/users/new")
def new_user_form(request: Request, viewer: AdminDep, db: SessionDep) -> Response:
    context = {"errors": {}, "form": {}, "orgs": _orgs(db, viewer)}
    return page(request, "user_new.html", context, viewer=viewer)


@router.post("/console/users/new")
def new_user(
    request: Request,
    viewer: AdminDep,
    db: SessionDep,
    email: Field = "",
    mobile: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "member",
    password: Annotated[str, Form(max_length=1024)] = "",
    organization: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
) -> Response:
    org = viewer.org
    if viewer.within is None and organization is not None:
        found = db.get(Organization, organization)
        if found is None:
            raise ConsoleError(404, "no such organisation")
        org = found
    invite = not password
    try:
        person = create_person(
            db,
            org,
            email=email,
            mobile=mobile,
            name=name,
            role=role,
            # No password given: an unguessable one nobody knows, and a link to set one.
            password=password or secrets.token_urlsafe(32),
        )
    except DomainError as exc:
        context = {
            "errors": {exc.field or "email": exc.detail},
            "form": {"email": email, "mobile": mobile, "name": name, "role": role},
            "orgs": _orgs(db, viewer),
        }
        return page(request, "user_new.html", context, viewer=viewer, status=422)
    target = f"person {person.id} ({person.login})"
    details = {"role": person.role, "invited": invite}
    audit.record(
        db,
        viewer.actor,
        "person.create",
        organization_id=org.id,
        target=target,
        details=details,
    )
    if not invite:
        return see_other(request, "/console/users?done=created")
    return _link_page(request, viewer, db, person, invite=True)


def _link_page(
    request: Request, viewer: AdminDep, db: SessionDep, person: Person, *, invite: bool
) -> Response:
    settings = settings_of(request)
    token = resets.issue(
        db, person, ttl_seconds=settings.console_reset_link_ttl, issued_by=viewer.person
    )
    audit.record(
        db,
        viewer.actor,
        "reset_link.issue",
        organization_id=person.organization_id,
        target=f"person {person.id} ({person.login})",
        details={"invite": invite},
    )
    link = settings.public_url + resets.PATH + token
    hours = settings.console_reset_link_ttl // 3600
    context = {"person": person, "link": link, "hours": hours, "invite": invite}
    context["mailed"] = _mail(settings, person, link, invite=invite, hours=hours)
    return page(request, "reset_link.html", context, viewer=viewer)


def _mail(settings: Settings, person: Person, link: str, *, invite: bool, hours: int) -> str:
    """ "sent", "failed", or "" (no mail server, or no email address). Sent before the
    request commits: were the commit to fail, the mailed link would not work, and the
    issuer, who sees the failure, issues another."""
    if not (mail.enabled(settings) and person.email):
        return ""
    message = mail.link_message(settings, person.email, link, invite=invite, hours=hours)
    try:
        mail.send(settings, message)
    except (OSError, smtplib.SMTPException):
        log.warning("could not mail a console link to person %s", person.id, exc_info=True)
        return "failed"
    return "sent"


def _person(db: SessionDep, viewer: AdminDep, person_id: int) -> Person:
    try:
        return get_person(db, person_id, within=viewer.within)
    except NotFound as exc:
        raise ConsoleError(404, exc.detail) from None


@router.post("/console/users/{person_id}/disable")
def disable(request: Request, viewer: AdminDep, db: SessionDep, person_id: PathId) -> Response:
    person = _person(db, viewer, person_id)
    if person.id == viewer.person.id:
        raise ConsoleError(409, "self")
    set_disabled(db, person, True)
    audit.record(
        db,
        viewer.actor,
        "person.disable",
        organization_id=person.organization_id,
        target=f"person {person.id} ({person.login})",
    )
    return see_other(request, "/console/users?done=disabled")


@router.post("/console/users/{person_id}/enable")
def enable(request: Request, viewer: AdminDep, db: SessionDep, person_id: PathId) -> Response:
    person = _person(db, viewer, person_id)
    set_disabled(db, person, False)
    audit.record(
        db,
        viewer.actor,
        "person.enable",
        organization_id=person.organization_id,
        target=f"person {person.id} ({person.login})",
    )
    return see_other(request, "/console/users?done=enabled")


@router.post("/console/users/{person_id}/reset-link")
def reset_link(
    request: Request, viewer: OperatorDep, db: SessionDep, person_id: PathId
) -> Response:
    person = _person(db, viewer, person_id)
    return _link_page(request, viewer, db, person, invite=False)


@router.get("/console/security")
def security_form(request: Request, viewer: AdminDep, db: SessionDep) -> Response:
    context = {
        "require_totp": policy(db, viewer.person.organization_id).require_totp,
        "done": request.query_params.get("done", ""),
    }
    return page(request, "security.html", context, viewer=viewer)


@router.post("/console/security")
def security(
    request: Request,
    viewer: AdminDep,
    db: SessionDep,
    require_totp: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    required = require_totp == "on"
    set_require_totp(db, viewer.person.organization_id, required)
    audit.record(
        db,
        viewer.actor,
        "policy.require_totp",
        organization_id=viewer.person.organization_id,
        details={"require_totp": required},
    )
    return see_other(request, "/console/security?done=saved")


def _day(value: str, field: str, errors: dict[str, str]) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(), UTC)
    except ValueError:
        errors[field] = "a date is YYYY-MM-DD"
        return None


@router.get("/console/audit")
def audit_log(
    request: Request,
    viewer: AdminDep,
    db: SessionDep,
    before: Before = None,
    action: Text = "",
    actor: Text = "",
    since: Text = "",
    until: Text = "",
    org: OrgFilter = None,
) -> Response:
    errors: dict[str, str] = {}
    first_day = _day(since, "since", errors)
    last_day = _day(until, "until", errors)
    filters = AuditFilter(
        action=action,
        actor=actor,
        since=first_day,
        # Up to and including the day named.
        until=last_day + timedelta(days=1) if last_day else None,
        organization_id=org,
    )
    rows = audit.search(db, viewer.within, filters, before=before)
    names = {o.id: o.name for o in list_organizations(db)} if viewer.within is None else {}
    context = {
        "rows": rows.items,
        "older": _link(request, before=rows.older) if rows.older else None,
        "first": _link(request, before="") if before else None,
        "filters": {"action": action, "actor": actor, "since": since, "until": until, "org": org},
        "actions": ACTIONS,
        "errors": errors,
        "orgs": _orgs(db, viewer),
        "org_names": names,
    }
    return page(request, "audit.html", context, viewer=viewer)
