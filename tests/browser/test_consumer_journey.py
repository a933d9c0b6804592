"""A consumer's journey in a real browser: scan a label, read the result, report a fake,
type a code by hand. Assertions are on what the person sees on the page."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import CHROMIUM
from tests.conftest import Platform, Tenant, add_batch, add_product

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"browser tests need Debian's Chromium at {CHROMIUM} "
    "(`make browser` installs it when run as root with apt-get)",
)

GTIN = "09506000134352"
LOT = "L2026-11A"
# Headless Chromium announces itself as "HeadlessChrome", which the resolver treats as a
# link-preview bot whose fetch is not recorded as a check. A person scans with a phone.
PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Mobile Safari/537.36"
)

OpenPage = Callable[[str], Page]


@pytest.fixture
def acme(served: Platform) -> Tenant:
    """The brand owner, with the product and its batch registered."""
    tenant = served.org("安盾消防科技有限公司")
    add_product(served, tenant, GTIN)
    add_batch(served, tenant, GTIN, LOT)
    return tenant


@pytest.fixture
def labels(served: Platform, acme: Tenant) -> list[tuple[str, str]]:
    """Five activated codes of the batch, as ``(code, QR URL)`` rows of the run's codes.csv."""
    platform = served
    run = post(platform, acme, "/api/v1/code-runs", {"product": GTIN, "count": 5})["run"]
    post(platform, acme, f"/api/v1/code-runs/{run}/activate", {"lot": LOT})
    listing = platform.client.get(f"/api/v1/code-runs/{run}/codes.csv", headers=acme.auth)
    assert listing.status_code == 200, listing.text
    rows = [(row["code"], row["url"]) for row in csv.DictReader(io.StringIO(listing.text))]
    base = platform.settings.public_url
    assert [url for _, url in rows] == [f"{base}/01/{GTIN}/21/{code}" for code, _ in rows]
    return rows


def post(platform: Platform, tenant: Tenant, path: str, body: dict) -> dict:
    response = platform.client.post(path, json=body, headers=tenant.auth)
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    """A new page in a fresh phone browser (own cookies) whose language is ``locale``."""
    contexts: list[BrowserContext] = []

    def open_(locale: str) -> Page:
        context = browser.new_context(locale=locale, user_agent=PHONE)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


def grouped(code: str) -> str:
    """The code as printed on a label: groups of four digits."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def typo(code: str) -> str:
    """The code with one digit changed: the Damm check digit catches every such error."""
    return code[:7] + str((int(code[7]) + 1) % 10) + code[8:]


def test_scanning_a_label_shows_genuine_then_checked_before(
    labels: list[tuple[str, str]], open_page: OpenPage
) -> None:
    code, url = labels[0]
    page = open_page("zh-CN")
    page.goto(url)
    verdict = page.locator("#verdict")
    expect(verdict.get_by_role("heading", level=1)).to_have_text("正品")
    expect(verdict).to_contain_text("首次查询")
    expect(page.locator("#product")).to_contain_text("Extinguisher 4kg")
    expect(page.locator("#product")).to_contain_text(LOT)
    expect(page.locator("#query")).to_contain_text(grouped(code))
    expect(page.locator("#scan-count")).to_have_text("1")

    # A reload and a switch to English are this phone asking again: still the first query.
    page.reload()
    expect(verdict).to_have_attribute("data-verdict", "genuine")
    expect(page.locator("#scan-count")).to_have_text("1")
    page.get_by_role("link", name="English").click()
    expect(verdict.get_by_role("heading", level=1)).to_have_text("Genuine")
    expect(page.locator("#scan-count")).to_have_text("1")

    # Another phone scanning the same label sees that it was checked before.
    other = open_page("zh-CN")
    other.goto(url)
    verdict = other.locator("#verdict")
    expect(verdict).to_have_attribute("data-verdict", "genuine_repeat")
    expect(verdict.get_by_role("heading", level=1)).to_contain_text("已被查询过")
    expect(verdict).to_contain_text("已被查询 2 次")
    expect(other.locator("#scan-count")).to_have_text("2")


def test_an_english_reader_reports_a_suspected_fake_with_a_photo(
    served: Platform,
    acme: Tenant,
    labels: list[tuple[str, str]],
    open_page: OpenPage,
    tmp_path: Path,
) -> None:
    code, url = labels[1]
    photo = tmp_path / "label.png"
    Image.new("RGB", (8, 8), (200, 30, 30)).save(photo)
    page = open_page("en-GB")
    page.goto(url)
    expect(page.locator("#verdict").get_by_role("heading", level=1)).to_have_text("Genuine")
    where = page.get_by_label("Where did you buy it?")
    expect(where).to_be_hidden()  # the form stays folded for a genuine verdict

    page.get_by_text("Report a suspected fake").click()
    where.fill("Market stall, Huaqiangbei")
    page.get_by_label("What looks wrong?").fill("The hologram peels off")
    page.get_by_label("Photo (optional)").set_input_files(photo)
    page.get_by_role("button", name="Send report").click()

    expect(page.locator("#thanks")).to_contain_text("Report received")
    expect(page.locator("#thanks")).to_contain_text("the brand owner and the platform")
    expect(page.get_by_text("Report number")).to_be_visible()
    report_id = int(page.locator("#report-id").inner_text())

    reports = served.client.get("/api/v1/reports", headers=acme.auth)
    assert reports.status_code == 200, reports.text
    [report] = [r for r in reports.json() if r["id"] == report_id]
    assert report["code"] == code
    assert report["where_bought"] == "Market stall, Huaqiangbei"
    assert report["description"] == "The hologram peels off"
    assert report["photo_url"]
    stored = served.client.get(report["photo_url"], headers=acme.auth)
    assert stored.status_code == 200
    assert stored.headers["content-type"] == "image/png"
    assert stored.content == photo.read_bytes()


def test_typing_a_code_by_hand_tells_a_typo_from_a_fake(
    served: Platform, labels: list[tuple[str, str]], open_page: OpenPage
) -> None:
    code = labels[2][0]
    page = open_page("en-GB")
    entry = f"{served.settings.public_url}/verify?lang=en"
    page.goto(entry)
    page.get_by_label("Code", exact=True).fill(grouped(code))
    page.get_by_role("button", name="Check", exact=True).click()
    verdict = page.locator("#verdict")
    expect(verdict.get_by_role("heading", level=1)).to_have_text("Genuine")
    expect(page.locator("#product")).to_contain_text("Extinguisher 4kg")

    page.goto(entry)
    page.get_by_label("Code", exact=True).fill(grouped(typo(code)))
    page.get_by_role("button", name="Check", exact=True).click()
    expect(verdict).to_have_attribute("data-verdict", "mistyped")
    expect(verdict.get_by_role("heading", level=1)).to_have_text("Code mistyped")
    expect(verdict).to_contain_text("mistyped")
    expect(page.get_by_text("No such code")).to_have_count(0)

    # The page offers the typed code back for correction; fixing the digit finds the label.
    again = page.get_by_label("Enter the 20-digit code again")
    expect(again).to_have_value(grouped(typo(code)))
    again.fill(grouped(code))
    page.get_by_role("button", name="Check", exact=True).click()
    # Same phone, same code, minutes later: still its first query.
    expect(verdict.get_by_role("heading", level=1)).to_have_text("Genuine")
    expect(page.locator("#scan-count")).to_have_text("1")
