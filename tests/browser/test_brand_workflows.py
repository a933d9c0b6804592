"""The brand's workflows in a real browser (phone-sized Chromium): a consumer reports a
suspected fake from the verification page; the brand finds it in the console, investigates
it and resolves it with a reply; the reporter opens the status link from their receipt and
reads the reply. zh-CN first, then the key pages in English. Then an alert taken up and
closed with its outcome. Screenshots are the test's artefacts (``shoot``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import CHROMIUM, Shots
from tests.conftest import Platform, Tenant
from tests.functional.people_helpers import PASSWORD, add_person
from tests.functional.workflow_helpers import GTIN, brand_with_codes, diversion_alert

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"browser tests need Debian's Chromium at {CHROMIUM} (`make browser`)",
)

PHONE = {"width": 390, "height": 844}
#: Headless Chromium names itself HeadlessChrome, which the resolver takes for a link
#: preview; a person scans with a phone.
AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Mobile Safari/537.36"
)


@pytest.fixture
def acme(served: Platform) -> Tenant:
    tenant = served.org("安盾消防科技有限公司")
    add_person(served, tenant.id, "qa@acme.cn")
    return tenant


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def _page(browser: Browser, contexts: list[BrowserContext], locale: str) -> Page:
    context = browser.new_context(locale=locale, viewport=PHONE, user_agent=AGENT)
    context.set_default_timeout(10_000)
    contexts.append(context)
    return context.new_page()


def _sign_in(page: Page, base: str) -> None:
    page.goto(base + "/console")
    page.fill("#login", "qa@acme.cn")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    expect(page.locator("nav.menu")).to_be_visible()


def test_a_reported_fake_is_resolved_and_the_reporter_reads_the_reply(
    served: Platform,
    acme: Tenant,
    browser: Browser,
    contexts: list[BrowserContext],
    shoot: Shots,
    tmp_path: Path,
) -> None:
    base = served.settings.public_url
    code = brand_with_codes(served, acme, 1)[0]
    photo = tmp_path / "label.png"
    Image.new("RGB", (40, 30), (200, 30, 30)).save(photo)

    # The consumer, in zh-CN, reports from the verification page.
    consumer = _page(browser, contexts, "zh-CN")
    consumer.goto(f"{base}/01/{GTIN}/21/{code}")
    consumer.get_by_text("举报疑似假货").click()
    consumer.get_by_label("购买地点").fill("北京 某小店")
    consumer.get_by_label("情况说明").fill("包装印刷模糊，防伪标签容易撕下")
    consumer.get_by_label("照片（可选）").set_input_files(photo)
    consumer.get_by_label("联系方式（可选）").fill("13800138000")
    consumer.get_by_role("button", name="提交举报").click()
    expect(consumer.locator("#thanks")).to_contain_text("举报已收到")
    link = consumer.locator("#status-link")
    expect(link).to_be_visible()
    status_path = link.get_attribute("href") or ""
    assert status_path.startswith("/report/status/")
    # An unguessable token, not the report's number.
    assert len(status_path.split("?")[0].rsplit("/", 1)[1]) >= 40
    shoot(consumer, "receipt-zh")
    link.click()
    expect(consumer.locator("#state")).to_have_text("已收到，等待处理")
    expect(consumer.locator("#no-reply")).to_be_visible()
    shoot(consumer, "status-before-zh")

    # The brand, in zh-CN, finds it, investigates and resolves it with a reply.
    brand = _page(browser, contexts, "zh-CN")
    _sign_in(brand, base)
    brand.get_by_role("link", name="假货举报").click()
    expect(brand.locator("#reports")).to_contain_text("北京 某小店")
    expect(brand.locator("#reports")).to_contain_text("新举报")
    shoot(brand, "reports-zh")
    brand.get_by_role("link", name="查看").first.click()
    expect(brand.locator("#description")).to_have_text("包装印刷模糊，防伪标签容易撕下")
    expect(brand.locator("#photo")).to_be_visible()
    brand.click("#investigate")
    expect(brand.locator("#done")).to_have_text("已开始调查。")
    expect(brand.locator("#state")).to_have_text("调查中")
    brand.click("#resolve")  # without a reply: told beside the field
    expect(brand.locator("#reply-error")).to_have_text("请先填写给举报人的答复")
    reply = "经鉴定为假冒产品，已移交市场监管部门查处。感谢您的举报！"
    brand.fill("#reply", reply)
    brand.click("#resolve")
    expect(brand.locator("#done")).to_contain_text("已处理完毕")
    expect(brand.locator("#state")).to_have_text("已处理")
    shoot(brand, "report-resolved-zh")

    # The reporter opens the link from their receipt again: the reply, nothing private.
    consumer.goto(base + status_path)
    expect(consumer.locator("#state")).to_have_text("已处理完毕")
    expect(consumer.locator("#reply-text")).to_have_text(reply)
    expect(consumer.locator("body")).not_to_contain_text("13800138000")
    shoot(consumer, "status-replied-zh")
    consumer.get_by_role("link", name="English").click()
    expect(consumer.locator("#state")).to_have_text("Dealt with")
    expect(consumer.get_by_role("heading", name="The brand owner's reply")).to_be_visible()
    shoot(consumer, "status-replied-en")

    # The brand's key pages in English.
    brand.click("#lang-switch")
    expect(brand.get_by_role("heading", level=1)).to_contain_text("Counterfeit report")
    expect(brand.locator("#state")).to_have_text("Resolved")
    shoot(brand, "report-en")
    brand.get_by_role("link", name="Counterfeit reports").click()
    brand.select_option("#state", "resolved")
    brand.click("#filter")
    expect(brand.locator("#reports tbody tr")).to_have_count(1)
    brand.select_option("#state", "new")
    brand.click("#filter")
    expect(brand.locator("#empty")).to_have_text("No reports match.")
    brand.get_by_role("link", name="Recalls").click()
    expect(brand.get_by_role("heading", level=1)).to_have_text("Recalls")
    shoot(brand, "recalls-en")


def test_an_alert_is_taken_up_and_closed_with_its_outcome(
    served: Platform,
    acme: Tenant,
    browser: Browser,
    contexts: list[BrowserContext],
    shoot: Shots,
) -> None:
    base = served.settings.public_url
    diversion_alert(served, acme, distributor_id=None, key="journey")
    brand = _page(browser, contexts, "zh-CN")
    _sign_in(brand, base)
    brand.get_by_role("link", name="警报").click()
    expect(brand.locator("#alerts")).to_contain_text("待处理")
    shoot(brand, "alerts-zh")
    brand.locator("#alerts a").first.click()
    expect(brand.locator("#evidence")).to_contain_text("应销售区域")
    brand.fill("#investigate-note", "王工联系华南经销商核实")
    brand.click("#investigate")
    expect(brand.locator("#state")).to_contain_text("调查中")
    expect(brand.locator("#investigate")).to_have_count(0)
    brand.fill("#close-note", "经销商承认将货物发往北京")
    brand.click("#close")  # no outcome chosen: told beside the field
    expect(brand.locator("#outcome-error")).to_have_text("关闭警报需要选择结论")
    brand.select_option("#outcome", "diverted")
    brand.click("#close")
    expect(brand.locator("#done")).to_have_text("警报已关闭。")
    expect(brand.locator("#outcome-now")).to_have_text("确认窜货")
    expect(brand.locator("#history li")).to_have_count(2)
    expect(brand.locator("#actions")).to_have_count(0)
    shoot(brand, "alert-closed-zh")
    brand.click("#lang-switch")
    expect(brand.locator("#outcome-now")).to_have_text("Diverted goods")
    expect(brand.locator("#history")).to_contain_text("qa@acme.cn")
    shoot(brand, "alert-closed-en")


def test_a_recall_is_started_its_reach_read_and_ended(
    served: Platform,
    acme: Tenant,
    browser: Browser,
    contexts: list[BrowserContext],
    shoot: Shots,
) -> None:
    base = served.settings.public_url
    brand_with_codes(served, acme, 2)
    brand = _page(browser, contexts, "zh-CN")
    _sign_in(brand, base)
    brand.get_by_role("link", name="召回").click()
    expect(brand.locator("#empty")).to_be_visible()
    brand.click("#start-recall")
    brand.select_option("#gtin", GTIN)
    brand.fill("#lot", "W2026-12A")
    brand.click("#announce")  # no reason: told beside the field
    expect(brand.locator("#reason-error")).to_have_text("召回需要填写原因和消费者处理办法")
    brand.fill("#reason", "压力表读数失准")
    brand.fill("#instructions", "请停止使用，联系客服免费更换")
    shoot(brand, "recall-new-zh")
    brand.click("#announce")
    expect(brand.locator("#done")).to_contain_text("召回已发起")
    expect(brand.locator("#reach")).to_contain_text("货物现在在哪里")
    expect(brand.locator("#reach-csv")).to_be_visible()
    shoot(brand, "recall-zh")
    with brand.expect_download() as download:
        brand.click("#reach-csv")
    assert download.value.suggested_filename.endswith("-reach.csv")
    brand.click("#lang-switch")
    expect(brand.get_by_role("heading", name="Where the goods are now")).to_be_visible()
    brand.click("#end-recall")
    expect(brand.locator("#done")).to_have_text("The recall has ended.")
    expect(brand.locator("#end-recall")).to_have_count(0)
    shoot(brand, "recall-ended-en")
    # Only recalls in force are listed by default.
    brand.get_by_role("link", name="← All recalls").click()
    expect(brand.locator("#empty")).to_be_visible()
