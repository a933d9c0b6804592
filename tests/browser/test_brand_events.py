"""A brand's packing and shipping in a real browser (phone-sized Chromium).

The brand's admin, in zh-CN, packs two seal codes into a case, ships the case to its
distributor, and finds both on the events page; a consumer then opens one code's
verification page and reads the shipment. The shipping form's refusal and the events page
are checked in English too. Screenshots are saved as the test's artefacts (``shoot``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import CHROMIUM, Shots
from tests.conftest import Platform, add_batch, add_product
from tests.functional.conftest import GTIN, LOT, issue
from tests.functional.partners_helpers import gln
from tests.functional.people_helpers import PASSWORD, add_person
from traceseal.epcis.gs1keys import check_digit

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"browser tests need Debian's Chromium at {CHROMIUM} (`make browser`)",
)

PHONE = {"width": 390, "height": 844}
SOUTH = "华南安盾经销有限公司"
CASE = "0950600010000000" + "2"
CASE += check_digit(CASE)


@pytest.fixture
def context(browser: Browser, served: Platform) -> Iterator[BrowserContext]:
    made = browser.new_context(locale="zh-CN", viewport=PHONE)
    made.set_default_timeout(10_000)
    yield made
    made.close()


def _sign_in(page: Page, base: str, login: str) -> None:
    page.goto(base + "/console")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")


def test_a_brand_packs_a_case_ships_it_and_the_consumer_reads_the_shipment(
    served: Platform, context: BrowserContext, shoot: Shots
) -> None:
    acme = served.org("安盾消防科技有限公司")
    add_product(served, acme, GTIN)
    add_batch(served, acme, GTIN, LOT)
    codes = issue(served, acme, 3)
    registered = served.client.post(
        "/api/v1/distributors",
        json={"name": SOUTH, "glns": [gln(2)], "territory": ["440000"]},
        headers=acme.auth,
    )
    assert registered.status_code == 201, registered.text
    add_person(served, acme.id, "admin@acme.cn", "admin")
    base = served.settings.public_url
    page = context.new_page()
    _sign_in(page, base, "admin@acme.cn")

    # zh-CN: pack two codes into the case.
    page.get_by_role("link", name="装箱", exact=True).click()
    page.fill("#case", f"(00){CASE}")
    page.fill("#labels", "\n".join(codes[:2]))
    shoot(page, "pack-form-zh")
    page.click("#pack")
    expect(page.locator("#done")).to_contain_text("已记录装箱：2 件")

    # Ship the case: a forgotten site is told beside its field, then it is recorded.
    page.click("#to-ship")
    page.select_option("#to", gln(2))
    page.fill("#labels", CASE)
    page.click("#ship")
    expect(page.locator("#site-error")).to_contain_text("请填写发货地点的 GLN")
    page.fill("#site", gln(1))
    page.click("#ship")
    expect(page.locator("#done")).to_contain_text("已记录发货")
    expect(page.locator("#events")).to_contain_text(SOUTH)
    expect(page.locator("#events")).to_contain_text("装箱")
    shoot(page, "events-zh")

    # English: the events page and the shipping form's refusal.
    page.goto(base + "/console/events?lang=en")
    expect(page.locator("#events")).to_contain_text("Shipped")
    shoot(page, "events-en")
    page.goto(base + "/console/events/ship")
    page.select_option("#to", gln(2))
    page.fill("#site", gln(1))
    page.click("#ship")
    expect(page.locator("#labels-error")).to_contain_text(
        "give at least one code or case label, or choose a batch"
    )
    shoot(page, "ship-error-en")

    # The consumer opens one packed code's verification page.
    consumer = (
        context.browser.new_context(locale="zh-CN", viewport=PHONE) if context.browser else None
    )
    assert consumer is not None
    try:
        reader = consumer.new_page()
        reader.goto(f"{base}/01/{GTIN}/21/{codes[0]}")
        expect(reader.locator("#journey")).to_contain_text(f"发货 至 {SOUTH}")
        shoot(reader, "verify-shipped-zh")
    finally:
        consumer.close()
