"""Large EPCIS XML documents in pieces: the events checked and converted where they are prepared.

Checking a document against the XSD and converting its events costs about as much per event
as preparing it, so for a large document both happen in the worker processes (pipeline.py):
this process reads the document, checks and converts everything but the events, and hands
out the events in chunks of XML, each event written with every namespace declaration in
scope where it stood; a worker checks a chunk against the XSD (reshaping EPCIS 1.2 first),
converts and prepares it (:func:`convert_fragment`). The XSD has no constraint between
events, so checking them in chunks refuses exactly what checking the document would.

The document is read as a stream (:meth:`XmlDocument.stream`): each chunk goes out as soon as
it is parsed, so the workers start while the rest is still being read.

A refusal found in a chunk names places inside the chunk, so the caller then converts the
whole document (:meth:`XmlDocument.convert`), which refuses it with the line and event in the
document: what is stored, and what is refused, is always what converting the whole document
would give.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from traceseal.epcis import xml
from traceseal.epcis.errors import ValidationException
from traceseal.epcis.xmlvalues import EPCIS1_NS, EPCIS2_NS, XmlElement

__all__ = ["XmlDocument", "convert_fragment"]

#: A document around a fragment's events, for the XSD; its own members are not kept.
_FRAGMENT_DOCUMENT = (
    b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" '
    b'creationDate="2000-01-01T00:00:00Z"><EPCISBody>%s</EPCISBody></epcis:EPCISDocument>'
)
# The event elements an EventList holds (QuantityEvent: EPCIS 1.2 only), and the roots.
_EVENT_TAGS = (*sorted(xml.EVENT_TYPES), "QuantityEvent")
_ROOTS = (f"{{{EPCIS2_NS}}}EPCISDocument", f"{{{EPCIS1_NS}}}EPCISDocument")


class XmlDocument:
    """An EPCIS XML capture document: parsed when first needed and converted whole
    (:meth:`convert`), or read in pieces (:meth:`stream`)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._root: XmlElement | None = None
        self._used = False  # streamed or converted: parse again to convert

    def estimated_events(self) -> int:
        """About how many events the document holds, without parsing it: each event element
        ends in ``Event>`` twice, at its start tag and at its end tag."""
        return self._data.count(b"Event>") // 2

    def convert(self) -> dict[str, Any]:
        """The whole JSON-LD document; raises ``ValidationException`` for the first offence."""
        root = xml.parse(self._data) if self._used else self._parsed()
        self._used = True  # the conversion changes a 1.2 tree
        return xml.convert(xml.check(root, self._data))[0]

    def stream(self, size: int, max_events: int) -> _Stream:
        """Read the document incrementally: see :class:`_Stream`."""
        self._used = True
        return _Stream(self, size, max_events)

    def _parsed(self) -> XmlElement:
        if self._root is None:
            self._root = xml.parse(self._data)
        return self._root


class _Stream:
    """A document's events in chunks of XML, handed out as they are parsed.

    Iterate over it for ``(position, chunk)`` pairs; then :meth:`shell` checks and converts
    the rest of the document. Raises ``ValidationException`` for what it finds wrong on the
    way (not well-formed, no EPCIS document, more than ``max_events`` events, a DTD, events
    it cannot take out: an EPCIS 1.2 EventList's ``extension`` wrappers, names in another
    case), naming less than converting the whole document would: the caller converts it
    whole then.
    """

    def __init__(self, document: XmlDocument, size: int, max_events: int) -> None:
        self._document = document
        self._size = size
        self._max_events = max_events
        self._root: XmlElement | None = None
        self.count = 0
        #: The document's EPCIS version, once its root has been read.
        self.version = 2

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        # The same protections as xml.parse: no entities, no DTD, no network, size limits.
        reader = etree.iterparse(
            io.BytesIO(self._document._data), events=("start", "end"),
            tag=("{*}EPCISDocument", *_EVENT_TAGS), resolve_entities=False, no_network=True,
            load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True,
        )  # fmt: skip
        pending: list[bytes] = []
        try:
            for action, element in reader:
                if self._root is None:
                    if action != "start" or element.tag not in _ROOTS:
                        raise ValidationException("not an EPCIS document")
                    self._root = element
                    self.version = xml.version(element)
                    continue
                if action != "end" or not _in_event_list(element, self._root):
                    continue
                pending.append(etree.tostring(element, with_tail=False))
                # Read, so out of the tree: the rest of the document is checked without it.
                element.getparent().remove(element)
                if len(pending) == self._size:
                    yield self._take(pending)
                    pending = []
        except etree.XMLSyntaxError as exc:
            raise ValidationException(f"not well-formed: {exc.msg}") from None
        if pending:
            yield self._take(pending)

    def _take(self, pending: list[bytes]) -> tuple[int, bytes]:
        start = self.count
        self.count += len(pending)
        if self.count > self._max_events:
            raise ValidationException("too many events")
        return start, _fragment(pending)

    def shell(self) -> tuple[dict[str, Any], dict[str, str]]:
        """After iterating: the document without its events, checked and converted."""
        root = self._root
        if root is None:
            raise ValidationException("no document")
        xml.refuse_dtd(root)
        event_list = _event_list(root)[0]
        if event_list is not None and len(event_list):
            raise ValidationException("the EventList holds more than the events read")
        return xml.convert(xml.check(root, self._document._data), events=False)


def convert_fragment(fragment: bytes, version: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Check and convert the events of a piece :meth:`XmlDocument.stream` handed out.

    Returns the events and the prefixes their conversion chose (prefix -> namespace); the
    caller holds those of all pieces and of the rest of the document to each other. Errors
    name places inside the piece, not the document.
    """
    root = xml.parse_fragment(_FRAGMENT_DOCUMENT % fragment)
    event_list = root[0][0]
    if version == 1:
        from traceseal.epcis.xml12 import repair, reshape_events

        reshape_events(event_list, typed=xml.XSI_TYPED.search(fragment) is not None)
        xml.validate(root, xml.NOTE_1_2, repair)
    else:
        xml.validate(root)
    return xml.convert_events(event_list)


def _fragment(events: list[bytes]) -> bytes:
    return b"".join([b"<EventList>", *events, b"</EventList>"])


def _in_event_list(element: XmlElement, root: XmlElement) -> bool:
    parent = element.getparent()
    if parent is None or parent.tag != "EventList":
        return False
    body = parent.getparent()
    return body is not None and body.tag == "EPCISBody" and body.getparent() is root


def _event_list(root: XmlElement) -> tuple[XmlElement | None, list[XmlElement]]:
    """The document's EventList and its events (1.2: out of EventList extension wrappers)."""
    if xml.version(root) == 1:
        from traceseal.epcis.xml12 import event_list

        return event_list(root)
    body = next((part for part in root if part.tag == "EPCISBody"), None)
    events = None if body is None else next((p for p in body if p.tag == "EventList"), None)
    return events, [] if events is None else list(events)
