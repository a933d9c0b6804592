"""WebSocket subscriptions: ``GET /epcis/queries/{name}/events`` with ``Upgrade: websocket``
(EPCIS 2.0 REST binding, response ``101WebsocketCreated``).

The client authenticates as on every route (``Authorization: Bearer <API key>`` on the
handshake) and asks for ``stream=true`` or a schedule (``second``, ``minute``, ``hour``,
``dayOfMonth``, ``month``, ``dayOfWeek``, with ``reportIfEmpty``), optionally with
``initialRecordTime``. A refused handshake answers an HTTP problem (401, 404, 400) where
the server can send one, and closes with 1008 otherwise. Each message is one
EPCISQueryDocument (text, JSON) of at most ``subscriptions.BATCH`` events.

The database is the source of truth: the connection looks for new matching events every
``TRACESEAL_EPCIS_STREAM_POLL_MS`` by event id (ids grow in commit order, so nothing is
skipped), which works the same whichever server process captured them. Each look also
checks that the API key is still valid and the query still exists, and closes the socket
(1008 or 1000) when either is gone.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, QueryParams

from traceseal.db import utcnow
from traceseal.epcis import named as naming
from traceseal.epcis.delivery import document
from traceseal.epcis.errors import EPCISException, QueryParameterException
from traceseal.epcis.models import Event
from traceseal.epcis.schedule import FIELDS, Schedule, parse_offset
from traceseal.epcis.standing_models import NamedQuery
from traceseal.epcis.subscriptions import BATCH, check_mode, last_event_id
from traceseal.errors import DomainError, TooManyRequests, Unauthorized
from traceseal.orgs.models import Organization
from traceseal.orgs.service import authenticate_key
from traceseal.web.problems import domain_problem, problem

socket_router = APIRouter(prefix="/epcis/queries")

_CONTROLS = frozenset({"stream", "reportIfEmpty", "initialRecordTime", *FIELDS})


@dataclass
class _Stream:
    """One open subscription: who, which query, and how far it has read."""

    token: str
    organization_id: int
    query_id: int
    params: dict[str, str]
    plan: Schedule | None
    report_if_empty: bool
    cursor: int
    initial: datetime | None
    namespace: str
    next_run: datetime | None = None
    #: The last look filled a whole batch: look again at once (a schedule's run goes on).
    more: bool = False
    pending: list[dict[str, Any]] = field(default_factory=list)


def _token(headers: Headers) -> str:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
    return token.strip()


def _caller(session: Session, token: str) -> Organization:
    found = authenticate_key(session, token)
    if found is None:
        raise Unauthorized("unknown, revoked or expired API key")
    return found[0]


def _controls(query: QueryParams) -> tuple[Schedule | None, bool, datetime | None]:
    unknown = sorted(set(query) - _CONTROLS)
    if unknown:
        raise QueryParameterException(
            f"{unknown[0]!r} is not a subscription control", field=unknown[0]
        )
    stream = {"true": True, None: None}.get(query.get("stream"), False)
    schedule = {name: query[name] for name in FIELDS if name in query} or None
    plan = check_mode(stream, schedule)
    report = query.get("reportIfEmpty", "false")
    if report not in ("true", "false"):
        raise naming.SubscriptionControlsException(
            "reportIfEmpty is true or false", field="reportIfEmpty"
        )
    initial = None
    if "initialRecordTime" in query:
        try:
            initial = datetime.fromisoformat(query["initialRecordTime"].replace(" ", "+"))
        except ValueError:
            initial = None
        if initial is None or initial.tzinfo is None:
            raise naming.SubscriptionControlsException(
                "initialRecordTime is an RFC 3339 time with an offset", field="initialRecordTime"
            )
    return plan, report == "true", initial


def _open(factory: Any, ws: WebSocket, name: str) -> _Stream:
    """Check the handshake: the key, the query, the controls (raises DomainError)."""
    token = _token(ws.headers)
    plan, report, initial = _controls(ws.query_params)
    settings = ws.app.state.settings
    with factory() as session, session.begin():
        caller = _caller(session, token)
        named = naming.find(session, caller, name)
        stream = _Stream(
            token=token,
            organization_id=caller.id,
            query_id=named.id,
            params=naming.stored_params(named),
            plan=plan,
            report_if_empty=report,
            cursor=-1 if initial else last_event_id(session),
            initial=initial,
            namespace=f"{settings.public_url}/ns/epcis#",
        )
    if plan is not None:
        stream.next_run = plan.next_after(
            utcnow(), parse_offset(settings.epcis_schedule_utc_offset)
        )
    return stream


def _look(factory: Any, stream: _Stream, now: datetime, zone: timezone) -> bool:
    """Put in ``stream.pending`` what is due at ``now``: at most one batch, so a long
    backlog (an early initialRecordTime) is sent a batch a look, never held in memory whole.
    False when the subscription has ended (key revoked, query deleted)."""
    with factory() as session, session.begin():
        found = authenticate_key(session, stream.token)
        named = session.get(NamedQuery, stream.query_id)
        if found is None or named is None or named.organization_id != found[0].id:
            return False
        fresh_run = False
        if stream.plan is not None and not stream.more:
            if stream.next_run is None or now < stream.next_run:
                return True
            stream.next_run = stream.plan.next_after(now, zone)
            fresh_run = True
        since = [Event.id > stream.cursor]
        if stream.initial is not None:
            since.append(Event.record_time >= stream.initial)
        ids = naming.matching_ids(session, found[0], stream.params, since, limit=BATCH)
        stream.more = len(ids) == BATCH
        if ids or (fresh_run and stream.report_if_empty):
            stream.pending.append(
                document(
                    session,
                    found[0],
                    ids,
                    now=now,
                    namespace=stream.namespace,
                    subscription_id=None,
                )
            )
        if ids:
            stream.cursor = ids[-1]
        return True


async def _deny(ws: WebSocket, exc: DomainError) -> None:
    if isinstance(exc, EPCISException):
        response: JSONResponse = problem(
            400, exc.title, exc.detail, type_=exc.epcis_type, field=exc.field
        )
    else:
        response = domain_problem(exc)
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(response)
    else:
        await ws.close(code=1008, reason=exc.detail[:120])


async def _until_closed(ws: WebSocket) -> None:
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass


def _open_sockets(ws: WebSocket) -> Counter[int]:
    """Open WebSocket subscriptions per organisation in this server process. Each looks at
    the database every TRACESEAL_EPCIS_STREAM_POLL_MS, so their number is bounded like the
    subscriptions' (TRACESEAL_EPCIS_SUBSCRIPTIONS_MAX)."""
    state = ws.app.state
    if not hasattr(state, "epcis_open_sockets"):
        state.epcis_open_sockets = Counter()
    counts: Counter[int] = state.epcis_open_sockets
    return counts


@socket_router.websocket("/{name}/events")
async def subscribe_socket(ws: WebSocket, name: str) -> None:
    """Subscribe to a named query over a WebSocket (see the module's description)."""
    factory = ws.app.state.read_session_factory
    settings = ws.app.state.settings
    open_sockets = _open_sockets(ws)
    try:
        stream = await run_in_threadpool(_open, factory, ws, name)
        if open_sockets[stream.organization_id] >= settings.epcis_subscriptions_max:
            raise TooManyRequests(
                "your organisation has as many WebSocket subscriptions open on this server as "
                "it may (TRACESEAL_EPCIS_SUBSCRIPTIONS_MAX); close one first",
                retry_after=60,
            )
    except DomainError as exc:
        await _deny(ws, exc)
        return
    # Counted in the event loop's thread only, so no lock is needed.
    open_sockets[stream.organization_id] += 1
    try:
        await _serve(ws, stream, factory, settings)
    finally:
        open_sockets[stream.organization_id] -= 1


async def _serve(ws: WebSocket, stream: _Stream, factory: Any, settings: Any) -> None:
    await ws.accept()
    zone = parse_offset(settings.epcis_schedule_utc_offset)
    closed = asyncio.create_task(_until_closed(ws))
    try:
        while not closed.done():
            pause = 0 if stream.more else settings.epcis_stream_poll_ms / 1000
            await asyncio.wait({closed}, timeout=pause)
            if closed.done():
                break
            alive = await run_in_threadpool(_look, factory, stream, utcnow(), zone)
            for message in stream.pending:
                await ws.send_text(json.dumps(message, ensure_ascii=False))
            stream.pending.clear()
            if not alive:
                await ws.close(code=1008, reason="subscription ended: query or API key gone")
                break
    finally:
        closed.cancel()
