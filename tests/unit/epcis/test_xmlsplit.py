"""Reading a large XML document in pieces (xmlsplit.py): the scan finds exactly the events a
parser finds, or gives up; it never hands out anything else.

Each document here is read in pieces the way capture reads it, and the result is held to the
conversion of the whole document: the same events in the same order, or a refusal that sends
the capture to convert it whole (which then accepts or refuses it with the document's line).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traceseal.epcis.errors import ValidationException
from traceseal.epcis.xml import read_document
from traceseal.epcis.xmlsplit import XmlDocument, convert_fragment

HEAD = (
    '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" '
    'xmlns:ex="https://ns.example.com/a?x=1&amp;y=2" schemaVersion="2.0" '
    'creationDate="2026-11-01T08:00:00Z"><EPCISBody><EventList>'
)
TAIL = "</EventList></EPCISBody></epcis:EPCISDocument>"


def event(serial: int, inside: str = "") -> str:
    return (
        "<ObjectEvent><eventTime>2026-11-01T08:00:00.000+08:00</eventTime>"
        "<eventTimeZoneOffset>+08:00</eventTimeZoneOffset>"
        f"<epcList><epc>urn:epc:id:sgtin:9506000.013435.{serial}</epc></epcList>"
        f"<action>OBSERVE</action>{inside}</ObjectEvent>"
    )


def document(*parts: str, head: str = HEAD, tail: str = TAIL) -> bytes:
    return (head + "".join(parts) + tail).encode()


def in_pieces(data: bytes, size: int = 2) -> list[dict[str, Any]]:
    """The events as capture reads them in pieces; ValidationException when it gives up."""
    stream = XmlDocument(data).stream(size, 1_000)
    events: list[dict[str, Any]] = []
    for piece in stream:
        assert piece.start == len(events)
        converted, _ = convert_fragment(piece.xml, stream.version, piece.count)
        events += converted
    shell, _ = stream.shell()
    assert shell["epcisBody"]["eventList"] == []
    return events


def whole(data: bytes) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = read_document(data)["epcisBody"]["eventList"]
    return events


# Markup that looks like events to a careless byte search, and is not.
TRICKS = {
    "comment": "<!-- <ObjectEvent> </EventList> -->",
    "cdata": '<ex:note><![CDATA[</ObjectEvent><ObjectEvent a=">">]]></ex:note>',
    "pi": "<?app </ObjectEvent> ?>",
    "attribute": '<ex:note ex:x="a > b" ex:y=\'c > "d"\'>z</ex:note>',
    "nested": '<ex:box><ObjectEvent xmlns="https://ns.example.com/b/">inner</ObjectEvent></ex:box>',
    "entities": "<ex:note>&lt;ObjectEvent&gt; &#60;/ObjectEvent&#62;</ex:note>",
}


@pytest.mark.parametrize("trick", sorted(TRICKS))
def test_markup_inside_events_is_not_taken_for_events(trick: str) -> None:
    data = document(*(event(i, TRICKS[trick] if i % 2 else "") for i in range(7)))
    assert in_pieces(data) == whole(data)
    assert len(whole(data)) == 7


@pytest.mark.parametrize("trick", ["comment", "pi"])
def test_markup_between_events_is_read_past(trick: str) -> None:
    data = document(*(TRICKS[trick] + "\n  " + event(i) for i in range(5)), "\n")
    assert in_pieces(data, size=1) == whole(data)


def test_an_empty_event_element_counts_as_an_event() -> None:
    # <ObjectEvent/> breaks the XSD: the piece is refused, and so is the document.
    data = document(event(1), "<ObjectEvent/>", event(2))
    with pytest.raises(ValidationException):
        in_pieces(data)
    with pytest.raises(ValidationException) as refusal:
        whole(data)
    assert refusal.value.event_index == 1


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("text between events", document(event(1), "stray", event(2), event(3))),
        ("another element", document(event(1), event(2), "<ex:x/>", event(3))),
        ("a bad comment", document(event(1), event(2), "<!-- a -- b -->", event(3))),
        ("unbalanced", document(event(1), event(2), "<ex:x>", event(3), "</ex:x>")),
        ("a stray end tag", document(event(1), event(2), "</ObjectEvent>", event(3))),
        ("nested event lists", document(event(1), "<EventList/>", event(2))),
        ("no events", document()),
        ("an unclosed EventList", document(event(1), event(2), tail="")),
    ],
)
def test_what_the_scan_cannot_vouch_for_is_converted_whole(name: str, data: bytes) -> None:
    with pytest.raises(ValidationException):
        in_pieces(data, size=1)
    if name != "no events":
        with pytest.raises(ValidationException):
            whole(data)


def test_an_event_list_in_a_default_namespace_is_not_the_documents() -> None:
    head = HEAD.replace("<EventList>", '<EventList xmlns="https://ns.example.com/d/">')
    with pytest.raises(ValidationException, match="not the EPCISBody's"):
        in_pieces(document(event(1), event(2), head=head))


def test_a_document_not_in_utf8_is_converted_whole() -> None:
    text = '<?xml version="1.0" encoding="ISO-8859-1"?>' + HEAD + event(1, "<ex:n>é</ex:n>") + TAIL
    data = text.encode("iso-8859-1")
    with pytest.raises(ValidationException, match="UTF-8"):
        in_pieces(data)
    assert whole(data)[0]["ex:n"] == "é"
    utf16 = text.replace("ISO-8859-1", "UTF-16").encode("utf-16")
    with pytest.raises(ValidationException, match="UTF-8"):
        in_pieces(utf16)
    declared = ('<?xml version="1.0" encoding="utf-8"?>' + HEAD + event(1) + TAIL).encode()
    assert in_pieces(b"\xef\xbb\xbf" + declared) == whole(declared)


def test_events_outside_the_event_list_stop_the_reading() -> None:
    head = HEAD.replace("<EPCISBody>", "<EPCISHeader>" + event(9) + "</EPCISHeader><EPCISBody>")
    with pytest.raises(ValidationException):
        in_pieces(document(event(1), head=head))


def test_namespaces_declared_above_the_events_reach_every_piece() -> None:
    head = HEAD.replace("<EPCISBody>", '<EPCISBody xmlns:b="https://ns.example.com/body/">')
    data = document(*(event(i, f"<b:n>{i}</b:n><ex:m>{i}</ex:m>") for i in range(5)), head=head)
    assert in_pieces(data, size=2) == whole(data)
    assert whole(data)[4]["b:n"] == "4"


def test_the_event_limit_stops_the_reading() -> None:
    stream = XmlDocument(document(*(event(i) for i in range(5)))).stream(2, 4)
    with pytest.raises(ValidationException, match="too many"):
        list(stream)


_FILLER = st.sampled_from(
    ["", " ", "\n\t", "<!-- c -->", "<!--<ObjectEvent>-->", "<?pi x?>", "<?pi </EventList>?>"]
)
_INSIDE = st.sampled_from(["", *TRICKS.values(), "<ex:n>1</ex:n>", "<ex:n/>"])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(_FILLER, _INSIDE), min_size=1, max_size=8),
    _FILLER,
    st.integers(1, 4),
)
def test_any_mix_of_markup_reads_as_the_whole_document(
    parts: list[tuple[str, str]], last: str, size: int
) -> None:
    data = document(*(filler + event(i, inside) for i, (filler, inside) in enumerate(parts)), last)
    assert in_pieces(data, size) == whole(data)
