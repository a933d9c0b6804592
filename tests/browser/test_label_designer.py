"""A brand's clerk designs labels in a real browser (phone-sized Chromium): in zh-CN a roll
label with Data Matrix and the scratch-off box, in English an A4 sheet with QR; each time
the preview image is shown and the downloaded PDF carries the product's Chinese name, the
prompt and a symbol per code that scans back to the code's address."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pypdf import PdfReader

from tests.browser.conftest import CHROMIUM, Shots
from tests.conftest import Platform
from tests.functional.people_helpers import PASSWORD, add_person

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"browser tests need Debian's Chromium at {CHROMIUM} (`make browser`)",
)

PHONE = {"width": 390, "height": 844}
GTIN = "06901234567892"
NAME = "云南普洱茶 357克"
BRAND = "七彩云南"
CODES = 60


@pytest.fixture
def context(browser: Browser, served: Platform) -> Iterator[BrowserContext]:
    context = browser.new_context(locale="zh-CN", viewport=PHONE, accept_downloads=True)
    context.set_default_timeout(20_000)
    yield context
    context.close()


def _issue(served: Platform) -> tuple[int, list[str]]:
    tenant = served.org("七彩云南茶业有限公司")
    product = {"gtin": GTIN, "name": NAME, "brand": BRAND}
    assert (
        served.client.post("/api/v1/products", json=product, headers=tenant.auth).status_code == 201
    )
    answer = served.client.post(
        "/api/v1/code-runs",
        json={"product": GTIN, "count": CODES, "pin": True},
        headers=tenant.auth,
    )
    assert answer.status_code == 201, answer.text
    run = int(answer.json()["run"])
    listing = served.client.get(f"/api/v1/code-runs/{run}/codes.csv", headers=tenant.auth)
    urls = [row["url"] for row in csv.DictReader(io.StringIO(listing.text))]
    add_person(served, tenant.id, "clerk@tea.cn")
    return run, urls


def _preview_shown(page: Page) -> None:
    preview = page.locator("#preview")
    expect(preview).to_be_visible()
    # Polled from here: wait_for_function polls by evaluating its predicate inside the
    # page, which the pages' Content-Security-Policy (no 'unsafe-eval') refuses.
    expect(preview).to_have_js_property("complete", True)
    assert preview.evaluate("image => image.naturalWidth") > 100


def _download(page: Page, tmp_path: Path, name: str) -> PdfReader:
    with page.expect_download() as info:
        page.click("#download-button")
    path = tmp_path / name
    info.value.save_as(path)
    return PdfReader(path)


def _symbols(reader: PdfReader) -> list[str]:
    texts = []
    for pdf_page in reader.pages:
        for found in pdf_page.images:
            image = found.image
            assert image is not None
            big = image.resize((image.width * 4, image.height * 4), Image.Resampling.NEAREST)
            texts.extend(r.text for r in zxingcpp.read_barcodes(big))
    return texts


def test_a_clerk_designs_and_downloads_labels_in_both_languages(
    served: Platform, context: BrowserContext, shoot: Shots, tmp_path: Path
) -> None:
    run, urls = _issue(served)
    base = served.settings.public_url
    page = context.new_page()
    page.goto(base + "/console")
    page.fill("#login", "clerk@tea.cn")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")

    # zh-CN: from the menu, a roll label with Data Matrix and the scratch-off box.
    page.get_by_role("link", name="标签设计").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("标签设计")
    page.select_option("#run", str(run))
    page.select_option("#preset", "roll-50x30")
    page.check("#symbol-datamatrix")
    page.check("#pin")
    page.click("#update")
    expect(page.locator("#product")).to_have_value(NAME)
    expect(page.locator("#brand")).to_have_value(BRAND)
    _preview_shown(page)
    shoot(page, "label-designer-zh")
    reader = _download(page, tmp_path, "zh.pdf")
    assert len(reader.pages) == CODES  # a roll: one label a page
    text = reader.pages[0].extract_text()
    assert NAME in text
    assert "扫码验真" in text
    assert "PIN" in text
    assert _symbols(reader) == urls

    # English: an A4 sheet with QR, the product name changed.
    page.click("#lang-switch")
    expect(page.get_by_role("heading", level=1)).to_have_text("Label designer")
    page.select_option("#preset", "a4-3x8")
    page.check("#symbol-qr")
    page.uncheck("#pin")
    page.fill("#product", "普洱茶 Pu'er tea")
    page.click("#update")
    _preview_shown(page)
    shoot(page, "label-designer-en")
    reader = _download(page, tmp_path, "en.pdf")
    assert len(reader.pages) == 3  # 24 labels a sheet
    text = " ".join(reader.pages[0].extract_text().split())
    assert "普洱茶 Pu'er tea" in text
    assert "Scan to verify" in text
    assert "PIN" not in text
    assert _symbols(reader) == urls

    # A mistake is told beside its field, in the page's language.
    page.fill("#product", "𠀀")
    page.click("#update")
    expect(page.locator("#product-error")).to_have_text("the label font cannot print: 𠀀")
    shoot(page, "label-designer-error-en")
