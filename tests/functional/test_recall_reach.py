"""Recall reach on the simulated month: every holder of a recalled lot, and of the whole
product, with quantities, checked against an independent walk of the captured events read
back through the EPCIS query interface."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Platform, Tenant
from traceseal.db import unit_of_work
from traceseal.epcis.gs1keys import check_digit
from traceseal.logistics.models import Distributor
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.service import issue_api_key
from traceseal.simulation import DISTRIBUTORS, GTIN, simulate

DL = "https://id.gs1.org"


def gln(location: int) -> str:
    body = f"9506000{location:05d}"
    return body + check_digit(body)


def case_sscc(number: int) -> str:
    # simulation._sscc(1, number): urn:epc:id:sscc:9506000.1{number:09d}
    body = f"19506000{number:09d}"
    return body + check_digit(body)


def key_of(platform: Platform, name: str) -> Tenant:
    with unit_of_work(platform.session_factory) as session:
        org = session.scalar(select(Organization).where(Organization.name == name))
        assert org is not None
        return Tenant(org.id, name, issue_api_key(session, org))


def all_events(platform: Platform, tenant: Tenant) -> list[dict[str, Any]]:
    """Every event the tenant may read, page after page of the EPCIS query interface."""
    events: list[dict[str, Any]] = []
    url = "/epcis/events?perPage=100"
    while url:
        response = platform.client.get(url, headers=tenant.auth)
        assert response.status_code == 200, response.text
        events += response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        link = response.headers.get("Link")
        url = link.split("<", 1)[1].split(">", 1)[0] if link else ""
    return events


def _bare(value: str) -> str:
    return value.rsplit("-", 1)[-1] if value.startswith("https://ref.gs1.org/cbv/") else value


def _gln(value: str) -> str:
    # Digital Link (.../414/{GLN}) or SGLN URN (urn:epc:id:sgln:{prefix}.{ref}.{ext}).
    if value.startswith(f"{DL}/414/"):
        return value.split("/")[4]
    prefix, reference, _ = value.removeprefix("urn:epc:id:sgln:").split(".")
    body = prefix + reference
    return body + check_digit(body)


def _epc(value: str) -> str:
    if value.startswith("urn:epc:id:sscc:"):
        prefix, reference = value.removeprefix("urn:epc:id:sscc:").split(".")
        body = reference[0] + prefix + reference[1:]
        return f"{DL}/00/{body}{check_digit(body)}"
    return value


def walk(events: list[dict[str, Any]]) -> tuple[Counter[tuple[str, str | None]], int]:
    """Independently of the platform's code: where each commissioned item is now.

    Containment from AggregationEvents (ADD), then for each item the newest shipping or
    receiving event of the item or of any container above it. Returns the quantity per
    (status, GLN) and the count of items that never moved."""
    items = [
        epc
        for e in events
        if _bare(e.get("bizStep", "")) == "commissioning"
        for epc in e["epcList"]
    ]
    parent: dict[str, str] = {}
    moves: dict[str, list[tuple[str, str, str | None]]] = {}
    for e in sorted(events, key=lambda e: e["eventTime"]):
        step = _bare(e.get("bizStep", ""))
        if e["type"] == "AggregationEvent" and e["action"] == "ADD":
            for child in e["childEPCs"]:
                parent[_epc(child)] = _epc(e["parentID"])
        elif e["type"] == "ObjectEvent" and step in ("shipping", "receiving"):
            if step == "receiving":
                where = ("held", _gln(e["bizLocation"]["id"]))
            else:
                where = ("in_transit", _gln(e["destinationList"][0]["destination"]))
            for epc in e["epcList"]:
                moves.setdefault(_epc(epc), []).append((e["eventTime"], *where))
    found: Counter[tuple[str, str | None]] = Counter()
    never = 0
    for item in items:
        chain, node = [item], item
        while node in parent:
            node = parent[node]
            chain.append(node)
        history = sorted(m for epc in chain for m in moves.get(epc, []))
        if history:
            found[(history[-1][1], history[-1][2])] += 1
        else:
            never += 1
    return found, never


@pytest.mark.slow
def test_reach_lists_every_holder_of_a_recalled_lot_and_of_the_whole_product(
    platform: Platform,
) -> None:
    month = simulate(
        platform.session_factory,
        platform.app.state.keyring,
        platform.settings,
        codes_count=400,
        diverted=0,
        cloned=0,
        seed=11,
    )
    assert month.enterprise_key is not None
    brand = Tenant(month.enterprise_id, "安盾消防科技有限公司", month.enterprise_key)
    south = key_of(platform, DISTRIBUTORS[0].name)  # holds pallet 0: cases 1-5, lot S11-W1
    south_site = gln(int(DISTRIBUTORS[0].location or "0"))
    # A shop the brand registers, which receives one case and has another on its way.
    shop_name = "深圳南山安盾消防器材店"
    response = platform.client.post(
        "/api/v1/distributors", json={"name": shop_name, "glns": [gln(500)]}, headers=brand.auth
    )
    assert response.status_code == 201, response.text
    shop = Tenant(response.json()["organization_id"], shop_name, response.json()["api_key"])

    def scan(tenant: Tenant, **body: Any) -> None:
        body = {"submission_id": str(uuid.uuid4()), **body}
        answer = platform.client.post("/api/v1/scan/submissions", json=body, headers=tenant.auth)
        assert answer.status_code == 201, answer.text

    both = [f"(00){case_sscc(1)}", f"(00){case_sscc(2)}"]
    scan(south, action="ship", location=south_site, destination=gln(500), scans=both)
    scan(shop, action="receive", location=gln(500), source=south_site, scans=both[:1])

    # The brand recalls the first week's lot.
    recall = platform.client.post(
        "/api/v1/recalls",
        json={"gtin": GTIN, "lots": ["S11-W1"], "reason": "阀门漏气", "instructions": "停止使用"},
        headers=brand.auth,
    )
    assert recall.status_code == 201, recall.text
    recall_id = recall.json()[0]["id"]
    reach = platform.client.get(f"/api/v1/recalls/{recall_id}/reach", headers=brand.auth)
    assert reach.status_code == 200, reach.text
    body = reach.json()
    got = {(h["status"], h["gln"]): h["quantity"] for h in body["holders"]}
    assert got == {
        ("held", south_site): 60,
        ("held", gln(500)): 20,
        ("in_transit", gln(500)): 20,
    }
    names = {(h["status"], h["gln"]): h["organization"] for h in body["holders"]}
    assert names[("held", gln(500))] == shop_name
    assert names[("held", south_site)] == DISTRIBUTORS[0].name
    assert body["items"] == 100
    assert body["totals"] == {"held": 80, "in_transit": 20}

    # The whole product, against the independent walk of every captured event (read as
    # the operator: the dealers' events name only cases, which the brand cannot query).
    whole = platform.client.get(f"/api/v1/reach?gtin={GTIN}", headers=brand.auth).json()
    walked, never_moved = walk(all_events(platform, platform.operator))
    reported = Counter(
        {
            (h["status"], h["gln"]): h["quantity"]
            for h in whole["holders"]
            if h["status"] != "assigned"
        }
    )
    assert reported == walked
    assert sum(walked.values()) + never_moved == whole["items"] == 400
    # What never moved in any event went to the distributor its range was assigned to.
    assigned = [h for h in whole["holders"] if h["status"] == "assigned"]
    assert [(h["organization"], h["quantity"]) for h in assigned] == [
        (DISTRIBUTORS[3].name, never_moved)
    ]
    assert never_moved == 100
    # Every distributor that got goods is a holder: three by events, one by assignment.
    holders = {h["organization"] for h in whole["holders"]}
    assert holders == {d.name for d in DISTRIBUTORS} | {shop_name}

    # CSV: the same rows, for the people who will call them.
    exported = platform.client.get(f"/api/v1/recalls/{recall_id}/reach.csv", headers=brand.auth)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert {(r["status"], r["gln"]): int(r["quantity"]) for r in rows} == got
    assert {r["organization"] for r in rows} == {shop_name, DISTRIBUTORS[0].name}

    # Lot and production-window forms agree with the recall's.
    by_lot = platform.client.get(f"/api/v1/reach?gtin={GTIN}&lot=S11-W1", headers=brand.auth)
    assert {(h["status"], h["gln"]): h["quantity"] for h in by_lot.json()["holders"]} == got
    window = platform.client.get(
        f"/api/v1/reach?gtin={GTIN}&produced_from=2026-10-01&produced_to=2026-10-01",
        headers=brand.auth,
    )
    assert {(h["status"], h["gln"]): h["quantity"] for h in window.json()["holders"]} == got

    # Who may see it: the brand and regulators; a distributor or another brand gets 404,
    # exactly as for a recall that does not exist.
    regulator = platform.org("市场监督管理局", Role.REGULATOR)
    assert (
        platform.client.get(f"/api/v1/recalls/{recall_id}/reach", headers=regulator.auth).json()[
            "holders"
        ]
        == body["holders"]
    )
    rival = platform.org("Rival Brand")
    for stranger in (rival, shop):
        denied = platform.client.get(f"/api/v1/recalls/{recall_id}/reach", headers=stranger.auth)
        missing = platform.client.get("/api/v1/recalls/999999/reach", headers=stranger.auth)
        assert denied.status_code == missing.status_code == 404
        assert denied.json()["detail"].replace(str(recall_id), "N") == missing.json()[
            "detail"
        ].replace("999999", "N")
    assert platform.client.get(f"/api/v1/reach?gtin={GTIN}", headers=rival.auth).status_code == 404

    # The recall's page, in both languages; the reach section asks for a key.
    page = platform.client.get(f"/recalls/{recall_id}?lang=zh-CN")
    assert page.status_code == 200
    for words in ("召回通知", "阀门漏气", "召回波及范围"):
        assert words in page.text
    english = platform.client.get(f"/recalls/{recall_id}?lang=en")
    assert "Where the goods are now" in english.text
    assert platform.client.get("/recalls/999999").status_code == 404
    with unit_of_work(platform.session_factory) as session:
        assert session.scalar(select(Distributor.id).where(Distributor.id > 0)) is not None
