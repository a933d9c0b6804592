"""A lab and a regulator in a real browser (phone-sized Chromium). The lab signs in in
zh-CN, issues a certificate with its PDF for a brand's product, and a consumer who scans
that product's label sees it on the result page; the lab's key pages are read in English
too. A regulator signs in, reads the counterfeit-report statistics and downloads them as
CSV, whose content is checked. Screenshots of each step are the test's artefacts."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import Shots
from tests.browser.test_consumer_journey import GTIN, OpenPage, acme, labels, open_page, pytestmark
from tests.conftest import Platform, Tenant
from tests.functional.people_helpers import PASSWORD, add_person
from tests.functional.quality_helpers import PDF
from traceseal.orgs.models import Role

__all__ = ["acme", "labels", "open_page", "pytestmark"]

PHONE = {"width": 390, "height": 844}
LAB = "国家消防装备质量检验检测中心"


@pytest.fixture
def context(browser: Browser, served: Platform) -> Iterator[BrowserContext]:
    context = browser.new_context(locale="zh-CN", viewport=PHONE, accept_downloads=True)
    context.set_default_timeout(10_000)
    yield context
    context.close()


def sign_in(page: Page, base: str, login: str) -> None:
    page.goto(base + "/console")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#who")).to_be_visible()


def test_a_lab_certificate_reaches_the_consumers_result_page(
    served: Platform,
    acme: Tenant,
    labels: list[tuple[str, str]],
    open_page: OpenPage,
    context: BrowserContext,
    shoot: Shots,
) -> None:
    lab = served.org(LAB, Role.LAB)
    add_person(served, lab.id, "admin@lab.cn", "admin")
    base = served.settings.public_url
    page = context.new_page()

    sign_in(page, base, "admin@lab.cn")
    expect(page.locator("#lab-home")).to_contain_text("还没有发布记录")
    shoot(page, "lab-home-zh")
    page.get_by_role("navigation").get_by_role("link", name="证书").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("本机构颁发的证书")
    expect(page.locator("#empty")).to_be_visible()
    page.click("#new-certificate")
    page.select_option("#holder", label="安盾消防科技有限公司")
    page.fill("#scheme", "CCC")
    page.check("#compulsory")
    page.fill("#number", "2026081801000042")
    page.fill("#gtins", GTIN)
    page.fill("#valid_from", "2026-01-01")
    # A date already past: the platform refuses it beside its field, in zh-CN.
    page.fill("#valid_until", "2025-12-31")
    page.set_input_files(
        "#attachment", {"name": "证书.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.click("#issue")
    expect(page.locator("#gtins-error")).to_have_text("有效期截止日期早于起始日期")
    shoot(page, "certificate-form-error-zh")
    page.fill("#valid_until", "2031-12-31")
    page.click("#issue")
    expect(page.locator("#done")).to_contain_text("证书已签名发布")
    row = page.locator("#certificates tbody tr").first
    expect(row).to_contain_text("2026081801000042")
    expect(row).to_contain_text("有效")
    shoot(page, "certificates-zh")

    # The consumer scans the product's label: the certificate is on the result page.
    _, url = labels[0]
    consumer = open_page("zh-CN")
    consumer.goto(url)
    fact = consumer.locator('#quality [data-type="certificate"]')
    expect(fact).to_contain_text("CCC")
    expect(fact).to_contain_text(f"由 {LAB} 签名")
    shoot(consumer, "consumer-result-zh")

    # The lab's key pages in English.
    page.click("#lang-switch")
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificates you issued")
    page.get_by_role("navigation").get_by_role("link", name="Published records").click()
    expect(page.locator("#records tbody tr").first).to_contain_text("Certificate")
    expect(page.locator("#records").get_by_role("link", name="Log proof").first).to_be_visible()
    shoot(page, "records-en")
    page.get_by_role("navigation").get_by_role("link", name="Signing keys").click()
    expect(page.locator("#keys tbody tr").first).to_contain_text("managed by the platform")
    expect(page.locator("pre.to-sign").first).to_contain_text("openssl genpkey")
    shoot(page, "signing-keys-en")
    page.goto(base + "/console")
    expect(page.locator("#recent")).to_contain_text("2026081801000042")


def test_a_regulator_exports_the_counterfeit_statistics(
    served: Platform,
    acme: Tenant,
    labels: list[tuple[str, str]],
    context: BrowserContext,
    shoot: Shots,
) -> None:
    code, _ = labels[0]
    for contact in ("13800138000", "13900139000"):
        answer = served.client.post(
            "/api/v1/reports",
            data={
                "code": code,
                "where_bought": "广东省深圳市南山区某商场",
                "description": "包装印刷模糊",
                "contact": contact,
            },
        )
        assert answer.status_code == 201, answer.text
    regulator = served.org("市场监督管理局", Role.REGULATOR)
    add_person(served, regulator.id, "admin@reg.cn", "admin")
    base = served.settings.public_url
    page = context.new_page()

    sign_in(page, base, "admin@reg.cn")
    expect(page.locator("#report-total")).to_have_text("2")
    shoot(page, "regulator-home-zh")
    page.get_by_role("navigation").get_by_role("link", name="假冒举报统计").click()
    row = page.locator("#oversight tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("广东省")
    expect(row).to_contain_text("2")
    expect(page.locator("main")).not_to_contain_text("13800138000")
    shoot(page, "report-statistics-zh")
    with page.expect_download() as waiting:
        page.click("#export")
    download = waiting.value
    assert download.suggested_filename.startswith("counterfeit-reports-")
    path = download.path()
    data = path.read_bytes()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [
        ["企业", "产品", "省份（按购买地点）", "防伪码状态", "举报数"],
        ["安盾消防科技有限公司", f"Extinguisher 4kg ({GTIN})", "广东省", "已激活", "2"],
    ]
    assert b"13800138000" not in data

    page.click("#lang-switch")
    expect(page.get_by_role("heading", level=1)).to_have_text("Counterfeit report statistics")
    expect(page.locator("#oversight tbody tr")).to_contain_text("Guangdong")
    shoot(page, "report-statistics-en")
    with page.expect_download() as waiting:
        page.click("#export")
    english = waiting.value.path().read_bytes().decode("utf-8-sig")
    assert (
        english.splitlines()[0] == "Brand,Product,Province (from where bought),Code state,Reports"
    )
    page.get_by_role("navigation").get_by_role("link", name="Recalls").click()
    expect(page.locator("#empty")).to_have_text("No recalls.")
    shoot(page, "recalls-en")
