"""Who is calling: the organisation behind a request's API key, and role checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from traceseal.errors import Forbidden, Unauthorized
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.service import authenticate
from traceseal.web.deps import ReadSessionDep, SessionDep

#: How a caller proves who it is: an API key sent as a bearer token. Declaring it here puts
#: the ``apiKey`` scheme in the OpenAPI document, on every operation that depends on it; the
#: key itself is checked by :func:`authenticated`.
api_key = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    bearerFormat="ts_...",
    description="An organisation's API key: `Authorization: Bearer ts_...`.",
)
#: The scheme's credentials; the handlers read the header themselves.
ApiKey = Annotated[HTTPAuthorizationCredentials | None, Security(api_key)]
#: ``dependencies=`` for a route that authenticates inside its handler.
KEYED = [Security(api_key)]


def _caller(request: Request, session: SessionDep, _: ApiKey) -> Organization:
    return authenticated(request, session)


def _read_caller(request: Request, session: ReadSessionDep, _: ApiKey) -> Organization:
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
