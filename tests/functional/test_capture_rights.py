"""Who may capture what: a brand writes about its own products, a distributor only moves the
goods of a brand that registered it, anyone records things no brand here owns, and a refused
document changes nothing anyone sees (the consumer's journey, custody, diversion evidence)."""

from __future__ import annotations

import pytest

from tests.conftest import PUBLIC_URL, Platform, Tenant
from tests.functional.conftest import GTIN, issue
from tests.functional.test_epcis_capture import (
    capture,
    counts,
    document,
    object_event,
    register_distributor,
)
from traceseal.orgs.models import Role

SSCC = "urn:epc:id:sscc:0614141.1234567890"


def _ship(serials: list[str], step: str = "shipping", **extra: object) -> dict:
    return object_event(serials, action="OBSERVE", bizStep=step, **extra)


def test_a_brand_records_its_own_products(platform: Platform, acme: Tenant) -> None:
    assert capture(platform, acme, document(object_event(["1"]))).status_code == 202


@pytest.mark.parametrize("step", ["shipping", "receiving", "storing", "retail_selling"])
def test_a_registered_distributor_records_moving_the_goods(
    platform: Platform, acme: Tenant, step: str
) -> None:
    distributor = register_distributor(platform, acme, "顺达物流")
    response = capture(platform, distributor, document(_ship(["1"], step)))
    assert response.status_code == 202, response.text


@pytest.mark.parametrize("step", ["commissioning", "decommissioning", "destroying", "inspecting"])
def test_a_distributor_never_makes_inspects_or_destroys_the_goods(
    platform: Platform, acme: Tenant, step: str
) -> None:
    distributor = register_distributor(platform, acme, "顺达物流")
    response = capture(platform, distributor, document(_ship(["1"], step)))
    assert response.status_code == 403
    assert response.json()["type"] == "epcisException:SecurityException"
    assert "a partner records only" in response.json()["detail"]


@pytest.mark.parametrize("role", [Role.ENTERPRISE, Role.DISTRIBUTOR])
def test_a_stranger_is_refused_naming_the_identifier(
    platform: Platform, acme: Tenant, role: Role
) -> None:
    stranger = platform.org("Rival", role)
    before = counts(platform)
    response = capture(platform, stranger, document(_ship(["7"])))
    assert response.status_code == 403
    problem = response.json()
    assert problem["eventIndex"] == 0
    # Named in its canonical (GS1 Digital Link) form, whatever form the document used.
    assert f"https://id.gs1.org/01/{GTIN}/21/7" in problem["detail"]
    assert "安盾" not in problem["detail"]  # no other organisation is named
    assert counts(platform) == before


def test_things_no_brand_owns_are_anyones_to_record(platform: Platform, acme: Tenant) -> None:
    logistics = platform.org("顺达物流", Role.DISTRIBUTOR)
    pallet = {**_ship([]), "epcList": [SSCC]}
    third_party = {**_ship([]), "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"]}
    assert capture(platform, logistics, document(pallet, third_party)).status_code == 202


def test_one_foreign_event_refuses_the_whole_document(platform: Platform, acme: Tenant) -> None:
    rival = platform.org("Rival")
    before = counts(platform)
    pallet = {**_ship([]), "epcList": [SSCC]}
    response = capture(
        platform,
        rival,
        document(pallet, pallet | {"eventTime": "2026-11-02T08:00:00Z"}, _ship(["3"])),
    )
    assert response.status_code == 403
    assert response.json()["eventIndex"] == 2
    assert counts(platform) == before


def test_a_refused_write_changes_no_journey_and_no_custody(
    platform: Platform, acme: Tenant
) -> None:
    (code,) = issue(platform, acme, 1)
    rival = platform.org("Rival")
    label = f"{PUBLIC_URL}/01/{GTIN}/21/{code}"
    forged = object_event([], action="OBSERVE", bizStep="receiving", epcList=[label])
    forged["bizLocation"] = {"id": "urn:epc:id:sgln:9506000.00003.0"}
    assert capture(platform, rival, document(forged)).status_code == 403
    answer = platform.client.post("/api/v1/verify", json={"code": code}).json()
    assert answer["journey"] == []
    trace = platform.client.get(f"/api/v1/trace/{code}", headers=acme.auth).json()
    assert trace["events"] == []


def test_the_operator_records_anything(platform: Platform, acme: Tenant) -> None:
    response = capture(platform, platform.operator, document(_ship(["9"], "commissioning")))
    assert response.status_code == 202


def test_epcis_12_documents_follow_the_same_rule(platform: Platform, acme: Tenant) -> None:
    rival = platform.org("Rival")
    xml = b"""<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" schemaVersion="1.2"
    creationDate="2026-11-01T08:00:00Z">
  <EPCISBody><EventList><ObjectEvent>
    <eventTime>2026-11-01T08:00:00Z</eventTime>
    <eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
    <epcList><epc>urn:epc:id:sgtin:9506000.013435.4</epc></epcList>
    <action>OBSERVE</action>
    <bizStep>urn:epcglobal:cbv:bizstep:receiving</bizStep>
  </ObjectEvent></EventList></EPCISBody>
</epcis:EPCISDocument>"""
    response = capture(platform, rival, xml, "application/xml")
    assert response.status_code == 403
    assert capture(platform, acme, xml, "application/xml").status_code == 202
