"""The brand's supply-chain event pages over HTTP through the app, on both engines: a
shipment recorded in the console is the same EPCIS event the API captures (the consumer's
journey tells it), only the brand's own
distributors' sites are destinations (another brand's answers like an unknown one), a
refused form stores nothing, and every write is in the audit log."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import Platform, Tenant, add_batch, add_product
from tests.functional.conftest import GTIN, LOT, issue
from tests.functional.partners_helpers import audit_entries, gln
from tests.functional.people_helpers import Browser, add_person
from traceseal.db import unit_of_work
from traceseal.epcis.gs1keys import check_digit
from traceseal.registry.models import Batch

SOUTH = "华南安盾经销有限公司"
CASE = "095060001" + "00000001"
CASE += check_digit(CASE)


@pytest.fixture
def acme_admin(platform: Platform, acme: Tenant) -> Browser:
    add_person(platform, acme.id, "admin@acme.cn", "admin")
    browser = Browser(platform)
    assert browser.sign_in("admin@acme.cn").status_code == 303
    return browser


def _distributor(platform: Platform, brand: Tenant, name: str, site: str) -> dict[str, object]:
    answer = platform.client.post(
        "/api/v1/distributors",
        json={"name": name, "glns": [site], "territory": ["440000"]},
        headers=brand.auth,
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


def _post(browser: Browser, path: str, **form: str) -> object:
    token = browser.csrf(path)
    return browser.client.post(path, data={"csrf": token, **form})


def _event_count(platform: Platform, brand: Tenant) -> int:
    events = platform.client.get("/epcis/events", headers=brand.auth)
    assert events.status_code == 200, events.text
    return len(events.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"])


def _journey(platform: Platform, code: str, lang: str) -> list[str]:
    answer = platform.client.post("/api/v1/verify", json={"code": code}, params={"lang": lang})
    assert answer.status_code == 200, answer.text
    return [step["text"] for step in answer.json()["journey"]]


def test_a_brand_ships_codes_to_its_distributor_and_the_consumer_sees_it(
    platform: Platform, acme: Tenant, acme_admin: Browser
) -> None:
    codes = issue(platform, acme, 3)
    empty = acme_admin.get("/console/events/ship")
    assert 'id="empty"' in empty.text  # no distributor site yet: nowhere to ship
    _distributor(platform, acme, SOUTH, gln(2))
    form = acme_admin.get("/console/events/ship")
    assert f"{SOUTH} · GLN {gln(2)}" in form.text
    before = _event_count(platform, acme)

    shipped = _post(
        acme_admin,
        "/console/events/ship",
        to=gln(2),
        site=gln(1),
        labels="\n".join(codes[:2]) + "\n",
    )
    assert shipped.status_code == 303, shipped.text
    listing = acme_admin.get(shipped.headers["location"])
    assert 'id="done"' in listing.text
    assert "2 件" in listing.text
    assert _event_count(platform, acme) == before + 1

    assert f"发货 至 {SOUTH}" in _journey(platform, codes[0], "zh-CN")
    assert f"Shipped to {SOUTH}" in _journey(platform, codes[1], "en")
    assert not any("发货" in step for step in _journey(platform, codes[2], "zh-CN"))
    page = platform.client.get(f"/01/{GTIN}/21/{codes[0]}", headers={"Accept-Language": "zh-CN"})
    assert f"发货 至 {SOUTH}" in page.text

    [entry] = audit_entries(platform, "event.ship")
    assert entry.organization_id == acme.id
    assert SOUTH in (entry.target or "")


def test_the_distributor_sees_the_brands_shipment_to_it_and_nothing_else_of_the_brand(
    platform: Platform, acme: Tenant, acme_admin: Browser
) -> None:
    codes = issue(platform, acme, 3)
    south = _distributor(platform, acme, SOUTH, gln(2))
    _distributor(platform, acme, "华北安盾经销有限公司", gln(3))
    for to, labels in ((gln(2), codes[:2]), (gln(3), codes[2:])):
        shipped = _post(
            acme_admin, "/console/events/ship", to=to, site=gln(1), labels="\n".join(labels)
        )
        assert shipped.status_code == 303, shipped.text
    add_person(platform, int(str(south["organization_id"])), "admin@south.cn", "admin")
    clerk = Browser(platform)
    assert clerk.sign_in("admin@south.cn").status_code == 303
    goods = clerk.get("/console/goods")
    assert goods.status_code == 200
    # The shipment to its site, recorded by the brand; not the one to the other distributor.
    assert goods.text.count("<tr") - 1 == 1
    assert SOUTH in goods.text
    assert "华北安盾经销有限公司" not in goods.text
    assert SOUTH in clerk.get("/console").text  # the home page's recent goods too


def test_another_brands_distributor_is_refused_like_an_unknown_site_and_nothing_stored(
    platform: Platform, acme: Tenant, acme_admin: Browser
) -> None:
    codes = issue(platform, acme, 1)
    _distributor(platform, platform.org("Beta 品牌"), "贝塔经销", gln(7))
    _distributor(platform, acme, SOUTH, gln(2))
    before = _event_count(platform, acme)
    foreign = _post(acme_admin, "/console/events/ship", to=gln(7), site=gln(1), labels=codes[0])
    unknown = _post(acme_admin, "/console/events/ship", to=gln(8), site=gln(1), labels=codes[0])
    assert foreign.status_code == unknown.status_code == 422
    assert "请选择本企业经销商的站点" in foreign.text
    assert "贝塔经销" not in foreign.text
    assert foreign.text.count("field-error") == unknown.text.count("field-error") == 1

    # The service's own refusals, beside their fields, in the page's language.
    bad_site = _post(
        acme_admin, "/console/events/ship?lang=en", to=gln(2), site="123", labels=codes[0]
    )
    assert bad_site.status_code == 422
    assert "is not a GLN" in bad_site.text
    strange = _post(
        acme_admin, "/console/events/ship?lang=zh-CN", to=gln(2), site=gln(1), labels="not a code"
    )
    assert strange.status_code == 422
    assert 'id="labels-error"' in strange.text
    assert "不是本平台能识别的标签" in strange.text
    assert _event_count(platform, acme) == before
    assert audit_entries(platform, "event.ship") == []
    assert not any("发货" in step for step in _journey(platform, codes[0], "zh-CN"))


def test_a_brand_packs_codes_into_a_case_and_ships_the_case(
    platform: Platform, acme: Tenant, acme_admin: Browser
) -> None:
    codes = issue(platform, acme, 3)
    _distributor(platform, acme, SOUTH, gln(2))
    not_a_case = _post(acme_admin, "/console/events/pack", case=codes[2], labels=codes[0])
    assert not_a_case.status_code == 422
    assert 'id="case-error"' in not_a_case.text
    packed = _post(
        acme_admin, "/console/events/pack", case=f"(00){CASE}", labels="\n".join(codes[:2])
    )
    assert packed.status_code == 303, packed.text
    assert "已记录装箱：2 件" in acme_admin.get(packed.headers["location"]).text

    shipped = _post(acme_admin, "/console/events/ship", to=gln(2), site=gln(1), labels=CASE)
    assert shipped.status_code == 303, shipped.text
    steps = _journey(platform, codes[1], "zh-CN")
    assert "装箱" in steps
    assert f"发货 至 {SOUTH}" in steps
    events = acme_admin.get("/console/events?lang=en")
    assert "Packed" in events.text
    assert "Shipped" in events.text
    [entry] = audit_entries(platform, "event.pack")
    assert CASE in (entry.target or "")


def _batch_ids(platform: Platform) -> dict[str, int]:
    with unit_of_work(platform.session_factory) as session:
        return {lot: batch_id for batch_id, lot in session.execute(select(Batch.id, Batch.lot))}


def test_a_brand_ships_a_whole_batch_and_never_another_brands(
    platform: Platform, acme: Tenant, acme_admin: Browser
) -> None:
    codes = issue(platform, acme, 3)
    beta = platform.org("Beta 品牌")
    other_gtin = "0950600099999" + check_digit("0950600099999")
    add_product(platform, beta, other_gtin)
    add_batch(platform, beta, other_gtin, "BETA-1")
    _distributor(platform, acme, SOUTH, gln(2))
    ids = _batch_ids(platform)
    before = _event_count(platform, acme)

    for foreign in (str(ids["BETA-1"]), "999999"):
        refused = _post(acme_admin, "/console/events/ship", to=gln(2), site=gln(1), batch=foreign)
        assert refused.status_code == 422
        assert "请选择本企业的批次" in refused.text
    form = acme_admin.get("/console/events/ship")
    assert "BETA-1" not in form.text
    assert f"Extinguisher 4kg · {LOT}" in form.text
    assert _event_count(platform, acme) == before

    shipped = _post(acme_admin, "/console/events/ship", to=gln(2), site=gln(1), batch=str(ids[LOT]))
    assert shipped.status_code == 303, shipped.text
    assert "已记录发货：3 个标签" in acme_admin.get(shipped.headers["location"]).text
    for code in codes:
        assert f"发货 至 {SOUTH}" in _journey(platform, code, "zh-CN")


def test_a_brand_publishes_a_quality_commitment_signed_by_the_platform(
    platform: Platform, acme: Tenant, acme_admin: Browser
) -> None:
    path = "/console/quality/commitments/new"
    empty = _post(acme_admin, path, title="", text="", made_on="2026-12-01")
    assert empty.status_code == 422
    assert 'id="title-error"' in empty.text
    assert 'id="text-error"' in empty.text
    bad_date = _post(acme_admin, path + "?lang=en", title="承诺", text="x", made_on="12/01")
    assert bad_date.status_code == 422
    assert 'id="made_on-error"' in bad_date.text
    listed = platform.client.get("/api/v1/commitments", params={"enterprise": acme.id})
    assert listed.json() == []

    published = _post(
        acme_admin,
        path + "?lang=zh-CN",
        title="灭火器质量承诺",
        text="我们承诺产品符合国家标准。",
        standards="GB 4351-2023\n",
        made_on="2026-12-01",
    )
    assert published.status_code == 303, published.text
    notice = acme_admin.get(published.headers["location"])
    assert "已发布" in notice.text
    [record] = platform.client.get("/api/v1/commitments", params={"enterprise": acme.id}).json()
    assert record["payload"]["title"] == "灭火器质量承诺"
    assert record["payload"]["standards"] == ["GB 4351-2023"]
    assert f"/directory/records/{record['id']}" in notice.text
    [entry] = audit_entries(platform, "commitment.publish")
    assert entry.organization_id == acme.id


def test_another_brands_codes_are_neither_packed_nor_shipped(
    platform: Platform, acme: Tenant, acme_admin: Browser
) -> None:
    beta = platform.org("Beta 品牌")
    other_gtin = "0950600099999" + check_digit("0950600099999")
    add_product(platform, beta, other_gtin)
    add_batch(platform, beta, other_gtin, "BETA-1")
    run = platform.client.post(
        "/api/v1/code-runs", json={"product": other_gtin, "count": 1}, headers=beta.auth
    )
    assert run.status_code == 201, run.text
    listing = platform.client.get(
        f"/api/v1/code-runs/{run.json()['run']}/codes.csv", headers=beta.auth
    )
    theirs = listing.text.splitlines()[1].split(",")[0]
    _distributor(platform, acme, SOUTH, gln(2))
    before = _event_count(platform, acme)

    packed = _post(acme_admin, "/console/events/pack?lang=zh-CN", case=CASE, labels=theirs)
    assert packed.status_code == 422
    assert re.search(rf'id="labels-error">[^<]*找不到防伪码 {theirs}<', packed.text)
    strange = _post(acme_admin, "/console/events/pack", case=CASE, labels="not a code")
    assert "第 1 行：“not a code”不是本平台能识别的标签" in strange.text
    typed = _post(acme_admin, "/console/events/ship", to=gln(2), site=gln(1), labels=theirs)
    assert typed.status_code == 422
    assert f"找不到防伪码 {theirs}" in typed.text
    link = f"https://id.gs1.org/01/{other_gtin}/21/{theirs}"
    linked = _post(acme_admin, "/console/events/ship", to=gln(2), site=gln(1), labels=link)
    assert linked.status_code == 422
    assert "这不是本企业的产品" in linked.text
    assert _event_count(platform, acme) == before
    assert audit_entries(platform, "event.ship") == []
    assert audit_entries(platform, "event.pack") == []
