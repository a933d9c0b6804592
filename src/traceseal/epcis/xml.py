"""EPCIS XML capture documents, read into the EPCIS 2.0 JSON-LD document form.

Validation, event hashing and storage work on the JSON binding's document form only, so this
module decides whether an event captured as XML hashes and stores like the same event captured
as JSON. GS1's paired JSON and XML examples are the reference for the shape:

- list wrappers become arrays (``epcList/epc`` -> ``"epcList": [...]``), ``readPoint/id`` ->
  ``{"id": ...}``, quantities and sensor measurements become JSON numbers;
- a CBV value written as a URN (``urn:epcglobal:cbv:bizstep:shipping``), and the ``gs1:`` and
  ``cbv:Comp-`` compact forms in sensor reports, become the JSON binding's bare word
  (``shipping``) when the word is a standard one: the JSON Schema refuses the URN forms and
  GS1's JSON twins of the XML examples carry bare words. Every other value is kept as written;
- a user extension element becomes a member ``prefix:localName``, with the document's own
  prefix for its namespace (an invented ``nsN`` when it has none, or when the prefix clashes
  with another namespace or with a term of the protected EPCIS 2.0 context); children become
  nested objects (an unqualified child keeps its bare name: it has no namespace to name),
  repeated siblings arrays, text a string; attributes other than ``xsi:*`` become members,
  and then the text goes to ``#text``;
- an SBDH header gives ``sender``, ``receiver`` and ``instanceIdentifier`` (the JSON binding's
  "pseudo-SBDH" fields); master data in the header gives ``epcisHeader.epcisMasterData``.

EPCIS 2.0 documents are held to the 2.0 XSD. EPCIS 1.2 documents are reshaped into the 2.0
shape first (``traceseal.epcis.xml12``, which also states the lenient readings applied to
them) and then held to the same XSD. The values inside
(CBV words, numbers, sensor elements, extension members) are read by
``traceseal.epcis.xmlvalues``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any

# lxml-stubs is not among the dev dependencies, so lxml is untyped here; XmlElement states
# the part of its element API this package relies on.
# lxml ships no type hints; xmlvalues.XmlElement types the part of its API used here.
from lxml import etree  # type: ignore[import-untyped]

from traceseal.epcis.errors import ValidationException
from traceseal.epcis.vocab import CONTEXT_URL
from traceseal.epcis.xmlvalues import (
    EPCIS1_NS,
    EPCIS2_NS,
    EVENT_TAGS,
    SBDH,
    XSI,
    ExtensionReader,
    XmlElement,
    bare_word,
    number,
    put,
    refuse,
    text_of,
)

__all__ = [
    "EPCIS1_NS",
    "EPCIS2_NS",
    "check",
    "convert",
    "convert_events",
    "parse",
    "read_document",
    "validate",
]


def read_document(data: bytes) -> dict[str, Any]:
    """Read an EPCIS 2.0 or 1.2 XML document into the EPCIS 2.0 JSON-LD document form.

    The root's namespace picks the version: ``urn:epcglobal:epcis:xsd:2`` is validated
    strictly against the 2.0 XSD; ``urn:epcglobal:epcis:xsd:1`` is reshaped leniently into
    the 2.0 shape (see ``traceseal.epcis.xml12``) and then validated the same way. The result
    still has to pass the JSON Schema and the CBV rules, which this function does not check.

    >>> doc = read_document(
    ...     b'<e:EPCISDocument xmlns:e="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0"'
    ...     b' creationDate="2024-03-04T06:00:00Z"><EPCISBody><EventList><ObjectEvent>'
    ...     b"<eventTime>2024-03-04T06:00:00Z</eventTime>"
    ...     b"<eventTimeZoneOffset>+01:00</eventTimeZoneOffset><epcList>"
    ...     b"<epc>urn:epc:id:sgtin:0614141.812345.1</epc></epcList><action>ADD</action>"
    ...     b"<bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>"
    ...     b"</ObjectEvent></EventList></EPCISBody></e:EPCISDocument>"
    ... )
    >>> event = doc["epcisBody"]["eventList"][0]
    >>> event["epcList"], event["bizStep"]
    (['urn:epc:id:sgtin:0614141.812345.1'], 'commissioning')

    Raises ``ValidationException`` naming the line and, when known, the event index and field.
    """
    return _Converter().document(check(parse(data), data))


def parse(data: bytes) -> XmlElement:
    """Parse an EPCIS XML document (2.0 or 1.2), refusing what is none; nothing checked yet."""
    root = _parse(data)
    if root.tag not in (f"{{{EPCIS2_NS}}}EPCISDocument", f"{{{EPCIS1_NS}}}EPCISDocument"):
        raise refuse(_root_problem(root.tag), root)
    return root


def version(root: XmlElement) -> int:
    return 1 if root.tag == f"{{{EPCIS1_NS}}}EPCISDocument" else 2


def check(root: XmlElement, data: bytes) -> XmlElement:
    """Hold a parsed document to the 2.0 XSD, a 1.2 document reshaped first; return it."""
    if version(root) == 2:
        validate(root)
        return root
    # Imported here: xml12 builds on this module, and 1.2 is the rare path.
    from traceseal.epcis.xml12 import repair, reshape

    # Extension elements of a 1.2 header have no place in the 2.0 XSD; they are set aside
    # while the rest is validated and carried in epcisHeader all the same.
    set_aside = reshape(root, typed=XSI_TYPED.search(data) is not None)
    validate(root, NOTE_1_2, repair)
    for parent, element in set_aside:
        parent.append(element)
    return root


def convert(root: XmlElement, *, events: bool = True) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON-LD document for a checked root (without its events when ``events`` is
    false), and the prefixes its conversion chose: prefix -> namespace."""
    converter = _Converter()
    return converter.document(root, events=events), converter.namespaces()


def convert_events(event_list: XmlElement) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The events of a checked EventList, and the prefixes their conversion chose."""
    converter = _Converter()
    return converter._events(event_list), converter.namespaces()


NOTE_1_2 = " (after mapping the EPCIS 1.2 document to 2.0)"


def _parse(data: bytes) -> XmlElement:
    # No entity substitution, no DTD or network access, libxml2's default size limits: XXE
    # and entity expansion cannot happen, and a document that declares entities is refused.
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_comments=True, remove_pis=True,
    )  # fmt: skip
    try:
        root: XmlElement = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ValidationException(f"The document is not well-formed XML: {exc.msg}") from None
    refuse_dtd(root)
    return root


#: Parse a piece of XML this package wrote (xmlsplit): with the same protections.
parse_fragment = _parse


def refuse_dtd(root: XmlElement) -> None:
    """Refuse a document that declares entities or an external DTD."""
    info = etree.ElementTree(root).docinfo
    dtd = info.internalDTD
    if info.system_url or info.public_id or (dtd is not None and any(dtd.iterentities())):
        raise ValidationException(
            "The document declares a DTD with entities or an external DTD; EPCIS documents "
            "need neither, and they are refused to rule out entity expansion and XXE."
        )


def _root_problem(tag: str) -> str:
    namespace, _, local = tag[1:].rpartition("}") if tag[0] == "{" else ("", "", tag)
    written = f"{local} in namespace {namespace}" if namespace else f"{local} (no namespace)"
    expected = (
        f"a capture document is an EPCISDocument in {EPCIS2_NS} (EPCIS 2.0) or {EPCIS1_NS} "
        "(EPCIS 1.2)"
    )
    if local in EVENT_TAGS or local == "QuantityEvent":
        # Wrapping it would take a creationDate (required) and an EPCIS version that the
        # sender never stated; making them up would make the stored document up too.
        return (
            f"The root element {written} is a bare event; {expected}. Send it inside one, "
            "with the creationDate of your export: it is not made up here."
        )
    return f"The root element {written} is not an EPCIS capture document; {expected}."


_local = threading.local()


def _schema() -> Any:
    # One schema per thread, loaded on first use: lxml keeps the error log of the last
    # validation on the schema object, so threads must not share one.
    schema = getattr(_local, "schema", None)
    if schema is None:
        xsd = resources.files("traceseal.epcis") / "data" / "xsd-2.0" / "EPCglobal-epcis-2_0.xsd"
        with resources.as_file(xsd) as path:
            # The XSDs import each other by relative path, so parse from the file.
            parser = etree.XMLParser(no_network=True, resolve_entities=False)
            schema = etree.XMLSchema(etree.parse(str(path), parser))
        _local.schema = schema
    return schema


# Any attribute named type in some prefix; a cheap over-approximation of "uses xsi:type".
XSI_TYPED = re.compile(rb":type\s*=")
_MISSING_ONE = re.compile(r"Missing child element\(s\)\. Expected is \( ?(\w+) ?\)")
_ATTRIBUTE = re.compile(r"attribute '(?:\{[^}]*\})?([^']+)'")


def validate(
    root: XmlElement, note: str = "", repair: Callable[[XmlElement], bool] | None = None
) -> None:
    """Hold ``root`` to the 2.0 XSD, refusing it with the first problem the XSD names.

    ``repair`` may correct a refused tree once; when it says it changed something, the tree
    is validated again and a refusal names what remains.
    """
    schema = _schema()
    if schema.validate(root) or (repair is not None and repair(root) and schema.validate(root)):
        return
    errors = list(schema.error_log)
    first = errors[0]
    node = _node_at(root, first.path or "")
    # The pointer ends at the attribute, or at the one child the XSD says is missing.
    match = _ATTRIBUTE.search(first.message) or _MISSING_ONE.search(first.message)
    more = f" ({len(errors) - 1} more problems)" if len(errors) > 1 else ""
    raise refuse(
        f"The document breaks the EPCIS 2.0 XML schema{note}: {first.message}{more}",
        root if node is None else node,
        match.group(1) if match else None,
        line=first.line,
    )


def _node_at(root: XmlElement, path: str) -> XmlElement | None:
    """Follow a libxml2 error path (``/p:Root/A/B[2]/c``) from the root; None if lost."""
    node = root
    for step in path.split("/")[2:]:
        name, _, rest = step.partition("[")
        wanted = int(rest.rstrip("]")) if rest else 1
        seen = 0
        for child in node:
            local = child.tag.rpartition("}")[2]
            if (f"{child.prefix}:{local}" if child.prefix else local) == name:
                seen += 1
                if seen == wanted:
                    node = child
                    break
        else:
            return None
    return node


class _Converter(ExtensionReader):
    """One document's conversion: its structure here, the values in ``ExtensionReader``."""

    def document(self, root: XmlElement, *, events: bool = True) -> dict[str, Any]:
        """The JSON-LD document for a root that passed the 2.0 XSD (without its events
        when ``events`` is false)."""
        header: dict[str, Any] = {}
        body: dict[str, Any] = {"eventList": []}
        extra: dict[str, Any] = {}
        for part in root:
            if part.tag == "EPCISHeader":
                self._header(part, header)
            elif part.tag == "EPCISBody":
                for child in part:
                    if child.tag == "EventList":
                        body["eventList"] = self._events(child) if events else []
                    else:
                        self._open(child, body)
            else:
                self._open(part, extra)
        self._attributes(root, extra, ("schemaVersion", "creationDate"))
        context: list[Any] = [CONTEXT_URL]
        if self._namespace_of:
            context.append(dict(self._namespace_of))
        return {
            "@context": context,
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": root.get("creationDate"),
            **header,
            "epcisBody": body,
            **extra,
        }

    def _header(self, header: XmlElement, target: dict[str, Any]) -> None:
        epcis_header: dict[str, Any] = {}
        for part in header:
            if part.tag == f"{SBDH}StandardBusinessDocumentHeader":
                self._sbdh(part, target)
            elif part.tag == "extension":
                for child in part:
                    if child.tag == "EPCISMasterData":
                        epcis_header["epcisMasterData"] = self._master_data(child)
                    else:
                        self._open(child, epcis_header)
            else:
                self._open(part, epcis_header)
        if epcis_header:
            target["epcisHeader"] = epcis_header

    def _sbdh(self, sbdh: XmlElement, target: dict[str, Any]) -> None:
        # The JSON binding keeps three SBDH facts as document fields; the rest has no place.
        for part in sbdh:
            name = part.tag.rpartition("}")[2]
            if name in ("Sender", "Receiver"):
                field = name.lower()
                if field in target:
                    raise refuse(
                        f"The SBDH has more than one {name}; the JSON binding's {field} "
                        "field holds one",
                        part,
                    )
                ids = (text_of(c) for c in part if c.tag.endswith("}Identifier"))
                target[field] = next(ids, "")
            elif name == "DocumentIdentification":
                for child in part:
                    if child.tag.endswith("}InstanceIdentifier"):
                        target["instanceIdentifier"] = text_of(child)

    def _master_data(self, master_data: XmlElement) -> dict[str, Any]:
        vocabularies: list[dict[str, Any]] = []
        result: dict[str, Any] = {"vocabularyList": vocabularies}
        for part in master_data:
            if part.tag != "VocabularyList":
                self._open(part, result)
                continue
            for vocabulary in part:
                entry: dict[str, Any] = {"type": vocabulary.get("type")}
                for child in vocabulary:
                    if child.tag == "VocabularyElementList":
                        entry["vocabularyElementList"] = [
                            self._vocabulary_element(e) for e in child
                        ]
                    else:
                        self._open(child, entry)
                vocabularies.append(entry)
        return result

    def _vocabulary_element(self, element: XmlElement) -> dict[str, Any]:
        result: dict[str, Any] = {"id": element.get("id")}
        for child in element:
            if child.tag == "attribute":
                attribute = {"id": child.get("id"), "attribute": self.value(child, skip="id")}
                result.setdefault("attributes", []).append(attribute)
            elif child.tag == "children":
                result["children"] = [text_of(c) for c in child]
            else:
                self._open(child, result)
        return result

    def _events(self, event_list: XmlElement) -> list[dict[str, Any]]:
        convert = self._event
        events = []
        for event in event_list:
            if event.tag not in EVENT_TAGS:
                raise refuse(f"Event type {event.tag} (in EventList/extension) is unknown", event)
            events.append(convert(event))
        return events

    def _event(self, event: XmlElement) -> dict[str, Any]:
        result: dict[str, Any] = {"type": event.tag}
        fields = _FIELDS
        for child in event:
            tag = child.tag
            convert = fields.get(tag)
            if convert is not None:
                result[tag] = convert(self, child)
            elif tag[0] == "{":
                put(result, self.member(child), self.value(child))
            elif tag in ("extension", "baseExtension"):
                self._slot(child, result)
            else:
                raise refuse(f"Unexpected element {tag} in {event.tag}", child)
        if len(event.attrib):
            self._attributes(event, result, ())
        return result

    def _object(self, node: XmlElement) -> dict[str, Any]:
        """readPoint, bizLocation and ilmd: ``id`` (not in ilmd) and extension members."""
        result: dict[str, Any] = {}
        for child in node:
            if child.tag == "id":
                result["id"] = text_of(child)
            else:
                self._open(child, result)
        return result

    def _quantities(self, node: XmlElement) -> list[dict[str, Any]]:
        items = []
        for element in node:
            item: dict[str, Any] = {}
            for child in element:
                if child.tag != "quantity":
                    item[child.tag] = text_of(child)
                elif (child.get(f"{XSI}nil") or "").strip() not in ("true", "1"):
                    item["quantity"] = number(child.text or "", child)
            items.append(item)
        return items

    def _biz_transactions(self, node: XmlElement) -> list[dict[str, str]]:
        items = []
        for transaction in node:
            kind = transaction.get("type")
            item = {"type": bare_word(kind.strip(), "btt")} if kind is not None else {}
            item["bizTransaction"] = text_of(transaction)
            items.append(item)
        return items

    def _sources(self, node: XmlElement) -> list[dict[str, str]]:
        # The child is <source> or <destination>; the JSON item names its value the same way.
        return [
            {"type": bare_word((child.get("type") or "").strip(), "sdt"), child.tag: text_of(child)}
            for child in node
        ]

    def _persistent(self, node: XmlElement) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for child in node:
            result.setdefault(child.tag, []).append(bare_word(text_of(child), "disposition"))
        return result

    def _error_declaration(self, node: XmlElement) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for child in node:
            tag = child.tag
            if tag in ("declarationTime", "reason", "correctiveEventIDs"):
                # The 2.0 XSD writes these as a repeatable choice; twice is ambiguous.
                if tag in result:
                    raise refuse(f"{tag} appears twice in errorDeclaration", child)
                if tag == "declarationTime":
                    result[tag] = text_of(child)
                elif tag == "reason":
                    result[tag] = bare_word(text_of(child), "er")
                else:
                    result[tag] = [text_of(c) for c in child]
            else:
                self._open(child, result)
        return result


_Convert = Callable[[_Converter, XmlElement], Any]
_FIELDS: dict[str, _Convert] = {
    **dict.fromkeys(
        ("eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "certificationInfo",
         "action", "parentID", "transformationID"),
        lambda _, node: text_of(node),
    ),
    **dict.fromkeys(
        ("epcList", "childEPCs", "inputEPCList", "outputEPCList"),
        lambda _, node: [(epc.text or "").strip() for epc in node],
    ),
    **dict.fromkeys(
        ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"),
        _Converter._quantities,
    ),
    "bizStep": lambda _, node: bare_word(text_of(node), "bizStep"),
    "disposition": lambda _, node: bare_word(text_of(node), "disposition"),
    "readPoint": _Converter._object,
    "bizLocation": _Converter._object,
    "bizTransactionList": _Converter._biz_transactions,
    "sourceList": _Converter._sources,
    "destinationList": _Converter._sources,
    "sensorElementList": _Converter.sensor_elements,
    "persistentDisposition": _Converter._persistent,
    "ilmd": _Converter._object,
    "errorDeclaration": _Converter._error_declaration,
}  # fmt: skip
