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
  reserves for EPCIS's own later fields): carried under the 1.2 namespace.

Refused because it is not: a field given twice (e.g. quantityList both on the event and in
its extension), a field of another event type (ilmd in an AggregationEvent), an unknown
unqualified element outside any extension slot, and anything else in an EventList.
"""

from __future__ import annotations

from itertools import chain

# lxml-stubs is not among the dev dependencies (see traceseal.epcis.xml).
from lxml import etree  # type: ignore[import-untyped]

from traceseal.epcis.xml import EPCIS1_NS, EPCIS2_NS, EVENT_TYPES, XSI, XmlElement, refuse

__all__ = ["reshape"]

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
_EPCIS1 = f"{{{EPCIS1_NS}}}"
_XSI_TYPE = f"{XSI}type"
_SBDH = "{http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader}"


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
        if part.tag == "EPCISHeader":
            for child in list(part):
                if child.tag[0] == "{" and not child.tag.startswith(_SBDH):
                    part.remove(child)
                    set_aside.append((part, child))
        elif part.tag == "EPCISBody":
            for child in part:
                if child.tag == "EventList":
                    _reshape_event_list(child)
    root.tag = f"{{{EPCIS2_NS}}}EPCISDocument"
    return set_aside


def _reshape_event_list(event_list: XmlElement) -> None:
    events = list(_events_in(event_list))
    # Moving the events up detaches the emptied extension wrappers; the order is kept.
    event_list[:] = events
    for event in events:
        _reshape_event(event)


def _events_in(container: XmlElement) -> list[XmlElement]:
    events = []
    for child in container:
        if child.tag in EVENT_TYPES or child.tag == "QuantityEvent":
            events.append(child)
        elif child.tag == "extension":
            events.extend(_events_in(child))
        else:
            raise refuse(f"{child.tag} in an EPCIS 1.2 EventList is not an event type", child)
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
    for wrapper in [c for c in node if c.tag == "extension"]:
        for child in list(wrapper):
            if child.tag[0] == "{":
                node.append(child)
        if not len(wrapper):
            node.remove(wrapper)
