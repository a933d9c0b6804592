"""EPCIS 2.0 JSON-LD documents written as EPCIS 2.0 XML (``urn:epcglobal:epcis:xsd:2``).

The inverse of ``traceseal.epcis.xml``: ``read_document(write(doc))`` gives ``doc`` back for
every document the XML reader produced (tests/unit/epcis/test_xmlwrite.py), so the two
bindings can be held to one rule set in both directions (tests/functional/
test_epcis_bindings.py). The choices that make it an inverse:

- arrays become list wrappers (``"epcList": [...]`` -> ``epcList/epc``), fields take the 2.0
  places of the XSD (never ``baseExtension`` or ``extension``), in the XSD's order;
- a CBV bare word that is a standard one becomes its URN (``shipping`` ->
  ``urn:epcglobal:cbv:bizstep:shipping``), sensor types ``gs1:Temperature`` and components
  ``cbv:Comp-x``; every other value is written as it is;
- a member ``prefix:localName`` becomes an element in the prefix's namespace, declared on
  the root with the same prefix (from the document's ``@context``, else the EPCIS 2.0
  context); members of an object become child elements, or attributes beside ``#text``;
- ``sender``, ``receiver`` and ``instanceIdentifier`` become a Standard Business Document
  Header; ``epcisHeader.epcisMasterData`` goes to ``EPCISHeader/extension``.

The document's own JSON-LD ``id`` has no place in the XML binding and is left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from traceseal.epcis.errors import ValidationException
from traceseal.epcis.xmlvalues import EPCIS2_NS, XmlElement
from traceseal.epcis.xmlvalues import _context_terms as context_terms
from traceseal.epcis.xmlvalues import _vocabularies as vocabularies

__all__ = ["write", "write_tree"]

_SBDH_NS = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
_SBDH = f"{{{_SBDH_NS}}}"
_HEAD = ("eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "errorDeclaration",
         "certificationInfo")  # fmt: skip
_WHAT_WHERE = ("bizStep", "disposition", "readPoint", "bizLocation", "bizTransactionList")
_LISTS = ("sourceList", "destinationList", "sensorElementList", "persistentDisposition")
# Each event type's fields after the common head, in the order of the 2.0 XSD.
_ORDER: dict[str, tuple[str, ...]] = {
    "ObjectEvent": ("epcList", "action", *_WHAT_WHERE, "quantityList", *_LISTS, "ilmd"),
    "AggregationEvent": ("parentID", "childEPCs", "action", *_WHAT_WHERE, "childQuantityList",
                         *_LISTS),
    "TransactionEvent": ("bizTransactionList", "parentID", "epcList", "action", "bizStep",
                         "disposition", "readPoint", "bizLocation", "quantityList", *_LISTS),
    "TransformationEvent": ("inputEPCList", "inputQuantityList", "outputEPCList",
                            "outputQuantityList", "transformationID", *_WHAT_WHERE, *_LISTS,
                            "ilmd"),
    "AssociationEvent": ("parentID", "childEPCs", "childQuantityList", "action", *_WHAT_WHERE,
                         *_LISTS),
}  # fmt: skip
_URNS = {
    "bizStep": "urn:epcglobal:cbv:bizstep:",
    "disposition": "urn:epcglobal:cbv:disp:",
    "btt": "urn:epcglobal:cbv:btt:",
    "sdt": "urn:epcglobal:cbv:sdt:",
    "er": "urn:epcglobal:cbv:er:",
    "measurement": "gs1:",
    "alert": "gs1:",
    "component": "cbv:Comp-",
}


def write(document: Mapping[str, Any]) -> bytes:
    """The EPCIS 2.0 XML for a JSON-LD EPCISDocument in the form ``read_document`` returns.

    >>> xml = write({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
    ...     "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2024-03-04T06:00:00Z",
    ...     "epcisBody": {"eventList": [{"type": "ObjectEvent", "action": "ADD",
    ...     "eventTime": "2024-03-04T06:00:00Z", "eventTimeZoneOffset": "+01:00",
    ...     "bizStep": "shipping"}]}})
    >>> b"<bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>" in xml
    True

    The result is not validated; a member the XML binding cannot name (a prefix the context
    does not define, a name that is no XML name) raises ``ValidationException``.
    """
    root = write_tree(document)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data


def write_tree(document: Mapping[str, Any]) -> XmlElement:
    """:func:`write`, as an lxml element."""
    return _Writer(document).document()


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _decimal(value: Any) -> str:
    # xsd:decimal has no exponent: 1e-05 is written 0.00001.
    if isinstance(value, float) and "e" in repr(value):
        return format(value, "f").rstrip("0").rstrip(".") or "0"
    return _scalar(value)


def _word(value: Any, kind: str) -> str:
    """A bare standard word as the XML binding writes it; anything else as it is."""
    text = _scalar(value)
    if text in vocabularies()[kind][1]:
        return _URNS[kind] + text
    return text


class _Writer:
    """One document: the namespaces its members use, then its tree."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.doc = document
        terms = context_terms()
        self.known: dict[str, str] = {p: iri for p, iri in terms.items() if iri}
        if "@context" not in document:
            # Without a context its members are plain JSON, not JSON-LD: nothing names their
            # namespaces, and the XML binding has no way to say the context is missing.
            raise ValidationException(
                "The document has no @context, so it has no EPCIS 2.0 XML form"
            )
        # Events may carry an @context of their own; XML declares every namespace on the root.
        for contexts in _contexts(document):
            for context in contexts if isinstance(contexts, list) else [contexts]:
                if isinstance(context, dict):
                    for prefix, iri in context.items():
                        if isinstance(iri, str) and not prefix.startswith("@"):
                            self.known[prefix] = iri
        self.nsmap: dict[str, str] = {"epcis": EPCIS2_NS}
        for key in _keys(document):
            prefix, colon, _ = key.partition(":")
            if colon and prefix in self.known and prefix not in self.nsmap:
                self.nsmap[prefix] = self.known[prefix]

    def name(self, key: str) -> str:
        """The element or attribute name for a member: ``{namespace}local`` or bare."""
        prefix, colon, local = key.partition(":")
        if not colon:
            return key
        namespace = self.known.get(prefix)
        if namespace is None:
            raise ValidationException(
                f"The member {key} uses the prefix {prefix}, which the @context does not "
                "define, so it has no XML namespace"
            )
        return f"{{{namespace}}}{local}"

    def element(self, parent: XmlElement, key: str, text: Any = None) -> XmlElement:
        try:
            node: XmlElement = etree.SubElement(parent, self.name(key))
        except ValueError:
            raise ValidationException(f"The member {key} is not an XML name") from None
        if text is not None:
            node.text = _scalar(text)
        return node

    def document(self) -> XmlElement:
        doc = self.doc
        root: XmlElement = etree.Element(f"{{{EPCIS2_NS}}}EPCISDocument", nsmap=self.nsmap)
        root.set("schemaVersion", "2.0")
        root.set("creationDate", _scalar(doc.get("creationDate")))
        header = doc.get("epcisHeader")
        if any(k in doc for k in ("sender", "receiver", "instanceIdentifier")) or header:
            self.header(etree.SubElement(root, "EPCISHeader"), header or {})
        body = doc.get("epcisBody") or {}
        body_node = etree.SubElement(root, "EPCISBody")
        events = etree.SubElement(body_node, "EventList")
        for event in body.get("eventList") or []:
            self.event(events, event)
        self.members(body_node, body, ("eventList",))
        known = ("@context", "type", "schemaVersion", "creationDate", "epcisHeader",
                 "epcisBody", "sender", "receiver", "instanceIdentifier", "id")  # fmt: skip
        self.members(root, doc, known)
        return root

    def header(self, node: XmlElement, header: Mapping[str, Any]) -> None:
        doc = self.doc
        if any(k in doc for k in ("sender", "receiver", "instanceIdentifier")):
            sbdh = etree.SubElement(node, f"{_SBDH}StandardBusinessDocumentHeader",
                                    nsmap={"sbdh": _SBDH_NS})  # fmt: skip
            etree.SubElement(sbdh, f"{_SBDH}HeaderVersion").text = "1.0"
            for field in ("Sender", "Receiver"):
                if field.lower() in doc:
                    party = etree.SubElement(sbdh, f"{_SBDH}{field}")
                    etree.SubElement(party, f"{_SBDH}Identifier").text = _scalar(doc[field.lower()])
            ident = etree.SubElement(sbdh, f"{_SBDH}DocumentIdentification")
            for field, text in (("Standard", "EPCglobal"), ("TypeVersion", "2.0"),
                                ("InstanceIdentifier", doc.get("instanceIdentifier", "")),
                                ("Type", "Events"),
                                ("CreationDateAndTime", doc.get("creationDate", ""))):  # fmt: skip
                etree.SubElement(ident, f"{_SBDH}{field}").text = _scalar(text)
        master = header.get("epcisMasterData")
        if master is not None:
            extension = etree.SubElement(node, "extension")
            self.master_data(etree.SubElement(extension, "EPCISMasterData"), master)
        self.members(node, header, ("epcisMasterData",))

    def master_data(self, node: XmlElement, master: Mapping[str, Any]) -> None:
        vocabulary_list = etree.SubElement(node, "VocabularyList")
        for vocabulary in master.get("vocabularyList") or []:
            vocab_node = etree.SubElement(vocabulary_list, "Vocabulary")
            vocab_node.set("type", _scalar(vocabulary.get("type")))
            elements = vocabulary.get("vocabularyElementList")
            if elements is not None:
                list_node = etree.SubElement(vocab_node, "VocabularyElementList")
                for element in elements:
                    self.vocabulary_element(list_node, element)
            self.members(vocab_node, vocabulary, ("type", "vocabularyElementList"))
        self.members(node, master, ("vocabularyList",))

    def vocabulary_element(self, parent: XmlElement, element: Mapping[str, Any]) -> None:
        node = etree.SubElement(parent, "VocabularyElement")
        node.set("id", _scalar(element.get("id")))
        for attribute in element.get("attributes") or []:
            child = etree.SubElement(node, "attribute")
            child.set("id", _scalar(attribute.get("id")))
            self.fill(child, attribute.get("attribute"))
        if "children" in element:
            children = etree.SubElement(node, "children")
            for child_id in element["children"] or []:
                etree.SubElement(children, "id").text = _scalar(child_id)
        self.members(node, element, ("id", "attributes", "children"))

    def event(self, parent: XmlElement, event: Mapping[str, Any]) -> None:
        kind = _scalar(event.get("type"))
        try:
            node: XmlElement = etree.SubElement(parent, kind)
        except ValueError:
            raise ValidationException(f"The event type {kind!r} is not an XML name") from None
        order = _HEAD + _ORDER.get(kind, ())
        for field in order:
            if field in event:
                _FIELDS.get(field, _Writer.text)(self, node, field, event[field])
        self.members(node, event, ("type", *order))

    def members(self, node: XmlElement, source: Mapping[str, Any], known: tuple[str, ...]) -> None:
        """The members of ``source`` that are not its EPCIS fields, as extension elements;
        those in the EPCIS 2.0 namespace go back into the ``extension`` slot they came from."""
        extension: XmlElement | None = None
        for key, value in source.items():
            if key in known or key == "@context":
                continue
            prefix, colon, local = key.partition(":")
            if colon and self.known.get(prefix) == EPCIS2_NS:
                # The reader's name for an unqualified element of an ``extension`` slot. A
                # plain name is written in place, unqualified: the XSD refuses it there, as
                # the rules refuse it in JSON-LD (it is no EPCIS field and has no namespace).
                if extension is None:
                    extension = etree.SubElement(node, "extension")
                self.put(extension, local, value)
            else:
                self.put(node, key, value)

    def put(self, parent: XmlElement, key: str, value: Any) -> None:
        """A member as one element per value (an array repeats the element)."""
        if isinstance(value, list):
            for item in value:
                self.put(parent, key, item)
            return
        self.fill(self.element(parent, key), value)

    def fill(self, node: XmlElement, value: Any) -> None:
        """An element's content: text, or child elements and (beside ``#text``) attributes."""
        if not isinstance(value, dict):
            node.text = _scalar(value)
            return
        text = value.get("#text")
        for key, member in value.items():
            if key == "#text":
                continue
            if text is not None and not isinstance(member, dict | list):
                try:
                    node.set(self.name(key), _scalar(member))
                except ValueError:
                    raise ValidationException(f"The member {key} is not an XML name") from None
            else:
                self.put(node, key, member)
        if text is not None:
            node.text = _scalar(text)

    def text(self, node: XmlElement, field: str, value: Any) -> None:
        if isinstance(value, list):  # not a single value: written so, for the XSD to refuse
            for item in value:
                self.element(node, field, item)
        else:
            self.element(node, field, value)

    def word(self, node: XmlElement, field: str, value: Any) -> None:
        self.element(node, field, _word(value, field))

    def epcs(self, node: XmlElement, field: str, value: Any) -> None:
        wrapper = self.element(node, field)
        for epc in value if isinstance(value, list) else [value]:
            etree.SubElement(wrapper, "epc").text = _scalar(epc)

    def quantities(self, node: XmlElement, field: str, value: Any) -> None:
        wrapper = self.element(node, field)
        for item in value if isinstance(value, list) else [value]:
            element = etree.SubElement(wrapper, "quantityElement")
            item = item if isinstance(item, dict) else {"epcClass": item}
            for key in ("epcClass", "quantity", "uom"):
                if key in item:
                    convert = _decimal if key == "quantity" else _scalar
                    etree.SubElement(element, key).text = convert(item[key])
            self.members(element, item, ("epcClass", "quantity", "uom"))

    def place(self, node: XmlElement, field: str, value: Any) -> None:
        """readPoint, bizLocation and ilmd: ``id`` first, then extension members."""
        wrapper = self.element(node, field)
        value = value if isinstance(value, dict) else {"id": value}
        if "id" in value:
            etree.SubElement(wrapper, "id").text = _scalar(value["id"])
        self.members(wrapper, value, ("id",))

    def transactions(self, node: XmlElement, field: str, value: Any) -> None:
        wrapper = self.element(node, field)
        for item in value if isinstance(value, list) else [value]:
            item = item if isinstance(item, dict) else {"bizTransaction": item}
            child = etree.SubElement(wrapper, "bizTransaction")
            if "type" in item:
                child.set("type", _word(item["type"], "btt"))
            child.text = _scalar(item.get("bizTransaction"))

    def sources(self, node: XmlElement, field: str, value: Any) -> None:
        wrapper = self.element(node, field)
        name = field.removesuffix("List")
        for item in value if isinstance(value, list) else [value]:
            item = item if isinstance(item, dict) else {name: item}
            child = etree.SubElement(wrapper, name)
            if "type" in item:
                child.set("type", _word(item["type"], "sdt"))
            child.text = _scalar(item.get(name))

    def persistent(self, node: XmlElement, field: str, value: Any) -> None:
        wrapper = self.element(node, field)
        value = value if isinstance(value, dict) else {}
        for key in ("unset", "set"):
            words = value.get(key) or []
            for word in words if isinstance(words, list) else [words]:
                etree.SubElement(wrapper, key).text = _word(word, "disposition")

    def declaration(self, node: XmlElement, field: str, value: Any) -> None:
        wrapper = self.element(node, field)
        value = value if isinstance(value, dict) else {}
        if "declarationTime" in value:
            etree.SubElement(wrapper, "declarationTime").text = _scalar(value["declarationTime"])
        if "reason" in value:
            etree.SubElement(wrapper, "reason").text = _word(value["reason"], "er")
        if "correctiveEventIDs" in value:
            ids = etree.SubElement(wrapper, "correctiveEventIDs")
            for event_id in value["correctiveEventIDs"] or []:
                etree.SubElement(ids, "correctiveEventID").text = _scalar(event_id)
        self.members(wrapper, value, ("declarationTime", "reason", "correctiveEventIDs"))

    def sensors(self, node: XmlElement, field: str, value: Any) -> None:
        wrapper = self.element(node, field)
        for element in value if isinstance(value, list) else [value]:
            element = element if isinstance(element, dict) else {}
            child = etree.SubElement(wrapper, "sensorElement")
            if "sensorMetadata" in element:
                self.sensor_attributes(etree.SubElement(child, "sensorMetadata"),
                                       element["sensorMetadata"])  # fmt: skip
            reports = element.get("sensorReport") or []
            for report in reports if isinstance(reports, list) else [reports]:
                self.sensor_attributes(etree.SubElement(child, "sensorReport"), report)
            self.members(child, element, ("sensorMetadata", "sensorReport"))

    def sensor_attributes(self, node: XmlElement, value: Any) -> None:
        for key, written in (value if isinstance(value, dict) else {}).items():
            if key in ("type", "exception"):
                text = _word(written, "measurement" if key == "type" else "alert")
            elif key == "component":
                text = _word(written, "component")
            else:
                text = _scalar(written)
            try:
                node.set(self.name(key), text)
            except ValueError:
                raise ValidationException(f"The member {key} is not an XML name") from None


def _contexts(value: Any) -> Iterator[Any]:
    """The ``@context`` of the document and of any object inside it."""
    if isinstance(value, dict):
        for key, member in value.items():
            if key == "@context":
                yield member
            else:
                yield from _contexts(member)
    elif isinstance(value, list):
        for item in value:
            yield from _contexts(item)


def _keys(value: Any) -> Iterator[str]:
    """Every member name in a JSON value, for the namespaces to declare on the root."""
    if isinstance(value, dict):
        for key, member in value.items():
            if key != "@context":
                yield key
                yield from _keys(member)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


_FIELDS = {
    "errorDeclaration": _Writer.declaration,
    **dict.fromkeys(("bizStep", "disposition"), _Writer.word),
    **dict.fromkeys(("epcList", "childEPCs", "inputEPCList", "outputEPCList"), _Writer.epcs),
    **dict.fromkeys(
        ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"),
        _Writer.quantities,
    ),
    **dict.fromkeys(("readPoint", "bizLocation", "ilmd"), _Writer.place),
    "bizTransactionList": _Writer.transactions,
    **dict.fromkeys(("sourceList", "destinationList"), _Writer.sources),
    "sensorElementList": _Writer.sensors,
    "persistentDisposition": _Writer.persistent,
}
