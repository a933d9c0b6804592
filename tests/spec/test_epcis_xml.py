"""EPCIS XML capture documents read into the EPCIS 2.0 JSON-LD form, against published material.

- every EPCISDocument among GS1's 2.0 XML examples converts, and GS1's JSON Schema accepts the
  result, but for the two examples GS1's later artefacts disagree with (stated below);
- the XML inputs of the CBV 2.0 event-hash vectors give the same events as their JSON-LD twins,
  and so the published event hash IDs;
- EPCIS 1.2 documents (GS1's and openepcis-test-resources') are imported leniently where their
  meaning is unambiguous and refused with a clear error where it is not: the table below
  states, per file, whether it is strictly valid against the 1.2 XSD, what capture does with
  it (read and prepared as a request body would be) and why;
- openepcis' invalid 2.0 XML documents are refused, naming the offending element;
- XML attacks (XXE, entity expansion) are refused.

The material is read from ``tests/data/conformance`` (see its PROVENANCE.md).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema_rs
import pytest
from lxml import etree  # type: ignore[import-untyped]

from tests.conformance import CONFORMANCE
from tests.unit.epcis.test_xml import _document, _object_event
from traceseal.epcis import capture
from traceseal.epcis import xml as epcis_xml
from traceseal.epcis.errors import ValidationException
from traceseal.epcis.hashing import document_context, event_hash
from traceseal.epcis.vocab import CONTEXT_URL
from traceseal.epcis.xml import read_document

GS1_XML = CONFORMANCE / "gs1-epcis-2.0" / "XML"
NOT_CAPTURE = CONFORMANCE / "gs1-epcis-2.0" / "not-capture"
EVENT_HASH = CONFORMANCE / "event-hash"
EPCIS_12 = CONFORMANCE / "epcis-1.2"
INVALID = CONFORMANCE / "epcis-2.0-invalid" / "xml"
DATA = Path(epcis_xml.__file__).parent / "data"


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

CAPTURED, LENIENT = "captured", "captured leniently"
REFUSED, CAPTURE_REFUSED = "refused", "refused by capture"


class Legacy(NamedTuple):
    """What capture does with one EPCIS 1.2 file, and why."""

    strict: bool  # valid against the 1.2 XSD as written
    # CAPTURED: read by the 1.2 -> 2.0 mapping and captured; LENIENT: captured thanks to a
    # lenient reading (traceseal.epcis.xml12 lists them); REFUSED: reading refuses it;
    # CAPTURE_REFUSED: it reads, and capture's checks (``prepare``) refuse it.
    outcome: str
    why: str
    # Pointers GS1's JSON Schema (as published) refuses in the converted form. Capture holds
    # XML to the same rules as JSON-LD after reading (epcis/rules.py settles where GS1's
    # schemas disagree), so these stop it unless rules.py decided for the XSD.
    json_schema: frozenset[str] = frozenset()
    refusal: tuple[str, str | None] | None = None  # (text in the detail, field)


LEGACY: dict[str, Legacy] = {
    "gs1/XML/AggregationEvent.xml": Legacy(True, CAPTURED, "childQuantityList from extension"),
    "gs1/XML/AssociationEvent.xml": Legacy(
        True,
        LENIENT,
        "valid 1.2 only because its 2.0 content sits in lax extension slots, where event 5 "
        "spells sensorMetadata 'sensorMetaData'. That is no element of EPCIS, and exactly one "
        "of EPCIS's names matches it ignoring case, so it is read as sensorMetadata",
    ),
    "gs1/XML/ObjectEvent.xml": Legacy(
        True,
        CAPTURED,
        "the unqualified myField in the extension/extension slot 1.2 reserves for EPCIS is "
        "carried as ns1:myField, ns1 being the 1.2 namespace",
    ),
    "gs1/XML/TransactionEvent.xml": Legacy(True, CAPTURED, "sourceList/destinationList"),
    "gs1/XML/TransformationEvent.xml": Legacy(True, CAPTURED, "EventList/extension"),
    "openepcis/AggregationEvent.xml": Legacy(True, CAPTURED, "plain 1.2"),
    "openepcis/AggregationEvent_all_possible_fields.xml": Legacy(
        False,
        CAPTURE_REFUSED,
        "xsi:type'd extension values with padded dateTimes break the 1.2 XSD (dropped: JSON "
        "carries strings), but persistentDisposition in an AggregationEvent is refused in "
        "both bindings (EPCIS 2.0 §7.3.6.2.2, gs1/EPCIS#440; epcis/rules.py)",
        frozenset({"/epcisBody/eventList/0"}),
        ("may not carry persistentDisposition", "/epcisBody/eventList/0/persistentDisposition"),
    ),
    "openepcis/All_eventTypes_in_single_document.xml": Legacy(
        True,
        CAPTURE_REFUSED,
        "2.0 content in 1.2 extension slots maps cleanly, but event 0's GRAI "
        "(8003) 03912345000771 fails its check digit (5 expected): whether the check digit or "
        "another digit is wrong cannot be told, so capture refuses it rather than store a "
        "guess. Also persistentDisposition in an AggregationEvent (gs1/EPCIS#440)",
        frozenset({"/epcisBody/eventList/1"}),
        ("check digit", "/epcisBody/eventList/0/epcList/0"),
    ),
    "openepcis/AssociationEvent.xml": Legacy(True, CAPTURED, "AssociationEvent in extension"),
    "openepcis/AssociationEvent_all_possible_fields.xml": Legacy(
        False,
        CAPTURE_REFUSED,
        "xsi:type names the undeclared xsd: prefix (dropped: JSON carries strings), but "
        "persistentDisposition in an AssociationEvent is refused in both bindings "
        "(EPCIS 2.0 §7.3.6.2.2, gs1/EPCIS#440; epcis/rules.py)",
        frozenset({"/epcisBody/eventList/0"}),
        ("may not carry persistentDisposition", "/epcisBody/eventList/0/persistentDisposition"),
    ),
    "openepcis/Document_with_namespace.xml": Legacy(
        False,
        REFUSED,
        "declares EPCIS 2.0 twice (namespace and schemaVersion), so it is held to the 2.0 XSD "
        "like every 2.0 document (a 2.0 capture interface refuses invalid ones: see the invalid "
        "set); its epcis:-qualified fields and 1.2 wrappers break it. Reading it as 1.2 would "
        "overrule what it says of itself, and a 2.0 reading that forgave this would forgive "
        "the invalid set's wrong element order too",
        refusal=("{urn:epcglobal:epcis:xsd:2}ObjectEvent", "/epcisBody/eventList/0"),
    ),
    "openepcis/EPCISDocument_with_comment.xml": Legacy(
        True, CAPTURED, "SBDH, master data and GS1 US header extensions"
    ),
    "openepcis/GS1_US_Pharma_Example_2_2_1_1.xml": Legacy(
        True, CAPTURED, "SBDH, master data and GS1 US header extensions"
    ),
    "openepcis/Jumbled_attributes_order.xml": Legacy(
        False,
        LENIENT,
        "event fields in arbitrary order; each name occurs once, so the order carries nothing",
    ),
    "openepcis/ObjectEvent.xml": Legacy(True, CAPTURED, "plain 1.2"),
    "openepcis/ObjectEvent_all_possible_fields.xml": Legacy(
        False,
        CAPTURE_REFUSED,
        "the 2.0 certificationInfo after the 1.2 extension is placed by name, but its value "
        "'test certification' is no URI (and an OBSERVE event carries ilmd): XML is held to "
        "the same rules as JSON-LD after reading, GS1's JSON Schema included, and refused",
        frozenset({"/epcisBody/eventList/0/certificationInfo", "/epcisBody/eventList/0"}),
        ("certificationInfo", "/epcisBody/eventList/0/certificationInfo"),
    ),
    "openepcis/ObjectEvent_with_baseExtension_errorDeclaration.xml": Legacy(
        True, CAPTURED, "eventID and errorDeclaration from baseExtension"
    ),
    "openepcis/ObjectEvent_with_sensorData.xml": Legacy(True, CAPTURED, "sensor data in extension"),
    "openepcis/Single_event.xml": Legacy(
        False,
        REFUSED,
        "a bare TransactionEvent, no EPCISDocument. Its version is no question (it reads the "
        "same as 1.2 and 2.0), but a document needs a creationDate the file does not state: "
        "the time of import would make the stored document depend on when it was sent, and "
        "any other time would be made up",
        refusal=("TransactionEvent (no namespace) is a bare event", None),
    ),
    "openepcis/Single_event_with_namespace.xml": Legacy(
        False,
        REFUSED,
        "a bare ObjectEvent in the 2.0 namespace. It carries creationDate and schemaVersion as "
        "attributes, but wrapped in a document with them it is Document_with_namespace.xml's "
        "event, refused for the reasons given there",
        refusal=("ObjectEvent in namespace urn:epcglobal:epcis:xsd:2 is a bare event", None),
    ),
    "openepcis/TransactionEvent.xml": Legacy(True, CAPTURED, "plain 1.2"),
    "openepcis/TransactionEvent_all_possible_fields.xml": Legacy(
        False,
        LENIENT,
        "declarationTime '2006-11-07T13:00Z' has no seconds, which an xsd:dateTime needs; "
        "hh:mm with a zone names one instant, so it is read as 2006-11-07T13:00:00Z",
    ),
    "openepcis/TransformationEvent.xml": Legacy(True, CAPTURED, "plain 1.2"),
    "openepcis/TransformationEvent_all_possible_fields.xml": Legacy(
        False,
        LENIENT,
        "xsi:type'd extension values with padded dateTimes break the 1.2 XSD; the annotations "
        "are dropped (JSON carries strings) and the values kept, trimmed",
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
    openepcis = [entry.strict for name, entry in LEGACY.items() if "openepcis" in name]
    assert (sum(openepcis), len(openepcis)) == (10, 19)
    for name, entry in LEGACY.items():
        assert entry.outcome in (CAPTURED, LENIENT, REFUSED, CAPTURE_REFUSED), name
        assert entry.why, name
        assert (entry.refusal is not None) is (entry.outcome in (REFUSED, CAPTURE_REFUSED)), name


def _refused_as(refused: ValidationException, expected: tuple[str, str | None] | None) -> None:
    assert expected is not None
    text, field = expected
    assert text in refused.detail
    assert refused.field == field


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_epcis_1_2_files_are_captured_as_the_table_says(name: str) -> None:
    # Through capture's own reading and preparation, as a request body would go.
    entry = LEGACY[name]
    data = (EPCIS_12 / name).read_bytes()
    assert bool(_xsd_12().validate(etree.fromstring(data))) is entry.strict, entry.why
    assert entry.outcome != CAPTURED or entry.strict, "captured as written needs a valid file"
    if entry.outcome == REFUSED:
        with pytest.raises(ValidationException) as refused:
            capture.read_document(data, "application/xml")
        _refused_as(refused.value, entry.refusal)
        return
    document, source_format = capture.read_document(data, "application/xml")
    assert source_format == "xml-1.2"
    assert _schema_refusals(document) == entry.json_schema
    if entry.outcome == CAPTURE_REFUSED:
        with pytest.raises(ValidationException) as refused:
            capture.prepare(document, source_format=source_format, max_events=100_000)
        _refused_as(refused.value, entry.refusal)
        return
    prepared = capture.prepare(document, source_format=source_format, max_events=100_000)
    assert len(prepared.chunk) == len(document["epcisBody"]["eventList"]) > 0


def test_gs1_1_2_association_events_are_those_of_the_2_0_example() -> None:
    # GS1's 1.2 example spells sensorMetaData in event 5; its 2.0 version spells it right.
    converted = _read(EPCIS_12 / "gs1" / "XML" / "AssociationEvent.xml")
    twin = _read(GS1_XML / "AssociationEvent" / "AssociationEventExamples.xml")
    events, expected = converted["epcisBody"]["eventList"], twin["epcisBody"]["eventList"]
    assert events[5]["sensorElementList"][0]["sensorMetadata"] == {
        "startTime": "2019-11-06T13:55:00.000+01:00",
        "endTime": "2019-11-06T13:57:00.000+01:00",
    }
    # The 2.0 version also gave case (f) a childQuantityList; all else is the same.
    assert "childQuantityList" not in events[5]
    del expected[5]["childQuantityList"]
    assert events == expected


def test_a_1_2_time_without_seconds_is_read_with_zero_seconds() -> None:
    name = EPCIS_12 / "openepcis" / "TransactionEvent_all_possible_fields.xml"
    assert b"<declarationTime>2006-11-07T13:00Z</declarationTime>" in name.read_bytes()
    declaration = _read(name)["epcisBody"]["eventList"][0]["errorDeclaration"]
    assert declaration["declarationTime"] == "2006-11-07T13:00:00Z"


def _wrapped(event: bytes, *, version: int) -> bytes:
    """A bare event inside a document, with a creationDate a sender would have to state."""
    head = (
        f'<e:EPCISDocument xmlns:e="urn:epcglobal:epcis:xsd:{version}" '
        f'schemaVersion="{version}.0" creationDate="2019-10-04T14:12:00Z">'
        "<EPCISBody><EventList>"
    )
    return head.encode() + event + b"</EventList></EPCISBody></e:EPCISDocument>"


def test_the_bare_events_are_refused_for_the_reasons_the_table_gives() -> None:
    # Single_event.xml: the version is no question, only the creationDate is missing.
    bare = (EPCIS_12 / "openepcis" / "Single_event.xml").read_bytes()
    as_1_2 = read_document(_wrapped(bare, version=1))
    assert as_1_2 == read_document(_wrapped(bare, version=2))
    assert [event["type"] for event in as_1_2["epcisBody"]["eventList"]] == ["TransactionEvent"]
    # Single_event_with_namespace.xml, wrapped as its own attributes say: refused like
    # Document_with_namespace.xml.
    bare = (EPCIS_12 / "openepcis" / "Single_event_with_namespace.xml").read_bytes()
    assert b'schemaVersion="2.0"' in bare
    with pytest.raises(ValidationException) as refused:
        read_document(_wrapped(bare, version=2))
    _refused_as(refused.value, LEGACY["openepcis/Document_with_namespace.xml"].refusal)
    assert "not made up here" in _refusal(bare).detail


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
