"""Distributors, territories and diversion alerts, over HTTP on both engines."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import Platform, Tenant, add_batch, add_product
from tests.functional.conftest import GTIN, LOT, issue
from tests.functional.test_epcis_capture import capture
from tests.functional.test_trace import doc, event
from traceseal.orgs.models import Role

CASE = "urn:epc:id:sscc:9506000.0000000001"
PALLET = "urn:epc:id:sscc:9506000.0000000002"
FACTORY = "urn:epc:id:sgln:9506000.00001.0"
DEPOT = "urn:epc:id:sgln:9506000.00002.0"  # the south China distributor's warehouse
DEPOT_GLN = "9506000000022"
EAST_GLN = "9506000000046"


def register(platform: Platform, tenant: Tenant, name: str, glns: list[str], territory: list[str]):
    response = platform.client.post(
        "/api/v1/distributors",
        json={"name": name, "glns": glns, "territory": territory},
        headers=tenant.auth,
    )
    assert response.status_code == 201, response.text
    return response.json()


def scan(platform: Platform, code: str, region: str, *, device: str, key: str | None = None):
    platform.client.cookies.set("ts_device", device)
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    response = platform.client.post(
        "/api/v1/verify", json={"code": code, "region": region}, headers=headers
    )
    platform.client.cookies.clear()
    assert response.status_code == 200, response.text
    return response.json()


def alerts(platform: Platform, tenant: Tenant, **params: str) -> list[dict]:
    response = platform.client.get("/api/v1/alerts", params=params, headers=tenant.auth)
    assert response.status_code == 200, response.text
    return response.json()


def test_distributors_are_registered_with_glns_and_a_named_territory(
    platform: Platform, acme: Tenant
) -> None:
    south = register(platform, acme, "华南经销有限公司", [DEPOT_GLN], ["440000", "450100"])

    assert south["glns"] == [DEPOT_GLN]
    assert [(r["code"], r["name_en"]) for r in south["territory"]] == [
        ("440000", "Guangdong 440000"),
        ("450100", "Guangxi 450100"),
    ]
    assert south["territory"][1]["name"] == "广西壮族自治区南宁市 450100"
    assert south["api_key"].startswith("ts_")  # the new distributor organisation's key
    listing = platform.client.get("/api/v1/distributors", headers=acme.auth).json()
    assert [d["name"] for d in listing] == ["华南经销有限公司"]
    # Bad input is refused whole: a GLN failing its check digit, a region not in GB/T 2260.
    for body, field in (
        ({"name": "X", "glns": ["9506000000023"]}, "check digit"),
        ({"name": "X", "territory": ["449900"]}, "GB/T 2260"),
    ):
        response = platform.client.post("/api/v1/distributors", json=body, headers=acme.auth)
        assert response.status_code == 422
        assert field in response.json()["detail"]
    assert len(platform.client.get("/api/v1/distributors", headers=acme.auth).json()) == 1
    # Another brand sees nothing of it; the distributor itself sees its record.
    other = platform.org("Another brand")
    assert platform.client.get("/api/v1/distributors", headers=other.auth).json() == []
    own = {"Authorization": f"Bearer {south['api_key']}"}
    assert (
        platform.client.get(f"/api/v1/distributors/{south['id']}", headers=own).status_code == 200
    )
    assert (
        platform.client.get(f"/api/v1/distributors/{south['id']}", headers=other.auth).status_code
        == 404
    )


@pytest.fixture
def shipped(platform: Platform, acme: Tenant) -> tuple[list[str], dict]:
    """Three items packed into a case, the case onto a pallet, the pallet shipped to the
    south China distributor (territory: Guangdong). No event names the items after packing."""
    south = register(platform, acme, "华南经销有限公司", [DEPOT_GLN], ["440000"])
    codes = issue(platform, acme, 4)
    items = [f"urn:epc:id:sgtin:9506000.013435.{code}" for code in codes[:3]]
    document = doc(
        event(
            "ObjectEvent",
            "01T08:00:00",
            action="ADD",
            epcList=items,
            bizStep="commissioning",
            bizLocation={"id": FACTORY},
        ),
        event(
            "AggregationEvent",
            "01T10:00:00",
            action="ADD",
            parentID=CASE,
            childEPCs=items,
            bizStep="packing",
        ),
        event(
            "AggregationEvent",
            "01T11:00:00",
            action="ADD",
            parentID=PALLET,
            childEPCs=[CASE],
            bizStep="packing",
        ),
        event(
            "ObjectEvent",
            "02T08:00:00",
            action="OBSERVE",
            epcList=[PALLET],
            bizStep="shipping",
            destinationList=[{"type": "location", "destination": DEPOT}],
        ),
    )
    assert capture(platform, acme, document).status_code == 202
    return codes, south


def test_a_scan_outside_the_territory_of_the_distributor_a_pallet_was_shipped_to_is_diversion(
    platform: Platform, acme: Tenant, shipped: tuple[list[str], dict]
) -> None:
    codes, south = shipped
    retailer_key = south["api_key"]

    # Inside the territory: a district of a city of the province (the province covers it).
    inside = scan(platform, codes[0], "440305", device="d" * 20, key=retailer_key)
    assert inside["verdict"] == "genuine"
    assert alerts(platform, acme) == []

    # A shop in Beijing scans the second item (authenticated: one trade scan is enough).
    away = scan(platform, codes[1], "110105", device="e" * 20, key=retailer_key)
    assert away["verdict"] == "genuine"  # diverted goods are genuine; the brand is told
    [alert] = alerts(platform, acme)
    assert alert["kind"] == "diversion"
    assert alert["severity"] == "critical"
    assert alert["code"] == codes[1]
    assert alert["region"] == "110105"
    assert alert["distributor_id"] == south["id"]
    details = alert["details"]
    assert details["distributor"] == "华南经销有限公司"
    assert details["lot"] == LOT
    assert details["expected_regions"] == ["440000"]
    assert details["actual_region"] == "110105"
    assert details["actual_name"] == "北京市朝阳区 110105"
    assert details["custody_source"] == "epcis"
    assert "华南经销有限公司" in alert["summary"]
    assert codes[1] in alert["summary"]

    # The distributor named sees it too; the brand's other distributors would not.
    assert [a["id"] for a in alerts(platform, Tenant(0, "south", retailer_key))] == [alert["id"]]
    # ...and may not close an alert about itself.
    own_ack = platform.client.post(
        f"/api/v1/alerts/{alert['id']}/acknowledge",
        headers={"Authorization": f"Bearer {retailer_key}"},
    )
    assert own_ack.status_code == 403
    assert alerts(platform, acme, kind="diversion")[0]["acknowledged_at"] is None

    # Once per code: more scans of it add no alert.
    scan(platform, codes[1], "110105", device="f" * 20, key=retailer_key)
    assert len(alerts(platform, acme, kind="diversion")) == 1
    # The fourth code was never shipped: no territory, so no scan of it is a diversion.
    scan(platform, codes[3], "110105", device="g" * 20, key=retailer_key)
    assert len(alerts(platform, acme, kind="diversion")) == 1


def test_consumer_scans_weigh_half_and_count_each_device_once(
    platform: Platform, acme: Tenant, shipped: tuple[list[str], dict]
) -> None:
    codes, _ = shipped
    scan(platform, codes[2], "310101", device="a" * 20)
    # The same consumer again (past the reload window or not): still one device's evidence.
    scan(platform, codes[2], "310104", device="a" * 20)
    assert alerts(platform, acme, kind="diversion") == []
    scan(platform, codes[2], "310104", device="b" * 20)
    [alert] = alerts(platform, acme, kind="diversion")
    assert alert["severity"] == "warning"
    assert alert["details"]["trade_scan"] is False


def test_ranges_and_batches_assigned_without_events_set_the_territory(
    platform: Platform, acme: Tenant
) -> None:
    east = register(platform, acme, "华东经销有限公司", [EAST_GLN], ["310000", "320500"])
    north = register(platform, acme, "华北经销有限公司", [], ["110000"])
    run = platform.client.post(
        "/api/v1/code-runs", json={"product": GTIN, "count": 6}, headers=acme.auth
    ).json()["run"]
    platform.client.post(f"/api/v1/code-runs/{run}/activate", json={"lot": LOT}, headers=acme.auth)
    listing = platform.client.get(f"/api/v1/code-runs/{run}/codes.csv", headers=acme.auth)
    codes = [row["code"] for row in csv.DictReader(io.StringIO(listing.text))]
    # The whole lot to the north, then positions 1-3 of the run to the east: newest wins
    # for those, and a range is more specific than a batch anyway.
    response = platform.client.post(
        f"/api/v1/distributors/{north['id']}/assignments",
        json={"gtin": GTIN, "lot": LOT},
        headers=acme.auth,
    )
    assert response.status_code == 201, response.text
    response = platform.client.post(
        f"/api/v1/distributors/{east['id']}/assignments",
        json={"run": run, "range": "1-3"},
        headers=acme.auth,
    )
    assert response.status_code == 201, response.text
    key = east["api_key"]

    scan(platform, codes[0], "320505", device="a" * 20, key=key)  # Suzhou: in 320500
    scan(platform, codes[1], "310115", device="b" * 20, key=key)  # Shanghai: in 310000
    scan(platform, codes[4], "110108", device="c" * 20, key=key)  # Beijing: the lot's north
    assert alerts(platform, acme) == []

    scan(platform, codes[2], "320105", device="d" * 20, key=key)  # Nanjing: not 320500
    scan(platform, codes[5], "440305", device="e" * 20, key=key)  # Shenzhen: not north
    found = {a["code"]: a for a in alerts(platform, acme, kind="diversion")}
    assert set(found) == {codes[2], codes[5]}
    assert found[codes[2]]["details"]["custody_source"] == "range"
    assert found[codes[2]]["distributor_id"] == east["id"]
    assert found[codes[5]]["details"]["custody_source"] == "batch"
    assert found[codes[5]]["distributor_id"] == north["id"]

    summary = platform.client.get("/api/v1/alerts/summary", headers=acme.auth).json()
    assert {(r["region"], r["count"]) for r in summary["by_region"]} == {
        ("320105", 1),
        ("440305", 1),
    }
    assert {(r["region"], r["count"]) for r in summary["by_province"]} == {
        ("320000", 1),
        ("440000", 1),
    }
    assert {(d["name"], d["count"], d["open"]) for d in summary["by_distributor"]} == {
        ("华东经销有限公司", 1, 1),
        ("华北经销有限公司", 1, 1),
    }


def test_territories_are_replaced_and_others_cannot_change_them(
    platform: Platform, acme: Tenant
) -> None:
    south = register(platform, acme, "华南经销有限公司", [DEPOT_GLN], ["440000"])
    response = platform.client.put(
        f"/api/v1/distributors/{south['id']}/territory",
        json={"regions": ["440300", "440100"]},
        headers=acme.auth,
    )
    assert response.status_code == 200, response.text
    assert [r["code"] for r in response.json()["territory"]] == ["440100", "440300"]
    own = {"Authorization": f"Bearer {south['api_key']}"}
    response = platform.client.put(
        f"/api/v1/distributors/{south['id']}/territory", json={"regions": []}, headers=own
    )
    assert response.status_code == 404
    regions = platform.client.get("/api/v1/regions", params={"parent": "440000"}).json()
    assert {
        "code": "440300",
        "name": "广东省深圳市 440300",
        "name_en": "Guangdong 440300",
    } in regions


def test_a_scan_placed_by_coordinates_is_recorded_with_its_source_and_precision(
    platform: Platform, acme: Tenant
) -> None:
    code = issue(platform, acme, 1)[0]
    response = platform.client.post(
        "/api/v1/verify", json={"code": code, "lat": 22.54, "lon": 113.93}
    ).json()
    assert response["first_scan"]["region"] == "440305"
    with platform.app.state.engine.connect() as connection:
        row = connection.execute(
            text("SELECT region, region_source, region_precision FROM scans")
        ).one()
    assert tuple(row) == ("440305", "coordinates", "district-centroid")


def test_roles_other_than_brand_owners_cannot_register_distributors(platform: Platform) -> None:
    regulator = platform.org("市场监管局", Role.REGULATOR)
    response = platform.client.post(
        "/api/v1/distributors", json={"name": "X"}, headers=regulator.auth
    )
    assert response.status_code == 403


def test_a_scan_is_placed_by_the_client_address_table_when_it_says_nothing_else(
    migrated, tmp_path
) -> None:
    table = tmp_path / "ip-regions.csv"
    table.write_text("203.0.113.0/24,110000\n198.51.100.0/24,440300\n")
    platform = Platform(migrated.replace(ip_regions_file=table))
    try:
        platform.client = TestClient(
            platform.app, raise_server_exceptions=False, client=("203.0.113.7", 40000)
        )
        acme = platform.org("安盾消防科技有限公司")
        add_product(platform, acme, GTIN)
        add_batch(platform, acme, GTIN, LOT)
        south = register(platform, acme, "华南经销有限公司", [], ["440000"])
        platform.client.post(
            f"/api/v1/distributors/{south['id']}/assignments",
            json={"gtin": GTIN, "lot": LOT},
            headers=acme.auth,
        )
        code = issue(platform, acme, 1)[0]
        answer = scan(platform, code, "", device="a" * 20, key=south["api_key"])
        # A trade check is not the buyer's first query: the code has no consumer history yet.
        assert answer["first_scan"] is None
        [alert] = alerts(platform, acme, kind="diversion")
        assert alert["region"] == "110000"
        with platform.app.state.engine.connect() as connection:
            row = connection.execute(
                text("SELECT region, region_source, region_precision FROM scans")
            ).one()
        assert tuple(row) == ("110000", "ip", "province")
    finally:
        platform.close()


def test_a_rivals_key_is_no_trade_evidence(
    platform: Platform, acme: Tenant, shipped: tuple[list[str], dict]
) -> None:
    codes, _ = shipped
    rival = register(platform, platform.org("Rival brand"), "竞品经销商", [], ["110000"])
    # The rival's distributor "checks" the brand's goods in Beijing, outside their territory.
    checked = scan(platform, codes[1], "110105", device="e" * 20, key=rival["api_key"])
    assert checked["verdict"] == "genuine"
    # No diversion alert: an open critical one would make the code suspicious for buyers.
    assert alerts(platform, acme, kind="diversion") == []
    buyer = scan(platform, codes[1], "440305", device="f" * 20)
    assert (buyer["verdict"], buyer["scan_count"]) == ("genuine", 1)


def trade_checks(platform: Platform, key: str, **params: str) -> list[dict]:
    response = platform.client.get(
        "/api/v1/trade-checks", params=params, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_brand_sees_who_checked_its_codes_and_a_checker_what_it_checked(
    platform: Platform, acme: Tenant, shipped: tuple[list[str], dict]
) -> None:
    codes, south = shipped
    other = platform.org("Other brand")
    rival = register(platform, other, "别家经销商", [], ["110000"])
    scan(platform, codes[0], "440305", device="a" * 20, key=south["api_key"])
    scan(platform, codes[1], "110105", device="b" * 20, key=rival["api_key"])
    scan(platform, codes[2], "440305", device="c" * 20)  # a buyer: no trade check

    brand = trade_checks(platform, acme.key)
    assert [(c["code"], c["checker"], c["partner"]) for c in brand] == [
        (codes[1], None, False),  # an outsider's check: listed, its name not the brand's
        (codes[0], south["name"], True),
    ]
    assert brand[1]["region"] == "440305"
    assert brand[1]["verdict"] == "genuine"
    assert trade_checks(platform, acme.key, code=codes[0]) == [brand[1]]
    assert trade_checks(platform, acme.key, after_id=str(brand[0]["id"])) == [brand[1]]
    # Each checker sees its own checks; a brand whose codes were not checked sees none.
    assert [c["code"] for c in trade_checks(platform, south["api_key"])] == [codes[0]]
    assert [c["checker"] for c in trade_checks(platform, rival["api_key"])] == ["别家经销商"]
    assert trade_checks(platform, other.key) == []
    # The operator oversees every check, and names every checker.
    everything = trade_checks(platform, platform.operator.key)
    assert [c["checker"] for c in everything] == ["别家经销商", south["name"]]
    # Anonymous callers are refused.
    assert platform.client.get("/api/v1/trade-checks").status_code == 401
