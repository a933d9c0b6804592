"""Large XML documents through HTTP: converted chunk by chunk in worker processes, the same
events are stored as when the whole document is converted at once (capture.read_document)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Platform, Tenant
from tests.functional.test_epcis_capture import capture, counts, query
from traceseal.epcis.errors import ValidationException
from traceseal.epcis.hashing import document_context, event_hash
from traceseal.epcis.models import CaptureJob
from traceseal.epcis.pipeline import CHUNK_EVENTS
from traceseal.epcis.xml import read_document
from traceseal.epcis.xmlsplit import XmlDocument, convert_fragment

URN = "urn:epc:id:sgtin:9506000.013435.{}"
COUNT = 3 * CHUNK_EVENTS  # several chunks, of CHUNK_EVENTS or fewer events
DEFAULT_NS = "https://ns.example.com/default/"
OTHER_NS = "https://ns.example.com/other/"


def xml_document(events: list[str]) -> bytes:
    return (
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" '
        'xmlns:ex="https://ns.example.com/a/" schemaVersion="2.0" '
        'creationDate="2026-11-01T08:00:00Z"><EPCISBody><EventList>\n'
        + "\n".join(events)
        + "\n</EventList></EPCISBody></epcis:EPCISDocument>"
    ).encode()


def xml_event(serial: str, rest: str = "") -> str:
    return (
        "<ObjectEvent><eventTime>2026-11-01T08:00:00.000+08:00</eventTime>"
        "<eventTimeZoneOffset>+08:00</eventTimeZoneOffset>"
        f"<epcList><epc>{URN.format(serial)}</epc></epcList><action>ADD</action>"
        "<bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>"
        f"{rest}</ObjectEvent>"
    )


def events_with_extensions(*, conflict: bool) -> list[str]:
    """Events with extensions: a declared prefix in the first chunk, and namespaces
    without a prefix in later ones (those get invented ``nsN`` prefixes)."""
    events = [xml_event(f"x-{i}") for i in range(COUNT)]
    events[3] = xml_event("x-3", '<ex:weight unit="KGM">3.5</ex:weight>')
    events[CHUNK_EVENTS + 1] = xml_event("x-b", f'<plain xmlns="{DEFAULT_NS}">z</plain>')
    # Without the document's earlier events in view, a later chunk would give the same
    # invented prefix to another namespace: the capture must notice and convert it whole.
    namespace = OTHER_NS if conflict else DEFAULT_NS
    events[2 * CHUNK_EVENTS + 1] = xml_event("x-c", f'<more xmlns="{namespace}">y</more>')
    return events


def stored_events(platform: Platform, tenant: Tenant) -> list[dict[str, Any]]:
    events = []
    token = None
    while True:
        params: dict[str, Any] = {"perPage": 1000, "orderBy": "eventTime"}
        if token:
            params["nextPageToken"] = token
        response = platform.client.get("/epcis/events", params=params, headers=tenant.auth)
        assert response.status_code == 200, response.text
        events += response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        link = response.headers.get("link", "")
        if "nextPageToken=" not in link:
            return events
        token = link.split("nextPageToken=", 1)[1].split(">", 1)[0].split("&", 1)[0]


def pieces(data: bytes, size: int) -> tuple[list[dict[str, Any]], dict[str, str], int]:
    """The events of ``data`` read as capture reads a large document, the prefixes they use
    and the document's EPCIS version; and checks the rest of the document is what is left."""
    stream = XmlDocument(data).stream(size, 1_000_000)
    converted: list[dict[str, Any]] = []
    prefixes: dict[str, str] = {}
    for piece in stream:
        assert piece.start == len(converted)
        events, found = convert_fragment(piece.xml, stream.version, piece.count)
        converted += events
        prefixes.update(found)
    shell, namespaces = stream.shell()
    assert shell["epcisBody"]["eventList"] == []
    assert stream.count == len(converted)
    return converted, {**namespaces, **prefixes}, stream.version


def test_pieces_convert_to_the_events_of_the_whole_document() -> None:
    data = xml_document(events_with_extensions(conflict=False))
    whole = read_document(data)
    converted, prefixes, version = pieces(data, CHUNK_EVENTS)
    assert version == 2
    assert len(converted) == COUNT
    assert converted == whole["epcisBody"]["eventList"]
    assert (
        prefixes == whole["@context"][1] == {"ex": "https://ns.example.com/a/", "ns1": DEFAULT_NS}
    )
    context = document_context(whole)
    assert [event_hash(e, context) for e in converted[:5]] == [
        event_hash(e, context) for e in whole["epcisBody"]["eventList"][:5]
    ]


def _check_stored_as_whole(platform: Platform, tenant: Tenant, data: bytes) -> None:
    before = counts(platform)
    response = capture(platform, tenant, data, "application/xml")
    assert response.status_code == 202, response.text
    assert response.json()["eventCount"] == COUNT
    whole = read_document(data)
    context = document_context(whole)
    # Events without an eventID are stored under their hash ID.
    expected = {
        e.get("eventID") or event_hash(e, context): e for e in whole["epcisBody"]["eventList"]
    }
    stored = stored_events(platform, tenant)
    assert len(stored) == COUNT == counts(platform)[1] - before[1]
    for event in stored:
        original = expected[event["eventID"]]
        skip = {
            "recordTime",
            "traceseal:leafIndex",
            *(() if "eventID" in original else ["eventID"]),
        }
        assert {k: v for k, v in event.items() if k not in skip} == original
    with platform.session_factory() as session:
        job = session.scalars(select(CaptureJob).order_by(CaptureJob.id.desc())).first()
        assert job is not None
        assert json.loads(job.context) == context


def test_a_large_xml_document_is_stored_as_its_whole_conversion(
    platform: Platform, acme: Tenant
) -> None:
    _check_stored_as_whole(platform, acme, xml_document(events_with_extensions(conflict=False)))


def test_chunks_that_disagree_on_a_prefix_are_converted_whole(
    platform: Platform, acme: Tenant
) -> None:
    data = xml_document(events_with_extensions(conflict=True))
    whole = read_document(data)
    assert whole["@context"][1] == {
        "ex": "https://ns.example.com/a/",
        "ns1": DEFAULT_NS,
        "ns2": OTHER_NS,
    }
    _check_stored_as_whole(platform, acme, data)


def test_a_refusal_in_a_later_chunk_names_its_place_in_the_document(
    platform: Platform, acme: Tenant
) -> None:
    events = [xml_event(f"r-{i}") for i in range(COUNT)]
    bad = 2 * CHUNK_EVENTS + 7
    events[bad] = xml_event("r-bad", "<ex:box>text<ex:n>1</ex:n></ex:box>")  # mixed content
    before = counts(platform)
    response = capture(platform, acme, xml_document(events), "application/xml")
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["eventIndex"] == bad
    # One event per line, after the document's first line.
    assert f"line {bad + 2}" in problem["detail"]
    assert counts(platform) == before
    # And a semantic refusal (a check digit) in a later chunk, found by a worker.
    events[bad] = xml_event("r-ok")
    wrong = CHUNK_EVENTS + 3
    events[wrong] = events[wrong].replace(URN.format(f"r-{wrong}"), "urn:epc:id:sscc:9506000.12")
    response = capture(platform, acme, xml_document(events), "application/xml")
    assert response.status_code == 400, response.text
    assert response.json()["eventIndex"] == wrong
    assert response.json()["field"] == f"/epcisBody/eventList/{wrong}/epcList/0"
    assert counts(platform) == before
    assert len(query(platform, acme)) == 0


def xml_1_2_document(events: list[str]) -> bytes:
    return (
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" '
        'xmlns:ex="https://ns.example.com/a/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" schemaVersion="1.2" '
        'creationDate="2026-11-01T08:00:00Z"><EPCISHeader><ex:batch>b-1</ex:batch>'
        "</EPCISHeader><EPCISBody><EventList>\n"
        + "\n".join(events)
        + "\n</EventList></EPCISBody></epcis:EPCISDocument>"
    ).encode()


def xml_1_2_event(serial: str) -> str:
    """A 1.2 ObjectEvent with its eventID in baseExtension and an extension."""
    return (
        "<ObjectEvent><eventTime>2026-11-01T08:00:00Z</eventTime>"
        "<eventTimeZoneOffset>+08:00</eventTimeZoneOffset>"
        f"<baseExtension><eventID>urn:uuid:00000000-0000-4000-8000-{serial:0>12}</eventID>"
        f"</baseExtension><epcList><epc>{URN.format(serial)}</epc></epcList>"
        "<action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>"
        "<extension><ilmd><ex:lot>L1</ex:lot></ilmd></extension>"
        f'<ex:weight xsi:type="xsd:decimal">{serial}</ex:weight></ObjectEvent>'
    )


QUANTITY_EVENT = (
    "<QuantityEvent><eventTime>2026-11-01T08:00:00Z</eventTime>"
    "<eventTimeZoneOffset>+08:00</eventTimeZoneOffset>"
    "<epcClass>urn:epc:class:lgtin:9506000.013435.L1</epcClass><quantity>5</quantity>"
    "</QuantityEvent>"
)
TRANSFORMATION_EVENT = (
    "<extension><TransformationEvent><eventTime>2026-11-01T08:00:00Z</eventTime>"
    "<eventTimeZoneOffset>+08:00</eventTimeZoneOffset><inputEPCList>"
    f"<epc>{URN.format('in-1')}</epc></inputEPCList><outputEPCList>"
    f"<epc>{URN.format('out-1')}</epc></outputEPCList></TransformationEvent></extension>"
)


def test_a_large_xml_1_2_document_is_stored_as_its_whole_conversion(
    platform: Platform, acme: Tenant
) -> None:
    events = [xml_1_2_event(str(i)) for i in range(COUNT)]
    events[5] = QUANTITY_EVENT
    data = xml_1_2_document(events)
    whole = read_document(data)
    assert whole["epcisHeader"] == {"ex:batch": "b-1"}
    converted, _, version = pieces(data, CHUNK_EVENTS)
    assert version == 1
    assert converted == whole["epcisBody"]["eventList"]
    assert converted[5]["quantityList"][0]["quantity"] == 5
    _check_stored_as_whole(platform, acme, data)


def test_a_1_2_event_list_with_extension_wrappers_is_converted_whole(
    platform: Platform, acme: Tenant
) -> None:
    # 1.2 puts TransformationEvents in EventList/extension: read as a stream, the wrapper
    # stays behind in the EventList, so the document is converted whole instead.
    events = [xml_1_2_event(str(i)) for i in range(COUNT)]
    events[CHUNK_EVENTS + 5] = TRANSFORMATION_EVENT
    data = xml_1_2_document(events)
    with pytest.raises(ValidationException):
        pieces(data, CHUNK_EVENTS)
    whole = read_document(data)
    assert whole["epcisBody"]["eventList"][CHUNK_EVENTS + 5]["type"] == "TransformationEvent"
    _check_stored_as_whole(platform, acme, data)


def test_a_refusal_of_a_1_2_event_in_a_later_chunk_is_the_whole_documents(
    platform: Platform, acme: Tenant
) -> None:
    events = [xml_1_2_event(str(i)) for i in range(COUNT)]
    bad = CHUNK_EVENTS * 2 + 3
    # Two actions: which one holds is ambiguous (xml12 refuses it while reshaping).
    events[bad] = events[bad].replace("<action>ADD</action>", "<action>ADD</action>" * 2)
    data = xml_1_2_document(events)
    with pytest.raises(ValidationException) as whole:
        read_document(data)
    assert whole.value.event_index == bad
    before = counts(platform)
    response = capture(platform, acme, data, "application/xml")
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == whole.value.detail
    assert response.json()["eventIndex"] == bad
    assert counts(platform) == before


@pytest.mark.parametrize("depth", [100, 300, 5000])
def test_deeply_nested_xml_is_refused_as_invalid(
    platform: Platform, acme: Tenant, depth: int
) -> None:
    """Past the extension limit (validation.MAX_EXTENSION_DEPTH, checked after conversion)
    or past libxml2's own 256 levels (lxml without huge_tree): a 400 problem, never a
    crash; the same element nested a little is captured."""
    before = counts(platform)
    nested = "<ex:d>" * depth + "x" + "</ex:d>" * depth
    response = capture(platform, acme, xml_document([xml_event("deep", nested)]), "application/xml")
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "epcisException:ValidationException"
    assert counts(platform) == before
    shallow = "<ex:d>" * 20 + "x" + "</ex:d>" * 20
    response = capture(platform, acme, xml_document([xml_event("ok", shallow)]), "application/xml")
    assert response.status_code == 202, response.text
