"""EPCIS XML capture documents read into the EPCIS 2.0 JSON-LD form, against published material.

- every EPCISDocument among GS1's 2.0 XML examples converts, and GS1's JSON Schema accepts the
  result, but for the two examples GS1's later artefacts disagree with (stated below);
- the XML inputs of the CBV 2.0 event-hash vectors give the same events as their JSON-LD twins,
  and so the published event hash IDs;
- EPCIS 1.2 documents (GS1's and openepcis-test-resources') are imported leniently: the table
  below states, per file, whether it is strictly valid against the 1.2 XSD, what happens to it
  and why;
- openepcis' invalid 2.0 XML documents are refused, naming the offending element;
- XML attacks (XXE, entity expansion) are refused.

The material is read from ``../shared/conformance`` (see its README).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from lxml import etree  # type: ignore[import-untyped]

from traceseal.epcis import xml as epcis_xml
from traceseal.epcis.errors import ValidationException
from traceseal.epcis.hashing import document_context, event_hash
from traceseal.epcis.xml import CONTEXT_URL, read_document

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
GS1_XML = CONFORMANCE / "gs1-epcis-2.0" / "XML"
NOT_CAPTURE = CONFORMANCE / "gs1-epcis-2.0" / "not-capture"
EVENT_HASH = CONFORMANCE / "event-hash"
EPCIS_12 = CONFORMANCE / "epcis-1.2"
INVALID = CONFORMANCE / "epcis-2.0-invalid" / "xml"
DATA = Path(epcis_xml.__file__).parent / "data"

pytestmark = pytest.mark.skipif(
    not CONFORMANCE.is_dir(), reason="../shared/conformance is not checked out"
)

# GS1 XML examples whose converted form GS1's JSON Schema refuses, with the pointers it names.
# The conversion is faithful in both: the XML examples predate later 2.0 artefacts.
GS1_SCHEMA_REFUSALS: dict[str, tuple[str, set[str]]] = {
    "Example-PersistentDisposition.xml": (
        "persistentDisposition in AggregationEvents: the 2.0 XSD allows it, the JSON Schema "
        "(like GS1's UML and SHACL) only in Object and TransformationEvents (gs1/EPCIS#440)",
        {"/epcisBody/eventList/0", "/epcisBody/eventList/1"},
    ),
    "WithSensorData/SensorDataExamples.xml": (
        "case 9 reports exceptions without a measurement type; the JSON twin "
        "(SensorDataExample9.jsonld) adds the type the JSON Schema requires",
        {
            "/epcisBody/eventList/8/sensorElementList/0/sensorReport/0",
            "/epcisBody/eventList/8/sensorElementList/0/sensorReport/1",
        },
    ),
}

STRICT, LENIENT, SCHEMA_REFUSED, REFUSED = "strict", "lenient", "schema-refused", "refused"
# EPCIS 1.2 file -> (strictly valid against the 1.2 XSD?, outcome, why, what the outcome names).
# strict/lenient: read_document converts it and the JSON Schema accepts the result;
# schema-refused: it converts faithfully and the JSON Schema refuses these pointers;
# refused: read_document refuses it; the detail contains the first string, the field is the
# second.
LEGACY: dict[str, tuple[bool, str, str, Any]] = {
    "gs1/XML/AggregationEvent.xml": (True, STRICT, "childQuantityList from extension", None),
    "gs1/XML/AssociationEvent.xml": (
        True,
        REFUSED,
        "valid 1.2 only because 2.0 content sits in a lax extension slot: there, event 5 "
        "spells sensorMetadata 'sensorMetaData', an element EPCIS does not define",
        ("'sensorMetaData'", "/epcisBody/eventList/5/sensorElementList/0/sensorMetaData"),
    ),
    "gs1/XML/ObjectEvent.xml": (
        True,
        STRICT,
        "the unqualified myField in the extension/extension slot 1.2 reserves for EPCIS is "
        "carried as ns1:myField, ns1 being the 1.2 namespace",
        None,
    ),
    "gs1/XML/TransactionEvent.xml": (True, STRICT, "sourceList/destinationList", None),
    "gs1/XML/TransformationEvent.xml": (True, STRICT, "EventList/extension", None),
    "openepcis/AggregationEvent.xml": (True, STRICT, "plain 1.2", None),
    "openepcis/AggregationEvent_all_possible_fields.xml": (
        False,
        SCHEMA_REFUSED,
        "xsi:type'd extension values with padded dateTimes break the 1.2 XSD (dropped: JSON "
        "carries strings); persistentDisposition in an AggregationEvent (gs1/EPCIS#440)",
        {"/epcisBody/eventList/0"},
    ),
    "openepcis/All_eventTypes_in_single_document.xml": (
        True,
        SCHEMA_REFUSED,
        "2.0 content in 1.2 extension slots maps cleanly; persistentDisposition in an "
        "AggregationEvent (gs1/EPCIS#440)",
        {"/epcisBody/eventList/1"},
    ),
    "openepcis/AssociationEvent.xml": (True, STRICT, "AssociationEvent in extension", None),
    "openepcis/AssociationEvent_all_possible_fields.xml": (
        False,
        SCHEMA_REFUSED,
        "xsi:type names the undeclared xsd: prefix (dropped: JSON carries strings); "
        "persistentDisposition in an AssociationEvent (gs1/EPCIS#440)",
        {"/epcisBody/eventList/0"},
    ),
    "openepcis/Document_with_namespace.xml": (
        False,
        REFUSED,
        "declares the 2.0 namespace, so it is held to the 2.0 XSD, which it breaks: its event "
        "fields are qualified with epcis: and it keeps 1.2 wrappers",
        ("{urn:epcglobal:epcis:xsd:2}ObjectEvent", "/epcisBody/eventList/0"),
    ),
    "openepcis/EPCISDocument_with_comment.xml": (
        True,
        STRICT,
        "SBDH, master data and GS1 US header extensions",
        None,
    ),
    "openepcis/GS1_US_Pharma_Example_2_2_1_1.xml": (
        True,
        STRICT,
        "SBDH, master data and GS1 US header extensions",
        None,
    ),
    "openepcis/Jumbled_attributes_order.xml": (
        False,
        LENIENT,
        "event fields in arbitrary order; each name occurs once, so the order carries nothing",
        None,
    ),
    "openepcis/ObjectEvent.xml": (True, STRICT, "plain 1.2", None),
    "openepcis/ObjectEvent_all_possible_fields.xml": (
        False,
        SCHEMA_REFUSED,
        "the 2.0 certificationInfo after the 1.2 extension is placed by name; but its value "
        "'test certification' is no URI, and an OBSERVE event cannot carry ilmd",
        {"/epcisBody/eventList/0/certificationInfo", "/epcisBody/eventList/0"},
    ),
    "openepcis/ObjectEvent_with_baseExtension_errorDeclaration.xml": (
        True,
        STRICT,
        "eventID and errorDeclaration from baseExtension",
        None,
    ),
    "openepcis/ObjectEvent_with_sensorData.xml": (True, STRICT, "sensor data in extension", None),
    "openepcis/Single_event.xml": (
        False,
        REFUSED,
        "a bare TransactionEvent, no EPCISDocument: no creationDate, and no namespace to tell "
        "1.2 from 2.0",
        ("TransactionEvent (no namespace) is a bare event", None),
    ),
    "openepcis/Single_event_with_namespace.xml": (
        False,
        REFUSED,
        "a bare 2.0 ObjectEvent, no EPCISDocument",
        ("ObjectEvent in namespace urn:epcglobal:epcis:xsd:2 is a bare event", None),
    ),
    "openepcis/TransactionEvent.xml": (True, STRICT, "plain 1.2", None),
    "openepcis/TransactionEvent_all_possible_fields.xml": (
        False,
        REFUSED,
        "declarationTime '2006-11-07T13:00Z' has no seconds: no xsd:dateTime, no RFC 3339 time",
        ("'2006-11-07T13:00Z'", "/epcisBody/eventList/0/errorDeclaration/declarationTime"),
    ),
    "openepcis/TransformationEvent.xml": (True, STRICT, "plain 1.2", None),
    "openepcis/TransformationEvent_all_possible_fields.xml": (
        False,
        LENIENT,
        "xsi:type'd extension values with padded dateTimes break the 1.2 XSD; the annotations "
        "are dropped (JSON carries strings) and the values kept, trimmed",
        None,
    ),
}

# openepcis' invalid 2.0 XML documents -> (text the detail must contain, field).
INVALID_REFUSALS: dict[str, tuple[str, str | None]] = {
    "ObjectEvent_bare_event_without_action.xml": ("ObjectEvent (no namespace)", None),
    "ObjectEvent_with_invalid_action.xml": ("'action'", "/epcisBody/eventList/0/action"),
    "ObjectEvent_with_invalid_eventTime_format.xml": (
        "'eventTime'",
        "/epcisBody/eventList/0/eventTime",
    ),
    "ObjectEvent_with_near_miss_action.xml": ("'OBSERV'", "/epcisBody/eventList/0/action"),
    "ObjectEvent_with_unknown_element.xml": (
        "'madeUpField'",
        "/epcisBody/eventList/0/madeUpField",
    ),
    # The XSD meets action where it expects eventTime and names both.
    "ObjectEvent_with_wrong_element_order.xml": (
        "Expected is ( eventTime )",
        "/epcisBody/eventList/0/action",
    ),
    "ObjectEvent_without_eventTime.xml": (
        "Expected is ( eventTime )",
        "/epcisBody/eventList/0/eventTimeZoneOffset",
    ),
}


@cache
def _schema() -> Any:
    schema = json.loads((DATA / "EPCIS-JSON-Schema.json").read_text(encoding="utf-8"))
    return jsonschema_rs.validator_for(schema, validate_formats=True)


def _schema_refusals(document: dict[str, Any]) -> set[str]:
    return {
        "/" + "/".join(str(step) for step in error.instance_path)
        for error in _schema().iter_errors(document)
    }


def _read(path: Path) -> dict[str, Any]:
    return read_document(path.read_bytes())


def _gs1_examples() -> list[Path]:
    return sorted(GS1_XML.rglob("*.xml")) if GS1_XML.is_dir() else []


@pytest.mark.parametrize("path", _gs1_examples(), ids=lambda p: str(p.relative_to(GS1_XML)))
def test_gs1_xml_examples_convert_to_what_the_json_schema_accepts(path: Path) -> None:
    document = _read(path)
    assert document["@context"][0] == CONTEXT_URL
    assert (document["type"], document["schemaVersion"]) == ("EPCISDocument", "2.0")
    _why, expected = GS1_SCHEMA_REFUSALS.get(str(path.relative_to(GS1_XML)), ("", set()))
    assert _schema_refusals(document) == expected


def test_all_gs1_xml_examples_are_here() -> None:
    names = {str(p.relative_to(GS1_XML)) for p in _gs1_examples()}
    assert len(names) == 25
    assert set(GS1_SCHEMA_REFUSALS) <= names


@pytest.mark.parametrize(
    "path", sorted(NOT_CAPTURE.rglob("*.xml")), ids=lambda p: str(p.relative_to(NOT_CAPTURE))
)
def test_gs1_documents_that_are_not_for_capture_are_refused(path: Path) -> None:
    # Capture-job answers and master-data documents: the capture interface does not take them.
    with pytest.raises(ValidationException, match="is not an EPCIS capture document"):
        _read(path)


def _twins() -> list[str]:
    return sorted(p.stem for p in EVENT_HASH.glob("*.xml") if p.with_suffix(".jsonld").exists())


def _same_instant(event: dict[str, Any]) -> dict[str, Any]:
    # The twins write some times with and some without milliseconds; the instant is the same
    # and the event hash canonicalises it, so compare instants.
    times = ("eventTime", "recordTime")
    return {k: datetime.fromisoformat(v) if k in times else v for k, v in event.items()}


@pytest.mark.parametrize("name", _twins())
def test_event_hash_xml_inputs_give_the_events_of_their_json_ld_twins(name: str) -> None:
    converted = _read(EVENT_HASH / f"{name}.xml")
    twin = json.loads((EVENT_HASH / f"{name}.jsonld").read_text(encoding="utf-8"))
    events, expected = converted["epcisBody"]["eventList"], twin["epcisBody"]["eventList"]
    hashes = (EVENT_HASH / f"{name}.hashes").read_text(encoding="utf-8").split()
    assert len(events) == len(expected) == len(hashes)
    assert [_same_instant(e) for e in events] == [_same_instant(e) for e in expected]
    # And so the published event hash IDs, the point of reading XML into this form.
    context = document_context(converted)
    assert [event_hash(event, context) for event in events] == hashes
    # Extension member names mean the same IRIs in both documents.
    twin_prefixes = {k: v for c in twin["@context"] if isinstance(c, dict) for k, v in c.items()}
    for prefix, namespace in (converted["@context"][1:] or [{}])[0].items():
        assert twin_prefixes[prefix] == namespace


def test_all_event_hash_twins_are_here() -> None:
    assert len(_twins()) == 5


@cache
def _xsd_12() -> Any:
    return etree.XMLSchema(etree.parse(str(DATA / "xsd-1.2" / "EPCglobal-epcis-1_2.xsd")))


def test_every_epcis_1_2_file_is_in_the_table() -> None:
    files = {str(p.relative_to(EPCIS_12)) for p in EPCIS_12.glob("*/**/*.xml")}
    assert files == set(LEGACY)
    # The README's count: 10 of the 19 openepcis files are strictly valid.
    openepcis = [strict for name, (strict, *_rest) in LEGACY.items() if "openepcis" in name]
    assert (sum(openepcis), len(openepcis)) == (10, 19)


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_epcis_1_2_files_are_imported_as_the_table_says(name: str) -> None:
    strict, outcome, why, expected = LEGACY[name]
    data = (EPCIS_12 / name).read_bytes()
    assert bool(_xsd_12().validate(etree.fromstring(data))) is strict, why
    assert (outcome == STRICT) <= strict, "a strict outcome needs a strictly valid file"
    if outcome == REFUSED:
        with pytest.raises(ValidationException) as refused:
            read_document(data)
        text, field = expected
        assert text in refused.value.detail
        assert refused.value.field == field
        return
    document = read_document(data)
    assert _schema_refusals(document) == (expected if outcome == SCHEMA_REFUSED else set())


@pytest.mark.parametrize("name", sorted(INVALID_REFUSALS))
def test_invalid_2_0_documents_are_refused_naming_the_element(name: str) -> None:
    text, field = INVALID_REFUSALS[name]
    with pytest.raises(ValidationException) as refused:
        _read(INVALID / name)
    assert text in refused.value.detail
    assert refused.value.field == field
    assert refused.value.event_index == (0 if field else None)


def test_every_invalid_xml_file_has_an_expected_refusal() -> None:
    assert sorted(p.name for p in INVALID.glob("*.xml")) == sorted(INVALID_REFUSALS)


def test_not_capture_documents_are_all_xml_or_json_ld() -> None:
    # The README's trap: these never sit among the capture examples.
    assert {p.suffix for p in NOT_CAPTURE.rglob("*.*")} <= {".xml", ".jsonld", ".md"}
    assert not {p.name for p in NOT_CAPTURE.rglob("*.xml")} & {p.name for p in _gs1_examples()}


# -- XML attacks (behaviours on documents written here: tests/unit/epcis/test_xml.py) -------

_EPC = "urn:epc:id:sgtin:0614141.812345.{}"


def _document(events: str, *, namespaces: str = "", version: int = 2) -> bytes:
    return (
        f'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:{version}" {namespaces} '
        f'schemaVersion="{version}.0" creationDate="2024-03-04T06:00:00Z"><EPCISBody>'
        f"<EventList>{events}</EventList></EPCISBody></epcis:EPCISDocument>"
    ).encode()


def _object_event(rest: str = "", *, serial: int = 1) -> str:
    """An ObjectEvent with one EPC; ``rest`` follows its action."""
    return (
        "<ObjectEvent><eventTime>2024-03-04T06:00:00.000Z</eventTime>"
        "<eventTimeZoneOffset>+01:00</eventTimeZoneOffset>"
        f"<epcList><epc>{_EPC.format(serial)}</epc></epcList><action>ADD</action>{rest}"
        "</ObjectEvent>"
    )


def _refusal(data: bytes) -> ValidationException:
    with pytest.raises(ValidationException) as refused:
        read_document(data)
    return refused.value


_XXE = b"""<?xml version="1.0"?>
<!DOCTYPE epcis:EPCISDocument [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" xmlns:ex="https://ex.org/"
  schemaVersion="2.0" creationDate="2024-03-04T06:00:00Z"><EPCISBody><EventList>
<ObjectEvent><eventTime>2024-03-04T06:00:00Z</eventTime>
<eventTimeZoneOffset>+01:00</eventTimeZoneOffset><action>ADD</action>
<ex:leak>&xxe;</ex:leak></ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"""


def test_external_entities_are_refused_unread() -> None:
    refused = _refusal(_XXE)
    assert "DTD" in refused.detail
    assert "root:" not in refused.detail


@pytest.mark.parametrize("depth", [3, 10])
def test_entity_expansion_is_refused_without_expanding(depth: int) -> None:
    # 10 levels (10^10 "lol"s) trips libxml2's own amplification limit while parsing; a
    # shallow one parses, unexpanded, and is refused for declaring entities.
    levels = ['<!ENTITY e0 "lol">'] + [
        f'<!ENTITY e{n} "{f"&e{n - 1};" * 10}">' for n in range(1, depth)
    ]
    bomb = f"<!DOCTYPE epcis:EPCISDocument [{''.join(levels)}]>".encode() + _document(
        _object_event()
    ).replace(b"<action>", f"<action>&e{depth - 1};".encode(), 1)
    refused = _refusal(bomb)
    assert "entit" in refused.detail.lower()
    assert "lollol" not in refused.detail


def test_an_external_dtd_is_refused_and_never_fetched() -> None:
    dtd = b'<!DOCTYPE epcis:EPCISDocument SYSTEM "http://127.0.0.1:9/epcis.dtd">'
    assert "external DTD" in _refusal(dtd + _document(_object_event())).detail


def test_a_document_that_is_not_xml_is_refused() -> None:
    assert "not well-formed XML" in _refusal(b"<epcis:EPCISDocument").detail


def test_sbdh_and_master_data_fill_the_document_fields() -> None:
    document = _read(EPCIS_12 / "openepcis" / "GS1_US_Pharma_Example_2_2_1_1.xml")
    assert (document["sender"], document["receiver"], document["instanceIdentifier"]) == (
        "urn:epc:id:sgln:030001.111111.0",
        "urn:epc:id:sgln:039999.999999.0",
        "1100220001",
    )
    header = document["epcisHeader"]
    assert header["gs1ushc:guidelineVersion"] == "GS1 US DSCSA R1.3"
    element = header["epcisMasterData"]["vocabularyList"][0]["vocabularyElementList"][0]
    assert element["id"] == "urn:epc:idpat:sgtin:030001.0012345.*"
    assert element["attributes"][2] == {
        "id": "urn:epcglobal:cbv:mda#regulatedProductName",
        "attribute": "Epcistra",
    }


def test_master_data_attributes_keep_their_structure() -> None:
    document = _read(GS1_XML / "WithFullCombinationOfFields" / "masterdata_all_possible_fields.xml")
    vocabulary = document["epcisHeader"]["epcisMasterData"]["vocabularyList"][0]
    element = vocabulary["vocabularyElementList"][0]
    assert element["children"] == ["urn:epc:id:sgln:0037000.00729.8201"]
    attributes = {a["id"]: a["attribute"] for a in element["attributes"][2:4]}
    assert attributes == {
        "http://example.com/ext1#array": "string2InArray",
        "http://example.com/ext1#object1": {
            "ext1:object2": {"inner1": "val1", "inner2": "val2"},
            "ext1:string": "string",
        },
    }
