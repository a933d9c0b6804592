"""Validation of EPCIS 2.0 JSON-LD capture documents, stopping at the first offence.

Two layers, in this order for each part of the document:

1. GS1's EPCIS JSON Schema (draft-07, ``data/EPCIS-JSON-Schema.json``) with format checks on,
   compiled once by jsonschema-rs. It pins structure, required members, ``action``, number
   types, the bare CBV terms and the ``eventTimeZoneOffset`` range.
2. Rules the schema cannot express: the EPCIS ``@context`` must be there; CBV values given as
   URIs must be real terms or extensions outside GS1's namespaces (``vocab.check``); times must
   be ones Python and XSD ``dateTimeStamp`` can hold (no leap second, ``T`` and ``Z`` in capitals,
   offset within 14 hours); user extension members anywhere in an event must be ``prefix:name``
   with the prefix declared in the document's or the event's ``@context`` (JSON-LD would
   otherwise drop them silently); EPCs and location identifiers must be valid GS1 keys, check
   digits included (``identifiers.check_identifier``); only the five EPCIS event types.

The document's own members are checked first, then each event in list order, the schema
before the rules; so the offence reported is the one in the lowest-numbered event. It is
raised as ``ValidationException`` with ``event_index`` (0-based, None for the document) and
``field``, a JSON pointer into the document (``/epcisBody/eventList/3/bizStep``).

Speed: one schema call and one pass of dict and set lookups per event, each distinct
identifier checked once. For 10,000 ObjectEvents of 10 EPCs each, the schema and these rules
take under 0.1 s; the identifier checks come on top (tests/spec/test_epcis_validation.py).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from importlib import resources
from typing import Any, Final

import jsonschema_rs
from jsonschema_rs import ValidationError, ValidationErrorKind

from traceseal.epcis import rules, vocab
from traceseal.epcis.errors import ValidationException
from traceseal.epcis.identifiers import check_identifier
from traceseal.epcis.vocab import CONTEXT_URLS, EVENT_TYPES

__all__ = ["validate_document", "validate_events"]

# Prefixes the EPCIS context itself declares (epcis-context.jsonld, top level).
_STANDARD_PREFIXES: Final = frozenset(
    {"epcis", "cbv", "cbvmda", "gs1", "rdfs", "owl", "xsd", "dcterms"}
)
_JSON_LD_KEYWORDS: Final = frozenset(
    [
        "@context",
        "@id",
        "@type",
        "@value",
        "@language",
        "@direction",
        "@list",
        "@set",
        "@graph",
        "@index",
        "@reverse",
        "@included",
        "@nest",
    ]
)

_EPC_LISTS: Final = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
_QUANTITY_LISTS: Final = (
    "quantityList",
    "childQuantityList",
    "inputQuantityList",
    "outputQuantityList",
)
_MAX_OFFSET: Final = timedelta(hours=14)  # XSD dateTimeStamp and EPCIS eventTimeZoneOffset
_TIME_EXAMPLE: Final = "e.g. 2026-07-22T06:45:00.000+02:00"


class _Offence(Exception):
    """One rule broken at ``path``, a JSON pointer relative to the part being checked."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(detail)
        self.path = path
        self.detail = detail


# -- the JSON Schema -------------------------------------------------------------------------


@functools.cache
def _validators() -> tuple[jsonschema_rs.Validator, jsonschema_rs.Validator]:
    """The document validator and the single-event one, compiled on first use (not at import).

    ``offline``: every ``$ref`` is inside the file; nothing may be fetched at run time.
    """
    text = resources.files("traceseal.epcis").joinpath("data/EPCIS-JSON-Schema.json")
    schema = rules.adjusted_schema(json.loads(text.read_text(encoding="utf-8")))
    compiled = jsonschema_rs.validator_map_for(schema, validate_formats=True, offline=True)
    return compiled["#"], compiled["#/definitions/EPCIS-Document-Event"]


# Schema definitions whose values are CBV vocabularies: their anyOf errors are explained by
# vocab.check, which knows the terms and says what is wrong.
_VOCAB_DEFINITIONS: Final[Mapping[str, vocab.Kind]] = {
    "bizStep": "bizStep",
    "disposition": "disposition",
    "bizTransaction-type": "bizTransactionType",
    "source-dest-type": "sourceDestType",
    "error-reason": "errorReason",
}
# The event-level anyOf blocks of the schema: which member to point at, and what they mean.
_EVENT_RULES: Final[Mapping[tuple[str, int], tuple[str, str]]] = {
    ("ObjectEvent", 2): (
        "epcList",
        "an ObjectEvent needs an epcList or a non-empty quantityList, or a sensorElementList "
        "together with a readPoint",
    ),
    ("ObjectEvent", 3): ("ilmd", "ilmd is only allowed when the action is ADD"),
    ("AggregationEvent", 2): (
        "childEPCs",
        "needs a non-empty childEPCs or childQuantityList unless the action is DELETE",
    ),
    ("AssociationEvent", 2): (
        "childEPCs",
        "needs a non-empty childEPCs or childQuantityList unless the action is DELETE",
    ),
    ("TransactionEvent", 2): (
        "epcList",
        "needs an epcList or a non-empty quantityList unless the action is DELETE",
    ),
    ("TransformationEvent", 2): (
        "inputEPCList",
        "needs a non-empty input list (inputEPCList, inputQuantityList) or output list "
        "(outputEPCList, outputQuantityList)",
    ),
}
_PATTERN_MEANINGS: Final[Mapping[str, str]] = {
    "eventTimeZoneOffset": "must be \u00b1hh:mm between -14:00 and +14:00",
    "uom": "must be a UN/ECE Recommendation 20 code (2 or 3 capitals or digits)",
    "schemaVersion": "must be a version number such as 2.0",
    "hexBinaryValue": "must be hexadecimal digits",
}
_ANY_OF_MEANINGS: Final[Mapping[str, str]] = {
    "certificationInfo": "must be a URI or a list of URIs",
    "@context": "must be a URI, an object, or a list of those",
    "%40context": "must be a URI, an object, or a list of those",
    "measurementType": "is neither a GS1 measurement type nor a URI outside gs1.org/voc",
    "sensorAlertType": "is neither a GS1 sensor alert type nor a URI outside gs1.org/voc",
    "component": "is neither a CBV component nor a URI of your own",
    "persistentDisposition": "needs a non-empty set or unset list of dispositions",
}


def _pointer(parts: Iterable[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _schema_offence(errors: Iterable[ValidationError]) -> _Offence:
    """The most telling of the schema's errors: the deepest, the earliest among equals."""
    best: ValidationError | None = None
    for error in errors:
        if best is None or len(error.instance_path) > len(best.instance_path):
            best = error
    assert best is not None, "called only when the schema found something"
    return _explain(best)


def _explain(error: ValidationError) -> _Offence:
    path: list[str | int] = list(error.instance_path)
    schema_path = error.schema_path
    # The definition the failing keyword sits in, e.g. "bizStep" or "ObjectEvent".
    definition = ""
    if "definitions" in schema_path:
        at = len(schema_path) - 1 - schema_path[::-1].index("definitions")
        definition = str(schema_path[at + 1]) if at + 1 < len(schema_path) else ""
        tail = schema_path[at + 2 :]
    else:
        tail = schema_path
    kind = error.kind
    value = error.instance
    if isinstance(kind, ValidationErrorKind.Required):
        path.append(kind.property)
        meaning = "this required member is missing"
    elif isinstance(kind, ValidationErrorKind.AdditionalProperties):
        path.append(kind.unexpected[0])
        meaning = "this member is not allowed here"
    elif isinstance(kind, ValidationErrorKind.PropertyNames):
        path.append(str(kind.error.instance))
        meaning = (
            "this member name is neither an EPCIS term nor an extension name "
            "(prefix:name with the prefix declared in @context)"
        )
    elif path == ["type"]:
        meaning = (
            "is not a type this interface takes: EPCISDocument for a document, "
            + ", ".join(EVENT_TYPES)
            + " for an event"
        )
    elif isinstance(kind, ValidationErrorKind.AnyOf):
        block = tail[1] if len(tail) > 1 and tail[0] == "allOf" else None
        rule = _EVENT_RULES.get((definition, block)) if isinstance(block, int) else None
        if rule is not None:
            path.append(rule[0])
            meaning = rule[1]
        elif definition in _VOCAB_DEFINITIONS and isinstance(value, str):
            meaning = vocab.check(_VOCAB_DEFINITIONS[definition], value) or "is not allowed"
        else:
            meaning = _ANY_OF_MEANINGS.get(definition, "matches none of the allowed forms")
    elif isinstance(kind, ValidationErrorKind.Format):
        meaning = f"is not a valid {kind.format}"
        if kind.format == "date-time":
            meaning += f" (RFC 3339 with an offset or Z, {_TIME_EXAMPLE})"
    elif isinstance(kind, ValidationErrorKind.Type):
        meaning = "must be of type " + " or ".join(kind.types)
    elif isinstance(kind, ValidationErrorKind.Enum):
        meaning = "must be one of " + ", ".join(json.dumps(o) for o in kind.options)
    elif isinstance(kind, ValidationErrorKind.Pattern):
        meaning = _PATTERN_MEANINGS.get(str(path[-1]) if path else "", "has the wrong form")
    elif isinstance(kind, ValidationErrorKind.MinItems):
        meaning = "must not be empty"
    elif isinstance(kind, ValidationErrorKind.UniqueItems):
        meaning = "lists the same value more than once"
    elif isinstance(kind, ValidationErrorKind.Not):
        meaning = "is not allowed here"
    else:
        meaning = "is not valid"
    return _Offence(_pointer(path), f"{meaning}. JSON Schema: {_short(error.message)}")


# -- rules the schema cannot express ----------------------------------------------------------


def _context_prefixes(context: Any) -> set[str]:
    """Terms an ``@context`` (a URL, an object or a list of those) declares; usable as prefixes."""
    found: set[str] = set()
    for entry in context if isinstance(context, list) else (context,):
        if isinstance(entry, Mapping):
            found.update(term for term in entry if not term.startswith("@"))
    return found


def _name_problem(name: str, prefixes: frozenset[str]) -> str | None:
    if name.startswith("@"):
        return None if name in _JSON_LD_KEYWORDS else f"{name!r} is not a JSON-LD keyword"
    prefix, colon, local = name.partition(":")
    if not colon or not prefix or not local:
        return (
            f"{name!r} is not an EPCIS or CBV member; an extension member needs a namespace "
            "(prefix:name, with the prefix declared in @context)"
        )
    if local.startswith("//"):  # a full IRI such as https://example.com/ns#field
        return vocab.check_uri(name)
    if prefix not in prefixes:
        return (
            f"the prefix {prefix!r} of {name!r} is not declared in the document's or the "
            "event's @context (remote contexts other than EPCIS's are not fetched)"
        )
    return None


#: How deep an extension member's value may nest. Real extensions (GS1's examples, sensor
#: vendors' payloads) nest a handful of levels; the checks and the event hash walk values
#: recursively, and a document nested hundreds deep would exhaust the interpreter's stack.
MAX_EXTENSION_DEPTH: Final = 32


def _check_extension(
    name: str,
    value: Any,
    prefixes: frozenset[str],
    path: str,
    *,
    nested: bool = False,
    depth: int = 0,
) -> None:
    """An extension member and, recursively, the member names inside its value.

    Inside an extension member a plain name is allowed: it is the value's own structure
    (GS1's XML examples nest unqualified elements in a qualified one, and the CBV 2.0 event
    hash covers them). A prefixed name there must still use a declared prefix.
    """
    here = path + "/" + name.replace("~", "~0").replace("/", "~1")
    if not (nested and ":" not in name and not name.startswith("@")):
        problem = _name_problem(name, prefixes)
        if problem is not None:
            raise _Offence(here, problem)
    if name != "@context":  # an embedded context's term definitions are not data
        _check_inside(value, prefixes, here, depth + 1)


def _check_inside(value: Any, prefixes: frozenset[str], path: str, depth: int) -> None:
    if depth > MAX_EXTENSION_DEPTH and isinstance(value, Mapping | list):
        raise _Offence(path, f"an extension nests more than {MAX_EXTENSION_DEPTH} levels deep")
    if isinstance(value, Mapping):
        for name, item in value.items():
            _check_extension(name, item, prefixes, path, nested=True, depth=depth)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, Mapping | list):
                _check_inside(item, prefixes, f"{path}/{i}", depth + 1)


def _check_members(obj: Mapping[str, Any], prefixes: frozenset[str], path: str) -> None:
    """The extension members of a part whose member names the schema has already limited.

    The schema's ``propertyNames`` lets a document, an event, an error declaration and the
    sensor parts have only their EPCIS member names or URI-shaped ones; no EPCIS name holds a
    colon, so the names with one are exactly the extensions.
    """
    for name, value in obj.items():
        if ":" in name:
            _check_extension(name, value, prefixes, path)


def _check_time(value: str, path: str) -> None:
    # The schema has checked the RFC 3339 shape; this is what XSD dateTimeStamp (the JSON-LD
    # type) and the store need besides: capital T and Z, no leap second, offset within 14 h.
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        why = "write T and Z in capitals" if value != value.upper() else str(exc)
        raise _Offence(path, f"{value!r} is not an XSD dateTimeStamp: {why}") from None
    offset = parsed.utcoffset()
    if offset is None or abs(offset) > _MAX_OFFSET:
        raise _Offence(path, f"{value!r} needs an offset (Z or \u00b1hh:mm) within 14 hours")


def _check_vocab(kind: vocab.Kind, value: str, path: str) -> None:
    problem = vocab.check(kind, value)
    if problem is not None:
        raise _Offence(path, problem)


def _check_id(value: str, path: str, verdicts: dict[str, str]) -> None:
    # Read points, locations, classes and parties recur from event to event; each distinct
    # identifier is checked once per call ("" records a good one).
    problem = verdicts.get(value)
    if problem is None:
        problem = verdicts[value] = check_identifier(value) or ""
    if problem:
        raise _Offence(path, problem)


def _check_event(
    event: Mapping[str, Any], prefixes: frozenset[str], verdicts: dict[str, str]
) -> None:
    """The rules for one schema-valid event; raises ``_Offence`` with a path inside it."""
    kind = event["type"]
    if kind not in EVENT_TYPES:
        raise _Offence(
            "/type",
            f"{kind!r} is not an EPCIS 2.0 event type; one of {', '.join(EVENT_TYPES)}",
        )
    own_context = event.get("@context")
    if own_context is not None:
        prefixes = prefixes | _context_prefixes(own_context)
    _check_members(event, prefixes, "")

    _check_time(event["eventTime"], "/eventTime")
    if "recordTime" in event:
        _check_time(event["recordTime"], "/recordTime")
    if "bizStep" in event:
        _check_vocab("bizStep", event["bizStep"], "/bizStep")
    if "disposition" in event:
        _check_vocab("disposition", event["disposition"], "/disposition")
    persistent = event.get("persistentDisposition")
    if persistent is not None:
        for which in ("set", "unset"):
            for i, value in enumerate(persistent.get(which, ())):
                _check_vocab("disposition", value, f"/persistentDisposition/{which}/{i}")

    _check_what(event, verdicts)
    _check_where(event, prefixes, verdicts)
    _check_extras(event, prefixes)


def _check_what(event: Mapping[str, Any], verdicts: dict[str, str]) -> None:
    """The identifiers the event is about: EPCs, parent and classes."""
    for name in _EPC_LISTS:
        epcs = event.get(name)
        if epcs:
            # The hot loop (most of a document is EPCs): _check_id inlined, the path built
            # only for an offence (the schema has made the list's items unique).
            for epc in epcs:
                problem = verdicts.get(epc)
                if problem is None:
                    problem = verdicts[epc] = check_identifier(epc) or ""
                if problem:
                    raise _Offence(f"/{name}/{epcs.index(epc)}", problem)
    if "parentID" in event:
        _check_id(event["parentID"], "/parentID", verdicts)
    for name in _QUANTITY_LISTS:
        for i, element in enumerate(event.get(name, ())):
            # A quantity is a JSON number by the schema, which also turns NaN and infinities
            # away (they reach it as null); nothing to add here.
            _check_id(element["epcClass"], f"/{name}/{i}/epcClass", verdicts)


def _check_where(
    event: Mapping[str, Any], prefixes: frozenset[str], verdicts: dict[str, str]
) -> None:
    """Where it happened, under which transactions, between which parties."""
    for name in ("readPoint", "bizLocation"):
        location = event.get(name)
        if location is not None:
            _check_id(location["id"], f"/{name}/id", verdicts)
            # The schema leaves these open: every member but "id" is an extension.
            for member, value in location.items():
                if member != "id":
                    _check_extension(member, value, prefixes, "/" + name)
    for i, transaction in enumerate(event.get("bizTransactionList", ())):
        if "type" in transaction:
            _check_vocab("bizTransactionType", transaction["type"], f"/bizTransactionList/{i}/type")
    for name, member in (("sourceList", "source"), ("destinationList", "destination")):
        for i, party in enumerate(event.get(name, ())):
            _check_vocab("sourceDestType", party["type"], f"/{name}/{i}/type")
            _check_id(party[member], f"/{name}/{i}/{member}", verdicts)


def _check_extras(event: Mapping[str, Any], prefixes: frozenset[str]) -> None:
    """Instance/lot master data, an error declaration and sensor readings."""
    ilmd = event.get("ilmd")
    if ilmd:
        for name, value in ilmd.items():
            _check_extension(name, value, prefixes, "/ilmd")
    declaration = event.get("errorDeclaration")
    if declaration is not None:
        _check_time(declaration["declarationTime"], "/errorDeclaration/declarationTime")
        if "reason" in declaration:
            _check_vocab("errorReason", declaration["reason"], "/errorDeclaration/reason")
        _check_members(declaration, prefixes, "/errorDeclaration")
    for i, element in enumerate(event.get("sensorElementList", ())):
        _check_sensor_element(element, prefixes, f"/sensorElementList/{i}")


def _check_sensor_element(element: Mapping[str, Any], prefixes: frozenset[str], path: str) -> None:
    _check_members(element, prefixes, path)
    metadata = element.get("sensorMetadata")
    if metadata is not None:
        _check_members(metadata, prefixes, path + "/sensorMetadata")
        for name in ("time", "startTime", "endTime"):
            if name in metadata:
                _check_time(metadata[name], f"{path}/sensorMetadata/{name}")
    for i, report in enumerate(element["sensorReport"]):
        here = f"{path}/sensorReport/{i}"
        _check_members(report, prefixes, here)
        if "time" in report:
            _check_time(report["time"], here + "/time")


# -- public API -----------------------------------------------------------------------------


def _describe_event(index: int, event: Any) -> str:
    kind = event.get("type") if isinstance(event, Mapping) else None
    return f"Event {index}" + (f" ({kind})" if isinstance(kind, str) else "")


def _event_offence(index: int, event: Any, offence: _Offence) -> ValidationException:
    field = f"/epcisBody/eventList/{index}{offence.path}"
    member = offence.path.lstrip("/") or "the event"
    return ValidationException(
        f"{_describe_event(index, event)}, {member}: {offence.detail}",
        event_index=index,
        field=field,
    )


def _document_prefixes(context: Any) -> frozenset[str]:
    """The prefixes usable in the document; raises if the EPCIS context is not included."""
    entries = context if isinstance(context, list) else (context,)
    if not any(isinstance(entry, str) and entry in CONTEXT_URLS for entry in entries):
        raise ValidationException(
            "Document, @context: it must include the EPCIS 2.0 context "
            f"{min(CONTEXT_URLS)!r}; without it the members mean nothing in JSON-LD",
            field="/@context",
        )
    return _STANDARD_PREFIXES | _context_prefixes(context)


def validate_events(
    events: Sequence[Mapping[str, Any]],
    *,
    context: Any,
    start_index: int = 0,
    schema: bool = True,
) -> None:
    """Validate events taken out of a document whose ``@context`` is ``context``.

    For callers that split a document (or stream one): the events get exactly the checks
    ``validate_document`` gives them. ``start_index`` is the list position of ``events[0]``,
    so that ``event_index`` and ``field`` point into the original document. The caller must
    have validated the document's own members (``validate_document`` does both).

    >>> validate_events(  # doctest: +ELLIPSIS
    ...     [{"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "transforming",
    ...       "eventTime": "2026-07-22T06:45:00Z", "eventTimeZoneOffset": "+00:00",
    ...       "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"]}],
    ...     context=["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
    ...     start_index=41,
    ... )
    Traceback (most recent call last):
    ...
    traceseal.epcis.errors.ValidationException: Event 41 (ObjectEvent), bizStep: ...
    """
    prefixes = _document_prefixes(context)
    event_schema = _validators()[1]
    verdicts: dict[str, str] = {}
    for offset, event in enumerate(events):
        index = start_index + offset
        try:
            # The rules where GS1's schemas disagree come first: one answer in either binding.
            problem = rules.event_problem(event)
            if problem is not None:
                raise _Offence(*problem)
            if schema and not event_schema.is_valid(event):
                raise _schema_offence(event_schema.iter_errors(event))
            _check_event(event, prefixes, verdicts)
        except _Offence as offence:
            raise _event_offence(index, event, offence) from None


def validate_document(document: Mapping[str, Any], *, schema: bool = True) -> None:
    """Validate an EPCIS 2.0 JSON-LD capture document; raise on the first offence.

    Documents read from XML get exactly these checks too (after their XSD): where GS1's
    two schemas disagree, rules.py holds the standard's answer. ``schema=False`` skips the
    JSON Schema for events (benchmarks and tests of the other rules only).

    Raises ``ValidationException`` with ``event_index`` (None for the document's own members),
    ``field`` (a JSON pointer) and a ``detail`` naming the event, the member and the fault.
    Returns None when the document may be captured; the caller still owns the business checks
    (who may capture what).

    >>> validate_document(  # doctest: +ELLIPSIS
    ...     {"type": "EPCISDocument", "schemaVersion": "2.0",
    ...      "creationDate": "2026-07-22T10:30:00Z", "epcisBody": {"eventList": []}}
    ... )
    Traceback (most recent call last):
    ...
    traceseal.epcis.errors.ValidationException: Document, @context: this required member is ...
    """
    body = document.get("epcisBody")
    events = body.get("eventList") if isinstance(body, Mapping) else None
    shell: dict[str, Any]
    if isinstance(body, Mapping) and isinstance(events, list):
        # The document without its events: they are validated one by one below, so that the
        # first offence is found in list order without a second walk over the whole document.
        shell = {**document, "epcisBody": {**body, "eventList": []}}
    else:
        events, shell = [], dict(document)
    # Said first, because the schema would judge a query document or a bare event by its
    # own rules and complain about members a capture document does not even have.
    kind = document.get("type")
    if kind != "EPCISDocument":
        raise ValidationException(
            "Document, type: a capture document has type EPCISDocument, not "
            + ("none" if kind is None else repr(kind)),
            field="/type",
        )
    document_schema = _validators()[0]
    if not document_schema.is_valid(shell):
        offence = _schema_offence(document_schema.iter_errors(shell))
        member = offence.path.lstrip("/") or "the document"
        raise ValidationException(f"Document, {member}: {offence.detail}", field=offence.path)
    context = document["@context"]
    prefixes = _document_prefixes(context)
    try:
        _check_members(document, prefixes, "")
        header = document.get("epcisHeader")
        if header is not None:
            _check_members(header, prefixes, "/epcisHeader")
        _check_time(document["creationDate"], "/creationDate")
    except _Offence as offence:
        raise ValidationException(
            f"Document, {offence.path.lstrip('/')}: {offence.detail}", field=offence.path
        ) from None
    validate_events(events, context=context, schema=schema)
