"""The brand's distributors, shipments, API keys and webhook pages, and the distributor's
console, over HTTP through the app on both engines: tenancy (another brand's distributor
is 404 exactly as a missing one; a distributor sees only what concerns it), secrets shown
once, a revoked key refused by the API, and every write in the audit log."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Platform, Tenant
from tests.functional.conftest import issue
from tests.functional.partners_helpers import alert_about, audit_entries, gln, receive, ship
from tests.functional.people_helpers import Browser, add_person
from traceseal.db import unit_of_work
from traceseal.logistics.service import register_distributor
from traceseal.orgs.models import Organization, Role

SOUTH = "华南安盾经销有限公司"


@pytest.fixture
def acme_admin(platform: Platform, acme: Tenant) -> Browser:
    add_person(platform, acme.id, "admin@acme.cn", "admin")
    browser = Browser(platform)
    assert browser.sign_in("admin@acme.cn").status_code == 303
    return browser


def _register(browser: Browser, **fields: str | list[str]) -> object:
    form = {"name": SOUTH, "glns": gln(2), "province": ["440000"], "places": "南宁市"} | fields
    token = browser.csrf("/console/distributors/new")
    return browser.client.post("/console/distributors/new", data={"csrf": token, **form})


def _distributor_id(platform: Platform, brand: Tenant) -> int:
    listing = platform.client.get("/api/v1/distributors", headers=brand.auth).json()
    return int(listing[0]["id"])


def test_a_brand_registers_a_distributor_with_a_territory_chosen_by_name(
    platform: Platform, acme: Tenant, acme_admin: Browser
) -> None:
    empty = acme_admin.get("/console/distributors")
    assert 'id="empty"' in empty.text

    # Names it cannot place are told beside the field, in the page's language; nothing kept.
    unknown = _register(acme_admin, places="亚特兰蒂斯")
    assert unknown.status_code == 422
    assert "找不到名为“亚特兰蒂斯”的地区" in unknown.text
    several = _register(acme_admin, places="朝阳区")
    assert several.status_code == 422
    assert "北京市朝阳区 110105" in several.text
    assert "吉林省长春市朝阳区 220104" in several.text
    bad_site = _register(acme_admin, glns="9506000000023")
    assert bad_site.status_code == 422
    assert "校验位不正确" in bad_site.text
    assert platform.client.get("/api/v1/distributors", headers=acme.auth).json() == []

    made = _register(acme_admin)
    assert made.status_code == 200
    # A new organisation: its first API key, shown on this answer only, and it works.
    key = re.search(r'id="distributor-key">(ts_[^<]+)<', made.text)
    assert key is not None
    own = {"Authorization": f"Bearer {key.group(1)}"}
    assert platform.client.get("/api/v1/orgs/me", headers=own).json()["name"] == SOUTH

    [record] = platform.client.get("/api/v1/distributors", headers=acme.auth).json()
    assert [r["code"] for r in record["territory"]] == ["440000", "450100"]
    assert record["glns"] == [gln(2)]
    detail = acme_admin.get(f"/console/distributors/{record['id']}")
    assert "广东省 440000" in detail.text
    assert "广西壮族自治区南宁市 450100" in detail.text
    assert key.group(1) not in detail.text
    english = acme_admin.get(f"/console/distributors/{record['id']}?lang=en")
    assert "Guangdong 440000" in english.text

    [entry] = audit_entries(platform, "distributor.register")
    assert entry.organization_id == acme.id
    assert entry.details["territory"] == ["440000", "450100"]
    assert key.group(1) not in str(entry.details)

    # Registered twice: told by name, not by an internal number.
    acme_admin.get("/console/distributors?lang=zh-CN")
    again = _register(acme_admin)
    assert again.status_code == 422
    assert f"{SOUTH} 已是本企业的经销商" in again.text


def test_the_territory_and_sites_are_changed_and_audited(
    platform: Platform, acme: Tenant, acme_admin: Browser
) -> None:
    _register(acme_admin)
    distributor_id = _distributor_id(platform, acme)
    path = f"/console/distributors/{distributor_id}"

    # An empty form does not silently clear the territory.
    blank = acme_admin.post(f"{path}/territory", {"places": ""}, page=path)
    assert blank.status_code == 422
    changed = acme_admin.post(
        f"{path}/territory", {"province": "310000", "places": "深圳市南山区\n杭州"}, page=path
    )
    assert changed.status_code == 303
    assert changed.headers["location"] == f"{path}?done=territory"
    record = platform.client.get(f"/api/v1/distributors/{distributor_id}", headers=acme.auth)
    assert [r["code"] for r in record.json()["territory"]] == ["310000", "330100", "440305"]
    cleared = acme_admin.post(f"{path}/territory", {"confirm": "empty"}, page=path)
    assert cleared.status_code == 303

    sites = acme_admin.post(f"{path}/locations", {"glns": f"{gln(3)}\n{gln(4)}"}, page=path)
    assert sites.status_code == 303
    record = platform.client.get(f"/api/v1/distributors/{distributor_id}", headers=acme.auth)
    assert record.json()["glns"] == [gln(3), gln(4)]
    assert record.json()["territory"] == []
    assert [e.details["territory"] for e in audit_entries(platform, "distributor.territory")] == [
        ["310000", "440305", "330100"],
        [],
    ]
    assert audit_entries(platform, "distributor.locations")[0].details == {"glns": [gln(3), gln(4)]}


def test_another_brand_meets_404_exactly_as_for_a_missing_distributor(
    platform: Platform, acme: Tenant, acme_admin: Browser
) -> None:
    _register(acme_admin)
    distributor_id = _distributor_id(platform, acme)
    beta = platform.org("Beta")
    add_person(platform, beta.id, "admin@beta.cn", "admin")
    other = Browser(platform)
    other.sign_in("admin@beta.cn")

    theirs = other.get(f"/console/distributors/{distributor_id}")
    missing = other.get("/console/distributors/999999")
    assert theirs.status_code == missing.status_code == 404
    # The same page, but for the path in its language switch.
    assert theirs.text.replace(f"/{distributor_id}?", "/999999?") == missing.text
    for action, data in (("territory", {"province": "110000"}), ("locations", {"glns": ""})):
        answer = other.post(
            f"/console/distributors/{distributor_id}/{action}", data, page="/console"
        )
        assert answer.status_code == 404
    shipments = other.get(f"/console/shipments?distributor={distributor_id}")
    assert shipments.status_code == 404
    assert SOUTH not in other.get("/console/distributors").text
    assert SOUTH not in other.get("/console/shipments").text
    # Nothing of Acme's changed.
    record = platform.client.get(f"/api/v1/distributors/{distributor_id}", headers=acme.auth)
    assert [r["code"] for r in record.json()["territory"]] == ["440000", "450100"]
    assert record.json()["glns"] == [gln(2)]


def test_shipments_list_the_goods_sent_to_distributors(
    platform: Platform, acme: Tenant, acme_admin: Browser
) -> None:
    codes = issue(platform, acme, 3)
    _register(acme_admin)
    _register(acme_admin, name="华东安盾经销有限公司", glns=gln(5), places="上海市")
    ship(platform, acme, codes[:2], gln(2))
    ship(platform, acme, codes[2:], gln(5))
    south, east = sorted(
        platform.client.get("/api/v1/distributors", headers=acme.auth).json(),
        key=lambda d: d["id"],
    )

    listing = acme_admin.get("/console/shipments")
    assert listing.text.count("<tr>") == 1 + 2
    assert SOUTH in listing.text
    assert "2 件" in listing.text
    assert "Extinguisher 4kg" in listing.text
    only_south = acme_admin.get(f"/console/shipments?distributor={south['id']}")
    assert only_south.text.count("<tr>") == 1 + 1
    assert "华东安盾经销有限公司</td>" not in only_south.text
    detail = acme_admin.get(f"/console/distributors/{east['id']}")
    assert "1 件" in detail.text
    received = acme_admin.get("/console/shipments?step=receiving")
    assert 'id="empty"' in received.text


@pytest.fixture
def south(platform: Platform, acme: Tenant) -> Tenant:
    """Acme's distributor in south China, with its admin able to sign in."""
    answer = platform.client.post(
        "/api/v1/distributors",
        json={"name": SOUTH, "glns": [gln(2)], "territory": ["440000"]},
        headers=acme.auth,
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    add_person(platform, body["organization_id"], "admin@south.cn", "admin")
    return Tenant(body["organization_id"], SOUTH, body["api_key"])


def test_a_distributor_sees_its_goods_territory_and_alerts_and_nothing_else(
    platform: Platform, acme: Tenant, south: Tenant
) -> None:
    codes = issue(platform, acme, 4)
    east = platform.client.post(
        "/api/v1/distributors",
        json={"name": "华东安盾经销有限公司", "glns": [gln(5)], "territory": ["310000"]},
        headers=acme.auth,
    ).json()
    receive(platform, south.key, codes[:2], gln(2))
    receive(platform, east["api_key"], codes[2:], gln(5))
    alert_about(platform, acme, south.id, "华南的窜货告警")
    alert_about(platform, acme, east["organization_id"], "华东的窜货告警")
    browser = Browser(platform)
    assert browser.sign_in("admin@south.cn").status_code == 303

    home = browser.get("/console")
    assert re.search(r'id="received">1<', home.text)
    assert "安盾消防科技有限公司" in home.text
    assert "广东省 440000" in home.text
    assert "华南的窜货告警" in home.text
    assert "华东的窜货告警" not in home.text

    goods = browser.get("/console/goods")
    assert goods.text.count("<tr>") == 1 + 1
    assert "2 件" in goods.text
    assert SOUTH in goods.text
    territory = browser.get("/console/territory?lang=en")
    assert "Guangdong 440000" in territory.text
    assert "Shanghai" not in territory.text
    alerts = browser.get("/console/concerning-alerts")
    assert "华南的窜货告警" in alerts.text
    assert "华东的窜货告警" not in alerts.text
    assert "<form" not in alerts.text.split("<main", 1)[1]  # read only: nothing to act on
    checks = browser.get("/console/receipt-checks")
    assert 'href="/scan"' in checks.text
    assert checks.text.count("<tr>") == 1 + 1
    assert codes[0] in checks.text
    assert codes[2] not in checks.text

    # The brand's pages are not a distributor's.
    assert browser.get("/console/distributors").status_code == 403
    assert browser.get("/console/shipments").status_code == 403


def test_api_keys_are_shown_once_and_a_revoked_key_stops_working(
    platform: Platform, acme: Tenant, acme_admin: Browser
) -> None:
    missing = acme_admin.post(
        "/console/keys/new", {"label": "", "scope": "member"}, page="/console/keys"
    )
    assert missing.status_code == 422
    assert "请填写密钥名称" in missing.text
    made = acme_admin.post(
        "/console/keys/new", {"label": "ERP 对接", "scope": "member"}, page="/console/keys"
    )
    assert made.status_code == 200
    found = re.search(r'id="new-key-secret">(ts_[^<]+)<', made.text)
    assert found is not None
    secret = found.group(1)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert platform.client.get("/api/v1/orgs/me", headers=bearer).status_code == 200

    listing = acme_admin.get("/console/keys")
    assert "ERP 对接" in listing.text
    assert secret not in listing.text
    assert secret[:9] in listing.text  # its prefix, to recognise it
    [entry] = audit_entries(platform, "api_key.create")
    assert secret not in f"{entry.target} {entry.details}"

    key_id = re.search(r'href="/console/keys/(\d+)/revoke"', listing.text)
    assert key_id is not None
    # The first link is the newest key: the one just made.
    confirm = acme_admin.get(f"/console/keys/{key_id.group(1)}/revoke")
    assert "ERP 对接" in confirm.text
    assert platform.client.get("/api/v1/orgs/me", headers=bearer).status_code == 200
    revoked = acme_admin.post(f"/console/keys/{key_id.group(1)}/revoke", page="/console/keys")
    assert revoked.status_code == 303
    assert platform.client.get("/api/v1/orgs/me", headers=bearer).status_code == 401
    assert len(audit_entries(platform, "api_key.revoke")) == 1

    # A member may not manage keys; another organisation's admin meets 404 on this key.
    add_person(platform, acme.id, "member@acme.cn")
    member = Browser(platform)
    member.sign_in("member@acme.cn")
    assert member.get("/console/keys").status_code == 403
    lab = platform.org("Lab", Role.LAB)
    add_person(platform, lab.id, "admin@lab.cn", "admin")
    lab_admin = Browser(platform)
    lab_admin.sign_in("admin@lab.cn")
    assert lab_admin.get("/console/keys").status_code == 200
    assert "ERP 对接" not in lab_admin.get("/console/keys").text
    assert lab_admin.get(f"/console/keys/{key_id.group(1)}/revoke").status_code == 404


def test_the_webhook_is_set_with_a_secret_shown_once_and_removed(
    platform: Platform, acme: Tenant, acme_admin: Browser
) -> None:
    refused = acme_admin.post(
        "/console/webhooks", {"url": "http://127.0.0.1/hook"}, page="/console/webhooks"
    )
    assert refused.status_code == 422
    assert "推送地址不可用" in refused.text
    made = acme_admin.post(
        "/console/webhooks",
        {"url": "https://hooks.example.com/traceseal"},
        page="/console/webhooks",
    )
    assert made.status_code == 200
    found = re.search(r'id="hook-secret">([^<]+)<', made.text)
    assert found is not None
    secret = found.group(1)
    assert len(secret) >= 16
    read = platform.client.get("/api/v1/alerts/webhook", headers=acme.auth).json()
    assert read["url"] == "https://hooks.example.com/traceseal"

    # An alert is queued for it: the page shows the delivery, never the secret again.
    alert_about(platform, acme, None, "测试告警")
    page = acme_admin.get("/console/webhooks")
    assert "https://hooks.example.com/traceseal" in page.text
    assert "测试告警" in page.text
    assert "等待重试" in page.text
    assert secret not in page.text
    [entry] = audit_entries(platform, "webhook.set")
    assert secret not in f"{entry.target} {entry.details}"

    removed = acme_admin.post("/console/webhooks/delete", page="/console/webhooks")
    assert removed.status_code == 303
    assert platform.client.get("/api/v1/alerts/webhook", headers=acme.auth).status_code == 404
    after = acme_admin.get("/console/webhooks?done=deleted")
    assert 'id="no-hook"' in after.text
    assert "失败" in after.text  # the waiting delivery is marked failed
    assert len(audit_entries(platform, "webhook.delete")) == 1


def test_the_distributor_list_pages_by_25_and_says_so_in_english(
    platform: Platform, acme: Tenant, acme_admin: Browser
) -> None:
    with unit_of_work(platform.session_factory) as session:
        brand = session.get(Organization, acme.id)
        assert brand is not None
        for n in range(26):
            register_distributor(session, brand, f"经销商 {n:02d}", territory=["440000"])
    first = acme_admin.get("/console/distributors")
    assert first.text.count("<tr>") - 1 == 25
    assert "经销商 25" in first.text  # newest first
    assert "经销商 00" not in first.text
    older = re.search(r'href="([^"]+)" id="older"', first.text)
    assert older is not None
    second = acme_admin.get(older.group(1).replace("&amp;", "&"))
    assert second.text.count("<tr>") - 1 == 1
    assert "经销商 00" in second.text
    assert 'id="first-page"' in second.text

    english = acme_admin.get("/console/distributors/new?lang=en")
    assert "Register a distributor" in english.text
    refused = acme_admin.post(
        "/console/distributors/new",
        {"name": "X", "places": "朝阳区"},
        page="/console/distributors/new",
    )
    assert refused.status_code == 422
    assert "朝阳区 could be several places: Beijing 110105; Jilin 220104" in refused.text
