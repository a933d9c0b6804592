"""EPCIS 1.2 XML documents, reshaped in place into the EPCIS 2.0 XML shape.

EPCIS 2.0 moved the fields that 1.x kept in ``extension`` wrappers to the event itself, and
its backward-compatibility rules put 2.0-only content (AssociationEvent, sensorElementList,
persistentDisposition, ...) into the innermost 1.2 ``extension`` slots. Real 1.2 exports are
also loose about element order and wrapper placement. So a 1.2 event is read by element name,
whatever wrapper it sits in and in any order, and rebuilt in 2.0 order; the result is then
held to the 2.0 XSD like any 2.0 document, which checks values and required fields.

Accepted because the meaning is unambiguous:

- fields anywhere inside ``extension``/``baseExtension`` wrappers, in any order; 2.0 fields
  (certificationInfo, sensorElementList, ...) in 1.2 events;
- ``TransformationEvent`` and ``AssociationEvent`` in ``EventList/extension`` wrappers;
- ``QuantityEvent``, mapped as EPCIS 2.0 maps it: an ``ObjectEvent`` with action ``OBSERVE``
  and a one-element ``quantityList`` (epcClass, quantity; no uom);
- EPCIS fields qualified with the 1.2 namespace (read as the unqualified field);
- ``xsi:type`` annotations are dropped before validation: the JSON binding carries extension
  values as strings, and 1.2 exports often name types whose prefix is not declared;
- an unqualified element that is no EPCIS field, inside an ``extension`` slot (which 1.2
  reserves for EPCIS's own later fields): carried under the 1.2 namespace;
- element names of the standard's own vocabulary in another case (GS1's 1.2 AssociationEvent
  example writes ``sensorMetaData``): an unqualified element whose name is none of the names
  an EPCIS 1.2 or 2.0 capture document can hold (as the XSDs define them), but equals exactly
  one of them ignoring case, is read as that one. User content keeps its names as written:
  namespaced elements, master-data attribute values, and what sits in the ``extension`` slots
  that take any unqualified content;
- a time without seconds, ``2006-11-07T13:00Z``: an xsd:dateTime needs them, but hh:mm with a
  zone means one instant, so it is read as ``13:00:00Z``. Only in the standard's own times
  (eventTime, recordTime, declarationTime, creationDate, the sensor times) and only with a
  zone: without one the instant is unknown, and the 2.0 XSD refuses it.

Names in another case are read as the reshaping meets them where it reads names itself
(document, event list and event levels). Everything else of the last two rules is applied by
``repair``, and only once the 2.0 XSD has refused the reshaped document: documents that need
neither pay nothing for them, and read the same as if they had been applied first.

Refused because it is not: a field given twice (e.g. quantityList both on the event and in
its extension), a field of another event type (ilmd in an AggregationEvent), an unknown
unqualified element outside any extension slot, and anything else in an EventList.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from importlib import resources
from itertools import chain

# lxml-stubs is not among the dev dependencies (see traceseal.epcis.xml).
# lxml ships no type hints; xmlvalues.XmlElement types the part of its API used here.
from lxml import etree  # type: ignore[import-untyped]

from traceseal.epcis.xmlvalues import (
    EPCIS1_NS,
    EPCIS2_NS,
    EVENT_TAGS,
    SBDH,
    XSI,
    XmlElement,
    refuse,
)

__all__ = ["repair", "reshape"]

_BASE = (
    "eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "errorDeclaration",
    "certificationInfo",
)  # fmt: skip
_WHERE = ("bizStep", "disposition", "readPoint", "bizLocation")
_TAIL = ("sourceList", "destinationList", "sensorElementList", "persistentDisposition")
# Each event type's fields in the order of the EPCIS 2.0 XSD.
_ORDER: dict[str, tuple[str, ...]] = {
    "ObjectEvent": (
        *_BASE, "epcList", "action", *_WHERE, "bizTransactionList", "quantityList", *_TAIL,
        "ilmd",
    ),
    "AggregationEvent": (
        *_BASE, "parentID", "childEPCs", "action", *_WHERE, "bizTransactionList",
        "childQuantityList", *_TAIL,
    ),
    "TransactionEvent": (
        *_BASE, "bizTransactionList", "parentID", "epcList", "action", *_WHERE, "quantityList",
        *_TAIL,
    ),
    "TransformationEvent": (
        *_BASE, "inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList",
        "transformationID", *_WHERE, "bizTransactionList", *_TAIL, "ilmd",
    ),
    "AssociationEvent": (
        *_BASE, "parentID", "childEPCs", "childQuantityList", "action", *_WHERE,
        "bizTransactionList", *_TAIL,
    ),
}  # fmt: skip
_ALLOWED = {kind: frozenset(fields) for kind, fields in _ORDER.items()}
_ALLOWED["QuantityEvent"] = frozenset(
    (*_BASE, "epcClass", "quantity", *_WHERE, "bizTransactionList")
)
_ALL_FIELDS = frozenset(chain(*_ALLOWED.values()))
_WRAPPERS = frozenset({"extension", "baseExtension"})
_QUALIFIABLE = _ALL_FIELDS | _WRAPPERS
# Fields whose own ``extension`` slot holds unqualified content only in 2.0.
_NESTED = ("readPoint", "bizLocation", "ilmd", "errorDeclaration")
# Their standard children other than extension, and what an EventList holds: names that need
# no look-up in another case.
_NESTED_CHILDREN = frozenset(
    {"id", "declarationTime", "reason", "correctiveEventIDs", "sensorMetadata", "sensorReport"}
)
_EVENT_LIST_TAGS = EVENT_TAGS | {"QuantityEvent", "extension"}
_EPCIS1 = f"{{{EPCIS1_NS}}}"
_XSI_TYPE = f"{XSI}type"
_XSD = "{http://www.w3.org/2001/XMLSchema}"
# The standard's own times, besides the document's creationDate: elements, and attributes
# per element.
_TIME_ELEMENTS = frozenset({"eventTime", "recordTime", "declarationTime"})
_TIME_ATTRIBUTES = {"sensorMetadata": ("time", "startTime", "endTime"), "sensorReport": ("time",)}
_MINUTES = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d)(Z|[+-]\d\d:\d\d)")


def reshape(root: XmlElement, *, typed: bool = True) -> list[tuple[XmlElement, XmlElement]]:
    """Turn a parsed EPCIS 1.2 document into the EPCIS 2.0 XML shape, in place.

    ``typed=False`` tells it that no element has an ``xsi:type`` (the caller can see that in
    the bytes far faster than a walk of the tree can). Returns the header extension elements
    it took out, as (parent, element) pairs: the 2.0 XSD has no place for them, so the
    caller validates without them and puts them back. Raises ``ValidationException`` where
    the 1.2 document's meaning is ambiguous.
    """
    if typed:
        for node in root.xpath("//*[@xsi:type]", namespaces={"xsi": XSI[1:-1]}):
            del node.attrib[_XSI_TYPE]
    set_aside = []
    for part in root:
        tag = _recased(part)  # the few top-level elements; the same below
        if tag == "EPCISHeader":
            for child in list(part):
                if child.tag[0] == "{" and not child.tag.startswith(SBDH):
                    part.remove(child)
                    set_aside.append((part, child))
        elif tag == "EPCISBody":
            for child in part:
                if _recased(child) == "EventList":
                    _reshape_event_list(child)
    root.tag = f"{{{EPCIS2_NS}}}EPCISDocument"
    return set_aside


def event_list(root: XmlElement) -> tuple[XmlElement | None, list[XmlElement]]:
    """A 1.2 document's EventList and its events, out of any ``extension`` wrappers."""
    for part in root:
        if _recased(part) == "EPCISBody":
            for child in part:
                if _recased(child) == "EventList":
                    return child, _events_in(child)
    return None, []


def reshape_events(events: XmlElement, *, typed: bool = True) -> None:
    """:func:`reshape` for an EventList of 1.2 events on its own (see xml.convert_fragment)."""
    if typed:
        for node in events.xpath(".//*[@xsi:type]", namespaces={"xsi": XSI[1:-1]}):
            del node.attrib[_XSI_TYPE]
    _reshape_event_list(events)


def _reshape_event_list(event_list: XmlElement) -> None:
    events = list(_events_in(event_list))
    # Moving the events up detaches the emptied extension wrappers; the order is kept.
    event_list[:] = events
    for event in events:
        _reshape_event(event)


def _events_in(container: XmlElement) -> list[XmlElement]:
    events = []
    for child in container:
        tag = child.tag
        if tag not in _EVENT_LIST_TAGS:
            tag = _recased(child)
        if tag in EVENT_TAGS or tag == "QuantityEvent":
            events.append(child)
        elif tag == "extension":
            events.extend(_events_in(child))
        else:
            raise refuse(f"{tag} in an EPCIS 1.2 EventList is not an event type", child)
    return events


def _reshape_event(event: XmlElement) -> None:
    kind = event.tag
    allowed = _ALLOWED[kind]
    fields: dict[str, XmlElement] = {}
    extensions: list[XmlElement] = []
    _collect(event, kind, allowed, fields, extensions, in_slot=False)
    if kind == "QuantityEvent":
        kind = _as_object_event(event, fields)
    for name in _NESTED:
        if name in fields:
            _lift_extensions(fields[name])
    for element in fields.get("sensorElementList", ()):
        _lift_extensions(element)
    event[:] = [*(fields[name] for name in _ORDER[kind] if name in fields), *extensions]


def _collect(
    parent: XmlElement,
    kind: str,
    allowed: frozenset[str],
    fields: dict[str, XmlElement],
    extensions: list[XmlElement],
    *,
    in_slot: bool,
) -> None:
    # Only tags change here, no element moves, so the children can be walked directly.
    for child in parent:
        tag = child.tag
        if tag[0] == "{" and tag.startswith(_EPCIS1) and tag[len(_EPCIS1) :] in _QUALIFIABLE:
            tag = child.tag = tag[len(_EPCIS1) :]
        elif tag not in allowed and tag not in _WRAPPERS:
            tag = _recased(child)
        if tag in allowed:
            if tag in fields:
                raise refuse(
                    f"{tag} appears twice in this {kind} (lines {fields[tag].sourceline} and "
                    f"{child.sourceline}), so which one holds is ambiguous",
                    child,
                )
            fields[tag] = child
        elif tag in _WRAPPERS:
            _collect(child, kind, allowed, fields, extensions, in_slot=True)
        elif tag[0] == "{":
            extensions.append(child)
        elif tag in _ALL_FIELDS:
            raise refuse(f"{tag} is not a field of {kind}", child)
        elif in_slot:
            child.tag = f"{_EPCIS1}{tag}"
            extensions.append(child)
        else:
            raise refuse(f"Unknown element {tag} in {kind}", child)


def _as_object_event(event: XmlElement, fields: dict[str, XmlElement]) -> str:
    epc_class = fields.pop("epcClass", None)
    quantity = fields.pop("quantity", None)
    if epc_class is None or quantity is None:
        raise refuse("A QuantityEvent needs both epcClass and quantity", event)
    quantity_list = etree.Element("quantityList")
    element = etree.SubElement(quantity_list, "quantityElement")
    element.append(epc_class)
    element.append(quantity)
    action = etree.Element("action")
    action.text = "OBSERVE"
    fields["action"] = action
    fields["quantityList"] = quantity_list
    event.tag = "ObjectEvent"
    return "ObjectEvent"


def _lift_extensions(node: XmlElement) -> None:
    """Move namespaced content out of a nested 1.2 ``extension`` (2.0 wants it after)."""
    wrappers = [
        child
        for child in node
        if child.tag == "extension"
        or (child.tag not in _NESTED_CHILDREN and _recased(child) == "extension")
    ]
    for wrapper in wrappers:
        for child in list(wrapper):
            if child.tag[0] == "{":
                node.append(child)
        if not len(wrapper):
            node.remove(wrapper)


def repair(root: XmlElement) -> bool:
    """Read names in another case, and times without seconds, in a reshaped document.

    For a document the 2.0 XSD refused: renames unqualified elements to the standard name they
    match but for case, and adds ``:00`` seconds to the standard's times written as hh:mm with
    a zone (see the module docstring). Returns whether anything changed, that is whether
    validating again can help. It visits only content the standard defines: not namespaced
    elements, not master-data ``attribute`` values, and not the ``extension`` slots whose
    content the XSD leaves open (all but the header's, which holds EPCISMasterData). The XSD
    refuses a misnamed element or such a time anywhere it visits, so a document the XSD
    accepted would have read the same with this applied.
    """
    changed = _add_seconds(root, "creationDate")
    todo = [root]
    while todo:
        node = todo.pop()
        for child in node:
            tag = child.tag
            if tag[0] == "{":
                continue
            if _recased(child) != tag:
                changed, tag = True, child.tag
            if tag in _TIME_ELEMENTS:
                written = _with_seconds(child.text)
                if written is not None:
                    child.text, changed = written, True
            for attribute in _TIME_ATTRIBUTES.get(tag, ()):
                changed = _add_seconds(child, attribute) or changed
            if tag != "attribute" and (tag != "extension" or node.tag == "EPCISHeader"):
                todo.append(child)
    return changed


def _add_seconds(node: XmlElement, attribute: str) -> bool:
    written = _with_seconds(node.get(attribute))
    if written is None:
        return False
    node.attrib[attribute] = written
    return True


def _with_seconds(value: str | None) -> str | None:
    """``2006-11-07T13:00Z`` -> ``2006-11-07T13:00:00Z``; None for any other value."""
    match = _MINUTES.fullmatch((value or "").strip())
    return f"{match[1]}:00{match[2]}" if match else None


def _recased(node: XmlElement) -> str:
    """The node's tag, renamed in place when it is a standard name in another case."""
    tag = node.tag
    if tag[0] == "{":
        return tag
    exact, folded = _standard_names()
    if tag not in exact and (standard := folded.get(tag.lower())) is not None:
        tag = node.tag = standard
    return tag


@cache
def _standard_names() -> tuple[frozenset[str], dict[str, str]]:
    """The element names an EPCIS 1.2 or 2.0 capture document can hold, and by lower case.

    Read from the shipped XSDs by following the types from EPCISDocumentType, so the names
    only the 2.0 capture-job and problem responses use are not among them. A lower-case form
    that two names shared would map to neither (the XSDs have none).
    """
    names: set[str] = set()
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    data = resources.files("traceseal.epcis") / "data"
    for xsd in ("xsd-1.2/EPCglobal-epcis-1_2.xsd", "xsd-2.0/EPCglobal-epcis-2_0.xsd"):
        schema = etree.fromstring((data / xsd).read_bytes(), parser)
        types = {t.get("name"): t for t in schema.iterfind(f"{_XSD}complexType")}
        todo, seen = ["EPCISDocumentType"], set()
        while todo:
            name = todo.pop()
            if name in seen or name not in types:
                continue
            seen.add(name)
            for node in types[name].iter(f"{_XSD}element", f"{_XSD}extension"):
                if node.get("name"):
                    names.add(node.get("name"))
                if referenced := node.get("type") or node.get("base"):
                    todo.append(referenced.rpartition(":")[2])
    shared = Counter(name.lower() for name in names)
    folded = {name.lower(): name for name in names if shared[name.lower()] == 1}
    return frozenset(names), folded
