"""The quality record on the result page, as a person sees it in a real browser."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_consumer_journey import (
    GTIN,
    LOT,
    OpenPage,
    acme,
    labels,
    open_page,
    pytestmark,
)
from tests.conftest import Platform, Tenant
from traceseal.orgs.models import Role

__all__ = ["acme", "labels", "open_page", "pytestmark"]


def test_signed_facts_and_a_lapsed_certificate_warning(
    served: Platform, acme: Tenant, labels: list[tuple[str, str]], open_page: OpenPage
) -> None:
    lab = served.org("国家消防装备质量检验检测中心", Role.LAB)
    certificate = {
        "scheme": "CCC",
        "compulsory": True,
        "number": "2019081801000001",
        "holder": acme.id,
        "gtins": [GTIN],
        "valid_from": "2019-01-01",
        "valid_until": "2024-12-31",
    }
    report = {
        "number": "XF-2026-0815",
        "gtin": GTIN,
        "lot": LOT,
        "standards": ["GB 4351-2023"],
        "conclusion": "pass",
        "tested_on": "2026-10-20",
    }
    for path, body in (
        ("/api/v1/certificates", certificate),
        ("/api/v1/inspection-reports", report),
    ):
        response = served.client.post(path, json=body, headers=lab.auth)
        assert response.status_code == 201, response.text
    _, url = labels[0]
    page = open_page("zh-CN")
    page.goto(url)
    quality = page.locator("#quality")
    expect(quality.get_by_role("heading", level=2)).to_have_text("质量诚信档案")
    expect(page.locator("#quality-warnings")).to_contain_text("已过期（有效期至 2024-12-31）")
    expect(quality.locator('[data-type="inspection_report"]')).to_contain_text("合格")
    expect(quality.locator('[data-type="inspection_report"]')).to_contain_text(
        "由 国家消防装备质量检验检测中心 签名，已记录在公开日志中"
    )
    page.get_by_role("link", name="English").click()
    expect(page.locator("#quality-warnings")).to_contain_text("has expired")
    expect(quality.locator('[data-type="certificate"]')).to_contain_text("expired")
