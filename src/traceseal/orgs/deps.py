"""Who is calling: the organisation behind a request's API key, and role checks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from traceseal.db import utcnow
from traceseal.errors import Forbidden, Unauthorized
from traceseal.orgs.models import KeyScope, Organization, Role
from traceseal.orgs.service import authenticate_key
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
    org = authenticated(request, session, note_use=False)
    key = request.state.api_key
    if _due(key.last_used_at):
        key.last_used_at = utcnow()  # in the request's own transaction
    return org


def _read_caller(request: Request, session: ReadSessionDep, _: ApiKey) -> Organization:
    return authenticated(request, session)


#: ``last_used_at`` is written at most this often per key: telling a key in use from a
#: forgotten one needs no more, and every request writing it would cost every request.
LAST_USE_EVERY = timedelta(minutes=1)


def _due(last: datetime | None) -> bool:
    return last is None or utcnow() - last >= LAST_USE_EVERY


def authenticated(request: Request, session: Session, *, note_use: bool = True) -> Organization:
    """The organisation whose API key the request carries (the key itself in
    ``request.state.api_key``); raises Unauthorized for none, an unknown, a revoked or an
    expired key.

    The key's use is noted for the server's background writer (``app.state.key_uses``):
    most routes that authenticate here (capture, EPCIS queries, a shop's trade check) do
    so in a read-only transaction, which cannot write it. ``note_use=False`` is for a
    caller that writes it in its own transaction.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
    found = authenticate_key(session, token.strip())
    if found is None:
        raise Unauthorized("unknown, revoked or expired API key")
    org, key = found
    request.state.api_key = key
    if note_use and _due(key.last_used_at):
        request.app.state.key_uses[key.id] = utcnow()
    return org


def require_admin_key(request: Request) -> None:
    """Managing keys takes an admin key of the organisation."""
    if request.state.api_key.scope != KeyScope.ADMIN.value:
        raise Forbidden("managing API keys needs an admin key of the organisation")


Caller = Annotated[Organization, Depends(_caller)]
#: The caller, for read-only handlers (with ReadSessionDep: the same session, read-only).
ReadCaller = Annotated[Organization, Depends(_read_caller)]


def require(org: Organization, *roles: Role) -> None:
    if org.role not in {r.value for r in roles}:
        allowed = " or ".join(r.value for r in roles)
        raise Forbidden(f"this needs an {allowed} API key; yours is {org.role}")
