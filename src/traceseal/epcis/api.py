"""``/epcis``: the EPCIS 2.0 REST binding (GS1 ``rest-bindings/openapi.yaml``), and
``/api/v1/trace/{code}``.

Capture is synchronous behind the binding's asynchronous interface: the document is read,
validated and stored before the ``202`` goes out, so the job behind ``Location`` has
already finished. A client that polls the job works unchanged; one that does not loses
nothing, because a ``202`` here means stored. Invalid documents are ``400`` problems of
type ``epcisException:ValidationException`` and leave nothing behind.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from traceseal.codes.deps import KeyringDep
from traceseal.config import Settings
from traceseal.db import utcnow
from traceseal.epcis import capture as capturing
from traceseal.epcis import pipeline
from traceseal.epcis import query as querying
from traceseal.epcis.errors import EPCISException
from traceseal.epcis.models import CaptureJob, Event
from traceseal.epcis.service import trace_code
from traceseal.epcis.vocab import CONTEXT_URL, EVENT_TYPES
from traceseal.errors import NotFound
from traceseal.orgs.deps import KEYED, ApiKey, ReadCaller, authenticated
from traceseal.orgs.models import Organization
from traceseal.web.bodylimit import body_limit
from traceseal.web.deps import ReadSessionDep, SettingsDep
from traceseal.web.problems import problem

JSON_LD = "application/ld+json"


class JsonLdResponse(JSONResponse):
    """The EPCIS REST binding answers JSON-LD (and so the OpenAPI document says)."""

    media_type = JSON_LD


router = APIRouter(prefix="/epcis", tags=["epcis"], default_response_class=JsonLdResponse)
#: Query endpoints authenticate inside their handler (see _events_response).
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, or an unknown or revoked one."}
}
trace_router = APIRouter(prefix="/api/v1/trace", tags=["trace"])

#: EPCIS exceptions that are not plain "bad document or query" (400).
_EPCIS_STATUS = {
    "epcisException:SecurityException": 403,
    "epcisException:QueryTooLargeException": 413,
    "epcisException:CaptureLimitExceededException": 413,
    "epcisException:ImplementationException": 415,
}


def epcis_problem(_: Request, exc: Exception) -> Response:
    """The REST binding's problem types: ``epcisException:<Name>``, naming the offender."""
    assert isinstance(exc, EPCISException)
    return problem(
        _EPCIS_STATUS.get(exc.epcis_type, 400),
        exc.title,
        exc.detail,
        type_=exc.epcis_type,
        eventIndex=exc.event_index,
        field=exc.field,
    )


#: What ``traceseal.app`` registers for this feature.
EXCEPTION_HANDLERS = {EPCISException: epcis_problem}

_VERSION_HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}
_TOP_LEVEL = [
    "capture",
    "events",
    "eventTypes",
    "epcs",
    "bizSteps",
    "bizLocations",
    "readPoints",
    "dispositions",
]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JsonLdResponse(
        body,
        status_code=status,
        headers={**_VERSION_HEADERS, **(headers or {})},
    )


def _collection(members: list[str]) -> JSONResponse:
    return _json(
        {
            "@context": CONTEXT_URL,
            "type": "Collection",
            "member": members,
        }
    )


def _caller_outside_transaction(request: Request, _: ApiKey) -> Organization:
    """Authenticate in a short transaction of its own.

    Capture opens its own unit of work after the CPU-heavy reading and validation; the
    request-long session of ``Caller`` would hold SQLite's write lock across all of it.
    """
    with request.app.state.read_session_factory() as session:
        org = authenticated(request, session)
        session.expunge(org)
        return org


def _job_read(job: CaptureJob) -> dict[str, Any]:
    return {
        "captureID": job.capture_id,
        "createdAt": _iso(job.created_at),
        **({"finishedAt": _iso(job.finished_at)} if job.finished_at else {}),
        "running": job.running,
        "success": job.success,
        "captureErrorBehaviour": job.error_behaviour,
        "errors": json.loads(job.errors),
        "eventCount": job.event_count,
        "duplicateCount": job.duplicate_count,
    }


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _capture_sync(
    request: Request, org: Organization, body: bytes, content_type: str | None, settings: Settings
) -> CaptureJob:
    capturing.require_capturer(org)
    with pipeline.collection_paused():  # reading a large body allocates as much as the rest
        document, source_format = capturing.read_body(body, content_type)
        return pipeline.capture(
            request.app.state.session_factory,
            org,
            document,
            source_format=source_format,
            max_events=settings.epcis_capture_max_events,
            now=utcnow(),
            workers=request.app.state.capture_workers,
        )


def _capture_headers(settings: Settings) -> dict[str, str]:
    return {
        "GS1-EPCIS-Capture-Limit": str(settings.epcis_capture_max_events),
        "GS1-EPCIS-Capture-File-Size-Limit": str(settings.epcis_capture_max_bytes),
        "GS1-Capture-Error-Behaviour": "rollback",
    }


@router.get("")
def top_level() -> JSONResponse:
    """The resources this repository offers (HATEOAS discovery)."""
    return _collection(_TOP_LEVEL)


@router.options("/capture", status_code=204)
def capture_options(settings: SettingsDep) -> Response:
    return Response(
        status_code=204,
        headers={"Allow": "OPTIONS, GET, POST", **_VERSION_HEADERS, **_capture_headers(settings)},
    )


#: What capture reads (it parses the body itself): one EPCISDocument, in either binding.
_CAPTURE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            media: {
                "schema": {
                    "type": "object",
                    "description": "An EPCISDocument (GS1's EPCIS 2.0 JSON Schema).",
                    "required": ["@context", "type", "schemaVersion", "creationDate"],
                }
            }
            for media in ("application/ld+json", "application/json")
        }
        | {
            "application/xml": {
                "schema": {
                    "type": "string",
                    "description": "An EPCIS 2.0 or 1.2 XML EPCISDocument.",
                }
            }
        },
    }
}


@router.post(
    "/capture",
    status_code=202,
    responses={202: {"description": "Captured."}},
    openapi_extra=_CAPTURE_BODY,
)
@body_limit(lambda settings: settings.epcis_capture_max_bytes)
async def capture(
    request: Request,
    settings: SettingsDep,
    org: Annotated[Organization, Depends(_caller_outside_transaction)],
) -> Response:
    """Capture an EPCISDocument (JSON-LD, EPCIS 2.0 XML or EPCIS 1.2 XML), whole or not at all.

    Events without an eventID get their CBV 2.0 event hash ID; events already stored (same
    hash) are not stored twice. Every stored event becomes a leaf of the log.
    """
    body = await request.body()
    job = await run_in_threadpool(
        _capture_sync, request, org, body, request.headers.get("content-type"), settings
    )
    return _json(
        _job_read(job),
        status=202,
        headers={"Location": f"/epcis/capture/{job.capture_id}", **_capture_headers(settings)},
    )


@router.get("/capture")
def capture_jobs(
    session: ReadSessionDep,
    caller: ReadCaller,
    perPage: Annotated[int, Query(ge=1, le=1000)] = 30,  # noqa: N803 - the binding's name
) -> JSONResponse:
    """The caller's capture jobs, newest first."""
    jobs = session.scalars(
        select(CaptureJob)
        .where(CaptureJob.organization_id == caller.id)
        .order_by(CaptureJob.id.desc())
        .limit(perPage)
    )
    return _json([_job_read(job) for job in jobs])


@router.get("/capture/{capture_id}")
def capture_job(capture_id: str, session: ReadSessionDep, caller: ReadCaller) -> JSONResponse:
    job = session.scalar(select(CaptureJob).where(CaptureJob.capture_id == capture_id))
    if job is None or job.organization_id != caller.id:
        raise NotFound(f"no capture job {capture_id!r}")
    return _json(_job_read(job))


def _params(request: Request) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        # The binding joins repeated values with "|"; accept repeated parameters too.
        params[name] = f"{params[name]}|{value}" if name in params else value
    return params


async def _page(
    request: Request, params: dict[str, str], extra: list[Any] | None = None
) -> querying.Page:
    """Authenticate and query in one trip to a worker thread.

    Query endpoints resolve their own dependencies: as separate sync dependencies, the
    read session and the caller each cost a thread hop, several times the query itself
    (an EPC's history is a fraction of a millisecond).
    """
    settings: Settings = request.app.state.settings

    def work() -> querying.Page:
        with request.app.state.read_session_factory() as session, session.begin():
            caller = authenticated(request, session)
            return querying.run(
                session, caller, params, max_per_page=settings.epcis_max_per_page, extra=extra or ()
            )

    return await run_in_threadpool(work)


def _answer(request: Request, params: dict[str, str], page: querying.Page) -> JSONResponse:
    settings: Settings = request.app.state.settings
    document = querying.query_document(page, now=utcnow(), namespace=_namespace(settings))
    headers = {}
    if page.next_token:
        following = {**params, "nextPageToken": page.next_token}
        url = f"{request.url.path}?{urlencode(following, safe='|:')}"
        headers["Link"] = f'<{url}>; rel="next"'
    return _json(document, headers=headers)


async def _events_response(request: Request, params: dict[str, str]) -> JSONResponse:
    return _answer(request, params, await _page(request, params))


def _namespace(settings: Settings) -> str:
    return f"{settings.public_url}/ns/epcis#"


@router.get("/events", responses=_AUTH, dependencies=KEYED)
async def events(request: Request) -> JSONResponse:
    """EPCIS events matching the SimpleEventQuery parameters, as an EPCISQueryDocument.

    Supported: eventType, GE_/LT_eventTime, GE_/LT_recordTime, EQ_action, EQ_bizStep,
    EQ_disposition, EQ_readPoint, EQ_bizLocation, EQ_eventID, MATCH_epc, MATCH_parentID,
    MATCH_inputEPC, MATCH_outputEPC, MATCH_anyEPC, MATCH_epcClass, MATCH_inputEPCClass,
    MATCH_outputEPCClass, MATCH_anyEPCClass, EQ_bizTransaction_{type}, EXISTS_errorDeclaration,
    GE_/LT_errorDeclarationTime, EQ_errorReason, EQ_correctiveEventID, orderBy (eventTime,
    recordTime), orderDirection, eventCountLimit, maxEventCount, perPage, nextPageToken.
    Lists are "|"-separated. Paging follows the ``Link: <...>; rel="next"`` header. An event
    declared erroneous is shown with its ``errorDeclaration``.
    """
    return await _events_response(request, _params(request))


@router.get("/events/{event_id:path}", responses=_AUTH, dependencies=KEYED)
async def event(event_id: str, request: Request) -> JSONResponse:
    """One event by its eventID (URL-encoded), in an EPCISQueryDocument."""
    page = await _page(request, {}, [Event.event_id == event_id])
    if not page.events:
        raise NotFound(f"no event {event_id!r}")
    return _answer(request, {}, page)


@router.get("/eventTypes")
def event_types() -> JSONResponse:
    return _collection(list(EVENT_TYPES))


@router.get("/eventTypes/{event_type}/events", responses=_AUTH, dependencies=KEYED)
async def events_of_type(event_type: str, request: Request) -> JSONResponse:
    if event_type not in EVENT_TYPES:
        raise NotFound(f"no event type {event_type!r}")
    return await _events_response(request, {**_params(request), "eventType": event_type})


@router.get("/epcs/{epc:path}/events", responses=_AUTH, dependencies=KEYED)
async def events_of_epc(epc: str, request: Request) -> JSONResponse:
    """Every event naming ``epc`` in any role (EPC URN or Digital Link URI, URL-encoded)."""
    return await _events_response(request, {**_params(request), "MATCH_anyEPC": epc})


_VOCABULARY_RESOURCES = {
    "bizSteps": ("EQ_bizStep", Event.biz_step),
    "dispositions": ("EQ_disposition", Event.disposition),
    "readPoints": ("EQ_readPoint", Event.read_point),
    "bizLocations": ("EQ_bizLocation", Event.biz_location),
}


def _vocabulary_routes(resource: str, parameter: str, column: Any) -> None:
    def listing(session: ReadSessionDep, caller: ReadCaller, settings: SettingsDep) -> JSONResponse:
        return _collection(
            querying.distinct_values(session, caller, column, settings.epcis_max_per_page)
        )

    async def members_events(value: str, request: Request) -> JSONResponse:
        return await _events_response(request, {**_params(request), parameter: value})

    listing.__doc__ = f"The {resource} used by the events you may read."
    members_events.__doc__ = f"Events whose {parameter.removeprefix('EQ_')} is the given value."
    router.add_api_route(f"/{resource}", listing, methods=["GET"], name=resource)
    router.add_api_route(
        f"/{resource}/{{value:path}}/events",
        members_events,
        methods=["GET"],
        name=f"{resource}_events",
        responses=_AUTH,
        dependencies=KEYED,
    )


for _resource, (_parameter, _column) in _VOCABULARY_RESOURCES.items():
    _vocabulary_routes(_resource, _parameter, _column)


@trace_router.get("/{code}")
def trace(
    code: str, session: ReadSessionDep, caller: ReadCaller, keyring: KeyringDep
) -> dict[str, Any]:
    """The code's journey: its events and those of every container it was packed in."""
    return trace_code(session, keyring, caller, code)
