"""Reading EPCIS XML into the 2.0 JSON-LD form: one behaviour per document written here.

The published material (GS1's examples, the event-hash twins, 1.2 exports, the invalid set,
XML attacks) is in ``tests/spec/test_epcis_xml.py``.
"""

from __future__ import annotations

import doctest
import json
from functools import cache
from importlib import resources
from types import ModuleType
from typing import Any

import jsonschema_rs
import pytest

from traceseal.epcis import xml as epcis_xml
from traceseal.epcis import xmlvalues
from traceseal.epcis.errors import ValidationException
from traceseal.epcis.vocab import CONTEXT_URL
from traceseal.epcis.xml import read_document


@cache
def _schema() -> Any:
    path = resources.files("traceseal.epcis") / "data" / "EPCIS-JSON-Schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    return jsonschema_rs.validator_for(schema, validate_formats=True)


def _schema_refusals(document: dict[str, Any]) -> set[str]:
    return {
        "/" + "/".join(str(step) for step in error.instance_path)
        for error in _schema().iter_errors(document)
    }


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


def _event(data: bytes, index: int = 0) -> dict[str, Any]:
    event = read_document(data)["epcisBody"]["eventList"][index]
    assert isinstance(event, dict)
    return event


def _refusal(data: bytes) -> ValidationException:
    with pytest.raises(ValidationException) as refused:
        read_document(data)
    return refused.value


def test_extension_members_use_the_documents_prefixes() -> None:
    namespaces = (
        'xmlns:ex="https://ns.example.com/a/" xmlns:gs1="https://example.org/not-gs1/" '
        'xmlns:cbvmda="urn:epcglobal:cbv:mda" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    )
    rest = (
        "<ilmd><cbvmda:lotNumber>L1</cbvmda:lotNumber>"
        '<ex:weight unit="KGM"> 3.5 </ex:weight></ilmd>'
        '<ex:tag xsi:type="xsd:integer">1</ex:tag><ex:tag>2</ex:tag>'
        "<ex:box><ex:n>1</ex:n><inner>x</inner><ex:empty/></ex:box>"
        "<gs1:thing>y</gs1:thing>"
        '<plain xmlns="https://ns.example.com/default/">z</plain>'
        '<ex2:other xmlns:ex2="https://ns.example.com/a/">w</ex2:other>'
        '<ex:n2 xmlns:ex="https://ns.example.com/b/">v</ex:n2>'
    )
    document = read_document(_document(_object_event(rest), namespaces=namespaces))
    event = document["epcisBody"]["eventList"][0]
    assert event["ilmd"] == {
        "cbvmda:lotNumber": "L1",
        "ex:weight": {"unit": "KGM", "#text": "3.5"},
    }
    assert event["ex:tag"] == ["1", "2"]  # xsi:type is a note on the type, not data
    assert event["ex:box"] == {"ex:n": "1", "inner": "x", "ex:empty": ""}
    # gs1 is a protected term of the EPCIS context with another IRI; the default namespace
    # has no prefix; ex2 names a namespace that already has one; ex is reused for another.
    assert (event["ns1:thing"], event["ns2:plain"], event["ex:other"], event["ns3:n2"]) == (
        "y",
        "z",
        "w",
        "v",
    )
    assert document["@context"] == [
        CONTEXT_URL,
        {
            "cbvmda": "urn:epcglobal:cbv:mda:",
            "ex": "https://ns.example.com/a/",
            "ns1": "https://example.org/not-gs1/",
            "ns2": "https://ns.example.com/default/",
            "ns3": "https://ns.example.com/b/",
        },
    ]
    assert _schema_refusals(document) == set()


def test_unqualified_content_of_an_extension_slot_is_carried_under_the_epcis_namespace() -> None:
    read_point = "<readPoint><id>urn:epc:id:sgln:0614141.00001.0</id><extension><dock>4</dock>"
    document = read_document(_document(_object_event(read_point + "</extension></readPoint>")))
    assert document["epcisBody"]["eventList"][0]["readPoint"] == {
        "id": "urn:epc:id:sgln:0614141.00001.0",
        "ns1:dock": "4",
    }
    assert document["@context"][1] == {"ns1": "urn:epcglobal:epcis:xsd:2"}


def test_mixed_content_is_refused() -> None:
    refused = _refusal(
        _document(_object_event("<ex:note>a<ex:b/>c</ex:note>"), namespaces='xmlns:ex="u:x"')
    )
    assert "Mixed content" in refused.detail
    assert refused.field == "/epcisBody/eventList/0/ex:note"


def test_cbv_urns_become_bare_words_and_other_values_stay_as_written() -> None:
    rest = (
        "<bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>"
        "<disposition>https://ref.gs1.org/cbv/Disp-in_transit</disposition>"
        "<bizTransactionList><bizTransaction type='urn:epcglobal:cbv:btt:po'>"
        "urn:epcglobal:cbv:bt:0614141000005:1</bizTransaction><bizTransaction>"
        "urn:epcglobal:cbv:bt:0614141000005:2</bizTransaction></bizTransactionList>"
        "<sourceList><source type='urn:epcglobal:cbv:sdt:owning_party'>"
        "urn:epc:id:pgln:0614141.00000</source></sourceList>"
        "<persistentDisposition><unset>urn:epcglobal:cbv:disp:completeness_inferred</unset>"
        "<set>urn:example:disp:checked</set></persistentDisposition>"
    )
    event = _event(_document(_object_event(rest)))
    assert event["bizStep"] == "shipping"
    assert event["disposition"] == "https://ref.gs1.org/cbv/Disp-in_transit"
    assert event["bizTransactionList"] == [
        {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141000005:1"},
        {"bizTransaction": "urn:epcglobal:cbv:bt:0614141000005:2"},
    ]
    assert event["sourceList"] == [
        {"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00000"}
    ]
    assert event["persistentDisposition"] == {
        "unset": ["completeness_inferred"],
        "set": ["urn:example:disp:checked"],
    }
    # A URN naming no CBV term is kept, for validation to refuse with the value in view.
    odd = _event(_document(_object_event("<bizStep>urn:epcglobal:cbv:bizstep:dancing</bizStep>")))
    assert odd["bizStep"] == "urn:epcglobal:cbv:bizstep:dancing"


def test_quantities_and_sensor_values_become_numbers() -> None:
    rest = (
        "<quantityList><quantityElement><epcClass>urn:epc:class:lgtin:0614141.812345.L1"
        "</epcClass><quantity>200.5</quantity><uom>KGM</uom></quantityElement>"
        "<quantityElement><epcClass>urn:epc:class:lgtin:0614141.812345.L2</epcClass>"
        "<quantity>12</quantity></quantityElement></quantityList>"
        "<sensorElementList><sensorElement><sensorMetadata time='2024-03-04T06:00:00Z'/>"
        "<sensorReport type='gs1:Temperature' value='26.0' uom='CEL' percRank='50'"
        " booleanValue='1' component='cbv:Comp-x'/>"
        "<sensorReport type='gs1:Molar_concentration' value='-1E3'/>"
        "</sensorElement></sensorElementList>"
    )
    event = _event(_document(_object_event(rest)))
    assert event["quantityList"] == [
        {"epcClass": "urn:epc:class:lgtin:0614141.812345.L1", "quantity": 200.5, "uom": "KGM"},
        {"epcClass": "urn:epc:class:lgtin:0614141.812345.L2", "quantity": 12},
    ]
    first, second = event["sensorElementList"][0]["sensorReport"]
    assert first == {
        "type": "Temperature",
        "value": 26.0,
        "uom": "CEL",
        "percRank": 50,
        "booleanValue": True,
        "component": "x",
    }
    # No such GS1 measurement type: kept in its written compact form.
    assert second == {"type": "gs1:Molar_concentration", "value": -1000.0}


def test_a_sensor_value_json_cannot_hold_is_refused() -> None:
    report = "<sensorElementList><sensorElement><sensorReport type='gs1:Speed' value='INF'/>"
    refused = _refusal(_document(_object_event(report + "</sensorElement></sensorElementList>")))
    assert refused.field == "/epcisBody/eventList/0/sensorElementList/0/sensorReport/0/value"


def test_refusals_name_the_event_even_on_one_line() -> None:
    bad = "<quantityList><quantityElement><epcClass>urn:epc:class:lgtin:0614141.812345.L1"
    bad += "</epcClass><quantity>many</quantity></quantityElement></quantityList>"
    data = _document(_object_event() + _object_event(serial=2) + _object_event(bad, serial=3))
    assert data.count(b"\n") == 0
    refused = _refusal(data)
    assert refused.event_index == 2
    assert refused.field == "/epcisBody/eventList/2/quantityList/0/quantity"
    assert refused.detail.startswith("Event 2 (ObjectEvent), line 1: ")
    assert "'many'" in refused.detail


def test_epcis_1_2_quantity_events_become_object_events() -> None:
    quantity_event = (
        "<QuantityEvent><eventTime>2024-03-04T06:00:00Z</eventTime>"
        "<eventTimeZoneOffset>+01:00</eventTimeZoneOffset>"
        "<epcClass>urn:epc:idpat:sgtin:0614141.812345.*</epcClass><quantity>40</quantity>"
        "<bizStep>urn:epcglobal:cbv:bizstep:cycle_counting</bizStep></QuantityEvent>"
    )
    event = _event(_document(quantity_event, version=1))
    assert event == {
        "type": "ObjectEvent",
        "eventTime": "2024-03-04T06:00:00Z",
        "eventTimeZoneOffset": "+01:00",
        "action": "OBSERVE",
        "bizStep": "cycle_counting",
        "quantityList": [{"epcClass": "urn:epc:idpat:sgtin:0614141.812345.*", "quantity": 40}],
    }


def test_epcis_1_2_fields_are_found_in_any_wrapper_and_order() -> None:
    event = (
        "<ObjectEvent><action>OBSERVE</action><epcis:bizStep>"
        "urn:epcglobal:cbv:bizstep:receiving</epcis:bizStep>"
        "<extension><extension><persistentDisposition><set>urn:epcglobal:cbv:disp:"
        "completeness_verified</set></persistentDisposition></extension></extension>"
        "<epcList/><baseExtension><eventID>urn:uuid:1e1c8a4e-8b1a-4b8e-9c1e-1a2b3c4d5e6f"
        "</eventID></baseExtension><eventTimeZoneOffset>+01:00</eventTimeZoneOffset>"
        "<eventTime>2024-03-04T06:00:00Z</eventTime></ObjectEvent>"
    )
    assert _event(_document(event, version=1)) == {
        "type": "ObjectEvent",
        "eventTime": "2024-03-04T06:00:00Z",
        "eventTimeZoneOffset": "+01:00",
        "eventID": "urn:uuid:1e1c8a4e-8b1a-4b8e-9c1e-1a2b3c4d5e6f",
        "epcList": [],
        "action": "OBSERVE",
        "bizStep": "receiving",
        "persistentDisposition": {"set": ["completeness_verified"]},
    }


@pytest.mark.parametrize(
    ("inside", "text", "field"),
    [
        (
            "<quantityList/><extension><quantityList/></extension>",
            "quantityList appears twice in this ObjectEvent (lines 1 and 1)",
            "/epcisBody/eventList/0/extension/quantityList",
        ),
        (
            "<childEPCs/>",
            "childEPCs is not a field of ObjectEvent",
            "/epcisBody/eventList/0/childEPCs",
        ),
        (
            "<lotNumber>1</lotNumber>",
            "Unknown element lotNumber",
            "/epcisBody/eventList/0/lotNumber",
        ),
    ],
)
def test_epcis_1_2_events_with_an_ambiguous_meaning_are_refused(
    inside: str, text: str, field: str
) -> None:
    refused = _refusal(_document(_object_event(inside), version=1))
    assert text in refused.detail
    assert (refused.event_index, refused.field) == (0, field)


def test_epcis_1_2_unqualified_extension_content_is_carried() -> None:
    event = _object_event("<extension><extension><dock>4</dock></extension></extension>")
    document = read_document(_document(event, version=1))
    assert document["epcisBody"]["eventList"][0]["ns1:dock"] == "4"
    assert document["@context"][1] == {"ns1": "urn:epcglobal:epcis:xsd:1"}


def test_epcis_1_2_names_in_another_case_are_read_as_the_standard_name() -> None:
    # At the levels the 1.2 reshaping reads itself (event type, event fields, extension
    # slots) and below them, where the 2.0 XSD finds them.
    event = (
        "<objectEvent><eventTime>2024-03-04T06:00:00Z</eventTime>"
        "<eventTimeZoneOffset>+01:00</eventTimeZoneOffset><epcList><EPC>"
        f"{_EPC.format(1)}</EPC></epcList><action>OBSERVE</action>"
        "<BizStep>urn:epcglobal:cbv:bizstep:receiving</BizStep><extension><QuantityList>"
        "<quantityElement><EPCClass>urn:epc:class:lgtin:0614141.812345.L1</EPCClass>"
        "<quantity>2</quantity></quantityElement></QuantityList><extension>"
        "<sensorElementList><sensorElement><sensorMetaData time='2024-03-04T06:00:00Z'/>"
        "<SensorReport type='gs1:Temperature' value='4'/></sensorElement></sensorElementList>"
        "</extension></extension></objectEvent>"
    )
    assert _event(_document(event, version=1)) == {
        "type": "ObjectEvent",
        "eventTime": "2024-03-04T06:00:00Z",
        "eventTimeZoneOffset": "+01:00",
        "epcList": [_EPC.format(1)],
        "action": "OBSERVE",
        "bizStep": "receiving",
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:0614141.812345.L1", "quantity": 2}],
        "sensorElementList": [
            {
                "sensorMetadata": {"time": "2024-03-04T06:00:00Z"},
                "sensorReport": [{"type": "Temperature", "value": 4}],
            }
        ],
    }


def test_epcis_1_2_names_matching_no_capture_field_or_in_user_content_stay_as_written() -> None:
    # lotnumber is no EPCIS name in any case; Status only names a 2.0 capture-job field.
    refused = _refusal(_document(_object_event("<lotnumber>1</lotnumber>"), version=1))
    assert "Unknown element lotnumber in ObjectEvent" in refused.detail
    slot = "<extension><extension><Status>open</Status></extension></extension>"
    assert _event(_document(_object_event(slot), version=1))["ns1:Status"] == "open"
    # Content of an open extension slot and of a namespaced element keeps its names, also
    # when something else in the document (here, a time without seconds) is read leniently.
    rest = (
        "<readPoint><id>urn:epc:id:sgln:0614141.00001.0</id><extension><ID>4</ID></extension>"
        "</readPoint><ex:box><Quantity>3</Quantity></ex:box>"
    )
    data = _document(
        _object_event(rest), namespaces='xmlns:ex="https://ns.example.com/"', version=1
    )
    event = _event(data.replace(b"06:00:00.000Z", b"06:00Z"))
    assert event["eventTime"] == "2024-03-04T06:00:00Z"
    assert event["readPoint"] == {"id": "urn:epc:id:sgln:0614141.00001.0", "ns1:ID": "4"}
    assert event["ex:box"] == {"Quantity": "3"}


def test_epcis_1_2_master_data_names_are_read_in_any_case_but_attribute_values_kept() -> None:
    header = (
        "<EPCISHeader><extension><EPCISMasterData><vocabularyList><Vocabulary "
        "type='urn:epcglobal:epcis:vtype:BusinessLocation'><VocabularyElementList>"
        "<VocabularyElement id='urn:epc:id:sgln:0614141.00001.0'><attribute id='urn:example:a'>"
        "<ID>x</ID></attribute></VocabularyElement></VocabularyElementList></Vocabulary>"
        "</vocabularyList></EPCISMasterData></extension></EPCISHeader>"
    )
    data = _document(_object_event(), version=1).replace(
        b"<EPCISBody>", header.encode() + b"<EPCISBody>"
    )
    master_data = read_document(data)["epcisHeader"]["epcisMasterData"]
    assert master_data["vocabularyList"] == [
        {
            "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
            "vocabularyElementList": [
                {
                    "id": "urn:epc:id:sgln:0614141.00001.0",
                    "attributes": [{"id": "urn:example:a", "attribute": {"ID": "x"}}],
                }
            ],
        }
    ]


def test_epcis_1_2_times_without_seconds_get_zero_seconds() -> None:
    rest = (
        "<extension><extension><sensorElementList><sensorElement><sensorMetadata "
        "startTime='2024-03-04T05:00Z' endTime='2024-03-04T05:30:00Z'/><sensorReport "
        "type='gs1:Temperature' value='4' time='2024-03-04T05:10-05:00'/></sensorElement>"
        "</sensorElementList></extension></extension><ex:when>2024-03-04T06:00Z</ex:when>"
    )
    data = _document(
        _object_event(rest).replace("06:00:00.000Z", "06:00+01:00"),
        namespaces='xmlns:ex="https://ns.example.com/"',
        version=1,
    ).replace(b'creationDate="2024-03-04T06:00:00Z"', b'creationDate="2024-03-04T06:00Z"')
    document = read_document(data)
    assert document["creationDate"] == "2024-03-04T06:00:00Z"
    event = document["epcisBody"]["eventList"][0]
    assert event["eventTime"] == "2024-03-04T06:00:00+01:00"
    assert event["sensorElementList"][0] == {
        "sensorMetadata": {"startTime": "2024-03-04T05:00:00Z", "endTime": "2024-03-04T05:30:00Z"},
        "sensorReport": [{"type": "Temperature", "value": 4, "time": "2024-03-04T05:10:00-05:00"}],
    }
    assert event["ex:when"] == "2024-03-04T06:00Z"  # user content: kept as written


def test_epcis_1_2_times_without_a_zone_are_refused() -> None:
    data = _document(_object_event().replace("06:00:00.000Z", "06:00"), version=1)
    refused = _refusal(data)
    assert "'2024-03-04T06:00'" in refused.detail
    assert refused.field == "/epcisBody/eventList/0/eventTime"


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("<action>ADD</action>", "<Action>ADD</Action>", "/epcisBody/eventList/0/Action"),
        ("06:00:00.000Z", "06:00Z", "/epcisBody/eventList/0/eventTime"),
    ],
)
def test_epcis_2_0_documents_are_not_read_leniently(old: str, new: str, field: str) -> None:
    refused = _refusal(_document(_object_event().replace(old, new)))
    assert refused.field == field


def test_a_bare_event_is_refused_with_what_to_send_instead() -> None:
    refused = _refusal(b"<QuantityEvent/>")
    assert "QuantityEvent (no namespace) is a bare event" in refused.detail
    assert "creationDate" in refused.detail


def _ten_thousand_object_events() -> bytes:
    event = (
        "<ObjectEvent><eventTime>2024-03-04T06:00:00.000Z</eventTime>"
        "<eventTimeZoneOffset>+01:00</eventTimeZoneOffset><epcList>{}</epcList>"
        "<action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>"
        "<disposition>urn:epcglobal:cbv:disp:active</disposition>"
        "<readPoint><id>urn:epc:id:sgln:0614141.00001.1</id></readPoint>"
        "<bizLocation><id>urn:epc:id:sgln:0614141.00001.0</id></bizLocation></ObjectEvent>\n"
    )
    return _document(
        "".join(
            event.format("".join(f"<epc>{_EPC.format(i * 10 + k)}</epc>" for k in range(10)))
            for i in range(10_000)
        )
    )


def test_ten_thousand_events_are_read_in_order() -> None:
    # Its speed is measured by bench/epcis.py, not here (timings in tests are noise).
    document = read_document(_ten_thousand_object_events())
    events = document["epcisBody"]["eventList"]
    assert len(events) == 10_000
    assert events[-1]["epcList"][-1] == _EPC.format(99_999)


@pytest.mark.parametrize("module", [epcis_xml, xmlvalues], ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    results = doctest.testmod(module)
    assert results.attempted > 0
    assert results.failed == 0
