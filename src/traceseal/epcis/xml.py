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
shape first (``traceseal.epcis.xml12``) and then held to the same XSD.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from functools import cache
from importlib import resources
from typing import Any, Protocol

# lxml-stubs is not among the dev dependencies, so lxml is untyped here; XmlElement below
# states the part of its element API this package relies on.
from lxml import etree  # type: ignore[import-untyped]

from traceseal.epcis.errors import ValidationException

__all__ = ["CONTEXT_URL", "EPCIS1_NS", "EPCIS2_NS", "read_document"]

EPCIS2_NS = "urn:epcglobal:epcis:xsd:2"
EPCIS1_NS = "urn:epcglobal:epcis:xsd:1"
CONTEXT_URL = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
_SBDH = "{http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader}"
EVENT_TYPES = frozenset(
    {"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent",
     "AssociationEvent"}
)  # fmt: skip
# The CBV master-data namespace is written without the trailing colon in XML; the EPCIS 2.0
# context defines ``cbvmda`` with it, and the GS1 examples treat the two as the same.
_NS_ALIASES = {"urn:epcglobal:cbv:mda": "urn:epcglobal:cbv:mda:"}
# Children of these become array items, so their index is the JSON path step.
_LISTS = frozenset(
    {
        "epcList", "childEPCs", "inputEPCList", "outputEPCList", "quantityList",
        "childQuantityList", "inputQuantityList", "outputQuantityList", "bizTransactionList",
        "sourceList", "destinationList", "sensorElementList", "correctiveEventIDs",
    }
)  # fmt: skip
_METADATA_ATTRS = frozenset(
    {"time", "deviceID", "deviceMetadata", "rawData", "startTime", "endTime", "bizRules",
     "dataProcessingMethod"}
)  # fmt: skip
_NUMERIC_ATTRS = frozenset({"value", "minValue", "maxValue", "sDev", "meanValue", "percRank",
                            "percValue"})  # fmt: skip
_REPORT_ATTRS = frozenset(
    {"stringValue", "hexBinaryValue", "uriValue", "uom", "chemicalSubstance", "microorganism",
     "deviceID", "deviceMetadata", "rawData", "time", "dataProcessingMethod",
     "coordinateReferenceSystem", "bizRules"}
)  # fmt: skip
# Per vocabulary: the written forms that become the bare word, and the JSON Schema definition
# that lists the standard words.
_VOCABULARIES = {
    "bizStep": (("urn:epcglobal:cbv:bizstep:",), "bizStep"),
    "disposition": (("urn:epcglobal:cbv:disp:",), "disposition"),
    "btt": (("urn:epcglobal:cbv:btt:",), "bizTransaction-type"),
    "sdt": (("urn:epcglobal:cbv:sdt:",), "source-dest-type"),
    "er": (("urn:epcglobal:cbv:er:",), "error-reason"),
    "measurement": (("gs1:", "https://gs1.org/voc/"), "measurementType"),
    "alert": (("gs1:", "https://gs1.org/voc/"), "sensorAlertType"),
    "component": (("cbv:Comp-",), "component"),
}


class XmlElement(Protocol):
    """The part of lxml's element API used here (comments and PIs are dropped at parse)."""

    tag: str
    text: str | None
    tail: str | None
    prefix: str | None
    sourceline: int | None
    attrib: MutableMapping[str, str]
    nsmap: Mapping[str | None, str]

    def __iter__(self) -> Iterator[XmlElement]: ...
    def __len__(self) -> int: ...
    def __setitem__(self, index: slice, value: Iterable[XmlElement]) -> None: ...
    def get(self, key: str, default: str | None = None) -> str | None: ...
    def getparent(self) -> XmlElement | None: ...
    def iter(self) -> Iterator[XmlElement]: ...
    def append(self, element: XmlElement) -> None: ...
    def remove(self, element: XmlElement) -> None: ...
    def xpath(self, path: str, namespaces: Mapping[str, str]) -> Any: ...


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
    root = _parse(data)
    if root.tag == f"{{{EPCIS2_NS}}}EPCISDocument":
        _validate(root, "")
    elif root.tag == f"{{{EPCIS1_NS}}}EPCISDocument":
        # Imported here: xml12 builds on this module, and 1.2 is the rare path.
        from traceseal.epcis.xml12 import reshape

        # Extension elements of a 1.2 header have no place in the 2.0 XSD; they are set
        # aside while the rest is validated and carried in epcisHeader all the same.
        set_aside = reshape(root, typed=_XSI_TYPED.search(data) is not None)
        _validate(root, " (after mapping the EPCIS 1.2 document to 2.0)")
        for parent, element in set_aside:
            parent.append(element)
    else:
        raise refuse(_root_problem(root.tag), root)
    return _Converter().document(root)


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
    info = etree.ElementTree(root).docinfo
    dtd = info.internalDTD
    if info.system_url or info.public_id or (dtd is not None and any(dtd.iterentities())):
        raise ValidationException(
            "The document declares a DTD with entities or an external DTD; EPCIS documents "
            "need neither, and they are refused to rule out entity expansion and XXE."
        )
    return root


def _root_problem(tag: str) -> str:
    namespace, _, local = tag[1:].rpartition("}") if tag[0] == "{" else ("", "", tag)
    written = f"{local} in namespace {namespace}" if namespace else f"{local} (no namespace)"
    what = "a bare event" if local in EVENT_TYPES else "not an EPCIS capture document"
    return (
        f"The root element {written} is {what}; a capture document is an EPCISDocument in "
        f"{EPCIS2_NS} (EPCIS 2.0) or {EPCIS1_NS} (EPCIS 1.2)."
    )


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
_XSI_TYPED = re.compile(rb":type\s*=")
_MISSING_ONE = re.compile(r"Missing child element\(s\)\. Expected is \( ?(\w+) ?\)")
_ATTRIBUTE = re.compile(r"attribute '(?:\{[^}]*\})?([^']+)'")


def _validate(root: XmlElement, note: str) -> None:
    schema = _schema()
    if schema.validate(root):
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


def refuse(
    message: str, node: XmlElement, attribute: str | None = None, *, line: int | None = None
) -> ValidationException:
    """A ValidationException for ``node``: its line, event index and a JSON pointer to it.

    The pointer follows the JSON document where the XML maps onto it
    (``/epcisBody/eventList/3/quantityList/0/quantity``) and the XML names elsewhere.
    """
    steps: list[str] = [attribute] if attribute else []
    event_index: int | None = None
    event_type = ""
    current = node
    while (parent := current.getparent()) is not None:
        local = current.tag.rpartition("}")[2]
        if parent.tag == "EventList":
            event_index = list(parent).index(current)
            event_type = local
            break
        name = f"{current.prefix}:{local}" if current.prefix else local
        if parent.tag in _LISTS:
            steps.append(str(list(parent).index(current)))
        elif local in ("sensorReport", "set", "unset"):
            steps.append(str([c for c in parent if c.tag == current.tag].index(current)))
            steps.append(name)
        else:
            steps.append(name)
        current = parent
    line = line or node.sourceline
    where = [f"line {line}"] if line else []
    if event_index is not None:
        where.insert(0, f"Event {event_index} ({event_type})")
        steps.extend((str(event_index), "eventList", "epcisBody"))
    place = ", ".join(where)
    detail = f"{place[:1].upper()}{place[1:]}: {message}" if where else message
    field = "/" + "/".join(reversed(steps)) if steps else None
    return ValidationException(detail, event_index=event_index, field=field)


@cache
def _context_terms() -> dict[str, str | None]:
    """Terms of the protected EPCIS 2.0 context, with the IRI of those that are prefixes."""
    data = resources.files("traceseal.epcis").joinpath("data/epcis-context-2.0.0.jsonld")
    context = json.loads(data.read_text(encoding="utf-8"))["@context"]
    return {
        term: value if isinstance(value, str) else None
        for term, value in context.items()
        if not term.startswith("@")
    }


@cache
def _vocabularies() -> dict[str, tuple[tuple[str, ...], frozenset[str]]]:
    """The standard words per vocabulary, as the shipped JSON Schema lists them."""
    data = resources.files("traceseal.epcis").joinpath("data/EPCIS-JSON-Schema.json")
    definitions = json.loads(data.read_text(encoding="utf-8"))["definitions"]
    vocabularies = {}
    for kind, (forms, definition) in _VOCABULARIES.items():
        words = next(a["enum"] for a in definitions[definition]["anyOf"] if "enum" in a)
        vocabularies[kind] = (forms, frozenset(words))
    return vocabularies


def _bare(value: str, kind: str) -> str:
    forms, words = _vocabularies()[kind]
    for form in forms:
        if value.startswith(form):
            word = value[len(form) :]
            return word if word in words else value
    return value


def _text(node: XmlElement) -> str:
    return (node.text or "").strip()


def _number(text: str, node: XmlElement, attribute: str | None = None) -> int | float:
    written = text.strip()
    digits = written[1:] if written[:1] in "+-" else written
    if digits.isascii() and digits.isdigit():
        return int(written)
    try:
        number = float(written)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise refuse(
            f"'{written}' is not a finite number, so JSON cannot carry it", node, attribute
        )
    return number


def _unknown_attribute(node: XmlElement, key: str) -> ValidationException:
    return refuse(
        f"Attribute {key} on {node.tag} is neither an EPCIS field nor in a namespace, so the "
        "JSON binding cannot carry it",
        node,
        key,
    )


def _put(target: dict[str, Any], name: str, value: Any) -> None:
    """Add a member; a repeated name turns into an array (values here are never lists)."""
    if name not in target:
        target[name] = value
    elif isinstance(previous := target[name], list):
        previous.append(value)
    else:
        target[name] = [previous, value]


class _Converter:
    """One document's conversion; remembers which prefix stands for which namespace."""

    def __init__(self) -> None:
        self._prefix_of: dict[str, str] = {}
        self._namespace_of: dict[str, str] = {}
        self._names: dict[tuple[str, str | None], str] = {}

    def _prefix(self, namespace: str, preferred: str | None) -> str:
        namespace = _NS_ALIASES.get(namespace, namespace)
        prefix = self._prefix_of.get(namespace)
        if prefix is not None:
            return prefix
        terms = _context_terms()
        if (
            preferred is None
            or preferred in self._namespace_of
            or (preferred in terms and terms[preferred] != namespace)
        ):
            number = 1
            while f"ns{number}" in self._namespace_of or f"ns{number}" in terms:
                number += 1
            preferred = f"ns{number}"
        self._prefix_of[namespace] = preferred
        self._namespace_of[preferred] = namespace
        return preferred

    def member(self, node: XmlElement) -> str:
        """``prefix:localName`` for a namespaced element (cached per tag and written prefix)."""
        key = (node.tag, node.prefix)
        name = self._names.get(key)
        if name is None:
            namespace, _, local = node.tag[1:].partition("}")
            name = self._names[key] = f"{self._prefix(namespace, node.prefix)}:{local}"
        return name

    def _carried(self, node: XmlElement) -> str:
        # An unqualified element in an ``extension`` slot: the XSD reserves those slots for
        # EPCIS's own future fields, so it is carried under the EPCIS 2.0 namespace.
        return f"{self._prefix(EPCIS2_NS, None)}:{node.tag}"

    def _attribute_name(self, node: XmlElement, key: str) -> str:
        namespace, _, local = key[1:].partition("}")
        prefix = self._prefix_of.get(_NS_ALIASES.get(namespace, namespace))
        if prefix is None:
            written = next((p for p, uri in node.nsmap.items() if p and uri == namespace), None)
            prefix = self._prefix(namespace, written)
        return f"{prefix}:{local}"

    def _attributes(self, node: XmlElement, target: dict[str, Any], known: Iterable[str]) -> None:
        for key, value in node.attrib.items():
            if key in known or key.startswith(XSI):
                continue
            if key[0] != "{":
                raise _unknown_attribute(node, key)
            target[self._attribute_name(node, key)] = value

    def value(self, node: XmlElement, skip: str | None = None) -> Any:
        """An extension element's value: a string, or an object for structure/attributes."""
        attrib = node.attrib
        if not len(node) and not attrib:
            return _text(node)
        result: dict[str, Any] = {}
        for key, written in attrib.items():
            if key != skip and not key.startswith(XSI):
                result[self._attribute_name(node, key) if key[0] == "{" else key] = written
        for child in node:
            if child.tail and not child.tail.isspace():
                raise refuse("Mixed content (text beside child elements) cannot be carried", node)
            name = self.member(child) if child.tag[0] == "{" else child.tag
            _put(result, name, self.value(child))
        text = _text(node)
        if text and len(node):
            raise refuse("Mixed content (text beside child elements) cannot be carried", node)
        if not result:
            return text
        if text:
            result["#text"] = text
        return result

    def _slot(self, wrapper: XmlElement, target: dict[str, Any]) -> None:
        """Members from an ``extension``/``baseExtension`` wrapper's children."""
        for child in wrapper:
            name = self.member(child) if child.tag[0] == "{" else self._carried(child)
            _put(target, name, self.value(child))

    def _open(self, node: XmlElement, target: dict[str, Any]) -> None:
        """A child that is not an EPCIS field of ``node``: an extension member."""
        if node.tag == "extension":
            self._slot(node, target)
        elif node.tag[0] == "{":
            _put(target, self.member(node), self.value(node))
        else:  # the XSD (and xml12) leave nothing else; kept as a guard
            raise refuse(f"Unexpected element {node.tag}", node)

    def document(self, root: XmlElement) -> dict[str, Any]:
        """The JSON-LD document for a root that passed the 2.0 XSD."""
        header: dict[str, Any] = {}
        body: dict[str, Any] = {"eventList": []}
        extra: dict[str, Any] = {}
        for part in root:
            if part.tag == "EPCISHeader":
                self._header(part, header)
            elif part.tag == "EPCISBody":
                for child in part:
                    if child.tag == "EventList":
                        body["eventList"] = self._events(child)
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
            if part.tag == f"{_SBDH}StandardBusinessDocumentHeader":
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
                target[field] = next((_text(c) for c in part if c.tag.endswith("}Identifier")), "")
            elif name == "DocumentIdentification":
                for child in part:
                    if child.tag.endswith("}InstanceIdentifier"):
                        target["instanceIdentifier"] = _text(child)

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
                result["children"] = [_text(c) for c in child]
            else:
                self._open(child, result)
        return result

    def _events(self, event_list: XmlElement) -> list[dict[str, Any]]:
        convert = self._event
        events = []
        for event in event_list:
            if event.tag not in EVENT_TYPES:
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
                _put(result, self.member(child), self.value(child))
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
                result["id"] = _text(child)
            else:
                self._open(child, result)
        return result

    def _quantities(self, node: XmlElement) -> list[dict[str, Any]]:
        items = []
        for element in node:
            item: dict[str, Any] = {}
            for child in element:
                if child.tag != "quantity":
                    item[child.tag] = _text(child)
                elif (child.get(f"{XSI}nil") or "").strip() not in ("true", "1"):
                    item["quantity"] = _number(child.text or "", child)
            items.append(item)
        return items

    def _biz_transactions(self, node: XmlElement) -> list[dict[str, str]]:
        items = []
        for transaction in node:
            kind = transaction.get("type")
            item = {"type": _bare(kind.strip(), "btt")} if kind is not None else {}
            item["bizTransaction"] = _text(transaction)
            items.append(item)
        return items

    def _sources(self, node: XmlElement) -> list[dict[str, str]]:
        # The child is <source> or <destination>; the JSON item names its value the same way.
        return [
            {"type": _bare((child.get("type") or "").strip(), "sdt"), child.tag: _text(child)}
            for child in node
        ]

    def _persistent(self, node: XmlElement) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for child in node:
            result.setdefault(child.tag, []).append(_bare(_text(child), "disposition"))
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
                    result[tag] = _text(child)
                elif tag == "reason":
                    result[tag] = _bare(_text(child), "er")
                else:
                    result[tag] = [_text(c) for c in child]
            else:
                self._open(child, result)
        return result

    def _sensor_elements(self, node: XmlElement) -> list[dict[str, Any]]:
        elements = []
        for element in node:
            if element.tag != "sensorElement":
                raise refuse(
                    "sensorElementList/extension has no place in the JSON binding", element
                )
            result: dict[str, Any] = {}
            for child in element:
                if child.tag == "sensorMetadata":
                    result["sensorMetadata"] = self._sensor_attributes(child, _METADATA_ATTRS)
                elif child.tag == "sensorReport":
                    report = self._sensor_attributes(child, _REPORT_ATTRS)
                    result.setdefault("sensorReport", []).append(report)
                else:
                    self._open(child, result)
            elements.append(result)
        return elements

    def _sensor_attributes(self, node: XmlElement, known: frozenset[str]) -> dict[str, Any]:
        if node.text and not node.text.isspace():
            raise refuse(f"Text inside {node.tag} has no place in the JSON binding", node)
        result: dict[str, Any] = {}
        for key, written in node.attrib.items():
            if key[0] == "{":
                if not key.startswith(XSI):
                    result[self._attribute_name(node, key)] = written
            elif key in known:
                result[key] = written.strip()
            elif node.tag == "sensorReport" and key in _NUMERIC_ATTRS:
                result[key] = _number(written, node, key)
            elif node.tag == "sensorReport" and key == "booleanValue":
                result[key] = written.strip() in ("true", "1")
            elif node.tag == "sensorReport" and key in ("type", "exception"):
                result[key] = _bare(written.strip(), "measurement" if key == "type" else "alert")
            elif node.tag == "sensorReport" and key == "component":
                result[key] = _bare(written.strip(), "component")
            else:
                raise _unknown_attribute(node, key)
        return result


_Convert = Callable[[_Converter, XmlElement], Any]
_FIELDS: dict[str, _Convert] = {
    **dict.fromkeys(
        ("eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "certificationInfo",
         "action", "parentID", "transformationID"),
        lambda _, node: _text(node),
    ),
    **dict.fromkeys(
        ("epcList", "childEPCs", "inputEPCList", "outputEPCList"),
        lambda _, node: [(epc.text or "").strip() for epc in node],
    ),
    **dict.fromkeys(
        ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"),
        _Converter._quantities,
    ),
    "bizStep": lambda _, node: _bare(_text(node), "bizStep"),
    "disposition": lambda _, node: _bare(_text(node), "disposition"),
    "readPoint": _Converter._object,
    "bizLocation": _Converter._object,
    "bizTransactionList": _Converter._biz_transactions,
    "sourceList": _Converter._sources,
    "destinationList": _Converter._sources,
    "sensorElementList": _Converter._sensor_elements,
    "persistentDisposition": _Converter._persistent,
    "ilmd": _Converter._object,
    "errorDeclaration": _Converter._error_declaration,
}  # fmt: skip
