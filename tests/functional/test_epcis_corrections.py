"""Error declarations over HTTP on both engines (EPCIS 2.0 §7.4.1.2, docs/epcis.md).

A shipment scanned to the wrong warehouse is declared erroneous with a corrective event: the
original stays stored and logged, marked; the trace, the consumer's journey and the diversion
evidence follow the correction; the errorDeclaration query parameters find exactly the
declared event; and a declaration by anyone but the event's owner or the operator gets the
answer an unknown eventID gets, and marks nothing.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import Platform, Tenant
from tests.functional.conftest import GTIN, issue
from tests.functional.test_diversion import DEPOT, DEPOT_GLN, EAST_GLN, FACTORY, alerts, register
from tests.functional.test_diversion import scan as verify_scan
from tests.functional.test_epcis_capture import capture, query
from tests.functional.test_epcis_conformance import GS1, LEGACY_DIR
from tests.functional.test_trace import doc, event
from traceseal.epcis.hashing import event_hash
from traceseal.epcis.identifiers import to_digital_link
from traceseal.ledger.service import leaf_record

EAST = "urn:epc:id:sgln:9506000.00004.0"  # GLN 9506000000046, the east China warehouse
WRONG = "urn:uuid:5f0c6a56-8f56-4a4c-9a43-3f1d0c3b0001"
RIGHT = "urn:uuid:5f0c6a56-8f56-4a4c-9a43-3f1d0c3b0002"
DECLARED_AT = "2026-11-03T09:00:00+08:00"


def _shipping(items: list[str], to: str, event_id: str) -> dict[str, Any]:
    return event(
        "ObjectEvent",
        "02T08:00:00",
        eventID=event_id,
        action="OBSERVE",
        epcList=items,
        bizStep="shipping",
        bizLocation={"id": FACTORY},
        destinationList=[{"type": "location", "destination": to}],
    )


def _declared(original: dict[str, Any], **declaration: Any) -> dict[str, Any]:
    """The original event again with an errorDeclaration: how EPCIS declares it erroneous."""
    return {
        **original,
        "errorDeclaration": {
            "declarationTime": DECLARED_AT,
            "reason": "incorrect_data",
            "correctiveEventIDs": [RIGHT],
            **declaration,
        },
    }


@pytest.fixture
def misrouted(platform: Platform, acme: Tenant) -> dict[str, Any]:
    """Two items commissioned, then shipped, by mistake, to the south China warehouse."""
    south = register(platform, acme, "华南经销有限公司", [DEPOT_GLN], ["440000"])
    east = register(platform, acme, "华东经销有限公司", [EAST_GLN], ["310000"])
    codes = issue(platform, acme, 2)
    items = [f"urn:epc:id:sgtin:9506000.013435.{code}" for code in codes]
    wrong = _shipping(items, DEPOT, WRONG)
    commissioned = event(
        "ObjectEvent",
        "01T08:00:00",
        action="ADD",
        epcList=items,
        bizStep="commissioning",
        bizLocation={"id": FACTORY},
    )
    response = capture(platform, acme, doc(commissioned, wrong))
    assert response.status_code == 202, response.text
    return {"codes": codes, "items": items, "wrong": wrong, "south": south, "east": east}


def _correct(platform: Platform, tenant: Tenant, wrong: dict[str, Any]) -> Any:
    corrective = _shipping(wrong["epcList"], EAST, RIGHT)
    return capture(platform, tenant, doc(_declared(wrong), corrective))


def _trace(platform: Platform, acme: Tenant, code: str) -> dict[str, Any]:
    response = platform.client.get(f"/api/v1/trace/{code}", headers=acme.auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _journey(platform: Platform, code: str) -> list[str]:
    answer = platform.client.post("/api/v1/verify", json={"code": code}, params={"lang": "en"})
    assert answer.status_code == 200, answer.text
    return [step["text"] for step in answer.json()["journey"]]


def _ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["eventID"] for e in events]


def test_a_declared_shipment_gives_way_to_its_correction_everywhere(
    platform: Platform, acme: Tenant, misrouted: dict[str, Any]
) -> None:
    codes = misrouted["codes"]
    before = _trace(platform, acme, codes[0])
    assert [e["eventID"] for e in before["events"]][1] == WRONG
    assert _journey(platform, codes[0]) == ["Produced", "Shipped to 华南经销有限公司"]
    # Scanned by the south warehouse in its own territory: no diversion while it holds them.
    verify_scan(platform, codes[0], "440305", device="a" * 20, key=misrouted["south"]["api_key"])
    assert alerts(platform, acme, kind="diversion") == []
    [original] = query(platform, acme, EQ_eventID=WRONG)

    response = _correct(platform, acme, misrouted["wrong"])
    assert response.status_code == 202, response.text
    assert (response.json()["eventCount"], response.json()["duplicateCount"]) == (2, 0)

    after = _trace(platform, acme, codes[0])
    assert _ids(after["events"])[1:] == [RIGHT]
    assert after["events"][1]["eventID"] == RIGHT
    assert _journey(platform, codes[0]) == ["Produced", "Shipped to 华东经销有限公司"]
    page = platform.client.get(f"/01/{GTIN}/21/{codes[0]}", headers={"Accept-Language": "zh-CN"})
    assert "发货 至 华东经销有限公司" in page.text
    assert "华南经销有限公司" not in page.text
    # Custody is now the east warehouse's: a scan in Guangdong is diversion from it.
    verify_scan(platform, codes[1], "440305", device="b" * 20, key=misrouted["south"]["api_key"])
    [alert] = alerts(platform, acme, kind="diversion")
    assert alert["distributor_id"] == misrouted["east"]["id"]
    assert alert["details"]["custody_source"] == "epcis"

    # The original is still stored, at its leaf, marked with the declaration.
    [marked] = query(platform, acme, EQ_eventID=WRONG)
    assert marked["traceseal:leafIndex"] == original["traceseal:leafIndex"]
    assert marked["errorDeclaration"]["correctiveEventIDs"] == [RIGHT]
    assert {k: v for k, v in marked.items() if not k.startswith(("error", "traceseal:e"))} == (
        original
    )
    # The declaration is a leaf of its own, committing to the declaration.
    leaf_index = marked["traceseal:errorDeclarationLeafIndex"]
    assert leaf_index != original["traceseal:leafIndex"]
    leaf = platform.client.get(f"/ledger/leaves/{leaf_index}").json()
    digest = event_hash({k: v for k, v in marked.items() if not k.startswith("traceseal:")}, {})
    rebuilt = leaf_record(
        "epcis.errorDeclaration",
        digest,
        {
            "captureID": response.json()["captureID"],
            "eventHash": digest,
            "eventID": WRONG,
            "errorDeclaration": marked["errorDeclaration"],
        },
    )
    assert base64.b64decode(leaf["data"]) == rebuilt


def test_the_error_declaration_parameters_find_exactly_the_declared_event(
    platform: Platform, acme: Tenant, misrouted: dict[str, Any]
) -> None:
    assert query(platform, acme, EXISTS_errorDeclaration="") == []
    assert _correct(platform, acme, misrouted["wrong"]).status_code == 202
    found = {
        "EXISTS_errorDeclaration": "",
        "EXISTS_errorDeclaration=true": "true",
        "EQ_errorReason": "incorrect_data",
        "EQ_errorReason (URN)": "urn:epcglobal:cbv:er:incorrect_data",
        "EQ_correctiveEventID": RIGHT,
        "GE_errorDeclarationTime": "2026-11-03T01:00:00Z",
        "LT_errorDeclarationTime": "2026-11-03T01:00:01Z",
    }
    for label, value in found.items():
        name = label.split(" ")[0].split("=")[0]
        assert _ids(query(platform, acme, **{name: value})) == [WRONG], label
    for name, value in {
        "EQ_errorReason": "did_not_occur",
        "EQ_correctiveEventID": WRONG,
        "GE_errorDeclarationTime": "2026-11-03T01:00:01Z",
        "LT_errorDeclarationTime": "2026-11-03T01:00:00Z",
    }.items():
        assert query(platform, acme, **{name: value}) == [], name
    # false means no filter; combined with others, terms are ANDed.
    # The declaration marks its event; it adds none.
    assert len(query(platform, acme, EXISTS_errorDeclaration="false")) == 3
    assert query(platform, acme, EXISTS_errorDeclaration="", EQ_bizStep="commissioning") == []
    bad = platform.client.get(
        "/epcis/events?EXISTS_errorDeclaration=maybe", headers=acme.auth
    ).json()
    assert bad["type"] == "epcisException:QueryParameterException"
    assert bad["field"] == "EXISTS_errorDeclaration"
    # The single-event resource shows the original marked.
    one = platform.client.get(f"/epcis/events/{quote(WRONG, safe='')}", headers=acme.auth)
    [shown] = one.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert shown["errorDeclaration"]["reason"] == "incorrect_data"


def test_declaring_again_is_idempotent_and_a_different_declaration_is_refused(
    platform: Platform, acme: Tenant, misrouted: dict[str, Any]
) -> None:
    assert _correct(platform, acme, misrouted["wrong"]).status_code == 202
    again = _correct(platform, acme, misrouted["wrong"])
    assert again.status_code == 202
    assert again.json()["duplicateCount"] == 2
    other = capture(platform, acme, doc(_declared(misrouted["wrong"], reason="did_not_occur")))
    assert other.status_code == 400
    assert other.json()["field"] == "/epcisBody/eventList/0/errorDeclaration"
    assert "already declared erroneous" in other.json()["detail"]


def test_only_the_owner_or_the_operator_may_declare_and_others_get_the_unknown_answer(
    platform: Platform, acme: Tenant, misrouted: dict[str, Any]
) -> None:
    codes = misrouted["codes"]
    south = Tenant(0, "south", misrouted["south"]["api_key"])
    # The south warehouse may record shipping of the brand's goods, but the event is the
    # brand's: its declaration gets exactly what a declaration of an unused eventID gets.
    rival = capture(platform, south, doc(_declared(misrouted["wrong"])))
    unknown_event = {
        **misrouted["wrong"],
        "eventID": "urn:uuid:00000000-0000-4000-8000-0000000000ff",
        "eventTime": "2026-11-02T09:00:00+08:00",  # another event: not a repeat by its hash
    }
    unknown = capture(platform, south, doc(_declared(unknown_event)))
    assert (rival.status_code, unknown.status_code) == (202, 202)
    strip = ("captureID", "createdAt", "finishedAt")
    assert {k: v for k, v in rival.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }
    # Neither marked the brand's event: its journey is unchanged.
    assert _ids(_trace(platform, acme, codes[0])["events"])[1:] == [WRONG]
    [brand_event] = [
        e for e in query(platform, acme, EQ_eventID=WRONG) if "errorDeclaration" not in e
    ]
    assert brand_event["bizStep"] == "shipping"
    # The operator may declare any event.
    response = capture(platform, platform.operator, doc(_declared(misrouted["wrong"])))
    assert response.status_code == 202, response.text
    assert _ids(_trace(platform, acme, codes[0])["events"]) == [
        _trace(platform, acme, codes[0])["events"][0]["eventID"]
    ]


def test_declarations_in_xml_and_in_the_same_document_as_their_event(
    platform: Platform, acme: Tenant
) -> None:
    # EPCIS 1.2: the declaration rides in baseExtension, after its event in one document.
    name = "openepcis/ObjectEvent_with_baseExtension_errorDeclaration.xml"
    data = (LEGACY_DIR / name).read_bytes()
    response = capture(platform, acme, data, "application/xml")
    assert response.status_code == 202, response.text
    declared = query(platform, acme, EXISTS_errorDeclaration="")
    assert len(declared) == 1
    assert declared[0]["errorDeclaration"]["declarationTime"]
    assert len(query(platform, acme, EQ_eventID=declared[0]["eventID"])) == 1


def test_an_epcis_2_0_xml_declaration_marks_an_event_captured_in_json_ld(
    platform: Platform, acme: Tenant
) -> None:
    # GS1's example declares a TransformationEvent erroneous and names its correction.
    example = GS1 / "JSON/WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.jsonld"
    json_ld = json.loads(example.read_bytes())
    original = dict(json_ld["epcisBody"]["eventList"][0])
    del original["errorDeclaration"]
    json_ld["epcisBody"]["eventList"] = [original]
    assert capture(platform, acme, json_ld).status_code == 202
    assert query(platform, acme, EXISTS_errorDeclaration="") == []

    xml = (GS1 / "XML/WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.xml").read_bytes()
    response = capture(platform, acme, xml, "application/xml")
    assert response.status_code == 202, response.text
    [declared] = query(platform, acme, EXISTS_errorDeclaration="")
    assert declared["eventID"] == original["eventID"]
    assert declared["readPoint"] == original["readPoint"]  # the original, as captured
    assert declared["errorDeclaration"]["reason"] == "incorrect_data"  # as XML reads it
    corrective = "urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8"
    assert _ids(query(platform, acme, EQ_correctiveEventID=corrective)) == [original["eventID"]]
    assert _ids(query(platform, acme, EQ_eventID=corrective)) == [corrective]


def test_a_declared_packing_leaves_the_aggregation_state_to_its_correction(
    platform: Platform, acme: Tenant
) -> None:
    (code,) = issue(platform, acme, 1)
    item = f"urn:epc:id:sgtin:9506000.013435.{code}"
    wrong_case, right_case = (
        "urn:epc:id:sscc:9506000.0000000011",
        "urn:epc:id:sscc:9506000.0000000012",
    )
    packed = event(
        "AggregationEvent",
        "01T10:00:00",
        eventID=WRONG,
        action="ADD",
        parentID=wrong_case,
        childEPCs=[item],
        bizStep="packing",
    )
    assert capture(platform, acme, doc(packed)).status_code == 202
    assert _trace(platform, acme, code)["parent"] == to_digital_link(wrong_case)
    corrective = {**packed, "eventID": RIGHT, "parentID": right_case}
    response = capture(platform, acme, doc(_declared(packed), corrective))
    assert response.status_code == 202, response.text
    after = _trace(platform, acme, code)
    assert after["parent"] == to_digital_link(right_case)
    assert _ids(after["events"]) == [RIGHT]
