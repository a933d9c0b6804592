"""EPCIS XML values in the JSON binding's form, and refusals that point into that form.

``traceseal.epcis.xml`` walks a document's structure; this module reads what that structure
holds: CBV values (URN and compact forms become the JSON binding's bare words where the word
is a standard one), quantities and sensor values (JSON numbers), sensor elements, and user
extension elements (members named ``prefix:localName``, see ``ExtensionReader``). ``refuse``
builds the ``ValidationException`` for any node, with a JSON pointer to where it lands.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from functools import cache
from importlib import resources
from typing import Any, Protocol

from traceseal.epcis.errors import ValidationException
from traceseal.epcis.vocab import EVENT_TYPES

__all__ = [
    "EPCIS1_NS", "EPCIS2_NS", "XSI", "ExtensionReader", "XmlElement", "bare_word", "number",
    "put", "refuse", "text_of",
]  # fmt: skip

EPCIS2_NS = "urn:epcglobal:epcis:xsd:2"
EPCIS1_NS = "urn:epcglobal:epcis:xsd:1"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
#: The namespace of the Standard Business Document Header both versions may carry.
SBDH = "{http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader}"
#: Event element names, as a set for the per-element membership tests of both readers.
EVENT_TAGS = frozenset(EVENT_TYPES)
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
    def __getitem__(self, index: int) -> XmlElement: ...
    def __setitem__(self, index: slice, value: Iterable[XmlElement]) -> None: ...
    def get(self, key: str, default: str | None = None) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...
    def getparent(self) -> XmlElement | None: ...
    def iter(self) -> Iterator[XmlElement]: ...
    def append(self, element: XmlElement) -> None: ...
    def remove(self, element: XmlElement) -> None: ...
    def xpath(self, path: str, namespaces: Mapping[str, str]) -> Any: ...


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


def bare_word(value: str, kind: str) -> str:
    """``value`` as the JSON binding's bare word of vocabulary ``kind``, when it is one.

    >>> bare_word("urn:epcglobal:cbv:bizstep:shipping", "bizStep")
    'shipping'
    >>> bare_word("urn:epcglobal:cbv:bizstep:dancing", "bizStep")
    'urn:epcglobal:cbv:bizstep:dancing'
    """
    forms, words = _vocabularies()[kind]
    for form in forms:
        if value.startswith(form):
            word = value[len(form) :]
            return word if word in words else value
    return value


def text_of(node: XmlElement) -> str:
    """The element's own text, stripped (XML Schema collapses it for every EPCIS field)."""
    return (node.text or "").strip()


def number(text: str, node: XmlElement, attribute: str | None = None) -> int | float:
    """A quantity or sensor value as a JSON number: int when written as one, else float."""
    written = text.strip()
    digits = written[1:] if written[:1] in "+-" else written
    if digits.isascii() and digits.isdigit():
        return int(written)
    try:
        value = float(written)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise refuse(
            f"'{written}' is not a finite number, so JSON cannot carry it", node, attribute
        )
    return value


def _unknown_attribute(node: XmlElement, key: str) -> ValidationException:
    return refuse(
        f"Attribute {key} on {node.tag} is neither an EPCIS field nor in a namespace, so the "
        "JSON binding cannot carry it",
        node,
        key,
    )


def put(target: dict[str, Any], name: str, value: Any) -> None:
    """Add a member; a repeated name turns into an array (values here are never lists)."""
    if name not in target:
        target[name] = value
    elif isinstance(previous := target[name], list):
        previous.append(value)
    else:
        target[name] = [previous, value]


class ExtensionReader:
    """Extension members and sensor elements of one document.

    Remembers which prefix stands for which namespace, for the document's ``@context``.
    """

    def __init__(self) -> None:
        self._prefix_of: dict[str, str] = {}
        self._namespace_of: dict[str, str] = {}
        self._names: dict[tuple[str, str | None], str] = {}

    def namespaces(self) -> dict[str, str]:
        """The prefixes chosen so far: prefix -> namespace."""
        return dict(self._namespace_of)

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
            return text_of(node)
        result: dict[str, Any] = {}
        for key, written in attrib.items():
            if key != skip and not key.startswith(XSI):
                result[self._attribute_name(node, key) if key[0] == "{" else key] = written
        for child in node:
            if child.tail and not child.tail.isspace():
                raise refuse("Mixed content (text beside child elements) cannot be carried", node)
            name = self.member(child) if child.tag[0] == "{" else child.tag
            put(result, name, self.value(child))
        text = text_of(node)
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
            put(target, name, self.value(child))

    def _open(self, node: XmlElement, target: dict[str, Any]) -> None:
        """A child that is not an EPCIS field of ``node``: an extension member."""
        if node.tag == "extension":
            self._slot(node, target)
        elif node.tag[0] == "{":
            put(target, self.member(node), self.value(node))
        else:  # the XSD (and xml12) leave nothing else; kept as a guard
            raise refuse(f"Unexpected element {node.tag}", node)

    def sensor_elements(self, node: XmlElement) -> list[dict[str, Any]]:
        """A ``sensorElementList`` as the JSON binding's array of sensor elements."""
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
                result[key] = number(written, node, key)
            elif node.tag == "sensorReport" and key == "booleanValue":
                result[key] = written.strip() in ("true", "1")
            elif node.tag == "sensorReport" and key in ("type", "exception"):
                kind = "measurement" if key == "type" else "alert"
                result[key] = bare_word(written.strip(), kind)
            elif node.tag == "sensorReport" and key == "component":
                result[key] = bare_word(written.strip(), "component")
            else:
                raise _unknown_attribute(node, key)
        return result
