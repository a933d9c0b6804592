"""Request dependencies every feature shares: the unit of work and the settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

from traceseal.bounds import MAX_ID
from traceseal.config import Settings


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


SettingsDep = Annotated[Settings, Depends(_settings)]


#: An id in a path (``/api/v1/code-runs/{run_id}``): 1 .. 2^63-1, else 422.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
#: "Items after this id" in a paged listing: 0 .. 2^63-1.
AfterId = Annotated[int, Query(ge=0, le=MAX_ID, description="Id of the last item seen.")]
#: An optional id filter in a query string.
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
