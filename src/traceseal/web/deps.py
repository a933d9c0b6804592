"""Request dependencies: the unit of work and the calling organisation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from traceseal.codes.service import Keyring
from traceseal.config import Settings
from traceseal.db import utcnow
from traceseal.errors import Forbidden, Unauthorized
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.service import authenticate
from traceseal.quality.service import Issuing


def _session(request: Request) -> Iterator[Session]:
    # The request is the unit of work: commit when the handler returns, roll back if it
    # raises. scope="function" makes the commit happen before the response is sent, so a
    # failed commit is an error response, never a success that was not stored.
    # No in-process writer turn here (db.writer_turn): FastAPI may run this generator's
    # two halves in different worker threads, and a turn held across them would starve the
    # thread pool. These requests meet SQLite's own busy handling instead.
    factory = request.app.state.session_factory
    with factory() as session, session.begin():
        yield session


SessionDep = Annotated[Session, Depends(_session, scope="function")]


def _read_session(request: Request) -> Iterator[Session]:
    # For handlers that only read: on SQLite the transaction neither waits for nor holds
    # the write lock (db.read_only_factory), so a long query never stalls a capture or a
    # verification, nor waits behind one.
    factory = request.app.state.read_session_factory
    with factory() as session, session.begin():
        yield session


ReadSessionDep = Annotated[Session, Depends(_read_session, scope="function")]


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _keyring(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.keyring
    return keyring


SettingsDep = Annotated[Settings, Depends(_settings)]
KeyringDep = Annotated[Keyring, Depends(_keyring)]


async def _issuing(request: Request) -> Issuing:
    return Issuing(request.app.state.keyring, request.app.state.attachments, utcnow())


#: What writing a signed quality record needs: keys, the attachment store, the time.
IssuingDep = Annotated[Issuing, Depends(_issuing)]


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
