"""Capturing EPCIS documents: read, validate, hash and prepare, all before any write.

A document is checked whole before anything is written (``read_document``, ``plan`` and
``prepare_events``, outside any transaction), then written in one transaction by
``writer.store``: the job row, the events, their index rows and one log leaf per event. A
crash at any point leaves either all of it or none (the database's atomic commit; the
caller owns it).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from traceseal.db import db_time, utcnow
from traceseal.epcis import vocab
from traceseal.epcis.errors import (
    CaptureLimitExceededException,
    ImplementationException,
    ValidationException,
)
from traceseal.epcis.hashing import document_context, event_hash
from traceseal.epcis.identifiers import digital_link, location_key
from traceseal.epcis.models import EpcRole
from traceseal.epcis.validation import validate_document, validate_events
from traceseal.epcis.xmlsplit import XmlDocument
from traceseal.errors import Forbidden
from traceseal.ledger import service as ledger
from traceseal.merkle import leaf_hash
from traceseal.orgs.models import Organization, Role

#: Roles that may capture: brand owners, distributors and logistics, and the operator.
CAPTURERS = frozenset({Role.ENTERPRISE.value, Role.DISTRIBUTOR.value, Role.OPERATOR.value})
LEAF_KIND = "epcis.event"

#: An item or class of a product in canonical Digital Link form: the GTIN follows.
_GTIN_LINK = "https://id.gs1.org/01/"
#: Locations repeat from event to event (a line, a warehouse): convert each once.
_location = lru_cache(maxsize=1 << 14)(location_key)


@dataclass(slots=True)
class Chunk:
    """A stretch of a document's events, prepared: what the writer stores.

    Column-wise lists of plain tuples and strings rather than one object per event: a worker
    process sends this back to the writer, and such lists pickle and unpickle several times
    faster, which matters because the writer's process does the unpickling.
    """

    #: Position of the first event in the document's event list.
    start: int
    hashes: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    #: Per event, its epcis_events columns from event_id on (writer.EVENT_COLUMNS).
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    #: Per event, the identifiers it names and their roles, each pair once.
    epcs: list[list[tuple[str, int]]] = field(default_factory=list)
    transactions: list[list[tuple[str, str]]] = field(default_factory=list)
    #: Per event, the GTINs of the products it names (their brand owners may read it).
    gtins: list[tuple[str, ...]] = field(default_factory=list)
    #: Per event, its log leaf and the leaf's hash.
    leaves: list[bytes] = field(default_factory=list)
    leaf_hashes: list[bytes] = field(default_factory=list)
    #: For events converted from XML in a worker: the prefixes their conversion used.
    namespaces: dict[str, str] | None = None
    #: Position in the chunk -> the event's error declaration, for the events carrying one.
    declarations: dict[int, Declared] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.hashes)


@dataclass(frozen=True, slots=True)
class Declared:
    """An event's ``errorDeclaration`` (EPCIS 2.0 §7.4.1.2), ready for the writer."""

    #: declarationTime, in UTC.
    time: datetime
    #: The bare CBV error reason, an extension URI, or None.
    reason: str | None
    corrective_ids: tuple[str, ...]
    #: The errorDeclaration member as captured, compact JSON (it goes into the log leaf).
    member: str


@dataclass(frozen=True, slots=True)
class Plan:
    """A document whose own members are valid, ready to have its events prepared.

    Small and picklable: worker processes prepare chunks of events with it (pipeline.py).
    """

    source_format: str
    #: The document's ``@context`` as sent, and the prefixes it declares.
    raw_context: Any
    context: dict[str, str]
    capture_id: str
    received_at: datetime
    #: recordTime as written into stored events.
    recorded: str
    #: Whether events get GS1's JSON Schema: always, JSON-LD and XML alike (one rule set for
    #: both bindings, rules.py); kept so tests and benchmarks can time the other rules alone.
    schema: bool
    #: The database engine's name, so workers can put times in the form its driver takes.
    dialect: str = "sqlite"


@dataclass(slots=True)
class Capture:
    """A validated document: what ``writer.store`` writes."""

    plan: Plan
    chunk: Chunk


def read_document(data: bytes, content_type: str | None) -> tuple[dict[str, Any], str]:
    """Parse a request body into the JSON-LD document form; returns ``(document, format)``.

    XML is told apart from JSON by the media type, or by its first character when the
    client sent none. EPCIS 1.2 XML is converted to the 2.0 model on the way in.
    """
    document, source_format = read_body(data, content_type)
    return (document if isinstance(document, dict) else document.convert()), source_format


def read_body(data: bytes, content_type: str | None) -> tuple[dict[str, Any] | XmlDocument, str]:
    """:func:`read_document`, except that an XML document's events are left in XML: for a
    large document, worker processes convert them (pipeline.capture)."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    is_xml = kind.endswith(("/xml", "+xml"))
    if not kind:
        is_xml = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"  # after a UTF-8 BOM
    elif not is_xml and not kind.endswith(("/json", "+json")):
        raise ImplementationException(
            f"unsupported media type {kind!r}: send application/ld+json, application/json "
            "or application/xml"
        )
    if is_xml:
        # 1.2 documents are worth telling apart in the job.
        return XmlDocument(data), "xml-1.2" if b"urn:epcglobal:epcis:xsd:1" in data[
            :4096
        ] else "xml"
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValidationException(f"the body is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ValidationException("an EPCIS document is a JSON object")
    return document, "json"


def _event_list(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The events to capture; empty when the document is not shaped so (the schema, run on
    the document itself, then says what is wrong)."""
    body = document.get("epcisBody")
    if document.get("type") == "EPCISQueryDocument":
        # The binding lets a query document be captured: its results are events too.
        for key in ("queryResults", "resultsBody"):
            body = body.get(key) if isinstance(body, Mapping) else None
    events = body.get("eventList") if isinstance(body, Mapping) else None
    return list(events) if isinstance(events, list) else []


def check_event_count(count: int, max_events: int) -> None:
    if count > max_events:
        raise CaptureLimitExceededException(
            f"the document has {count:,} events; this repository captures at most "
            f"{max_events:,} per request: split it"
        )


def job_context(raw_context: Any) -> str:
    """A capture job's stored context: the prefixes its events' JSON uses."""
    return json.dumps(
        document_context({"@context": raw_context}), ensure_ascii=False, sort_keys=True
    )


def plan(
    document: dict[str, Any],
    *,
    source_format: str,
    max_events: int,
    now: datetime | None = None,
    dialect: str = "sqlite",
) -> tuple[Plan, list[dict[str, Any]]]:
    """Check the document's own members; return the plan and the events still to check."""
    events = _event_list(document)
    check_event_count(len(events), max_events)
    body = document.get("epcisBody")
    if document.get("type") == "EPCISQueryDocument":
        results = body.get("queryResults") if isinstance(body, Mapping) else None
        results = results.get("resultsBody") if isinstance(results, Mapping) else None
        if not (isinstance(results, Mapping) and isinstance(results.get("eventList"), list)):
            raise ValidationException(
                "Document, epcisBody: a query document carries its events in "
                "epcisBody.queryResults.resultsBody.eventList",
                field="/epcisBody/queryResults/resultsBody/eventList",
            )
        # The binding lets a query document be captured: its events are checked as those of
        # the capture document they are being captured as.
        shell: dict[str, Any] = {
            "@context": document.get("@context"),
            "type": "EPCISDocument",
            "schemaVersion": document.get("schemaVersion", "2.0"),
            "creationDate": document.get("creationDate"),
            "epcisBody": {"eventList": []},
        }
    elif isinstance(body, Mapping) and isinstance(body.get("eventList"), list):
        # The document without its events: they are checked chunk by chunk (prepare_events).
        shell = {**document, "epcisBody": {**body, "eventList": []}}
    else:
        shell = dict(document)  # malformed: the schema says how
    # One rule set for both bindings: XML, held to the XSD as it was read, gets the JSON
    # Schema and the other rules too (rules.py settles where GS1's two schemas disagree).
    schema = True
    validate_document(shell, schema=schema)
    now = now or utcnow()
    return (
        Plan(
            source_format=source_format,
            raw_context=shell["@context"],
            context=document_context(shell),
            capture_id=secrets.token_hex(16),
            received_at=now,
            recorded=now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            schema=schema,
            dialect=dialect,
        ),
        events,
    )


def prepare_events(plan: Plan, events: list[dict[str, Any]], start: int) -> Chunk:
    """Validate and prepare ``events``, which sit at ``start`` in the document's event list.

    Pure CPU, no database: a worker process may run it for a chunk of a large document.
    Raises ValidationException for the first offending event, positions counted in the
    whole document.
    """
    validate_events(events, context=plan.raw_context, start_index=start, schema=plan.schema)
    chunk = Chunk(start)
    dialect = _DIALECTS[plan.dialect]
    context = plan.context
    recorded = plan.recorded
    for event in events:
        own_context = event.get("@context")
        digest = event_hash(
            event,
            {**context, **document_context({"@context": own_context})} if own_context else context,
        )
        event_id = event.get("eventID") or digest
        biz_step = event.get("bizStep")
        disposition = event.get("disposition")
        chunk.hashes.append(digest)
        chunk.ids.append(event_id)
        chunk.rows.append(
            (
                event_id,
                digest,
                event["type"],
                event.get("action"),
                db_time(_time(event["eventTime"]), dialect),
                None if biz_step is None else vocab.normalise("bizStep", biz_step),
                None if disposition is None else vocab.normalise("disposition", disposition),
                _id_of(event.get("readPoint")),
                _id_of(event.get("bizLocation")),
                orjson.dumps({**event, "eventID": event_id, "recordTime": recorded}).decode(),
            )
        )
        declaration = event.get("errorDeclaration")
        if declaration is not None:
            chunk.declarations[len(chunk.hashes) - 1] = _declared(declaration)
        # An EPC named twice in one role is one index row.
        epcs = list(dict.fromkeys(_identifiers(event)))
        chunk.epcs.append(epcs)
        chunk.gtins.append(_gtins(epcs))
        chunk.transactions.append(
            list(dict.fromkeys(_transactions(event))) if "bizTransactionList" in event else []
        )
        leaf = ledger.leaf_record(
            LEAF_KIND,
            digest,
            {"captureID": plan.capture_id, "eventHash": digest, "eventID": event_id},
        )
        chunk.leaves.append(leaf)
        chunk.leaf_hashes.append(leaf_hash(leaf))
    return chunk


def prepare(
    document: dict[str, Any],
    *,
    source_format: str,
    max_events: int,
    now: datetime | None = None,
) -> Capture:
    """Validate ``document`` and compute everything ``store`` writes. Touches no database.

    All the CPU work of a capture happens here, before the write transaction: on SQLite that
    transaction holds the database's one write lock, so it should only write. For large
    documents pipeline.capture spreads this over worker processes.
    """
    ready_plan, events = plan(document, source_format=source_format, max_events=max_events, now=now)
    return Capture(ready_plan, prepare_events(ready_plan, events, 0))


def _declared(declaration: dict[str, Any]) -> Declared:
    reason = declaration.get("reason")
    return Declared(
        time=_time(declaration["declarationTime"]),
        reason=None if reason is None else vocab.normalise("errorReason", reason),
        corrective_ids=tuple(dict.fromkeys(declaration.get("correctiveEventIDs") or ())),
        member=orjson.dumps(declaration).decode(),
    )


def _time(value: str) -> datetime:
    # Validation has checked the RFC 3339 form; Python 3.11 parses it, "Z" included.
    return datetime.fromisoformat(value).astimezone(UTC)


def _id_of(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return _location(value) if isinstance(value, str) else None


def _identifiers(event: dict[str, Any]) -> list[tuple[str, int]]:
    """The identifiers an event names, as Digital Link URIs, with their roles."""
    found: list[tuple[str, int]] = []
    for key, role in _EPC_FIELDS:
        epcs = event.get(key)
        if epcs:
            found += [(digital_link(epc), role) for epc in epcs]
    parent = event.get("parentID")
    if parent:
        found.append((digital_link(parent), _PARENT))
    for key, role in _QUANTITY_FIELDS:
        elements = event.get(key)
        if elements:
            found += [(digital_link(element["epcClass"]), role) for element in elements]
    return found


def _transactions(event: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for transaction in event.get("bizTransactionList") or ():
        kind = transaction.get("type")
        kind = "" if kind is None else vocab.normalise("bizTransactionType", kind)
        yield kind, transaction["bizTransaction"]


# Roles as plain integers: IntEnum members are slow to hash and to pickle.
_PARENT = EpcRole.PARENT.value
_EPC_FIELDS = (
    ("epcList", EpcRole.EPC.value),
    ("childEPCs", EpcRole.CHILD.value),
    ("inputEPCList", EpcRole.INPUT.value),
    ("outputEPCList", EpcRole.OUTPUT.value),
)
_QUANTITY_FIELDS = (
    ("quantityList", EpcRole.QUANTITY.value),
    ("childQuantityList", EpcRole.QUANTITY.value),
    ("inputQuantityList", EpcRole.INPUT_QUANTITY.value),
    ("outputQuantityList", EpcRole.OUTPUT_QUANTITY.value),
)


def require_capturer(org: Organization) -> None:
    if org.role not in CAPTURERS:
        raise Forbidden(
            f"capturing EPCIS events needs an enterprise, distributor or operator API key; "
            f"yours is {org.role}"
        )


def _gtins(epcs: list[tuple[str, int]]) -> tuple[str, ...]:
    start = len(_GTIN_LINK)
    return tuple({epc[start : start + 14] for epc, _ in epcs if epc.startswith(_GTIN_LINK)})


class _Dialect:
    """What db.db_time needs to know of an engine, in a picklable form."""

    def __init__(self, name: str) -> None:
        self.name = name


_DIALECTS = {name: _Dialect(name) for name in ("sqlite", "postgresql")}
