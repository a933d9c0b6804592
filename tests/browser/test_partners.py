"""A brand admin and its distributor in a real browser (phone-sized Chromium).

The brand's admin, in zh-CN, registers a distributor with a territory chosen by name and
reads its first API key once; in English makes an API key (shown once, with a copy
button), revokes it after confirming, and sets the alert webhook. The distributor's admin
then signs in and finds its territory and the goods it scanned in, in both languages.
Screenshots are saved as the test's artefacts (``shoot``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from tests.browser.conftest import CHROMIUM, Shots
from tests.conftest import Platform, add_batch, add_product
from tests.functional.conftest import GTIN, LOT, issue
from tests.functional.partners_helpers import gln, receive
from tests.functional.people_helpers import PASSWORD, add_person
from traceseal.db import unit_of_work
from traceseal.orgs.models import Organization

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"browser tests need Debian's Chromium at {CHROMIUM} (`make browser`)",
)

PHONE = {"width": 390, "height": 844}
SOUTH = "华南安盾经销有限公司"


@pytest.fixture
def contexts(browser: Browser, served: Platform) -> Iterator[list[BrowserContext]]:
    """Two people's browsers: the brand's admin and the distributor's."""
    made = [browser.new_context(locale="zh-CN", viewport=PHONE) for _ in range(2)]
    for context in made:
        context.set_default_timeout(10_000)
    yield made
    for context in made:
        context.close()


def _sign_in(page: Page, base: str, login: str) -> None:
    page.goto(base + "/console")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")


def test_a_brand_registers_a_distributor_makes_a_key_and_a_webhook_and_the_distributor_sees_it(
    served: Platform, contexts: list[BrowserContext], shoot: Shots
) -> None:
    acme = served.org("安盾消防科技有限公司")
    add_product(served, acme, GTIN)
    add_batch(served, acme, GTIN, LOT)
    codes = issue(served, acme, 3)
    add_person(served, acme.id, "admin@acme.cn", "admin")
    base = served.settings.public_url
    page = contexts[0].new_page()

    # zh-CN: register the distributor, its territory chosen by name.
    _sign_in(page, base, "admin@acme.cn")
    page.get_by_role("link", name="经销商", exact=True).click()
    expect(page.locator("#empty")).to_be_visible()
    page.click("#add-distributor")
    page.fill("#name", SOUTH)
    page.fill("#glns", gln(2))
    page.get_by_label("广东省").check()
    page.fill("#places", "朝阳区")
    page.click("#register")
    expect(page.locator("#places-error")).to_contain_text("可能指多个地区")
    shoot(page, "distributor-place-error-zh")
    page.fill("#places", "南宁市")
    page.click("#register")
    expect(page.locator("#done")).to_contain_text(SOUTH)
    distributor_key = page.locator("#distributor-key").inner_text()
    assert distributor_key.startswith("ts_")
    shoot(page, "distributor-registered-zh")
    page.click("#to-distributor")
    expect(page.locator("#territory")).to_contain_text("广东省 440000")
    expect(page.locator("#territory")).to_contain_text("广西壮族自治区南宁市 450100")
    assert distributor_key not in page.content()
    shoot(page, "distributor-detail-zh")

    # English: an API key, shown once with a copy button; then revoked after confirming.
    page.goto(base + "/console/keys?lang=en")
    expect(page.get_by_role("heading", level=1)).to_have_text("API keys")
    page.fill("#label", "ERP link")
    page.click("#create-key")
    secret = page.locator("#new-key-secret").inner_text()
    assert secret.startswith("ts_")
    expect(page.locator("button[data-copy=new-key-secret]")).to_be_visible()
    shoot(page, "key-shown-once-en")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert served.client.get("/api/v1/orgs/me", headers=bearer).status_code == 200
    page.click("#keys-done")
    expect(page.locator("#keys")).to_contain_text("ERP link")
    assert secret not in page.content()
    shoot(page, "keys-en")
    page.locator("#keys tr", has_text="ERP link").locator("a.revoke").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revoke this key?")
    page.click("#confirm-revoke")
    expect(page.locator("#done")).to_contain_text("revoked")
    assert served.client.get("/api/v1/orgs/me", headers=bearer).status_code == 401

    # The webhook: its signing secret shown once.
    page.get_by_role("link", name="Webhook", exact=True).click()
    expect(page.locator("#no-hook")).to_be_visible()
    page.fill("#url", "https://hooks.example.com/traceseal")
    page.click("#save-hook")
    hook_secret = page.locator("#hook-secret").inner_text()
    assert len(hook_secret) >= 16
    shoot(page, "webhook-set-en")
    page.click("#hook-done")
    expect(page.locator("#hook-url")).to_have_text("https://hooks.example.com/traceseal")
    assert hook_secret not in page.content()
    page.goto(base + "/console/keys?lang=zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("API 密钥")
    shoot(page, "keys-zh")

    # The distributor scans the goods in; its admin signs in and sees territory and goods.
    receive(served, distributor_key, codes, gln(2))
    with unit_of_work(served.session_factory) as session:
        org_id = session.scalar(select(Organization.id).where(Organization.name == SOUTH))
    assert org_id is not None
    add_person(served, org_id, "admin@south.cn", "admin")
    theirs = contexts[1].new_page()
    _sign_in(theirs, base, "admin@south.cn")
    expect(theirs.locator("#received")).to_have_text("1")
    expect(theirs.locator("#territory-card")).to_contain_text("广东省 440000")
    expect(theirs.locator("#territory-card")).to_contain_text("安盾消防科技有限公司")
    shoot(theirs, "distributor-home-zh")
    theirs.get_by_role("link", name="货物", exact=True).click()
    expect(theirs.locator("#goods")).to_contain_text("3 件")
    expect(theirs.locator("#goods")).to_contain_text("收货")
    shoot(theirs, "distributor-goods-zh")
    theirs.get_by_role("link", name="销售区域", exact=True).click()
    expect(theirs.locator(".territory")).to_contain_text("广西壮族自治区南宁市 450100")
    theirs.click("#lang-switch")
    expect(theirs.locator(".territory")).to_contain_text("Guangdong 440000")
    shoot(theirs, "distributor-territory-en")
    theirs.get_by_role("link", name="Receipt checks", exact=True).click()
    expect(theirs.locator("#checks")).to_contain_text(codes[0])
    expect(theirs.locator("#open-scan")).to_have_attribute("href", "/scan")
    shoot(theirs, "distributor-receipt-checks-en")
    # Not the brand's pages.
    assert "/console/distributors" not in theirs.content()
