"""A brand's admin in a real browser (a phone-sized Chromium): signs in, adds a product and
a batch, issues 10,000 codes and watches their file's progress reach done, activates a
range; a consumer on another phone verifies one of those codes; the brand's home then shows
that check. All in zh-CN, then the key steps again in English. Screenshots via ``shoot``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import CHROMIUM, Shots
from tests.conftest import Platform
from tests.functional.people_helpers import PASSWORD, add_person

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"browser tests need Debian's Chromium at {CHROMIUM} (`make browser`)",
)

PHONE = {"width": 390, "height": 844}
#: A consumer's phone: headless Chromium's own user agent reads as a link-preview bot,
#: whose fetch is not recorded as a check.
PHONE_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Mobile Safari/537.36"
)
GTIN = "09506000134352"
OTHER_GTIN = "96385074"
LOT = "L2026-11A"


@pytest.fixture
def working(served: Platform) -> Iterator[Platform]:
    """The served platform with its export runner working (the test server has no
    lifespan, which is what starts it in production)."""
    exports = served.app.state.exports
    exports.start()
    yield served
    exports.stop()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def _context(browser: Browser, made: list[BrowserContext], **options: object) -> BrowserContext:
    context = browser.new_context(viewport=PHONE, **options)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    made.append(context)
    return context


def _issue(page: Page, count: str, shoot: Shots, name: str) -> None:
    """Issue a run from the form and watch its codes file reach done."""
    page.fill("#count", count)
    page.click("#issue")
    expect(page.locator("#progress")).to_be_visible()
    shoot(page, f"{name}-progress")
    # The script polls the status until the file is written: the page then says done.
    expect(page.locator("#progress")).to_have_attribute("data-state", "done", timeout=60_000)
    expect(page.locator("#percent")).to_have_text("100%")
    expect(page.locator("#counted")).to_have_text(f"{int(count):,}")
    expect(page.locator("#download")).to_be_visible()
    shoot(page, f"{name}-done")


def test_a_brand_issues_and_activates_codes_and_sees_a_consumers_check(
    working: Platform, browser: Browser, contexts: list[BrowserContext], shoot: Shots
) -> None:
    served = working
    acme = served.org("安盾消防科技有限公司")
    add_person(served, acme.id, "admin@acme.cn", "admin")
    base = served.settings.public_url
    page = _context(browser, contexts, locale="zh-CN").new_page()

    page.goto(base + "/console")
    page.fill("#login", "admin@acme.cn")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    expect(page.locator("#no-scans")).to_be_visible()
    shoot(page, "home-empty-zh")

    # A product: a mistyped barcode is caught beside the field, then the right one.
    page.get_by_role("navigation").get_by_role("link", name="产品").click()
    expect(page.locator("#empty")).to_be_visible()
    page.click("#add-product")
    page.fill("#gtin", GTIN[:-1] + "3")
    page.fill("#name", "4kg 干粉灭火器")
    page.click("#create-product")
    expect(page.locator("#gtin-error")).to_contain_text("校验位不正确")
    shoot(page, "product-check-digit-zh")
    page.fill("#gtin", GTIN)
    page.click("#create-product")
    expect(page.locator("#product-name")).to_have_text("4kg 干粉灭火器")
    expect(page.locator("#done")).to_contain_text("产品已添加")

    # Its batch.
    page.click("#add-batch")
    page.fill("#lot", LOT)
    page.fill("#production_date", "2026-11-01")
    page.click("#create-batch")
    expect(page.locator("#batch-list")).to_contain_text(LOT)
    shoot(page, "product-with-batch-zh")

    # 10,000 codes, and their file's progress to done.
    page.click("#issue-for-product")
    expect(page.locator("#product")).to_have_value(GTIN)
    _issue(page, "10000", shoot, "issue-10000-zh")

    # Activate the first hundred for the batch.
    page.click("#to-run")
    expect(page.locator("#run-state")).to_have_text("未激活 10,000")
    page.select_option("#lot", LOT)
    page.fill("#range", "1-100")
    page.click("#activate-range")
    expect(page.locator("#result")).to_contain_text("已激活序号 1–100（批次 L2026-11A）")
    expect(page.locator("#run-state")).to_have_text("已激活 100 · 未激活 9,900")
    expect(page.locator("#design-labels")).to_have_attribute("href", "/console/labels?run=1")
    shoot(page, "run-activated-zh")

    # The codes file, as the brand downloads it (the browser's own session).
    listing = page.request.get(base + "/console/codes/1/codes.csv")
    assert listing.ok
    rows = list(csv.DictReader(io.StringIO(listing.text())))
    assert len(rows) == 10_000
    url = rows[41]["url"]
    assert url == f"{base}/01/{GTIN}/21/{rows[41]['code']}"

    # A consumer scans the 42nd label with their phone.
    consumer = _context(browser, contexts, locale="zh-CN", user_agent=PHONE_AGENT).new_page()
    consumer.goto(url)
    verdict = consumer.locator("#verdict")
    expect(verdict).to_have_attribute("data-verdict", "genuine")
    expect(verdict.get_by_role("heading", level=1)).to_have_text("正品")
    shoot(consumer, "consumer-genuine-zh")

    # The brand's home counts it.
    page.get_by_role("navigation").get_by_role("link", name="首页").click()
    expect(page.locator("#scans-today")).to_have_text("1")
    expect(page.locator('#verdict-mix li[data-verdict="genuine"]')).to_contain_text("正品")
    shoot(page, "home-with-scan-zh")

    # English: the same steps' pages, worded in English.
    page.click("#lang-switch")
    expect(page.locator('#verdict-mix li[data-verdict="genuine"]')).to_contain_text("Genuine")
    shoot(page, "home-with-scan-en")
    page.get_by_role("navigation").get_by_role("link", name="Products").click()
    page.click("#add-product")
    page.fill("#gtin", "96385075")
    page.fill("#name", "Hose reel")
    page.click("#create-product")
    expect(page.locator("#gtin-error")).to_contain_text("Expected 4, got 5")
    page.fill("#gtin", OTHER_GTIN)
    page.click("#create-product")
    expect(page.locator("#done")).to_contain_text("Product added")
    page.click("#add-batch")
    page.fill("#lot", "H-01")
    page.click("#create-batch")
    expect(page.locator("#done")).to_have_text("Batch H-01 added.")
    page.click("#issue-for-product")
    _issue(page, "10000", shoot, "issue-10000-en")
    page.click("#to-run")
    page.select_option("#lot", "H-01")
    page.fill("#range", "1-10")
    page.click("#activate-range")
    expect(page.locator("#result")).to_contain_text("Positions 1–10 are active for batch H-01")
    shoot(page, "run-activated-en")
    page.get_by_role("navigation").get_by_role("link", name="Codes", exact=True).click()
    expect(page.locator("#runs tbody tr")).to_have_count(2)
    expect(page.locator("#runs")).to_contain_text("active 10 · not yet active 9,990")
    shoot(page, "runs-en")
    for shot in shoot.taken:
        assert shot.stat().st_size > 1000
