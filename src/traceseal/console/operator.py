"""The operator's console: the organisations on the platform and their onboarding.

The operator's staff (StaffDep) read; its admins (OperatorDep) onboard. Onboarding makes
an organisation and its first admin in one savepoint: a refused admin (a bad email, a
sign-in name already taken) leaves no organisation behind. The first admin gets a one-time
link (people/resets.py) with which they set their own password; nobody else ever knows it.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from traceseal.alerts.models import Alert
from traceseal.bounds import MAX_ID
from traceseal.console.deps import (
    ConsoleError,
    OperatorDep,
    StaffDep,
    Viewer,
    check_csrf,
    settings_of,
)
from traceseal.console.menu import only
from traceseal.console.render import page
from traceseal.db import py_time, utcnow
from traceseal.errors import DomainError
from traceseal.ledger import checkpoints
from traceseal.orgs.models import ApiKey, Organization, Role
from traceseal.orgs.service import count_by_role, create_organization, search_organizations
from traceseal.people import audit, resets
from traceseal.people.models import PersonRole
from traceseal.people.service import create_person, list_people
from traceseal.quality.models import QualityRecord
from traceseal.verify.models import ScanRollup
from traceseal.verify.rollups import bucket
from traceseal.web.deps import PathId, SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

#: The kinds the operator onboards (the operator itself is made once, at installation).
KINDS = (Role.ENTERPRISE, Role.DISTRIBUTOR, Role.LAB, Role.REGULATOR)
#: The alerts that mean someone is guessing codes (verify/limits.py, verify/checks.py).
ENUMERATION = ("enumeration_burst", "sequential_burst")

MENU = (only(Role.OPERATOR, "/console/organisations", "机构", "Organisations", order=10),)

Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Text = Annotated[str, Query(max_length=100)]
Kind = Annotated[str, Query(max_length=20)]


def _link(request: Request, **changes: object) -> str:
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    for key, value in changes.items():
        if value == "" or value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return f"{request.url.path}?{urlencode(params)}"


def _age(moment: datetime | None, now: datetime) -> float | None:
    found = py_time(moment)
    return None if found is None else max(0.0, (now - found).total_seconds())


def home(db: Session, _viewer: Viewer) -> dict[str, Any]:
    """The operator's home cards: who is on the platform, today's verifications, the
    guessing alerts still open, and how fresh the log's latest checkpoint is."""
    now = utcnow()
    day, _ = bucket(now)
    scans = db.scalar(
        select(func.coalesce(func.sum(ScanRollup.scans), 0)).where(ScanRollup.day == day)
    )
    open_alerts = db.scalar(
        select(func.count()).where(Alert.kind.in_(ENUMERATION), Alert.acknowledged_at.is_(None))
    )
    latest = checkpoints.latest(db)
    return {
        "by_kind": count_by_role(db),
        "scans_today": int(scans or 0),
        "open_alerts": int(open_alerts or 0),
        "checkpoint_age": None if latest is None else _age(latest.published_at, now),
    }


def _kind(value: str) -> Role | None:
    return next((k for k in KINDS if k.value == value), None)


@router.get("/console/organisations")
def organisations(
    request: Request,
    viewer: StaffDep,
    db: SessionDep,
    before: Before = None,
    q: Text = "",
    kind: Kind = "",
) -> Response:
    role = _kind(kind) or (Role.OPERATOR if kind == Role.OPERATOR.value else None)
    rows, older = search_organizations(db, role=role, query=q, before=before)
    context = {
        "rows": rows,
        "older": _link(request, before=older) if older else None,
        "first": _link(request, before="") if before else None,
        "q": q,
        "kind": role.value if role else "",
        "kinds": [*KINDS, Role.OPERATOR],
    }
    return page(request, "operator/organisations.html", context, viewer=viewer)


def _form_page(
    request: Request,
    viewer: Viewer,
    errors: dict[str, str],
    form: dict[str, str],
    status: int = 200,
) -> Response:
    context = {"errors": errors, "form": form, "kinds": KINDS}
    return page(request, "operator/onboard.html", context, viewer=viewer, status=status)


@router.get("/console/organisations/new")
def onboard_form(request: Request, viewer: OperatorDep) -> Response:
    return _form_page(request, viewer, {}, {"kind": Role.ENTERPRISE.value})


#: Which form field a service's refusal belongs beside: the organisation's fields carry
#: an ``org_`` prefix, since the person has a name too.
_ORG_FIELDS = {"name": "org_name", "role": "kind"}


@router.post("/console/organisations/new")
def onboard(
    request: Request,
    viewer: OperatorDep,
    db: SessionDep,
    org_name: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=20)] = "",
    email: Annotated[str, Form(max_length=254)] = "",
    mobile: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    form = {"org_name": org_name, "kind": kind, "email": email, "mobile": mobile, "name": name}
    role = _kind(kind)
    if role is None:
        return _form_page(request, viewer, {"kind": "choose what kind of organisation"}, form, 422)
    savepoint = db.begin_nested()
    try:
        # The organisation's first API key is not shown: its admin makes the keys they need.
        org, _ = create_organization(db, org_name, role)
    except DomainError as exc:
        savepoint.rollback()
        field = _ORG_FIELDS.get(exc.field or "name", "org_name")
        return _form_page(request, viewer, {field: exc.detail}, form, 422)
    try:
        person = create_person(
            db,
            org,
            email=email,
            mobile=mobile,
            name=name,
            role=PersonRole.ADMIN,
            # Nobody knows it: the admin sets their own through the one-time link.
            password=secrets.token_urlsafe(32),
        )
    except DomainError as exc:
        savepoint.rollback()
        return _form_page(request, viewer, {exc.field or "email": exc.detail}, form, 422)
    savepoint.commit()
    audit.record(
        db,
        viewer.actor,
        "organization.create",
        organization_id=org.id,
        target=f"organization {org.id} ({org.name})",
        details={"kind": role.value, "first_admin": person.login},
    )
    audit.record(
        db,
        viewer.actor,
        "person.create",
        organization_id=org.id,
        target=f"person {person.id} ({person.login})",
        details={"role": person.role, "invited": True},
    )
    settings = settings_of(request)
    token = resets.issue(
        db, person, ttl_seconds=settings.console_reset_link_ttl, issued_by=viewer.person
    )
    audit.record(
        db,
        viewer.actor,
        "reset_link.issue",
        organization_id=org.id,
        target=f"person {person.id} ({person.login})",
        details={"invite": True},
    )
    context = {
        "org": org,
        "person": person,
        "link": settings.public_url + resets.PATH + token,
        "hours": settings.console_reset_link_ttl // 3600,
    }
    return page(request, "operator/onboarded.html", context, viewer=viewer)


@router.get("/console/organisations/{organization_id}")
def organisation(
    request: Request,
    viewer: StaffDep,
    db: SessionDep,
    organization_id: PathId,
    before: Before = None,
) -> Response:
    org = db.get(Organization, organization_id)
    if org is None:
        raise ConsoleError(404, "no such organisation")
    people = list_people(db, organization_id=org.id, before=before)
    keys = db.scalar(
        select(func.count()).where(ApiKey.organization_id == org.id, ApiKey.revoked_at.is_(None))
    )
    issued = db.execute(
        select(QualityRecord.kind, func.count())
        .where(QualityRecord.issuer_id == org.id)
        .group_by(QualityRecord.kind)
    )
    about = db.scalar(select(func.count()).where(QualityRecord.enterprise_id == org.id))
    context = {
        "org": org,
        "people": people.items,
        "older": _link(request, before=people.older) if people.older else None,
        "first": _link(request, before="") if before else None,
        "keys": int(keys or 0),
        "issued": {str(k): int(n) for k, n in issued},
        "about": int(about or 0),
    }
    return page(request, "operator/organisation.html", context, viewer=viewer)
