"""``GET /api/v1/trace/{code}``: a code's journey through the cases and pallets it was packed in."""

from __future__ import annotations

import pytest

from tests.conftest import PUBLIC_URL, Platform, Tenant
from tests.functional.conftest import GTIN, issue
from tests.functional.test_epcis_capture import CONTEXT, capture
from traceseal.orgs.models import Role

CASE = "urn:epc:id:sscc:9506000.0000000001"
PALLET = "urn:epc:id:sscc:9506000.0000000002"
CASE_LINK = "https://id.gs1.org/00/095060000000000015"
FACTORY = "urn:epc:id:sgln:9506000.00001.0"
DEPOT = "urn:epc:id:sgln:9506000.00002.0"
SHOP = "urn:epc:id:sgln:9506000.00003.0"


def event(kind: str, when: str, **fields: object) -> dict:
    return {
        "type": kind,
        "eventTime": f"2026-11-{when}+08:00",
        "eventTimeZoneOffset": "+08:00",
        **fields,
    }


def doc(*events: dict) -> dict:
    return {
        "@context": [CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-01T00:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


@pytest.fixture
def journey(platform: Platform, acme: Tenant) -> tuple[list[str], Tenant]:
    codes = issue(platform, acme, 3)
    # The label's own link (any host) for one code, the SGTIN URN for the other.
    one = f"{PUBLIC_URL}/01/{GTIN}/21/{codes[0]}"
    two = f"urn:epc:id:sgtin:9506000.013435.{codes[1]}"
    produced = doc(
        event(
            "ObjectEvent",
            "01T08:00:00",
            action="ADD",
            epcList=[one, two, f"urn:epc:id:sgtin:9506000.013435.{codes[2]}"],
            bizStep="commissioning",
            disposition="active",
            bizLocation={"id": FACTORY},
        ),
        event(
            "ObjectEvent",
            "01T09:00:00",
            action="OBSERVE",
            epcList=[one, two],
            bizStep="inspecting",
            bizLocation={"id": FACTORY},
        ),
        event(
            "AggregationEvent",
            "01T10:00:00",
            action="ADD",
            parentID=CASE,
            childEPCs=[one, two],
            bizStep="packing",
            bizLocation={"id": FACTORY},
        ),
        event(
            "AggregationEvent",
            "01T11:00:00",
            action="ADD",
            parentID=PALLET,
            childEPCs=[CASE_LINK],
            bizStep="packing",
            bizLocation={"id": FACTORY},
        ),
        # Before the case was on it: not part of the codes' journey.
        event(
            "ObjectEvent", "01T10:30:00", action="OBSERVE", epcList=[PALLET], bizStep="inspecting"
        ),
        event(
            "ObjectEvent",
            "02T08:00:00",
            action="OBSERVE",
            epcList=[PALLET],
            bizStep="shipping",
            disposition="in_transit",
            destinationList=[{"type": "location", "destination": DEPOT}],
        ),
    )
    assert capture(platform, acme, produced).status_code == 202
    # The distributor's events name only the pallet and the case.
    distributor = platform.org("顺达物流", Role.DISTRIBUTOR)
    handled = doc(
        event(
            "ObjectEvent",
            "03T08:00:00",
            action="OBSERVE",
            epcList=[PALLET],
            bizStep="receiving",
            disposition="in_progress",
            bizLocation={"id": DEPOT},
        ),
        event(
            "AggregationEvent",
            "03T09:00:00",
            action="DELETE",
            parentID=PALLET,
            bizStep="unpacking",
            bizLocation={"id": DEPOT},
        ),
        # After the unpacking: the pallet goes on without the case.
        event(
            "ObjectEvent",
            "03T10:00:00",
            action="OBSERVE",
            epcList=[PALLET],
            bizStep="shipping",
            destinationList=[{"type": "location", "destination": FACTORY}],
        ),
        event(
            "ObjectEvent",
            "04T08:00:00",
            action="OBSERVE",
            epcList=[CASE],
            bizStep="shipping",
            disposition="in_transit",
            destinationList=[{"type": "location", "destination": SHOP}],
        ),
        event(
            "ObjectEvent",
            "05T08:00:00",
            action="OBSERVE",
            epcList=[CASE],
            bizStep="receiving",
            disposition="in_progress",
            bizLocation={"id": SHOP},
        ),
    )
    assert capture(platform, distributor, handled).status_code == 202
    return codes, acme


def test_the_timeline_follows_the_case_and_the_pallet_while_the_code_was_in_them(
    platform: Platform, journey: tuple[list[str], Tenant]
) -> None:
    codes, acme = journey
    for code in codes[:2]:  # one was captured as a Digital Link, the other as a URN
        response = platform.client.get(f"/api/v1/trace/{code}", headers=acme.auth)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["epc"] == f"https://id.gs1.org/01/{GTIN}/21/{code}"
        assert [(e["bizStep"], e["via"]) for e in body["events"]] == [
            ("commissioning", None),
            ("inspecting", None),
            ("packing", None),
            ("packing", CASE_LINK),
            ("shipping", "https://id.gs1.org/00/095060000000000022"),
            ("receiving", "https://id.gs1.org/00/095060000000000022"),
            ("unpacking", "https://id.gs1.org/00/095060000000000022"),
            ("shipping", CASE_LINK),
            ("receiving", CASE_LINK),
        ]
        assert body["parent"] == CASE_LINK
        assert body["children"] == []
        assert body["bizLocation"] == "https://id.gs1.org/414/9506000000039"
        assert body["disposition"] == "in_progress"
        assert all(isinstance(e["leafIndex"], int) for e in body["events"])
    lone = platform.client.get(f"/api/v1/trace/{codes[2]}", headers=acme.auth).json()
    assert [e["bizStep"] for e in lone["events"]] == ["commissioning"]
    assert lone["parent"] is None


def test_traces_are_for_the_brand_owner_the_operator_and_regulators(
    platform: Platform, journey: tuple[list[str], Tenant]
) -> None:
    codes, _ = journey
    stranger = platform.org("Another brand")
    regulator = platform.org("市场监管局", Role.REGULATOR)
    assert (
        platform.client.get(f"/api/v1/trace/{codes[0]}", headers=stranger.auth).status_code == 404
    )
    assert (
        platform.client.get(f"/api/v1/trace/{codes[0]}", headers=regulator.auth).status_code == 200
    )
    assert (
        platform.client.get(f"/api/v1/trace/{codes[0]}", headers=platform.operator.auth).status_code
        == 200
    )
    assert platform.client.get(f"/api/v1/trace/{codes[0]}").status_code == 401
    assert platform.client.get("/api/v1/trace/12345", headers=regulator.auth).status_code == 422


def test_the_verification_answer_and_page_tell_the_journey_in_the_consumers_language(
    platform: Platform, journey: tuple[list[str], Tenant]
) -> None:
    codes, brand = journey
    # The first warehouse is a registered distributor's; the second is named nowhere here.
    registered = platform.client.post(
        "/api/v1/distributors",
        json={"name": "华东安盾经销有限公司", "glns": ["9506000000022"], "territory": ["310000"]},
        headers=brand.auth,
    )
    assert registered.status_code == 201, registered.text
    answer = platform.client.post("/api/v1/verify", json={"code": codes[0]}, params={"lang": "en"})
    assert answer.status_code == 200, answer.text
    steps = answer.json()["journey"]
    assert [s["step"] for s in steps] == [
        "commissioning",
        "inspecting",
        "packing",
        "shipping",
        "receiving",
        "shipping",
        "receiving",
    ]
    # Places by the name registered for them; a bare GLN is never shown to a consumer.
    assert steps[3]["text"] == "Shipped to 华东安盾经销有限公司"
    assert steps[4]["text"] == "Received at 华东安盾经销有限公司"
    assert steps[-1]["text"] == "Received"
    chinese = platform.client.post(
        "/api/v1/verify", json={"code": codes[0]}, params={"lang": "zh-CN"}
    )
    assert chinese.json()["journey"][3]["text"] == "发货 至 华东安盾经销有限公司"
    page = platform.client.get(f"/01/{GTIN}/21/{codes[0]}", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    assert 'id="journey"' in page.text
    assert "收货 于 华东安盾经销有限公司" in page.text
    assert "9506000000039" not in page.text
