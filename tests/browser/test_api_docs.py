"""The API documentation renders in a browser with no internet: Swagger UI and ReDoc come
from the package's vendored assets, and every request outside the served host is refused."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Browser, Route

from tests.browser.test_consumer_journey import pytestmark
from tests.conftest import Platform

__all__ = ["pytestmark"]


def _offline(browser: Browser, served: Platform, path: str) -> tuple[object, list[str]]:
    """A page on ``path`` whose requests to any other host fail, and the hosts it tried."""
    own = urlsplit(served.settings.public_url).netloc
    refused: list[str] = []
    context = browser.new_context()

    def only_local(route: Route) -> None:
        host = urlsplit(route.request.url).netloc
        if host == own:
            route.continue_()
        else:
            refused.append(host)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.goto(served.settings.public_url + path)
    return page, refused


def test_swagger_ui_lists_every_operation_offline(browser: Browser, served: Platform) -> None:
    page, refused = _offline(browser, served, "/docs")
    operations = page.locator(".opblock")
    operations.first.wait_for(timeout=20_000)
    assert operations.count() >= 90
    assert page.locator(".opblock-summary-path", has_text="/api/v1/verify").count() >= 1
    assert refused == []


def test_redoc_lists_every_operation_offline(browser: Browser, served: Platform) -> None:
    page, refused = _offline(browser, served, "/redoc")
    entries = page.locator("li[data-item-id^='tag/'] li[data-item-id*='operation/']")
    entries.first.wait_for(state="attached", timeout=20_000)
    assert entries.count() >= 90
    assert refused == []
