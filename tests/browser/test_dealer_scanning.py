"""Dealers' scanning in a real browser: a distributor ships a case it scans with the phone's
camera (Chromium's fake camera playing a generated label) and an item typed on the
keyboard; the shop it went to receives both, part of it while offline; a consumer then
reads both steps in the item's journey."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_consumer_journey import PHONE, post
from tests.conftest import Platform, Tenant, add_batch, add_product
from traceseal.codes.labels import qr_matrix
from traceseal.epcis.gs1keys import check_digit

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"browser tests need Debian's Chromium at {CHROMIUM} (`make browser`)",
)

GTIN = "09506000134352"
LOT = "L2026-12A"
_CASE_BODY = "19506000100000001"  # extension 1, company prefix 9506000, serial reference
CASE = _CASE_BODY + check_digit(_CASE_BODY)


def gln(location: int) -> str:
    body = f"9506000{location:05d}"
    return body + check_digit(body)


def write_y4m(path: Path, text: str, width: int = 640, height: int = 480) -> None:
    """A label's QR code on a white frame, as the raw video Chromium's fake camera plays
    (YUV4MPEG2, 4:2:0): every frame the same, as a label held still in front of a phone."""
    modules = qr_matrix(text)
    scale = min(width, height) // (modules.shape[0] + 8)
    symbol = np.where(np.kron(modules, np.ones((scale, scale), dtype=bool)), 0, 255)
    frame = np.full((height, width), 255, dtype=np.uint8)
    top, left = (height - symbol.shape[0]) // 2, (width - symbol.shape[1]) // 2
    frame[top : top + symbol.shape[0], left : left + symbol.shape[1]] = symbol
    y, cb, cr = Image.fromarray(frame).convert("RGB").convert("YCbCr").split()
    half = (width // 2, height // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(10):
            out.write(b"FRAME\n" + planes)


@pytest.fixture
def setup(served: Platform) -> dict:
    """The brand, five activated items, a case of three packed by the line, a distributor
    and a shop (each registered by the brand with its site), and their keys."""
    brand = served.org("安盾消防科技有限公司")
    add_product(served, brand, GTIN)
    add_batch(served, brand, GTIN, LOT)
    run = post(served, brand, "/api/v1/code-runs", {"product": GTIN, "count": 5})["run"]
    post(served, brand, f"/api/v1/code-runs/{run}/activate", {"lot": LOT})
    listing = served.client.get(f"/api/v1/code-runs/{run}/codes.csv", headers=brand.auth)
    codes = [row["code"] for row in csv.DictReader(io.StringIO(listing.text))]
    rows = [{"parent": f"(00){CASE}", "child": code} for code in codes[:3]]
    post(served, brand, "/api/v1/aggregations", {"rows": rows})
    parties = {}
    for name, site in (("华南安盾经销有限公司", gln(10)), ("深圳南山消防器材店", gln(500))):
        body = post(served, brand, "/api/v1/distributors", {"name": name, "glns": [site]})
        parties[name] = Tenant(body["organization_id"], name, body["api_key"])
    return {"brand": brand, "codes": codes, "parties": parties}


@pytest.fixture
def camera_browser(browser: Browser, served: Platform, tmp_path: Path) -> Iterator[Browser]:
    """Chromium whose camera shows the case's label: its GS1 Digital Link QR code."""
    video = tmp_path / "case-label.y4m"
    write_y4m(video, f"{served.settings.public_url}/00/{CASE}")
    camera = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    yield camera
    camera.close()


def phone(browser: Browser, locale: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(
        locale=locale, user_agent=PHONE, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    context.set_default_timeout(15_000)
    return context, context.new_page()


def sign_in(page: Page, base: str, lang: str, key: str) -> None:
    page.goto(f"{base}/scan?lang={lang}")
    page.locator("#signin-key").fill(key)
    page.locator("#signin-button").click()
    expect(page.locator("#scanning")).to_be_visible()


def test_a_case_shipped_by_camera_is_received_at_the_shop_and_shown_to_consumers(
    served: Platform, setup: dict, camera_browser: Browser, browser: Browser
) -> None:
    base = served.settings.public_url
    codes = setup["codes"]
    distributor, shop = setup["parties"].values()

    # The distributor ships: the case by camera, a loose item typed, in Chinese.
    context, page = phone(camera_browser, "zh-CN")
    sign_in(page, base, "zh-CN", distributor.key)
    expect(page.locator("#org-name")).to_contain_text(distributor.name)
    expect(page.locator("#location")).to_have_value(gln(10))
    page.get_by_text("发货", exact=True).click()
    page.locator("#destination").fill(gln(500))
    page.locator("#camera-button").click()
    scans = page.locator("#scans li")
    expect(scans.first).to_contain_text(f"箱/托 SSCC {CASE}", timeout=30_000)
    # Where the browser has no BarcodeDetector (Chromium on Linux), the vendored decoder
    # read the label: served from this site, it works offline.
    native = page.evaluate("'BarcodeDetector' in window")
    decoder = page.locator("body").get_attribute("data-decoder")
    assert decoder == ("barcode-detector" if native else "zxing-wasm")
    page.locator("#camera-button").click()  # off: the label is read once, not every frame
    page.locator("#scan-input").fill(codes[3])
    page.locator("#scan-input").press("Enter")
    expect(scans.nth(1)).to_contain_text("Extinguisher 4kg")
    # A wrong label typed by mistake, then undone.
    page.locator("#scan-input").fill(codes[4])
    page.locator("#scan-input").press("Enter")
    expect(scans).to_have_count(3)
    page.locator("#undo").click()
    expect(scans).to_have_count(2)
    expect(page.locator("#count")).to_have_text("2")
    page.locator("#submit").click()
    expect(page.locator("#status")).to_have_text("已提交：2个标签")
    expect(page.locator("#queue-count")).to_have_text("0")
    context.close()

    # The shop receives, in English, on a handheld whose scanner types and presses Enter;
    # the connection drops before it submits.
    context, page = phone(browser, "en-GB")
    sign_in(page, base, "en", shop.key)
    expect(page.get_by_text("Receive", exact=True)).to_be_visible()
    for label in (f"(00){CASE}", f"{base}/01/{GTIN}/21/{codes[3]}"):
        page.locator("#scan-input").fill(label)
        page.locator("#scan-input").press("Enter")
    expect(page.locator("#scans li").nth(0)).to_contain_text(f"Case or pallet SSCC {CASE}")
    expect(page.locator("#scans li").nth(1)).to_contain_text("Extinguisher 4kg")
    context.set_offline(True)
    page.locator("#submit").click()
    expect(page.locator("#status")).to_contain_text("Offline")
    expect(page.locator("#queue-count")).to_have_text("1")
    context.set_offline(False)  # the browser's "online" event sends the queue
    expect(page.locator("#status")).to_have_text("Submitted: 2 label(s)")
    expect(page.locator("#queue-count")).to_have_text("0")
    context.close()

    # A consumer scans an item that was in the case: shipped to the shop, received there.
    context, page = phone(browser, "zh-CN")
    page.goto(f"{base}/01/{GTIN}/21/{codes[0]}")
    journey = page.locator("#journey")
    expect(journey.locator("[data-step=shipping]")).to_contain_text(f"发货 至 {shop.name}")
    expect(journey.locator("[data-step=receiving]")).to_contain_text(f"收货 于 {shop.name}")
    context.close()
    trace = served.client.get(f"/api/v1/trace/{codes[3]}", headers=setup["brand"].auth).json()
    assert [e["bizStep"] for e in trace["events"]] == ["shipping", "receiving"]

    # The brand recalls the lot: the recall's page shows where its goods are now.
    recall = post(
        served,
        setup["brand"],
        "/api/v1/recalls",
        {"gtin": GTIN, "lots": [LOT], "reason": "Valve leaks", "instructions": "Stop using it"},
    )[0]
    context, page = phone(browser, "en-GB")
    page.goto(f"{base}/recalls/{recall['id']}?lang=en")
    expect(page.locator("#recall")).to_contain_text("Valve leaks")
    page.locator("#reach-key").fill(setup["brand"].key)
    page.locator("#reach-signin-button").click()
    rows = page.locator("#reach-rows tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"Held{shop.name} · {gln(500)}{shop.name}4")
    with page.expect_download() as download:
        page.locator("#reach-csv").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert exported.splitlines()[1].startswith(f"held,{gln(500)},{shop.name},{shop.name},4,")
    context.close()
