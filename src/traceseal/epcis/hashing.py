"""The CBV 2.0 event hash ID: ``ni:///sha-256;<hex>?ver=CBV2.0`` for an EPCIS 2.0 event.

CBV 2.0 ("Event hash ID") defines a fingerprint that does not depend on how an event was
written (JSON-LD or XML, element order, CURIE or full URI, EPC URN or Digital Link, time
zone). The event is flattened into a *pre-hash string*: fields in a fixed order as
``name=value`` with no separators, values normalised, list members sorted, user
extensions sorted at the end of the element that holds them. Its SHA-256 is the hash.

The standard's prose leaves room for reading; where it does, this module does what the
reference implementation (RalphTro/epcis-event-hash-generator, whose vectors
``tests/spec/test_event_hash.py`` reproduces) does, because the hash is only useful if
every party computes the same one:

- ``certificationInfo`` is hashed right after ``eventTimeZoneOffset``; ``eventID``,
  ``recordTime``, ``errorDeclaration`` and comments are left out.
- ``bizTransactionList``, ``sourceList``, ``destinationList`` and ``ilmd`` are not placed
  by the fixed order but sorted, as whole strings, together with the event's user
  extensions after the ordered fields (so ``destinationList`` precedes ``sourceList``).
  Inside each entry the type comes first, then the identifier.
- Every value is trimmed, then: a bare CBV term becomes its GS1 Web URI (only in the
  fields whose JSON-LD context defines such terms), a CURIE is expanded, a CBV 1.x URN
  becomes its Web URI, a number loses leading and trailing zeros, and an EPC URN or
  Digital Link URI becomes the canonical Digital Link (:func:`to_digital_link`).
- Timestamps of standard fields are written in UTC with milliseconds, the third decimal
  rounded up when the fourth is 5-9, as the algorithm's description says (the reference
  code rounds half to even: it differs only for an exact 5 after an even third decimal).

Two deliberate departures from the reference, both in cases no published vector covers:
numbers with more than 15 significant digits keep every digit (the reference goes through
a float, so two long numeric IDs could share a hash), and a value that the reference
would render as Python does (``True``, ``None``) is rendered as JSON does.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any, NamedTuple, TypeGuard

from traceseal.epcis.identifiers import digital_link

__all__ = ["document_context", "event_hash", "prehash"]

_CONTEXT_FILE = "epcis-context-2.0.0.jsonld"

# Fields the event hash ID leaves out, plus JSON-LD plumbing and comments.
_SKIP = frozenset({"type", "@type", "eventID", "@id", "recordTime", "errorDeclaration", "@context"})
_COMMENTS = frozenset({"comment", "rdfs:comment"})

_CBV_URNS = (
    ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NUMBER_START = frozenset("0123456789+-.")
_FLOAT_EXACT = 2**53  # integers above this are not all representable as floats


class _Vocabularies(NamedTuple):
    prefixes: dict[str, str]  # prefixes the standard context defines (cbv, gs1, ...)
    terms: dict[str, dict[str, str]]  # field -> bare term -> Web URI


# --- public API ------------------------------------------------------------------------


def event_hash(event: Mapping[str, Any], context: Mapping[str, str]) -> str:
    """Return the CBV 2.0 event hash ID of ``event``.

    ``event`` is one member of ``epcisBody.eventList`` in the JSON-LD binding;
    ``context`` maps the document's JSON-LD prefixes to namespace IRIs (see
    :func:`document_context`); an ``@context`` inside the event is merged on top. The
    event is not validated here: a malformed field is hashed as it stands.

    >>> event = {"type": "ObjectEvent", "eventTime": "2020-03-04T11:00:30+01:00",
    ...          "eventTimeZoneOffset": "+01:00", "action": "OBSERVE"}
    >>> event_hash(event, {})[:24]
    'ni:///sha-256;db3d7a8738'
    """
    text = prehash(event, context)
    return f"ni:///sha-256;{hashlib.sha256(text.encode()).hexdigest()}?ver=CBV2.0"


def prehash(event: Mapping[str, Any], context: Mapping[str, str]) -> str:
    """Return the canonical pre-hash string of ``event`` (useful when hashes differ).

    >>> text = prehash({"type": "ObjectEvent", "bizStep": "shipping", "action": "OBSERVE",
    ...                 "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"]}, {})
    >>> text[:76]
    'eventType=ObjectEventepcListepc=https://id.gs1.org/01/10614141073464/21/2017'
    >>> text[76:]
    'action=OBSERVEbizStep=https://ref.gs1.org/cbv/BizStep-shipping'
    """
    prefixes: Mapping[str, str] = context
    if "@context" in event:
        prefixes = _read_context(event["@context"], dict(context))
    parts = ["eventType=", _text(event.get("type", event.get("@type")))]
    for name, render in _EVENT_ORDER:
        value = event.get(name)
        if value is not None:
            parts.append(render(name, value, prefixes))
    rest: list[str] = []
    for key, value in event.items():
        if key in _NOT_EXTENSIONS:
            continue
        typed = _TYPED_LISTS.get(key)
        if typed is not None:
            rest.append(_typed_list(key, typed, value, prefixes))
        else:
            rest.extend(_generic(_key(key, prefixes), value, prefixes))
    rest.sort()
    parts.extend(rest)
    return "".join(parts)


def document_context(document: Mapping[str, Any]) -> dict[str, str]:
    """Return the prefix -> namespace IRI map of an EPCIS document's ``@context``.

    The standard EPCIS context contributes its own prefixes (``cbv``, ``gs1``,
    ``cbvmda``...) from the copy shipped with the package; later entries override
    earlier ones, as in JSON-LD.

    >>> document_context({"@context": [
    ...     "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    ...     {"example": "https://ns.example.com/epcis/"}]})["example"]
    'https://ns.example.com/epcis/'
    """
    return _read_context(document.get("@context"), {})


# --- values ----------------------------------------------------------------------------


def _text(value: Any) -> str:
    """The trimmed lexical form of a JSON scalar, as XML would carry it."""
    if isinstance(value, str):
        return value.strip()
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


def _canon(value: Any, prefixes: Mapping[str, str], terms: Mapping[str, str] | None) -> str:
    text = _text(value)
    if not text:
        return text
    if terms is not None:
        standard = terms.get(text)
        if standard is not None:
            return standard
    if ":" in text:
        prefix, _, local = text.partition(":")
        namespace = prefixes.get(prefix)
        if namespace is not None:
            text = namespace + local
        elif text.startswith("urn:epcglobal:cbv:"):
            for old, new in _CBV_URNS:
                if text.startswith(old):
                    return new + text[len(old) :]
        return digital_link(text)
    if text[0] in _NUMBER_START:
        return _number(text)
    return text


def _number(text: str) -> str:
    """Numbers as the event hash writes them: no leading or trailing zeros, no '+'."""
    if _NUMBER.fullmatch(text) is None:
        return text
    mantissa = text.lower().partition("e")[0].lstrip("+-").replace(".", "").strip("0")
    if len(mantissa) <= 15:
        number = float(text)
        if not math.isfinite(number):
            return text
        if number.is_integer():
            if abs(number) < _FLOAT_EXACT:
                return str(int(number))
        else:
            # Up to 15 significant digits survive a float unchanged, and Python's repr
            # of it is what the reference implementation writes.
            return repr(number)
    try:
        exact = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern only admits numbers
        return text
    if abs(exact.adjusted()) > 100:
        return text  # an absurd exponent: hash it as written, do not expand it
    if exact == exact.to_integral_value():
        return str(int(exact))
    return format(exact.normalize(), "f")


def _timestamp(value: Any) -> str:
    """UTC, millisecond precision, 'Z'; the 3rd decimal rounds up if the 4th is 5-9.

    A time without offset is taken as UTC (EPCIS requires the offset; validation refuses
    such events before they are hashed). Text that is no ISO 8601 time is kept as written.
    """
    text = _text(value)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    micro = moment.microsecond
    millis = micro // 1000 + ((micro // 100) % 10 >= 5)
    offset = moment.utcoffset()
    try:
        moment = moment.replace(microsecond=0, tzinfo=None) + timedelta(milliseconds=millis)
        if offset:
            moment -= offset
    except OverflowError:
        return text
    return moment.isoformat(timespec="milliseconds") + "Z"


def _key(name: str, prefixes: Mapping[str, str]) -> str:
    """An extension's name as ``{namespace}local``, the form the XML binding gives it."""
    prefix, colon, local = name.partition(":")
    if colon:
        namespace = prefixes.get(prefix)
        if namespace is not None:
            return "{" + namespace + "}" + local
    return name


# --- renderers -------------------------------------------------------------------------
# Each renderer returns the piece of the pre-hash string for one field, or "" when the
# field holds nothing (absent and empty fields are not written at all).

_Render = Callable[[str, Any, Mapping[str, str]], str]


def _members(value: Any) -> Iterable[Any]:
    return value if isinstance(value, list) else (value,)


def _scalar(terms_of: str | None = None) -> _Render:
    def render(name: str, value: Any, prefixes: Mapping[str, str]) -> str:
        terms = _vocabularies().terms[terms_of] if terms_of else None
        if type(value) is str:  # the common case, without the list and the sort
            text = _canon(value, prefixes, terms)
            return f"{name}={text}" if text else ""
        if isinstance(value, Mapping):
            return "".join(_generic(name, value, prefixes))
        texts = [_canon(member, prefixes, terms) for member in _members(value)]
        return "".join(sorted(f"{name}={text}" for text in texts if text))

    return render


def _time(name: str, value: Any, _prefixes: Mapping[str, str]) -> str:
    texts = [_timestamp(member) for member in _members(value)]
    return "".join(sorted(f"{name}={text}" for text in texts if text))


def _epcs(name: str, value: Any, prefixes: Mapping[str, str]) -> str:
    if type(value) is list and not _URI_SCHEMES.intersection(prefixes):
        # The hot loop (most of an event is EPCs), with _canon inlined for what EPCs are:
        # URNs and URIs whose scheme no context redefines.
        members = []
        for member in value:
            if type(member) is str and member.startswith(("urn:epc:", "https://", "http://")):
                members.append("epc=" + digital_link(member.strip()))
            else:
                text = _canon(member, prefixes, None)
                if text:
                    members.append("epc=" + text)
    else:
        texts = [_canon(member, prefixes, None) for member in _members(value)]
        members = ["epc=" + text for text in texts if text]
    members.sort()
    return name + "".join(members) if members else ""


#: URI schemes of identifiers; a JSON-LD context that declares one as a prefix changes how
#: identifiers read, and such documents take the general path.
_URI_SCHEMES = frozenset({"urn", "http", "https"})


def _structure(order: tuple[tuple[str, _Render], ...]) -> _Render:
    """A JSON object written as name + its fields in ``order`` + sorted extensions."""
    known = frozenset(field for field, _ in order)

    def render(name: str, value: Any, prefixes: Mapping[str, str]) -> str:
        if not isinstance(value, Mapping):
            return "".join(_generic(name, value, prefixes))
        parts = [name]
        for field, render_field in order:
            member = value.get(field)
            if member is not None:
                parts.append(render_field(field, member, prefixes))
        extensions = [
            piece
            for field, member in value.items()
            if field not in known and field not in _COMMENTS
            for piece in _generic(_key(field, prefixes), member, prefixes)
        ]
        parts.extend(sorted(extensions))
        return "".join(parts) if len(parts) > 1 and any(parts[1:]) else ""

    return render


def _list_of(element: str, render_element: _Render) -> _Render:
    """A JSON array written as name + its elements, each rendered and then sorted.

    With ``element`` empty the array has no name of its own: its members repeat the
    field name, as ``sensorReport`` does inside a sensor element.
    """

    def render(name: str, value: Any, prefixes: Mapping[str, str]) -> str:
        member_name = element or name
        pieces = [render_element(member_name, member, prefixes) for member in _members(value)]
        members = sorted(piece for piece in pieces if piece)
        if not members:
            return ""
        return (name if element else "") + "".join(members)

    return render


def _generic(name: str, value: Any, prefixes: Mapping[str, str]) -> list[str]:
    """ILMD and user extensions: every member named, values canonical, siblings sorted."""
    if isinstance(value, list):
        return [piece for member in value for piece in _generic(name, member, prefixes)]
    if isinstance(value, Mapping):
        children = [
            piece
            for field, member in value.items()
            if field not in _COMMENTS
            for piece in _generic(_key(field, prefixes), member, prefixes)
        ]
        children.sort()
        return [name + "".join(children)]
    text = _canon(value, prefixes, None)
    return [f"{name}={text}" if text else name]


def _typed_list(name: str, spec: tuple[str, str], value: Any, prefixes: Mapping[str, str]) -> str:
    """bizTransactionList, sourceList, destinationList: type first, then the identifier."""
    field, terms_of = spec
    terms = _vocabularies().terms[terms_of]
    members = []
    for member in _members(value):
        if not isinstance(member, Mapping):
            members.extend(_generic(field, member, prefixes))
            continue
        kind = _canon(member.get("type"), prefixes, terms)
        ident = _canon(member.get(field), prefixes, None)
        extensions = [
            piece
            for key, item in member.items()
            if key not in ("type", field) and key not in _COMMENTS
            for piece in _generic(_key(key, prefixes), item, prefixes)
        ]
        piece = (f"type={kind}" if kind else "") + (f"{field}={ident}" if ident else "")
        members.append(piece + "".join(sorted(extensions)))
    members = sorted(piece for piece in members if piece)
    return name + "".join(members) if members else ""


_QUANTITY = _structure((("epcClass", _scalar()), ("quantity", _scalar()), ("uom", _scalar())))
_SENSOR_METADATA = _structure(
    (
        ("time", _time),
        ("startTime", _time),
        ("endTime", _time),
        ("deviceID", _scalar()),
        ("deviceMetadata", _scalar()),
        ("rawData", _scalar()),
        ("dataProcessingMethod", _scalar()),
        ("bizRules", _scalar()),
    )
)
_SENSOR_REPORT = _structure(
    (
        ("type", _scalar("measurementType")),
        ("exception", _scalar("exception")),
        ("deviceID", _scalar()),
        ("deviceMetadata", _scalar()),
        ("rawData", _scalar()),
        ("dataProcessingMethod", _scalar()),
        ("time", _time),
        ("microorganism", _scalar()),
        ("chemicalSubstance", _scalar()),
        ("value", _scalar()),
        ("component", _scalar("component")),
        ("stringValue", _scalar()),
        ("booleanValue", _scalar()),
        ("hexBinaryValue", _scalar()),
        ("uriValue", _scalar()),
        ("minValue", _scalar()),
        ("maxValue", _scalar()),
        ("meanValue", _scalar()),
        ("sDev", _scalar()),
        ("percRank", _scalar()),
        ("percValue", _scalar()),
        ("uom", _scalar()),
        ("coordinateReferenceSystem", _scalar()),
    )
)
_SENSOR_ELEMENT = _structure(
    (
        ("sensorMetadata", _SENSOR_METADATA),
        ("sensorReport", _list_of("", _SENSOR_REPORT)),
    )
)
_LOCATION = _structure((("id", _scalar()),))
_QUANTITIES = _list_of("quantityElement", _QUANTITY)

# The canonical property order of the event hash ID (with the reading noted above).
_EVENT_ORDER: tuple[tuple[str, _Render], ...] = (
    ("eventTime", _time),
    ("eventTimeZoneOffset", _scalar()),
    ("certificationInfo", _scalar()),
    ("parentID", _scalar()),
    ("epcList", _epcs),
    ("inputEPCList", _epcs),
    ("childEPCs", _epcs),
    ("quantityList", _QUANTITIES),
    ("childQuantityList", _QUANTITIES),
    ("inputQuantityList", _QUANTITIES),
    ("outputEPCList", _epcs),
    ("outputQuantityList", _QUANTITIES),
    ("action", _scalar()),
    ("transformationID", _scalar()),
    ("bizStep", _scalar("bizStep")),
    ("disposition", _scalar("disposition")),
    (
        "persistentDisposition",
        _structure(
            (("set", _scalar("persistentDisposition")), ("unset", _scalar("persistentDisposition")))
        ),
    ),
    ("readPoint", _LOCATION),
    ("bizLocation", _LOCATION),
    ("sensorElementList", _list_of("sensorElement", _SENSOR_ELEMENT)),
)
_ORDERED = frozenset(name for name, _ in _EVENT_ORDER)
_NOT_EXTENSIONS = _ORDERED | _SKIP | _COMMENTS
_TYPED_LISTS = {
    "bizTransactionList": ("bizTransaction", "bizTransactionType"),
    "sourceList": ("source", "sourceDestType"),
    "destinationList": ("destination", "sourceDestType"),
}


# --- JSON-LD contexts ------------------------------------------------------------------


def _read_context(context: Any, into: dict[str, str]) -> dict[str, str]:
    for entry in _members(context):
        if isinstance(entry, str):
            if entry.endswith("epcis-context.jsonld"):
                into.update(_vocabularies().prefixes)
        elif isinstance(entry, Mapping):
            for prefix, definition in entry.items():
                iri = definition.get("@id") if isinstance(definition, Mapping) else definition
                if _is_namespace(iri) and not prefix.startswith("@") and ":" not in prefix:
                    into[prefix] = iri
    return into


def _is_namespace(iri: object) -> TypeGuard[str]:
    # An absolute IRI, as opposed to a keyword ("@id") or a CURIE ("epcis:ObjectEvent").
    return isinstance(iri, str) and ("://" in iri or iri.startswith("urn:"))


@cache
def _vocabularies() -> _Vocabularies:
    """Prefixes and bare CBV terms of the EPCIS 2.0.0 context, read from the package copy."""
    source = resources.files("traceseal.epcis").joinpath("data", _CONTEXT_FILE)
    context = json.loads(source.read_text(encoding="utf-8"))["@context"]
    prefixes = {name: iri for name, iri in context.items() if _is_namespace(iri)}

    def terms(definition: Any) -> dict[str, str]:
        found: dict[str, str] = {}
        for scope in _members(definition["@context"]):
            for term, curie in scope.items():
                if not isinstance(curie, str):
                    continue
                prefix, colon, local = curie.partition(":")
                if colon and prefix in prefixes:
                    found[term] = prefixes[prefix] + local
        return found

    report = context["sensorElementList"]["@context"]["sensorReport"]["@context"]
    return _Vocabularies(
        prefixes,
        {
            "bizStep": terms(context["bizStep"]),
            "disposition": terms(context["disposition"]),
            "persistentDisposition": terms(context["persistentDisposition"]),
            "bizTransactionType": terms(context["bizTransactionList"]["@context"]["type"]),
            "sourceDestType": terms(context["sourceList"]["@context"]["type"]),
            "measurementType": terms(report["type"]),
            "exception": terms(report["exception"]),
            "component": terms(report["component"]),
        },
    )
