"""Large EPCIS XML documents in pieces: the events checked and converted where they are prepared.

Checking a document against the XSD and converting its events costs about as much per event
as preparing it, so for a large document both happen in the worker processes (pipeline.py).
This process only finds where the events are: it scans the bytes for the EventList's and the
events' tags (skipping comments, CDATA sections and processing instructions, where a tag is
only text), and hands out pieces of the EventList's content, each wrapped in an EventList
that declares the namespaces in scope where the original stood. A worker parses a piece,
checks it against the XSD (reshaping EPCIS 1.2 first), converts and prepares it
(:func:`convert_fragment`); the rest of the document, its EventList emptied, is parsed and
checked here (:meth:`_Stream.shell`). The XSD has no constraint between events, so checking
them in pieces refuses exactly what checking the document would.

Scanning costs about 4 µs an event, where parsing the document and writing each event out
again cost 13. It is also exact: every byte of the document is parsed by libxml2, in the
shell or in one piece, and a piece's parser must find as many events as the scan did, and
nothing else, before its events are used. Whatever the scan cannot vouch for (a document
not in UTF-8, an event outside the EventList, EPCIS 1.2 ``extension`` wrappers in it, an
EventList in a default namespace, names in another case) stops the reading.

A refusal found in a piece, or a stop, leaves it to the caller to convert the whole document
(:meth:`XmlDocument.convert`), which refuses it with the line and event in the document:
what is stored, and what is refused, is always what converting the whole document would give.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple
from xml.sax.saxutils import quoteattr

# lxml ships no type hints; xmlvalues.XmlElement types the part of its API used here.
from lxml import etree  # type: ignore[import-untyped]

from traceseal.epcis import xml
from traceseal.epcis.errors import ValidationException
from traceseal.epcis.vocab import EVENT_TYPES
from traceseal.epcis.xmlvalues import EPCIS1_NS, EPCIS2_NS, XmlElement

__all__ = ["Piece", "XmlDocument", "convert_fragment"]

#: A document around a piece's EventList, for the XSD; its own members are not kept.
_FRAGMENT_DOCUMENT = (
    b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" '
    b'creationDate="2000-01-01T00:00:00Z"><EPCISBody>%s</EPCISBody></epcis:EPCISDocument>'
)
# The event elements an EventList holds (QuantityEvent: EPCIS 1.2 only), and the roots.
_EVENT_TAGS = frozenset({*EVENT_TYPES, "QuantityEvent"})
_ROOTS = (f"{{{EPCIS2_NS}}}EPCISDocument", f"{{{EPCIS1_NS}}}EPCISDocument")
#: The markup the scan looks at. Comments, CDATA sections and processing instructions are
#: matched whole, so that nothing inside them is taken for a tag; outside them, in
#: well-formed XML, "<" only ever starts markup. Then the start and end tags of the
#: EventList and of events (attribute values may hold ">"). Group 1 is "/" for an end tag,
#: group 2 the name.
_MARKUP = re.compile(
    rb"<(?:!--.*?-->|!\[CDATA\[.*?\]\]>|\?.*?\?>|(/?)(EventList|(?:Object|Aggregation|Transaction"
    rb"|Transformation|Association|Quantity)Event)(?=[\s/>])(?:[^>\"']|\"[^\"]*\"|'[^']*')*>)",
    re.DOTALL,
)
_EVENT_LIST = b"EventList"
_SLASH = ord("/")
#: An XML declaration naming an encoding (it can only open the document).
_ENCODING = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_UTF8_BOM = b"\xef\xbb\xbf"
# The same protections as xml.parse: no entities, no DTD, no network, size limits.
_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


class Piece(NamedTuple):
    """Events of a document, as a worker converts them."""

    #: Position of the first event in the document's EventList.
    start: int
    #: How many events the scan found in it: the worker's parser must find as many.
    count: int  # type: ignore[assignment]  # shadows tuple.count on purpose: the scan's count
    #: An EventList element holding them, with the namespace declarations in scope.
    xml: bytes


class XmlDocument:
    """An EPCIS XML capture document, converted whole (:meth:`convert`) or read in pieces
    (:meth:`stream`)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def estimated_events(self) -> int:
        """About how many events the document holds, without parsing it: each event element
        ends in ``Event>`` twice, at its start tag and at its end tag."""
        return self._data.count(b"Event>") // 2

    def convert(self) -> dict[str, Any]:
        """The whole JSON-LD document; raises ``ValidationException`` for the first offence."""
        return xml.convert(xml.check(xml.parse(self._data), self._data))[0]

    def stream(self, size: int, max_events: int) -> _Stream:
        """Find the events, ``size`` at a time: see :class:`_Stream`."""
        return _Stream(self, size, max_events)


class _Stream:
    """A document's events in pieces, handed out as the scan finds them.

    Iterate over it for :class:`Piece` objects; then :meth:`shell` checks and converts the
    rest of the document. Raises ``ValidationException`` for what it finds wrong or cannot
    vouch for on the way (see the module's docstring), naming less than converting the whole
    document would: the caller converts it whole then.
    """

    def __init__(self, document: XmlDocument, size: int, max_events: int) -> None:
        self._data = document._data
        self._size = size
        self._max_events = max_events
        #: Where the EventList's content starts and ends, once read.
        self._content: tuple[int, int] | None = None
        self.count = 0
        #: The document's EPCIS version, once its start has been read.
        self.version = 2

    def __iter__(self) -> Iterator[Piece]:
        data = self._data
        if not _utf8(data):
            raise _unreadable("it is not in UTF-8")
        found = _MARKUP.finditer(data)
        # The EventList's start tag comes before any event.
        for match in found:
            if match.group(2) is not None:
                break
        else:
            raise _unreadable("no EventList")
        if match.group(2) != _EVENT_LIST or match.group(1) or data[match.end() - 2] == _SLASH:
            raise _unreadable("an event outside the EventList, or an empty one")
        opened = match.end()
        self.version, wrapper = _head(data, opened)
        depth = 0
        begin = opened  # where the piece being gathered starts
        pending = 0  # events in it
        for match in found:
            closing, name = match.group(1), match.group(2)
            if name is None:
                continue  # a comment, CDATA section or processing instruction
            if name == _EVENT_LIST:
                if closing and not depth:
                    break
                raise _unreadable("an EventList inside the EventList")
            if closing:
                depth -= 1
                if depth < 0:
                    raise _unreadable("an event's end tag without its start")
                continue
            if not depth:
                # An event starts: a full piece ends here, before it.
                if pending == self._size:
                    yield self._take(begin, match.start(), pending, wrapper)
                    begin, pending = match.start(), 0
                pending += 1
            if data[match.end() - 2] != _SLASH:  # not an empty element, <ObjectEvent/>
                depth += 1
        else:
            raise _unreadable("no end of the EventList")
        if not pending:
            raise _unreadable("no events")
        self._content = (opened, match.start())
        yield self._take(begin, match.start(), pending, wrapper)

    def _take(self, begin: int, end: int, count: int, wrapper: bytes) -> Piece:
        start = self.count
        self.count += count
        if self.count > self._max_events:
            raise ValidationException("too many events")
        return Piece(start, count, b"%s%s</EventList>" % (wrapper, self._data[begin:end]))

    def shell(self) -> tuple[dict[str, Any], dict[str, str]]:
        """After iterating: the document without its events, checked and converted."""
        if self._content is None:
            raise _unreadable("not read")
        opened, closed = self._content
        data = self._data[:opened] + self._data[closed:]
        root = xml.parse(data)
        event_list, events = _event_list(root)
        if event_list is None or len(event_list) or events:
            raise _unreadable("the EventList read is not the document's")
        return xml.convert(xml.check(root, data), events=False)


def convert_fragment(
    fragment: bytes, version: int, count: int
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Check and convert the ``count`` events of a piece :meth:`XmlDocument.stream` handed
    out (``Piece.xml``).

    Returns the events and the prefixes their conversion chose (prefix -> namespace); the
    caller holds those of all pieces and of the rest of the document to each other. Errors
    name places inside the piece, not the document.
    """
    root = xml.parse_fragment(_FRAGMENT_DOCUMENT % fragment)
    event_list = root[0][0]
    # The scan's count, and only events: then the pieces' events are the document's, in order.
    if len(event_list) != count or any(event.tag not in _EVENT_TAGS for event in event_list):
        raise _unreadable("the piece holds other than the events the scan found")
    if version == 1:
        from traceseal.epcis.xml12 import repair, reshape_events

        reshape_events(event_list, typed=xml.XSI_TYPED.search(fragment) is not None)
        xml.validate(root, xml.NOTE_1_2, repair)
    else:
        xml.validate(root)
    return xml.convert_events(event_list)


def _utf8(data: bytes) -> bool:
    """Whether the document is in UTF-8 (or ASCII): the scan reads bytes as such."""
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    if data[:1] != b"<":  # UTF-16 and UTF-32 start otherwise, with or without a mark
        return False
    declared = _ENCODING.match(data, 0, data.find(b"?>") + 2) if data[:5] == b"<?xml" else None
    return declared is None or declared.group(1).lower() in (b"utf-8", b"us-ascii")


def _head(data: bytes, opened: int) -> tuple[int, bytes]:
    """The document's EPCIS version, and the start tag for its pieces' EventLists: one that
    declares every namespace in scope at the document's EventList, which ends at
    ``opened``."""
    parser = etree.XMLPullParser(events=("start",), **_PARSER_OPTIONS)
    try:
        parser.feed(data[:opened])
        started = [element for _, element in parser.read_events()]
    except etree.XMLSyntaxError as exc:
        raise ValidationException(f"not well-formed: {exc.msg}") from None
    if not started:
        raise _unreadable("no elements")
    root, event_list = started[0], started[-1]
    body = event_list.getparent()
    if (
        root.tag not in _ROOTS
        or event_list.tag != "EventList"
        or body is None
        or body.tag != "EPCISBody"
        or body.getparent() is not root
    ):
        raise _unreadable("the first EventList is not the EPCISBody's")
    # No default namespace is in scope (the EventList's own name has none), only prefixes.
    declarations = "".join(
        f" xmlns:{prefix}={quoteattr(namespace)}" for prefix, namespace in event_list.nsmap.items()
    )
    return xml.version(root), f"<EventList{declarations}>".encode()


def _unreadable(reason: str) -> ValidationException:
    return ValidationException(f"the document cannot be read in pieces: {reason}")


def _event_list(root: XmlElement) -> tuple[XmlElement | None, list[XmlElement]]:
    """The document's EventList and its events (1.2: out of EventList extension wrappers)."""
    if xml.version(root) == 1:
        from traceseal.epcis.xml12 import event_list

        return event_list(root)
    body = next((part for part in root if part.tag == "EPCISBody"), None)
    events = None if body is None else next((p for p in body if p.tag == "EventList"), None)
    return events, [] if events is None else list(events)
