"""Who is calling: the organisation behind a request's API key, and role checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from traceseal.errors import Forbidden, Unauthorized
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.service import authenticate
from traceseal.web.deps import ReadSessionDep, SessionDep


def _caller(request: Request, session: SessionDep) -> Organization:
    return authenticated(request, session)


def _read_caller(request: Request, session: ReadSessionDep) -> Organization:
    return authenticated(request, session)


def authenticated(request: Request, session: Session) -> Organization:
    """The organisation whose API key the request carries; raises Unauthorized."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
    org = authenticate(session, token.strip())
    if org is None:
        raise Unauthorized("unknown or revoked API key")
    return org


Caller = Annotated[Organization, Depends(_caller)]
#: The caller, for read-only handlers (with ReadSessionDep: the same session, read-only).
ReadCaller = Annotated[Organization, Depends(_read_caller)]


def require(org: Organization, *roles: Role) -> None:
    if org.role not in {r.value for r in roles}:
        allowed = " or ".join(r.value for r in roles)
        raise Forbidden(f"this needs an {allowed} API key; yours is {org.role}")
