"""``/api/v1/scan`` (the scanning page's calls) and ``/api/v1/aggregations`` (packing lines).

Thin: parse, call one function of ``logistics.scanning``, answer. The scanning page signs
in with an API key kept in the browser and sends it as a bearer token, like any program.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from traceseal.codes.deps import KeyringDep
from traceseal.db import utcnow
from traceseal.epcis.capture import require_capturer
from traceseal.errors import InvalidInput
from traceseal.logistics import scanning
from traceseal.logistics.scanning import Action, Submission
from traceseal.logistics.service import location_names
from traceseal.orgs.deps import Caller
from traceseal.web.bodylimit import body_limit
from traceseal.web.deps import SessionDep

router = APIRouter(prefix="/api/v1", tags=["scanning"])

_ZONE = r"^[+-][0-9]{2}:[0-9]{2}$"


class ScanLookup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=300, description="What the scanner read.")


class ScannedRead(BaseModel):
    epc: str = Field(description="The identifier events name (GS1 Digital Link).")
    kind: str = Field(description="item, or unit (a case or pallet: an SSCC).")
    gtin: str | None
    name: str | None = Field(description="The product's registered name.")
    serial: str | None


class Location(BaseModel):
    gln: str
    name: str | None


class ScanContext(BaseModel):
    organization: str
    role: str
    locations: list[Location] = Field(description="The sites brands registered for you.")
    actions: list[str]


class SubmissionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    submission_id: str = Field(
        min_length=8,
        max_length=64,
        description="Made by the client (a UUID); sending it again answers the first result.",
    )
    action: Action
    location: str = Field(max_length=13, description="GLN of the site where you scan.")
    scans: list[Annotated[str, Field(max_length=300)]] = Field(
        min_length=1, max_length=scanning.MAX_SCANS
    )
    parent: str | None = Field(
        default=None, max_length=300, description="pack_case, pack_pallet: the parent's label."
    )
    destination: str | None = Field(default=None, max_length=13, description="ship: GLN.")
    source: str | None = Field(default=None, max_length=13, description="receive: GLN.")
    scanned_at: datetime | None = Field(default=None, description="When scanned (offline).")
    time_zone: str = Field(default="+08:00", pattern=_ZONE)


class SubmissionRead(BaseModel):
    submission_id: str
    action: str
    location: str
    capture_id: str
    event_ids: list[str]
    parent: ScannedRead | None
    scans: list[ScannedRead]
    recorded_at: str
    replayed: bool = Field(description="True: sent before; nothing new was captured.")


class AggregationRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent: str = Field(max_length=300)
    child: str = Field(max_length=300)


class AggregationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: list[AggregationRow] = Field(min_length=1, max_length=scanning.MAX_SCANS * 20)
    location: str | None = Field(default=None, max_length=13)
    packed_at: datetime | None = None
    time_zone: str = Field(default="+08:00", pattern=_ZONE)


class PackedEvent(BaseModel):
    parent: str
    children: int
    event_id: str


class AggregationRead(BaseModel):
    capture_id: str
    events: list[PackedEvent]


@router.get("/scan/context", response_model=ScanContext)
def context(session: SessionDep, caller: Caller) -> object:
    """Who the key belongs to and where it scans: what the scanning page shows after sign-in."""
    glns = scanning.locations_of(session, caller)
    names = location_names(session, glns)
    return ScanContext(
        organization=caller.name,
        role=caller.role,
        locations=[Location(gln=g, name=names.get(g)) for g in glns],
        actions=[a.value for a in Action],
    )


@router.post("/scan/lookup", response_model=ScannedRead)
def lookup(body: ScanLookup, session: SessionDep, caller: Caller, keyring: KeyringDep) -> object:
    """What a scan names, with the product's name: each scan's confirmation on the page."""
    require_capturer(caller)
    return ScannedRead(**vars_of(scanning.identify(session, keyring, caller, body.code)))


def vars_of(scanned: scanning.Scanned) -> dict[str, Any]:
    return {
        "epc": scanned.epc,
        "kind": scanned.kind,
        "gtin": scanned.gtin,
        "name": scanned.name,
        "serial": scanned.serial,
    }


@router.post(
    "/scan/submissions",
    status_code=201,
    response_model=SubmissionRead,
    responses={200: {"description": "A replay: the first result; nothing was captured."}},
)
def submit(
    body: SubmissionCreate, session: SessionDep, caller: Caller, keyring: KeyringDep
) -> Response:
    """Capture what was scanned as an EPCIS ObjectEvent (receive, ship, return) or
    AggregationEvent (pack a case, pack a pallet)."""
    result, replayed = scanning.submit(
        session,
        keyring,
        caller,
        Submission(
            submission_id=body.submission_id,
            action=body.action,
            location=body.location,
            scans=body.scans,
            parent=body.parent,
            destination=body.destination,
            source=body.source,
            scanned_at=body.scanned_at,
            time_zone=body.time_zone,
        ),
        utcnow(),
    )
    read = SubmissionRead(**result, replayed=replayed)
    return JSONResponse(read.model_dump(mode="json"), status_code=200 if replayed else 201)


def _inline_schema() -> dict[str, Any]:
    """AggregationCreate's JSON Schema with its row schema in place: a ``#/$defs`` reference
    would point into the OpenAPI document, where nothing lives there."""
    schema = AggregationCreate.model_json_schema()
    rows = schema.pop("$defs")["AggregationRow"]
    schema["properties"]["rows"]["items"] = rows
    return schema


_AGGREGATION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _inline_schema()},
            "text/csv": {
                "schema": {
                    "type": "string",
                    "description": "parent,child rows; a first row 'parent,child' is skipped.",
                }
            },
        },
    }
}


async def _raw_body(request: Request) -> bytes:
    # The handler parses JSON or CSV itself; read here, it runs in the thread pool.
    return await request.body()


@router.post(
    "/aggregations",
    status_code=201,
    response_model=AggregationRead,
    openapi_extra=_AGGREGATION_BODY,
)
@body_limit(16 * 1024 * 1024)
def aggregations(
    request: Request,
    raw: Annotated[bytes, Depends(_raw_body)],
    session: SessionDep,
    caller: Caller,
    keyring: KeyringDep,
) -> object:
    """A packing line's parent,child rows: one AggregationEvent (ADD, packing) per parent,
    captured whole or not at all. JSON (``rows``) or ``text/csv`` (``?location=GLN``)."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind == "text/csv":
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("the CSV is not UTF-8", field="rows") from None
        location = request.query_params.get("location")
        pairs = scanning.read_pairs(text)
        packed_at = None
        zone = "+08:00"
    else:
        try:
            body = AggregationCreate.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidInput(f"{where}: {first['msg']}", field="rows") from None
        pairs = [(row.parent, row.child) for row in body.rows]
        location, packed_at, zone = body.location, body.packed_at, body.time_zone
    return scanning.pack(
        session,
        keyring,
        caller,
        pairs,
        now=utcnow(),
        location=location,
        packed_at=packed_at,
        time_zone=zone,
    )
