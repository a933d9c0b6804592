"""Anything a caller may not see answers exactly as if it did not exist: other tenants'
organisation names and roles, eventIDs and events never change an answer."""

from __future__ import annotations

import copy
from typing import Any

from httpx2 import Response

from tests.conftest import Platform, Tenant
from tests.functional.conftest import GTIN, issue
from tests.functional.test_epcis_capture import capture, document, query, register_distributor
from traceseal.orgs.models import Role

SSCC = "urn:epc:id:sscc:9506000.{:010d}"
#: Members of a capture answer that belong to the request, not to what is stored.
_PER_REQUEST = ("captureID", "createdAt", "finishedAt")


def shipping(serial: int, **extra: Any) -> dict[str, Any]:
    """A case (no registered product: anyone may record it) shipped."""
    return {
        "type": "ObjectEvent",
        "eventTime": "2026-11-02T08:00:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": [SSCC.format(serial)],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        **extra,
    }


def answer(response: Response) -> tuple[int, str, dict[str, Any]]:
    """What a capture tells its caller, less what is specific to the request."""
    body = response.json()
    for member in _PER_REQUEST:
        body.pop(member, None)
    return response.status_code, response.headers["content-type"], body


def register(platform: Platform, brand: Tenant, name: str, **body: Any) -> Response:
    return platform.client.post(
        "/api/v1/distributors", json={"name": name, **body}, headers=brand.auth
    )


def test_a_distributor_name_held_by_another_role_is_refused_alike_whoever_holds_it(
    platform: Platform, acme: Tenant
) -> None:
    holders = [
        platform.org("对手消防器材有限公司", Role.ENTERPRISE),
        platform.org("消防产品检测中心", Role.LAB),
        platform.org("某市市场监督管理局", Role.REGULATOR),
        platform.operator,
    ]
    seen = set()
    for holder in holders:
        response = register(platform, acme, holder.name, territory=["440000"])
        assert response.status_code == 409, response.text
        detail = response.json()["detail"]
        for role in Role:
            assert role.value not in detail.replace("distributor", "")
        seen.add((response.headers["content-type"], response.text.replace(holder.name, "<name>")))
    assert len(seen) == 1, seen
    listing = platform.client.get("/api/v1/distributors", headers=acme.auth).json()
    assert listing == []


def test_a_distributor_of_another_brand_is_linked_showing_nothing_of_that_brand(
    platform: Platform, acme: Tenant
) -> None:
    rival = platform.org("对手消防器材有限公司")
    theirs = register(platform, rival, "顺达物流", glns=["9506000000022"], territory=["440000"])
    assert theirs.status_code == 201
    linked = register(platform, acme, "顺达物流")
    assert linked.status_code == 201, linked.text
    mine = linked.json()
    assert mine["api_key"] is None  # the distributor keeps its own keys
    assert mine["organization_id"] == theirs.json()["organization_id"]
    assert (mine["glns"], mine["territory"], mine["assignments"]) == ([], [], [])
    rivals = platform.client.get("/api/v1/distributors", headers=rival.auth).json()
    assert [d["id"] for d in rivals] == [theirs.json()["id"]]


def test_capture_answers_alike_whether_or_not_another_tenant_holds_the_event(
    platform: Platform, acme: Tenant
) -> None:
    rival = platform.org("对手消防器材有限公司")
    known = shipping(1)
    assert capture(platform, acme, document(known)).status_code == 202
    # The very same event (same CBV hash) against one nobody captured.
    repeated = capture(platform, rival, document(copy.deepcopy(known)))
    fresh = capture(platform, rival, document(shipping(2)))
    assert answer(repeated) == answer(fresh)
    assert repeated.json()["duplicateCount"] == 0
    # The rival's capture is its own record, which it reads back; the brand still has one.
    hash_id = query(platform, acme)[0]["eventID"]
    assert len(query(platform, rival, EQ_eventID=hash_id)) == 1
    assert len(query(platform, acme, EQ_eventID=hash_id)) == 1


def test_capture_answers_alike_whether_or_not_another_tenant_used_the_event_id(
    platform: Platform, acme: Tenant
) -> None:
    rival = platform.org("对手消防器材有限公司")
    used = "urn:uuid:6f1c2a9e-0b7d-4e59-9a1e-3c2b8d4f5a61"
    unused = "urn:uuid:0c9e8d7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f"
    assert capture(platform, acme, document(shipping(1, eventID=used))).status_code == 202
    # The same eventID for a different event, against an eventID nobody used.
    clash = capture(platform, rival, document(shipping(7, eventID=used)))
    fresh = capture(platform, rival, document(shipping(8, eventID=unused)))
    assert answer(clash) == answer(fresh)
    assert clash.status_code == 202, clash.text
    # Its own eventIDs still clash with its own events.
    again = capture(platform, rival, document(shipping(9, eventID=used)))
    assert again.status_code == 400
    assert "already used" in again.json()["detail"]


def test_one_event_captured_by_a_brand_and_its_distributor_is_one_step_of_the_journey(
    platform: Platform, acme: Tenant
) -> None:
    code = issue(platform, acme, 1)[0]
    distributor = register_distributor(platform, acme, "顺达物流")
    shipped = shipping(1, epcList=[f"https://id.gs1.org/01/{GTIN}/21/{code}"])
    for tenant in (acme, distributor):
        response = capture(platform, tenant, document(copy.deepcopy(shipped)))
        assert response.json()["duplicateCount"] == 0
    trace = platform.client.get(f"/api/v1/trace/{code}", headers=acme.auth).json()
    assert [e["bizStep"] for e in trace["events"]] == ["shipping"]
