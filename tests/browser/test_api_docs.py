"""The API documentation renders in a browser with no internet: Swagger UI and ReDoc come
from the package's vendored assets, and every request outside the served host is refused."""

from __future__ import annotations

import time
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
    # With this many operations Swagger UI renders only those near the viewport: scroll
    # through the page and collect every operation that was ever rendered.
    seen: set[str] = set()
    quiet = 0
    while quiet < 5:
        summaries = page.locator(".opblock-summary").all_inner_texts()
        before = len(seen)
        seen |= {" ".join(text.split()[:2]) for text in summaries}
        quiet = quiet + 1 if len(seen) == before else 0
        page.mouse.wheel(0, 600)
        time.sleep(0.1)
    assert len(seen) >= 90, sorted(seen)
    assert any(text.endswith("/api/v1/verify") for text in seen)
    assert refused == []


def test_redoc_lists_every_operation_offline(browser: Browser, served: Platform) -> None:
    page, refused = _offline(browser, served, "/redoc")
    entries = page.locator("li[data-item-id^='tag/'] li[data-item-id*='operation/']")
    entries.first.wait_for(state="attached", timeout=20_000)
    assert entries.count() >= 90
    assert refused == []
