"""An organisation's admin in a real browser (a phone-sized Chromium): signs in in zh-CN,
turns on two-step sign-in, adds a member and finds it in the audit log; then signs in again
in English with a recovery code. Screenshots of each step are saved as the test's artefacts
(the directory is printed; ``pytest -s`` shows it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import CHROMIUM
from tests.conftest import Platform
from tests.functional.people_helpers import PASSWORD, add_person

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"browser tests need Debian's Chromium at {CHROMIUM} (`make browser`)",
)

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def context(browser: Browser, served: Platform) -> Iterator[BrowserContext]:
    context = browser.new_context(locale="zh-CN", viewport=PHONE)
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    directory = tmp_path / "screenshots"
    directory.mkdir()
    print(f"\nconsole screenshots: {directory}")
    return directory


def _shot(page: Page, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    assert (shots / f"{name}.png").stat().st_size > 1000


def test_admin_enables_totp_adds_a_member_and_reads_the_audit_log(
    served: Platform, context: BrowserContext, shots: Path
) -> None:
    acme = served.org("安盾消防科技有限公司")
    add_person(served, acme.id, "admin@acme.cn", "admin")
    base = served.settings.public_url
    page = context.new_page()

    # zh-CN: the browser's language.
    page.goto(base + "/console")
    expect(page.get_by_role("heading", level=1)).to_have_text("登录控制台")
    page.fill("#login", "admin@acme.cn")
    page.fill("#password", "not the password")
    page.click("#sign-in")
    expect(page.locator("#password-error")).to_have_text("账号或密码不正确")
    _shot(page, shots, "01-sign-in-error-zh")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    expect(page.get_by_role("heading", level=1)).to_contain_text("您好")
    expect(page.locator("#role")).to_have_text("机构管理员")
    _shot(page, shots, "02-home-zh")

    page.get_by_role("link", name="两步验证").click()
    page.click("#totp-start")
    expect(page.locator("#totp-qr")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    _shot(page, shots, "03-totp-qr-zh")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("#totp-confirm")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    _shot(page, shots, "04-recovery-codes-zh")

    page.goto(base + "/console/users")
    page.click("#add-person")
    page.fill("#email", "wang@acme.cn")
    page.fill("#name", "王工")
    page.select_option("#role", "member")
    page.fill("#password", "short")
    page.click("#create-person")
    expect(page.locator("#password-error")).to_have_text("密码至少需要 10 个字符")
    _shot(page, shots, "05-new-member-error-zh")
    page.fill("#password", "a good first password")
    page.click("#create-person")
    expect(page.locator("#done")).to_have_text("已添加。")
    expect(page.locator("#people")).to_contain_text("wang@acme.cn")
    _shot(page, shots, "06-people-zh")

    page.get_by_role("link", name="审计日志").click()
    audit = page.locator("#audit")
    expect(audit).to_contain_text("person.create")
    expect(audit).to_contain_text("person")
    expect(audit).to_contain_text("wang@acme.cn")
    expect(audit).to_contain_text("totp.enable")
    page.select_option("#action", "person.create")
    page.click("#filter")
    expect(page.locator("#audit tbody tr")).to_have_count(1)
    _shot(page, shots, "07-audit-zh")

    # English: the switch is remembered across pages; sign out and in again.
    page.click("#lang-switch")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    page.click("#sign-out")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the console")
    page.fill("#login", "admin@acme.cn")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    page.fill("#code", codes[0])
    page.click("#verify-code")
    expect(page.locator("#role")).to_have_text("Organisation admin")
    _shot(page, shots, "08-home-en")
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("#audit tbody tr").first).to_contain_text("session.sign_in")
    _shot(page, shots, "09-audit-en")
    # The session cookie as the browser holds it: __Host-, Secure, HttpOnly, SameSite=Lax.
    cookie = next(c for c in context.cookies() if c["name"].endswith("ts_console"))
    assert cookie["name"] == "__Host-ts_console"
    assert cookie["httpOnly"]
    assert cookie["secure"]
    assert cookie["sameSite"] == "Lax"
