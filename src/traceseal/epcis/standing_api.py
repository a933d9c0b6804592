"""``/epcis/queries``: named queries and their webhook subscriptions (EPCIS 2.0 REST binding,
``rest-bindings/openapi.yaml``, tags Queries and Subscriptions). The WebSocket side of
``/epcis/queries/{name}/events`` is in ``socket.py``.

Everything here is the calling organisation's own: another tenant's query or subscription
answers 404 exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from traceseal.codes.deps import KeyringDep
from traceseal.config import Settings
from traceseal.db import utcnow
from traceseal.epcis import named as naming
from traceseal.epcis import query as querying
from traceseal.epcis import subscriptions as subscribing
from traceseal.epcis.errors import QueryParameterException
from traceseal.epcis.schedule import parse_offset
from traceseal.orgs.deps import KEYED, Caller, ReadCaller, authenticated
from traceseal.web.bodylimit import body_limit
from traceseal.web.deps import ReadSessionDep, SessionDep, SettingsDep
from traceseal.web.problems import problem

JSON_LD = "application/ld+json"
_VERSION_HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}
_PAGING = ("perPage", "nextPageToken")
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, or an unknown or revoked one."}
}

router = APIRouter(prefix="/epcis/queries", tags=["epcis"])
#: A query or a subscription is a few hundred bytes; long lists of EPCs stay far below this.
BODY_LIMIT = 256 * 1024


def conflict_problem(_: Request, exc: Exception) -> Response:
    """ResourceAlreadyExistsException is the binding's 409."""
    assert isinstance(exc, naming.ResourceAlreadyExistsException)
    return problem(409, exc.title, exc.detail, type_=exc.epcis_type, field=exc.field)


#: What ``traceseal.app`` registers for this module (more specific than EPCISException's).
EXCEPTION_HANDLERS = {naming.ResourceAlreadyExistsException: conflict_problem}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={**_VERSION_HEADERS, **(headers or {})})


class QueryCreate(BaseModel):
    """``POST /queries``: a name and a query object (``query-schema.json``)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200, examples=["shippedToday"])
    query: dict[str, Any] = Field(examples=[{"eventType": ["ObjectEvent"]}])


class SubscriptionCreate(BaseModel):
    """``POST /queries/{name}/subscriptions``: where to, and when (stream or schedule)."""

    model_config = ConfigDict(extra="forbid")
    dest: str = Field(max_length=2000, examples=["https://client.example.com/queryCallback"])
    signatureToken: str | None = Field(default=None, max_length=2000)  # noqa: N815
    stream: bool | None = None
    schedule: dict[str, str] | None = Field(default=None, examples=[{"hour": "1", "minute": "5"}])
    reportIfEmpty: bool = False  # noqa: N815
    initialRecordTime: AwareDatetime | None = None  # noqa: N815


@router.post("", status_code=201, responses={409: {"description": "The name is taken."}})
@body_limit(BODY_LIMIT)
def create_query(
    body: QueryCreate, session: SessionDep, caller: Caller, settings: SettingsDep
) -> JSONResponse:
    """Keep a SimpleEventQuery under a name; its events are at ``Location`` + ``/events``."""
    named = naming.create(
        session, caller, body.name, body.query, limit=settings.epcis_subscriptions_max
    )
    return _json(
        naming.read(named),
        status=201,
        headers={"Location": f"/epcis/queries/{quote(named.name, safe='')}"},
    )


@router.get("")
def list_queries(session: ReadSessionDep, caller: ReadCaller) -> JSONResponse:
    """Your named queries."""
    return _json([naming.read(named) for named in naming.listing(session, caller)])


@router.get("/{name}")
def get_query(name: str, session: ReadSessionDep, caller: ReadCaller) -> JSONResponse:
    """One of your named queries: its name and query."""
    return _json(naming.read(naming.find(session, caller, name)))


@router.delete("/{name}", status_code=204)
def delete_query(name: str, session: SessionDep, caller: Caller) -> Response:
    """Remove the query and every subscription to it (open WebSockets close)."""
    naming.delete_query(session, caller, name)
    return Response(status_code=204, headers=_VERSION_HEADERS)


def _page(request: Request, name: str, paging: dict[str, str]) -> querying.Page:
    settings: Settings = request.app.state.settings
    with request.app.state.read_session_factory() as session, session.begin():
        caller = authenticated(request, session)
        named = naming.find(session, caller, name)
        params = {**naming.stored_params(named), **paging}
        return querying.run(session, caller, params, max_per_page=settings.epcis_max_per_page)


class JsonLdResponse(JSONResponse):
    """Query results are JSON-LD, as on ``/epcis/events`` (and so the OpenAPI says)."""

    media_type = JSON_LD


@router.get("/{name}/events", responses=_AUTH, dependencies=KEYED, response_class=JsonLdResponse)
async def query_events(name: str, request: Request) -> JSONResponse:
    """The named query's events, paged like ``/events`` (``perPage``, ``nextPageToken`` and
    the ``Link: <...>; rel="next"`` header). With ``Upgrade: websocket`` and ``stream=true``
    or a schedule, the same URL subscribes by WebSocket (docs/epcis.md)."""
    extra = sorted(set(request.query_params) - set(_PAGING))
    if extra:
        raise QueryParameterException(
            f"{extra[0]!r}: the query's parameters are stored with it; only perPage and "
            "nextPageToken are taken here (stream and schedules need a WebSocket)",
            field=extra[0],
        )
    paging = {key: request.query_params[key] for key in _PAGING if key in request.query_params}
    page = await run_in_threadpool(_page, request, name, paging)
    settings: Settings = request.app.state.settings
    document = querying.query_document(
        page, now=utcnow(), namespace=f"{settings.public_url}/ns/epcis#"
    )
    headers = {}
    if page.next_token:
        following = urlencode({**paging, "nextPageToken": page.next_token})
        headers["Link"] = f'<{request.url.path}?{following}>; rel="next"'
    return JsonLdResponse(document, headers={**_VERSION_HEADERS, **headers})


def _location(name: str, subscription_id: str) -> str:
    return f"/epcis/queries/{quote(name, safe='')}/subscriptions/{subscription_id}"


@router.post("/{name}/subscriptions", status_code=201)
@body_limit(BODY_LIMIT)
def subscribe(
    name: str,
    body: SubscriptionCreate,
    session: SessionDep,
    caller: Caller,
    settings: SettingsDep,
    keyring: KeyringDep,
) -> JSONResponse:
    """Subscribe a webhook (``dest``) to the query: ``stream: true`` for every new event,
    or a ``schedule``; each POST is signed with ``signatureToken`` (``GS1-Signature``)."""
    subscription = subscribing.subscribe(
        session,
        keyring,
        caller,
        name,
        subscribing.Controls(
            dest=body.dest,
            signature_token=body.signatureToken,
            stream=body.stream,
            schedule=body.schedule,
            report_if_empty=body.reportIfEmpty,
            initial_record_time=body.initialRecordTime,
        ),
        policy=settings.outbound_policy,
        zone=parse_offset(settings.epcis_schedule_utc_offset),
        limit=settings.epcis_subscriptions_max,
    )
    return _json(
        subscribing.read(subscription, name),
        status=201,
        headers={"Location": _location(name, subscription.subscription_id)},
    )


@router.get("/{name}/subscriptions")
def list_subscriptions(name: str, session: ReadSessionDep, caller: ReadCaller) -> JSONResponse:
    """The query's subscriptions (never their signature tokens)."""
    found = subscribing.listing(session, caller, name)
    return _json([subscribing.read(subscription, name) for subscription in found])


@router.get("/{name}/subscriptions/{subscription_id}")
def get_subscription(
    name: str, subscription_id: str, session: ReadSessionDep, caller: ReadCaller
) -> JSONResponse:
    """One subscription: its dest, stream or schedule, and when it last delivered."""
    return _json(subscribing.read(subscribing.find(session, caller, name, subscription_id), name))


@router.delete("/{name}/subscriptions/{subscription_id}", status_code=204)
def unsubscribe(name: str, subscription_id: str, session: SessionDep, caller: Caller) -> Response:
    """Unsubscribe; deliveries not yet sent are dropped."""
    subscribing.unsubscribe(session, caller, name, subscription_id)
    return Response(status_code=204, headers=_VERSION_HEADERS)
