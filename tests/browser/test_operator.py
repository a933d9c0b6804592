"""The operator in a real browser (a phone-sized Chromium): its admin signs in, onboards a
brand with its first admin, and that admin opens the one-time link, sets a password and
reaches their console; then an anonymous visitor searches the public quality directory and
opens a certificate's entry. zh-CN throughout, the key pages in English too; screenshots
are the test's artefacts (``shoot``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.conftest import CHROMIUM, Shots
from tests.conftest import Platform, add_product
from tests.functional.people_helpers import PASSWORD, add_person
from traceseal.db import unit_of_work
from traceseal.ledger import checkpoints
from traceseal.orgs.models import Role

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"browser tests need Debian's Chromium at {CHROMIUM} (`make browser`)",
)

PHONE = {"width": 390, "height": 844}
GTIN = "09506000134352"


@pytest.fixture
def contexts(browser: Browser, served: Platform) -> Iterator[list[BrowserContext]]:
    """Separate browsers (cookie jars) for the operator, the newcomer and a visitor."""
    made: list[BrowserContext] = []
    for _ in range(3):
        context = browser.new_context(locale="zh-CN", viewport=PHONE)
        context.set_default_timeout(10_000)
        made.append(context)
    yield made
    for context in made:
        context.close()


def _certified(served: Platform) -> None:
    """A brand's product with a lab's CCC certificate, published under a checkpoint."""
    brand = served.org("安盾消防科技有限公司")
    add_product(served, brand, GTIN)
    lab = served.org("国家消防装备质量检验检测中心", Role.LAB)
    made = served.client.post(
        "/api/v1/certificates",
        json={
            "scheme": "CCC",
            "compulsory": True,
            "number": "2026081801000001",
            "holder": brand.id,
            "gtins": [GTIN],
            "valid_from": "2026-01-01",
            "valid_until": "2031-12-31",
        },
        headers=lab.auth,
    )
    assert made.status_code == 201, made.text
    with unit_of_work(served.session_factory) as session:
        checkpoints.publish(
            session, served.app.state.keyring, served.settings.resolved_ledger_origin
        )


def test_operator_onboards_a_brand_and_a_visitor_reads_the_directory(
    served: Platform, contexts: list[BrowserContext], shoot: Shots
) -> None:
    add_person(served, served.operator.id, "ops@platform.cn", "admin")
    _certified(served)
    base = served.settings.public_url
    ops, newcomer, visitor = (context.new_page() for context in contexts)

    # The operator's admin signs in (zh-CN, the browser's language) and sees the platform.
    ops.goto(base + "/console")
    ops.fill("#login", "ops@platform.cn")
    ops.fill("#password", PASSWORD)
    ops.click("#sign-in")
    expect(ops.locator("#operator-cards")).to_be_visible()
    expect(ops.locator("#count-enterprise")).to_have_text("1")
    shoot(ops, "operator-home-zh")

    # Onboarding: a wrong mobile number is said beside its field, and nothing is made.
    ops.click("#onboard")
    expect(ops.get_by_role("heading", level=1)).to_have_text("新机构入驻")
    ops.fill("#org_name", "蓝盾安防")
    ops.select_option("#kind", "enterprise")
    ops.fill("#mobile", "12")
    ops.fill("#name", "王经理")
    ops.click("#create-organisation")
    expect(ops.locator("#mobile-error")).to_have_text("手机号应为 7 到 20 位数字")
    shoot(ops, "onboard-error-zh")
    ops.fill("#mobile", "")
    ops.fill("#email", "boss@landun.cn")
    ops.click("#create-organisation")
    expect(ops.locator("#done")).to_contain_text("蓝盾安防")
    link = ops.locator("#reset-link").inner_text()
    assert link.startswith(base + "/console/reset/")
    shoot(ops, "onboarded-link-zh")
    ops.click("#see-organisation")
    expect(ops.locator("#org-name")).to_have_text("蓝盾安防")
    expect(ops.locator("#people")).to_contain_text("boss@landun.cn")
    shoot(ops, "organisation-zh")

    # The new brand's admin opens the link, sets a password and reaches their console.
    newcomer.goto(link)
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("设置密码")
    newcomer.fill("#password", "蓝盾的新密码 2026")
    newcomer.fill("#again", "蓝盾的新密码 2026")
    newcomer.click("#set-password")
    newcomer.fill("#login", "boss@landun.cn")
    newcomer.fill("#password", "蓝盾的新密码 2026")
    newcomer.click("#sign-in")
    expect(newcomer.get_by_role("heading", level=1)).to_contain_text("王经理")
    expect(newcomer.locator("#org")).to_have_text("蓝盾安防")
    expect(newcomer.locator("#role")).to_have_text("机构管理员")
    shoot(newcomer, "newcomer-home-zh")

    # The operator's key pages in English.
    ops.goto(base + "/console/organisations?lang=en")
    expect(ops.get_by_role("heading", level=1)).to_have_text("Organisations on the platform")
    expect(ops.locator("#organisations")).to_contain_text("蓝盾安防")
    shoot(ops, "organisations-en")
    ops.goto(base + "/console/health")
    expect(ops.get_by_role("heading", level=2).first).to_have_text("Transparency log")
    expect(ops.locator("#queue-webhooks")).to_contain_text("Alert webhooks")
    shoot(ops, "health-en")

    # An anonymous visitor searches the directory and opens the certificate's entry.
    visitor.goto(base + "/directory")
    expect(visitor.get_by_role("heading", level=1)).to_have_text("质量信息公开名录")
    visitor.fill("#q", "不存在的牌子")
    visitor.click("#search")
    expect(visitor.locator("#empty")).to_contain_text("没有找到")
    visitor.fill("#q", "Extinguisher")
    visitor.click("#search")
    entry = visitor.locator(".entry").first
    expect(entry).to_contain_text("安盾消防科技有限公司")
    shoot(visitor, "directory-search-zh")
    entry.get_by_role("link").first.click()
    expect(visitor.locator("#record-title")).to_contain_text("认证证书")
    expect(visitor.locator("#covers")).to_contain_text(GTIN)
    expect(visitor.locator("#log-proof")).to_be_visible()
    shoot(visitor, "certificate-zh")
    visitor.click("#other-language")
    expect(visitor.locator("#record-title")).to_contain_text("Certificate")
    expect(visitor.locator("#status")).to_have_text("valid")
    shoot(visitor, "certificate-en")
    proof = visitor.request.get(base + (visitor.locator("#log-proof").get_attribute("href") or ""))
    assert proof.ok
    assert proof.json()["record"] == int(visitor.url.rsplit("/", 1)[1].split("?")[0])
    visitor.goto(base + "/directory?lang=en&q=" + GTIN)
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Public quality directory")
    expect(visitor.locator(".entry").first).to_contain_text("Held by")
    shoot(visitor, "directory-search-en")
