"""The EPCIS 2.0 SimpleEventQuery over stored events, with keyset paging.

Parameters come as the REST binding sends them in the URI query string: pipe-separated
lists (``EQ_bizStep=shipping|receiving``), times in RFC 3339. Identifiers are compared in
Digital Link form, so an EPC URN in a query finds events captured with Digital Link URIs
and the other way round. A parameter this repository does not implement is refused with
a QueryParameterException rather than silently ignored: an ignored filter returns events
the client did not ask for.

Visibility: the operator and regulators read every event; other organisations read the
events listed for them in ``epcis_event_access`` (see models.EventAccess).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from traceseal.bounds import MAX_ID
from traceseal.db import py_time
from traceseal.epcis import vocab
from traceseal.epcis.corrections import declaration_of
from traceseal.epcis.errors import QueryParameterException, QueryTooLargeException
from traceseal.epcis.identifiers import location_key, to_digital_link
from traceseal.epcis.models import (
    CaptureJob,
    CorrectiveEvent,
    EpcRole,
    ErrorDeclaration,
    Event,
    EventAccess,
    EventBizTransaction,
    EventEpc,
)
from traceseal.epcis.vocab import CONTEXT_URL
from traceseal.orgs.models import Organization
from traceseal.orgs.tenancy import OVERSIGHT, sees_all

DEFAULT_PER_PAGE = 30

_MATCH_ROLES: dict[str, tuple[int, ...]] = {
    "MATCH_epc": (EpcRole.EPC, EpcRole.CHILD),
    "MATCH_parentID": (EpcRole.PARENT,),
    "MATCH_inputEPC": (EpcRole.INPUT,),
    "MATCH_outputEPC": (EpcRole.OUTPUT,),
    "MATCH_anyEPC": (EpcRole.EPC, EpcRole.CHILD, EpcRole.PARENT, EpcRole.INPUT, EpcRole.OUTPUT),
    "MATCH_epcClass": (EpcRole.QUANTITY,),
    "MATCH_inputEPCClass": (EpcRole.INPUT_QUANTITY,),
    "MATCH_outputEPCClass": (EpcRole.OUTPUT_QUANTITY,),
    "MATCH_anyEPCClass": (EpcRole.QUANTITY, EpcRole.INPUT_QUANTITY, EpcRole.OUTPUT_QUANTITY),
}
#: The errorDeclaration parameters (EPCIS 2.0 §8.2.7.1): each keeps only events that carry
#: an error declaration (the events declared erroneous, marked with it), and then filters on it.
_DECLARATION_TIMES = {
    "GE_errorDeclarationTime": True,
    "LT_errorDeclarationTime": False,
}
#: The declaration shown with an event (an alias: the filters' EXISTS terms must not
#: correlate with it).
_SHOWN = aliased(ErrorDeclaration)
_TIME_BOUNDS = {
    "GE_eventTime": (Event.event_time, True),
    "LT_eventTime": (Event.event_time, False),
    "GE_recordTime": (Event.record_time, True),
    "LT_recordTime": (Event.record_time, False),
}
_PAGING = frozenset({"perPage", "nextPageToken"})
_OTHER = frozenset(
    {
        "eventType",
        "EQ_action",
        "EQ_bizStep",
        "EQ_disposition",
        "EQ_readPoint",
        "EQ_bizLocation",
        "EQ_eventID",
        "orderBy",
        "orderDirection",
        "eventCountLimit",
        "maxEventCount",
    }
)
_ORDER_COLUMNS = {"eventTime": Event.event_time, "recordTime": Event.record_time}


@dataclass(frozen=True, slots=True)
class Page:
    events: list[dict[str, Any]]
    #: Prefixes the events' extension members use, merged from their capture documents.
    context: dict[str, str]
    next_token: str | None
    leaf_indexes: list[int]


def _values(name: str, raw: str | Sequence[str]) -> list[str]:
    # The URI binding sends "a|b"; a named query's JSON body sends a list.
    values = [v for v in (raw.split("|") if isinstance(raw, str) else raw) if v]
    if not values:
        raise QueryParameterException(f"{name} needs at least one value", field=name)
    return values


def _time(name: str, raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise QueryParameterException(
            f"{name} must be an RFC 3339 time with an offset, like 2024-05-01T08:00:00+08:00",
            field=name,
        )
    return value.astimezone(UTC)


def _int(name: str, raw: str, *, minimum: int = 0) -> int:
    if not raw.isdigit() or int(raw) < minimum:
        raise QueryParameterException(f"{name} must be a whole number ≥ {minimum}", field=name)
    return int(raw)


def _term(name: str, kind: vocab.Kind, value: str) -> str:
    try:
        return vocab.normalise(kind, value)
    except ValueError as exc:
        raise QueryParameterException(f"{name}: {exc}", field=name) from exc


def _epc_condition(values: Sequence[str], roles: tuple[int, ...]) -> ColumnElement[bool]:
    exact, prefixes = [], []
    for value in values:
        if value.startswith("urn:epc:idpat:") and value.endswith("*"):
            # An EPC pattern: every serial of one class. In Digital Link form that is
            # everything under one path prefix (identifiers turn the pattern's fixed part
            # into it), which an index range scan answers.
            fixed = to_digital_link(value)
            prefixes.append(fixed.rstrip("*"))
        else:
            exact.append(to_digital_link(value))
    terms: list[ColumnElement[bool]] = []
    if exact:
        terms.append(EventEpc.epc.in_(exact))
    for prefix in prefixes:
        terms.append(and_(EventEpc.epc >= prefix, EventEpc.epc < prefix + "\U0010ffff"))
    return Event.id.in_(
        select(EventEpc.event).where(or_(*terms), EventEpc.role.in_([int(r) for r in roles]))
    )


def _declared(*terms: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(ErrorDeclaration.event == Event.id, *terms)


def _exists(name: str, raw: Any) -> bool:
    """``EXISTS_errorDeclaration``: a Void parameter in the URI binding (given, or ``true``),
    a boolean in a named query's JSON."""
    if raw in (True, "", "true"):
        return True
    if raw in (False, "false"):
        return False
    raise QueryParameterException(f"{name} takes no value, true or false", field=name)


def _declaration_filter(name: str, raw: Any) -> ColumnElement[bool] | None:
    """The term for an errorDeclaration parameter; None when ``name`` is none of them."""
    if name == "EXISTS_errorDeclaration":
        return _declared() if _exists(name, raw) else true()
    if name in _DECLARATION_TIMES:
        bound = _time(name, raw)
        column = ErrorDeclaration.declaration_time
        return _declared(column >= bound if _DECLARATION_TIMES[name] else column < bound)
    if name == "EQ_errorReason":
        reasons = [_term(name, "errorReason", v) for v in _values(name, raw)]
        return _declared(ErrorDeclaration.reason.in_(reasons))
    if name == "EQ_correctiveEventID":
        return exists().where(
            CorrectiveEvent.event == Event.id,
            CorrectiveEvent.corrective_event_id.in_(_values(name, raw)),
        )
    return None


def filters(params: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    """The WHERE terms over ``Event`` for a query's parameters (paging and ordering excluded).

    Values are as the URI binding sends them ("|"-separated strings) or as a named query's
    JSON holds them (lists, booleans). Raises QueryParameterException for a parameter this
    repository does not support or a value it cannot read. The visibility of events to a
    reader is not among the terms (``visible_to``).
    """
    where: list[ColumnElement[bool]] = []
    for name, raw in params.items():
        declared = _declaration_filter(name, raw)
        if declared is not None:
            where.append(declared)
            continue
        if name in _PAGING or name in (
            "orderBy",
            "orderDirection",
            "eventCountLimit",
            "maxEventCount",
        ):
            continue
        if name == "eventType":
            where.append(Event.event_type.in_(_values(name, raw)))
        elif name in _TIME_BOUNDS:
            column, lower = _TIME_BOUNDS[name]
            bound = _time(name, raw)
            where.append(column >= bound if lower else column < bound)
        elif name == "EQ_action":
            actions = _values(name, raw)
            if not set(actions) <= {"ADD", "OBSERVE", "DELETE"}:
                raise QueryParameterException("EQ_action takes ADD, OBSERVE or DELETE", field=name)
            where.append(Event.action.in_(actions))
        elif name in ("EQ_bizStep", "EQ_disposition"):
            kind: vocab.Kind = "bizStep" if name == "EQ_bizStep" else "disposition"
            term_column = Event.biz_step if kind == "bizStep" else Event.disposition
            where.append(term_column.in_([_term(name, kind, v) for v in _values(name, raw)]))
        elif name in ("EQ_readPoint", "EQ_bizLocation"):
            place = Event.read_point if name == "EQ_readPoint" else Event.biz_location
            where.append(place.in_([location_key(v) for v in _values(name, raw)]))
        elif name == "EQ_eventID":
            where.append(Event.event_id.in_(_values(name, raw)))
        elif name in _MATCH_ROLES:
            where.append(_epc_condition(_values(name, raw), _MATCH_ROLES[name]))
        elif name.startswith("EQ_bizTransaction_"):
            bt_type = _term(name, "bizTransactionType", name.removeprefix("EQ_bizTransaction_"))
            where.append(
                exists().where(
                    EventBizTransaction.type == bt_type,
                    EventBizTransaction.value.in_(_values(name, raw)),
                    EventBizTransaction.event == Event.id,
                )
            )
        else:
            raise QueryParameterException(
                f"this repository does not support the query parameter {name!r}", field=name
            )
    return where


def visible_to(viewer: Organization) -> ColumnElement[bool] | None:
    if sees_all(viewer, OVERSIGHT):
        return None
    # Correlated, so it is a primary-key probe per candidate event: an IN over every event
    # the viewer may read would scan all of them before the query's own filters narrow.
    return exists().where(EventAccess.organization_id == viewer.id, EventAccess.event == Event.id)


def _fingerprint(params: Mapping[str, str]) -> str:
    kept = sorted((k, v) for k, v in params.items() if k not in _PAGING)
    return hashlib.sha256(json.dumps(kept).encode()).hexdigest()[:16]


def _encode_token(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode_token(token: str) -> tuple[datetime | None, int, int, str]:
    """The position a token this server gave names; anything else is refused whole.

    A token is the client's to keep, so it is read as untrusted input: each value must have
    the shape and range the server writes (a sort key that parses, ids and counts that fit
    the database), or the query would fail inside the database instead of answering 400.
    """
    refused = QueryParameterException(
        "nextPageToken is not one this server gave", field="nextPageToken"
    )
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        raise refused from None
    if not isinstance(values, list) or len(values) != 4:
        raise refused
    mark, last_id, served, fingerprint = values
    counts_fit = all(type(value) is int and 0 <= value <= MAX_ID for value in (last_id, served))
    if not counts_fit or not isinstance(fingerprint, str) or len(fingerprint) != 16:
        raise refused
    if mark is None:
        return None, last_id, served, fingerprint
    try:
        at = py_time(mark) if isinstance(mark, str) else None
    except ValueError:
        at = None
    if at is None:
        raise refused
    return at, last_id, served, fingerprint


def run(
    session: Session,
    viewer: Organization,
    params: Mapping[str, str],
    *,
    max_per_page: int,
    extra: Sequence[ColumnElement[bool]] = (),
) -> Page:
    """One page of the events matching ``params`` that ``viewer`` may read."""
    where = filters(params)
    where.extend(extra)
    scope = visible_to(viewer)
    if scope is not None:
        where.append(scope)
    order = _ordering(params, max_per_page)
    fingerprint = _fingerprint(params)
    served = 0
    token = params.get("nextPageToken")
    if token:
        after, served = _resume(order, token, fingerprint)
        where.append(after)
    if "maxEventCount" in params:
        cap = _int("maxEventCount", params["maxEventCount"], minimum=1)
        count = session.scalar(select(func.count()).select_from(Event).where(*where))
        if count is not None and count > cap:
            raise QueryTooLargeException(
                f"{count:,} events match, more than maxEventCount={cap:,}", field="maxEventCount"
            )

    take = order.per_page if order.limit is None else min(order.per_page, order.limit - served)
    rows = _rows(session, where, order, take + 1)
    more = len(rows) > take
    rows = rows[:take]
    served += len(rows)
    if order.limit is not None and served >= order.limit:
        more = False
    next_token = None
    if more and rows:
        last = rows[-1]
        mark = last[3].isoformat() if order.name else None
        next_token = _encode_token([mark, last[0], served, fingerprint])
    return Page(
        # An event declared erroneous is shown with the declaration that marks it.
        events=[declaration_of(json.loads(row[1]), row[4], row[5]) for row in rows],
        context=_contexts(session, {row[2] for row in rows}),
        next_token=next_token,
        leaf_indexes=[row[0] for row in rows],
    )


def _rows(
    session: Session, where: Sequence[ColumnElement[bool]], order: _Order, limit: int
) -> Sequence[Any]:
    """Id, body, capture job and sort key of the matching events, with the declaration
    that marks each one erroneous, if any (its body and leaf)."""
    return session.execute(
        select(
            Event.id,
            Event.body,
            Event.capture_job_id,
            order.column,
            _SHOWN.body,
            _SHOWN.leaf_index,
        )
        .outerjoin(_SHOWN, _SHOWN.event == Event.id)
        .where(*where)
        .order_by(*order.keys())
        .limit(limit)
    ).all()


@dataclass(frozen=True, slots=True)
class _Order:
    """A query's order and page size, checked."""

    #: eventTime or recordTime; None: capture order (the log's order), stable and cheap.
    name: str | None
    column: Any
    descending: bool
    #: eventCountLimit: events over all pages (None: no limit).
    limit: int | None
    per_page: int

    def keys(self) -> tuple[Any, ...]:
        if self.name is None:
            return (Event.id.asc(),)
        if self.descending:
            return (self.column.desc(), Event.id.desc())
        return (self.column.asc(), Event.id.asc())


def _ordering(params: Mapping[str, str], max_per_page: int) -> _Order:
    name = params.get("orderBy")
    if name is not None and name not in _ORDER_COLUMNS:
        raise QueryParameterException("orderBy takes eventTime or recordTime here", field="orderBy")
    direction = params.get("orderDirection", "DESC")
    if direction not in ("ASC", "DESC"):
        raise QueryParameterException("orderDirection is ASC or DESC", field="orderDirection")
    if "eventCountLimit" in params and "maxEventCount" in params:
        raise QueryParameterException(
            "eventCountLimit and maxEventCount exclude each other", field="eventCountLimit"
        )
    if "eventCountLimit" in params and name is None:
        raise QueryParameterException("eventCountLimit needs orderBy", field="eventCountLimit")
    limit = (
        _int("eventCountLimit", params["eventCountLimit"], minimum=1)
        if "eventCountLimit" in params
        else None
    )
    per_page = _int("perPage", params.get("perPage", str(DEFAULT_PER_PAGE)), minimum=1)
    return _Order(
        name=name,
        column=_ORDER_COLUMNS[name] if name else Event.id,
        descending=name is not None and direction == "DESC",
        limit=limit,
        per_page=min(per_page, max_per_page),
    )


def _resume(order: _Order, token: str, fingerprint: str) -> tuple[ColumnElement[bool], int]:
    """Where a page token says the previous page ended: (the condition past it, events served)."""
    at, last_id, served, expected = _decode_token(token)
    if expected != fingerprint or (order.name is not None and at is None):
        raise QueryParameterException(
            "nextPageToken belongs to a different query", field="nextPageToken"
        )
    if order.name is None:
        return Event.id > last_id, served
    column = order.column
    if order.descending:
        return or_(column < at, and_(column == at, Event.id < last_id)), served
    return or_(column > at, and_(column == at, Event.id > last_id)), served


def _contexts(session: Session, job_ids: set[int]) -> dict[str, str]:
    merged: dict[str, str] = {}
    if job_ids:
        for (text,) in session.execute(
            select(CaptureJob.context).where(CaptureJob.id.in_(sorted(job_ids)))
        ):
            merged.update(json.loads(text))
    return merged


def distinct_values(session: Session, viewer: Organization, column: Any, limit: int) -> list[str]:
    """Values of one indexed column in the events ``viewer`` may read (bizSteps, ...)."""
    statement = select(column).where(column.is_not(None)).distinct().order_by(column).limit(limit)
    scope = visible_to(viewer)
    if scope is not None:
        statement = statement.where(scope)
    return list(session.scalars(statement))


def query_document(page: Page, *, now: datetime, namespace: str) -> dict[str, Any]:
    """The EPCISQueryDocument for one page of events.

    Each event carries its leaf index in the log as ``traceseal:leafIndex``, a JSON-LD
    extension member in the platform's own namespace (``namespace``).
    """
    context: list[Any] = [CONTEXT_URL]
    prefixes = {**page.context, "traceseal": namespace}
    context.append(prefixes)
    events = [
        {**event, "traceseal:leafIndex": index}
        for event, index in zip(page.events, page.leaf_indexes, strict=True)
    ]
    return {
        "@context": context,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": now.astimezone(UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "epcisBody": {
            "queryResults": {
                "queryName": "SimpleEventQuery",
                "resultsBody": {"eventList": events},
            }
        },
    }
