"""CBV 2.0 event hash IDs: the published vectors, and the invariances the hash promises.

The vectors (``tests/data/conformance/event-hash``, from RalphTro/epcis-event-hash-generator,
MIT) give, per JSON-LD document, one expected hash per event in document order and the
pre-hash strings behind them. The XML twins are hashed once the XML binding reads them.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conformance import EVENT_HASH
from traceseal.epcis.hashing import document_context, event_hash, prehash

VECTORS = EVENT_HASH
DOCUMENTS = sorted(VECTORS.glob("*.jsonld"))
STANDARD_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
CONTEXT = document_context({"@context": [STANDARD_CONTEXT, {"ex": "https://ns.example.com/"}]})


def _events(document: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = document["epcisBody"]["eventList"]
    return events


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_every_vector_document_is_used() -> None:
    hashed = {path.stem for path in VECTORS.glob("*.hashes")}
    assert hashed == {path.stem for path in DOCUMENTS}
    assert len(hashed) == 6


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.stem)
def test_vector_hashes(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    context = document_context(document)
    expected = _lines(path.with_suffix(".hashes"))
    assert [event_hash(event, context) for event in _events(document)] == expected


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.stem)
def test_vector_prehashes(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    context = document_context(document)
    expected = _lines(path.with_suffix(".prehashes"))
    assert [prehash(event, context) for event in _events(document)] == expected


# --- invariances -----------------------------------------------------------------------

BASE: dict[str, Any] = {
    "type": "ObjectEvent",
    "eventTime": "2022-02-16T20:33:31.116-06:00",
    "eventTimeZoneOffset": "-06:00",
    "epcList": [
        "urn:epc:id:sgtin:0614141.107346.2017",
        "urn:epc:id:sgtin:0614141.107346.2018",
        "urn:epc:id:sgtin:0614141.107346.1",
    ],
    "action": "OBSERVE",
    "bizStep": "shipping",
    "disposition": "in_transit",
    "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234", "ex:gate": "7"},
    "bizTransactionList": [
        {"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"},
        {"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1152"},
    ],
    "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00000"}],
    "ilmd": {"ex:batch": "B-12", "ex:size": {"ex:width": "1.50", "ex:height": 2}},
    "ex:note": "fragile",
}
BASE_HASH = event_hash(BASE, CONTEXT)


def _renamed(value: Any) -> Any:
    """``value`` with its ``ex:`` names written with another prefix for the same IRI."""
    if isinstance(value, dict):
        return {
            ("other:" + key[3:] if key.startswith("ex:") else key): _renamed(member)
            for key, member in value.items()
        }
    if isinstance(value, list):
        return [_renamed(member) for member in value]
    return value


def _changed(**fields: Any) -> dict[str, Any]:
    event = copy.deepcopy(BASE)
    event.update(fields)
    return event


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(_changed(eventTime="2022-02-17T02:33:31.116Z"), id="same-instant-in-utc"),
        pytest.param(_changed(eventTime="2022-02-17T03:33:31.1157+01:00"), id="fourth-decimal"),
        pytest.param(_changed(bizStep="urn:epcglobal:cbv:bizstep:shipping"), id="cbv-1-urn"),
        pytest.param(_changed(bizStep="https://ref.gs1.org/cbv/BizStep-shipping"), id="web-uri"),
        pytest.param(_changed(disposition="cbv:Disp-in_transit"), id="curie"),
        pytest.param(
            _changed(
                epcList=[
                    "https://brand.example/01/10614141073464/21/1?17=280101",
                    *BASE["epcList"][:2][::-1],
                ]
            ),
            id="digital-link-and-order",
        ),
        pytest.param(
            _changed(
                readPoint={
                    "{https://ns.example.com/}gate": "7",
                    "id": "https://id.gs1.org/414/0614141073467/254/1234",
                }
            ),
            id="clark-name-and-digital-link",
        ),
        pytest.param(
            _changed(bizTransactionList=BASE["bizTransactionList"][::-1]), id="list-order"
        ),
        pytest.param(
            _changed(ilmd={"ex:size": {"ex:height": "2.0", "ex:width": 1.5}, "ex:batch": " B-12 "}),
            id="numbers-and-whitespace",
        ),
        pytest.param(
            _changed(
                eventID="ni:///sha-256;00?ver=CBV2.0",
                recordTime="2024-01-01T00:00:00Z",
                errorDeclaration={"declarationTime": "2024-01-01T00:00:00Z", "reason": "x"},
                **{"rdfs:comment": "not part of the event's meaning"},
            ),
            id="excluded-fields",
        ),
        pytest.param(
            {"@context": [{"other": "https://ns.example.com/"}]} | _renamed(BASE),
            id="prefix-name-does-not-matter",
        ),
    ],
)
def test_same_event_same_hash(variant: dict[str, Any]) -> None:
    assert event_hash(variant, CONTEXT) == BASE_HASH


@given(st.randoms(use_true_random=False))
def test_member_and_key_order_do_not_matter(rng: random.Random) -> None:
    def shuffled(value: Any) -> Any:
        if isinstance(value, dict):
            items = list(value.items())
            rng.shuffle(items)
            return {key: shuffled(member) for key, member in items}
        if isinstance(value, list):
            members = [shuffled(member) for member in value]
            rng.shuffle(members)
            return members
        return value

    assert event_hash(shuffled(BASE), CONTEXT) == BASE_HASH


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(_changed(eventTime="2022-02-16T20:33:31.117-06:00"), id="time"),
        pytest.param(_changed(eventTimeZoneOffset="+00:00"), id="offset"),
        pytest.param(_changed(epcList=BASE["epcList"][:2]), id="one-epc-less"),
        pytest.param(_changed(action="ADD"), id="action"),
        pytest.param(_changed(readPoint={"id": "urn:epc:id:sgln:0614141.07346.1234"}), id="ext"),
        pytest.param(_changed(ilmd={"ex:batch": "B-13"}), id="ilmd"),
        pytest.param(_changed(**{"ex:note": "Fragile"}), id="case"),
        pytest.param(_changed(bizLocation={"id": "urn:epc:id:sgln:0614141.07346.0"}), id="added"),
        pytest.param(_changed(certificationInfo="https://cert.example/1"), id="certification"),
    ],
)
def test_any_change_changes_the_hash(variant: dict[str, Any]) -> None:
    assert event_hash(variant, CONTEXT) != BASE_HASH


# --- value normalisation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "hashed"),
    [
        ("2023-02-02T11:04:03.1415Z", "2023-02-02T11:04:03.142Z"),
        ("2023-02-02T11:04:03.1414Z", "2023-02-02T11:04:03.141Z"),
        ("2023-02-02T11:04:03.1425Z", "2023-02-02T11:04:03.143Z"),  # half up, not half even
        ("2023-12-31T23:59:59.9996Z", "2024-01-01T00:00:00.000Z"),
        ("2023-02-02T11:04:03+14:00", "2023-02-01T21:04:03.000Z"),
        ("2023-02-02T11:04:03.5-00:30", "2023-02-02T11:34:03.500Z"),
        ("2023-02-02T11:04:03", "2023-02-02T11:04:03.000Z"),
        ("yesterday", "yesterday"),
    ],
)
def test_timestamps(written: str, hashed: str) -> None:
    event = {"type": "ObjectEvent", "eventTime": written}
    assert prehash(event, {}) == f"eventType=ObjectEventeventTime={hashed}"


@pytest.mark.parametrize(
    ("written", "hashed"),
    [
        ("1.50", "1.5"),
        ("+007", "7"),
        ("12.0", "12"),
        (12.0, "12"),
        (600, "600"),
        (0.05, "0.05"),
        ("-0.0", "0"),
        ("1e3", "1000"),
        ("0.00001", "1e-05"),  # as the reference implementation writes it
        ("12345678901234567890", "12345678901234567890"),  # no float rounding
        ("0.123456789012345678", "0.123456789012345678"),
        ("1e999", "1e999"),
        (True, "true"),
        ("0x1A", "0x1A"),
        ("1.2.3", "1.2.3"),
    ],
)
def test_numbers(written: object, hashed: str) -> None:
    event = {"type": "ObjectEvent", "quantityList": [{"epcClass": "x", "quantity": written}]}
    expected = f"eventType=ObjectEventquantityListquantityElementepcClass=xquantity={hashed}"
    assert prehash(event, {}) == expected


def test_sensor_vocabularies_come_from_the_context() -> None:
    report = {"type": "Temperature", "exception": "ALARM_CONDITION", "component": "x", "value": 3}
    event = {"type": "ObjectEvent", "sensorElementList": [{"sensorReport": [report]}]}
    assert prehash(event, CONTEXT) == (
        "eventType=ObjectEventsensorElementListsensorElementsensorReport"
        "type=https://gs1.org/voc/Temperatureexception=https://gs1.org/voc/ALARM_CONDITION"
        "value=3component=https://ref.gs1.org/cbv/Comp-x"
    )


def test_bare_terms_expand_only_where_the_context_defines_them() -> None:
    event = {"type": "ObjectEvent", "bizStep": "not_a_cbv_step", "ex:step": "shipping"}
    assert prehash(event, CONTEXT) == (
        "eventType=ObjectEventbizStep=not_a_cbv_step{https://ns.example.com/}step=shipping"
    )


def test_empty_fields_are_left_out() -> None:
    event = {"type": "ObjectEvent", "epcList": [], "bizStep": " ", "readPoint": {}}
    assert prehash(event, {}) == "eventType=ObjectEvent"


def test_document_context() -> None:
    document = {
        "@context": [
            STANDARD_CONTEXT,
            {"gs1": "https://gs1.org/voc/", "ex": {"@id": "https://ns.example.com/"}},
            {"ex": "https://ns.example.com/v2/", "@vocab": "https://ignored.example/"},
        ]
    }
    context = document_context(document)
    assert context["ex"] == "https://ns.example.com/v2/"  # later entries win
    assert context["cbvmda"] == "urn:epcglobal:cbv:mda:"  # from the standard context
    assert context["cbv"] == "https://ref.gs1.org/cbv/"
    assert "@vocab" not in context
    assert document_context({"@context": {"ex": "https://ns.example.com/"}}) == {
        "ex": "https://ns.example.com/"
    }


def test_event_level_context_is_merged() -> None:
    event = {"@context": {"ex": "https://other.example/"}, "type": "ObjectEvent", "ex:a": "1"}
    assert prehash(event, CONTEXT) == "eventType=ObjectEvent{https://other.example/}a=1"
    assert "ex:a" not in prehash({"type": "ObjectEvent", "ex:a": "1"}, CONTEXT)
