"""Capturing EPCIS documents: read, validate, hash, store and log, all or nothing.

A document is checked whole before anything is written (``read_document`` and
``prepare``, outside any transaction), then written in one transaction by ``store``: the
job row, the events, their index rows and one log leaf per event. A crash at any point
leaves either all of it or none (the database's atomic commit; the caller owns it).

An event's row id is its leaf index in the log, so "every event has its leaf" is a
property of the key, and ``/ledger/leaves/{id}`` is the event's leaf.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from traceseal.db import Prepared, db_time, utcnow
from traceseal.epcis import vocab
from traceseal.epcis.errors import (
    CaptureLimitExceededException,
    ImplementationException,
    ValidationException,
)
from traceseal.epcis.hashing import digital_link, document_context, event_hash
from traceseal.epcis.identifiers import location_key
from traceseal.epcis.models import (
    CaptureJob,
    EpcRole,
    Event,
    EventAccess,
    EventBizTransaction,
    EventEpc,
)
from traceseal.epcis.validation import validate_document, validate_events
from traceseal.errors import Forbidden
from traceseal.ledger import service as ledger
from traceseal.orgs.models import Organization, Role
from traceseal.registry.models import Product

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
#: Roles that may capture: brand owners, distributors and logistics, and the operator.
CAPTURERS = frozenset({Role.ENTERPRISE.value, Role.DISTRIBUTOR.value, Role.OPERATOR.value})
LEAF_KIND = "epcis.event"

#: An item or class of a product in canonical Digital Link form: the GTIN follows.
_GTIN_LINK = "https://id.gs1.org/01/"
#: Locations repeat from event to event (a line, a warehouse): convert each once.
_location = lru_cache(maxsize=1 << 14)(location_key)


@dataclass(slots=True)
class ReadyEvent:
    """One event ready to store: its columns and index rows, computed outside the transaction."""

    position: int
    event_id: str
    event_hash: str
    event_type: str
    action: str | None
    event_time: datetime
    biz_step: str | None
    disposition: str | None
    read_point: str | None
    biz_location: str | None
    epcs: list[tuple[str, int]] = field(default_factory=list)
    transactions: list[tuple[str, str]] = field(default_factory=list)
    #: GTINs of the products the event names (their brand owners may read it).
    gtins: set[str] = field(default_factory=set)
    #: event_time as the database driver takes it (db.db_time).
    event_time_db: Any = None
    #: The event's log leaf, and its stored JSON (with eventID and recordTime).
    leaf: bytes = b""
    stored_body: str = ""


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
    #: Whether events still need GS1's JSON Schema (XML was held to the XSD as it was read).
    schema: bool
    #: The database engine's name, so workers can put times in the form its driver takes.
    dialect: str = "sqlite"


@dataclass(slots=True)
class Capture:
    """A validated document: what ``store`` writes."""

    plan: Plan
    events: list[ReadyEvent]


def read_document(data: bytes, content_type: str | None) -> tuple[dict[str, Any], str]:
    """Parse a request body into the JSON-LD document form; returns ``(document, format)``.

    XML is told apart from JSON by the media type, or by its first character when the
    client sent none. EPCIS 1.2 XML is converted to the 2.0 model on the way in.
    """
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
        from traceseal.epcis.xml import read_document as read_xml

        document = read_xml(data)
        # The converter says which binding it read; 1.2 documents are worth telling apart.
        return document, "xml-1.2" if b"urn:epcglobal:epcis:xsd:1" in data[:4096] else "xml"
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
    if len(events) > max_events:
        raise CaptureLimitExceededException(
            f"the document has {len(events):,} events; this repository captures at most "
            f"{max_events:,} per request: split it"
        )
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
    # XML was held to the XML binding's XSD as it was read (see validate_document).
    schema = source_format == "json"
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


def prepare_events(plan: Plan, events: list[dict[str, Any]], start: int) -> list[ReadyEvent]:
    """Validate and prepare ``events``, which sit at ``start`` in the document's event list.

    Pure CPU, no database: a worker process may run it for a chunk of a large document.
    Raises ValidationException for the first offending event, positions counted in the
    whole document.
    """
    validate_events(events, context=plan.raw_context, start_index=start, schema=plan.schema)
    prepared = []
    dialects = _DIALECTS
    for offset, event in enumerate(events):
        ready = _prepare_event(start + offset, event, plan.context)
        ready.gtins = _gtins(ready)
        # Deduplicated here, in the worker: an EPC named twice in one role is one index row.
        ready.epcs = list(dict.fromkeys((epc, int(role)) for epc, role in ready.epcs))
        ready.transactions = list(dict.fromkeys(ready.transactions))
        ready.event_time_db = db_time(ready.event_time, dialects[plan.dialect])
        ready.leaf = ledger.leaf_record(
            LEAF_KIND,
            ready.event_hash,
            {
                "captureID": plan.capture_id,
                "eventHash": ready.event_hash,
                "eventID": ready.event_id,
            },
        )
        ready.stored_body = orjson.dumps(
            {**event, "eventID": ready.event_id, "recordTime": plan.recorded}
        ).decode()
        prepared.append(ready)
    return prepared


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


def _time(value: str) -> datetime:
    # Validation has checked the RFC 3339 form; Python 3.11 parses it, "Z" included.
    return datetime.fromisoformat(value).astimezone(UTC)


def _id_of(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return _location(value) if isinstance(value, str) else None


def _prepare_event(position: int, event: dict[str, Any], context: dict[str, str]) -> ReadyEvent:
    own_context = event.get("@context")
    if own_context:
        context = {**context, **document_context({"@context": own_context})}
    digest = event_hash(event, context)
    biz_step = event.get("bizStep")
    disposition = event.get("disposition")
    prepared = ReadyEvent(
        position=position,
        event_id=event.get("eventID") or digest,
        event_hash=digest,
        event_type=event["type"],
        action=event.get("action"),
        event_time=_time(event["eventTime"]),
        biz_step=None if biz_step is None else vocab.normalise("bizStep", biz_step),
        disposition=None if disposition is None else vocab.normalise("disposition", disposition),
        read_point=_id_of(event.get("readPoint")),
        biz_location=_id_of(event.get("bizLocation")),
    )
    epcs = prepared.epcs
    for key, role in _EPC_FIELDS:
        for epc in event.get(key) or ():
            epcs.append((digital_link(epc), role))
    parent = event.get("parentID")
    if parent:
        epcs.append((digital_link(parent), EpcRole.PARENT))
    for key, role in _QUANTITY_FIELDS:
        for element in event.get(key) or ():
            epcs.append((digital_link(element["epcClass"]), role))
    for transaction in event.get("bizTransactionList") or ():
        kind = transaction.get("type")
        kind = "" if kind is None else vocab.normalise("bizTransactionType", kind)
        prepared.transactions.append((kind, transaction["bizTransaction"]))
    return prepared


_EPC_FIELDS = (
    ("epcList", EpcRole.EPC),
    ("childEPCs", EpcRole.CHILD),
    ("inputEPCList", EpcRole.INPUT),
    ("outputEPCList", EpcRole.OUTPUT),
)
_QUANTITY_FIELDS = (
    ("quantityList", EpcRole.QUANTITY),
    ("childQuantityList", EpcRole.QUANTITY),
    ("inputQuantityList", EpcRole.INPUT_QUANTITY),
    ("outputQuantityList", EpcRole.OUTPUT_QUANTITY),
)


def require_capturer(org: Organization) -> None:
    if org.role not in CAPTURERS:
        raise Forbidden(
            f"capturing EPCIS events needs an enterprise, distributor or operator API key; "
            f"yours is {org.role}"
        )


def store(session: Session, org: Organization, capture: Capture) -> CaptureJob:
    """Write a prepared capture in the caller's transaction and return its job.

    Events whose hash is already stored (or repeats within the document) are captured once:
    re-sending a document after a lost response is safe. A document that reuses another
    event's eventID for different content is refused whole.
    """
    writer = Writer(session, org, capture.plan, len(capture.events))
    writer.add(capture.events)
    return writer.finish()


class Writer:
    """Writes one document's prepared events, chunk after chunk, in the caller's transaction.

    Chunks must come in document order (pipeline.py hands them over as workers finish them).
    Nothing is committed here: the caller's unit of work commits the whole document or, if a
    later chunk is refused, rolls every chunk back.
    """

    def __init__(self, session: Session, org: Organization, plan: Plan, event_count: int) -> None:
        require_capturer(org)
        self.session, self.org, self.plan = session, org, plan
        self.job = CaptureJob(
            capture_id=plan.capture_id,
            organization_id=org.id,
            created_at=plan.received_at,
            finished_at=plan.received_at,
            running=False,
            success=True,
            error_behaviour="rollback",
            source_format=plan.source_format,
            event_count=event_count,
            duplicate_count=0,
            context=json.dumps(plan.context, ensure_ascii=False, sort_keys=True),
        )
        session.add(self.job)
        session.flush()
        connection = session.connection()
        if connection.dialect.name != plan.dialect:
            raise ValueError(
                f"the capture was prepared for {plan.dialect}, not {connection.dialect.name}"
            )
        self._connection = connection
        self._recorded_at = db_time(plan.received_at, connection.dialect)
        #: Hash and eventID of every event of this document seen so far.
        self._hashes: set[str] = set()
        self._ids: dict[str, int] = {}

    def add(self, events: Sequence[ReadyEvent]) -> None:
        fresh = _drop_duplicates(self.session, events, self._hashes, self._ids)
        self.job.duplicate_count += len(events) - len(fresh)
        if not fresh:
            return
        session, org = self.session, self.org
        ids = ledger.append(
            session, [(LEAF_KIND, event.leaf) for event in fresh], now=self.plan.received_at
        )
        owners = _brand_owners(session, fresh)
        at, job_id = self._recorded_at, self.job.id
        event_rows: list[tuple[Any, ...]] = []
        epc_rows: list[tuple[Any, ...]] = []
        transaction_rows: list[tuple[Any, ...]] = []
        access_rows: list[tuple[Any, ...]] = []
        for event_id, event in zip(ids, fresh, strict=True):
            # In _EVENTS' column order.
            event_rows.append(
                (
                    event_id,
                    event.event_id,
                    event.event_hash,
                    job_id,
                    org.id,
                    event.event_type,
                    event.action,
                    event.event_time_db,
                    at,
                    event.biz_step,
                    event.disposition,
                    event.read_point,
                    event.biz_location,
                    event_id,
                    event.stored_body,
                )
            )
            epc_rows.extend([(epc, event_id, role) for epc, role in event.epcs])
            transaction_rows.extend([(kind, value, event_id) for kind, value in event.transactions])
            readers = {org.id}
            for gtin in event.gtins:
                owner = owners.get(gtin)
                if owner is not None:
                    readers.add(owner)
            access_rows.extend((reader, event_id) for reader in readers)
        connection = self._connection
        _EVENTS.run_rows(connection, event_rows)
        if epc_rows:
            _EPCS.run_rows(connection, epc_rows)
        if transaction_rows:
            _TRANSACTIONS.run_rows(connection, transaction_rows)
        _ACCESS.run_rows(connection, access_rows)

    def finish(self) -> CaptureJob:
        self.session.flush()
        return self.job


def _drop_duplicates(
    session: Session,
    events: Sequence[ReadyEvent],
    hashes: set[str],
    ids: dict[str, int],
) -> list[ReadyEvent]:
    """The events of a chunk not yet stored; ``hashes`` and ``ids`` carry the document's
    earlier chunks (eventID -> position), so repeats across chunks are caught too."""
    seen: dict[str, ReadyEvent] = {}
    for event in events:
        if event.event_hash in hashes or event.event_hash in seen:
            continue
        other = ids.get(event.event_id)
        if other is not None:
            raise ValidationException(
                f"events {other} and {event.position} share the eventID "
                f"{event.event_id!r} but differ",
                event_index=event.position,
                field=f"/epcisBody/eventList/{event.position}/eventID",
            )
        seen[event.event_hash] = event
        ids[event.event_id] = event.position
    hashes.update(seen)
    stored: dict[str, str] = {}
    for chunk in _chunks(list(seen), 500):
        stored.update(
            session.execute(
                select(Event.event_hash, Event.event_id).where(Event.event_hash.in_(chunk))
            ).all()
        )
    fresh = [event for digest, event in seen.items() if digest not in stored]
    taken: set[str] = set()
    for chunk in _chunks([event.event_id for event in fresh], 500):
        taken.update(session.scalars(select(Event.event_id).where(Event.event_id.in_(chunk))))
    for event in fresh:
        if event.event_id in taken:
            raise ValidationException(
                f"event {event.position}: the eventID {event.event_id!r} is already used by a "
                "different event in this repository",
                event_index=event.position,
                field=f"/epcisBody/eventList/{event.position}/eventID",
            )
    return fresh


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _gtins(event: ReadyEvent) -> set[str]:
    start = len(_GTIN_LINK)
    return {epc[start : start + 14] for epc, _ in event.epcs if epc.startswith(_GTIN_LINK)}


def _brand_owners(session: Session, events: Sequence[ReadyEvent]) -> dict[str, int]:
    gtins = set().union(*(event.gtins for event in events))
    owners: dict[str, int] = {}
    for chunk in _chunks(sorted(gtins), 500):
        owners.update(
            session.execute(
                select(Product.gtin, Product.organization_id).where(Product.gtin.in_(chunk))
            ).all()
        )
    return owners


class _Dialect:
    """What db.db_time needs to know of an engine, in a picklable form."""

    def __init__(self, name: str) -> None:
        self.name = name


_DIALECTS = {name: _Dialect(name) for name in ("sqlite", "postgresql")}

_EVENTS = Prepared(
    insert(Event),
    column_keys=[
        "id",
        "event_id",
        "event_hash",
        "capture_job_id",
        "organization_id",
        "event_type",
        "action",
        "event_time",
        "record_time",
        "biz_step",
        "disposition",
        "read_point",
        "biz_location",
        "leaf_index",
        "body",
    ],
)
_EPCS = Prepared(insert(EventEpc), column_keys=["epc", "event", "role"])
_TRANSACTIONS = Prepared(insert(EventBizTransaction), column_keys=["type", "value", "event"])
_ACCESS = Prepared(insert(EventAccess), column_keys=["organization_id", "event"])
