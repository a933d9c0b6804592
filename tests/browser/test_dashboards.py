"""The analytics dashboard in a real browser over a simulated month: the tile map, the
series and the flows the page shows are the analytics API's figures, which are the raw
scan log's counts; the charts are drawn by the vendored ECharts with no request leaving
the site. zh-CN first, then English; screenshots of each step (``shoot``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from tests.browser.conftest import CHROMIUM, Shots
from tests.conftest import Platform
from tests.functional.people_helpers import PASSWORD, add_person
from traceseal.db import py_time, unit_of_work
from traceseal.orgs.models import Organization
from traceseal.orgs.service import issue_api_key
from traceseal.simulation import simulate
from traceseal.verify.models import Scan

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"browser tests need Debian's Chromium at {CHROMIUM} (`make browser`)",
)

MONTH = {"from": "2026-09-30", "to": "2026-11-30"}
QUERY = "from=2026-09-30&to=2026-11-30"


@pytest.fixture
def context(browser: Browser, served: Platform) -> Iterator[BrowserContext]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context
    context.close()


def _raw(platform: Platform, org_id: int) -> tuple[Counter[str], Counter[str]]:
    """Scans per province and per CST day, counted from the log."""
    provinces: Counter[str] = Counter()
    days: Counter[str] = Counter()
    with unit_of_work(platform.session_factory) as session:
        rows = session.execute(
            select(Scan.region, Scan.scanned_at).where(Scan.organization_id == org_id)
        ).all()
    for region, at in rows:
        provinces["" if region is None else region[:2] + "0000"] += 1
        moment = py_time(at)
        assert moment is not None
        days[(moment.astimezone(UTC) + timedelta(hours=8)).date().isoformat()] += 1
    return provinces, days


def _api(platform: Platform, key: str, path: str, **params: str) -> list[dict[str, Any]]:
    answer = platform.client.get(
        f"/api/v1/analytics/{path}",
        params=MONTH | params,
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def _cells(page: Page, selector: str, count: str = "scans") -> dict[str, str]:
    """A table's rows: data-key -> its count, read from the DOM (hidden tables too)."""
    return page.eval_on_selector_all(
        f"{selector} tbody tr",
        "(rows, count) => Object.fromEntries(rows.map(r => [r.dataset.key,"
        " r.querySelector(`[data-count=${count}]`).textContent.trim()]))",
        count,
    )


def test_the_dashboard_shows_the_api_figures_and_the_raw_log(
    served: Platform, context: BrowserContext, shoot: Shots
) -> None:
    result = simulate(
        served.session_factory,
        served.app.state.keyring,
        served.settings,
        codes_count=160,
        diverted=4,
        cloned=4,
        seed=5,
    )
    with unit_of_work(served.session_factory) as session:
        org = session.get(Organization, result.enterprise_id)
        assert org is not None
        key = result.enterprise_key or issue_api_key(session, org)
    add_person(served, result.enterprise_id, "admin@acme.cn", "admin")
    base = served.settings.public_url.rstrip("/")
    raw_provinces, raw_days = _raw(served, result.enterprise_id)
    assert sum(raw_days.values()) == result.scans > 100

    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(base) else outside.append(r.url))
    page.goto(f"{base}/console/sign-in?next=" + quote(f"/console/analytics?{QUERY}", safe="/"))
    page.fill("#login", "admin@acme.cn")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    expect(page.get_by_role("heading", level=1)).to_have_text("数据分析")
    expect(page.locator("#scope")).to_contain_text("2026-09-30 – 2026-11-30")
    expect(page.locator("nav.menu a[aria-current=page]")).to_have_text("数据分析")
    # The charts are drawn (SVG from ECharts), from files of this site only.
    expect(page.locator("#chart-series svg")).to_have_count(1)
    expect(page.locator("#chart-flows svg")).to_have_count(1)
    expect(page.locator("#chart-verdicts svg")).to_have_count(1)

    # The map: each tile's count is the API's, which is the raw log's.
    tiles = page.eval_on_selector_all(
        "#tilemap .tile", "ts => Object.fromEntries(ts.map(t => [t.dataset.code, t.dataset.scans]))"
    )
    assert len(tiles) == 34
    api_provinces = {row["key"]: row["scans"] for row in _api(served, key, "regions")}
    assert {k: int(v) for k, v in tiles.items() if v != "0"} == {
        k: v for k, v in api_provinces.items() if k
    }
    assert api_provinces == dict(raw_provinces)
    # The series: its table is the API's, and the log's count per day.
    series = _cells(page, "#series")
    api_series = {row["key"]: row["scans"] for row in _api(served, key, "series")}
    assert {k: int(v) for k, v in series.items()} == api_series == dict(raw_days)
    # The flows: the table's rows are the API's, largest first.
    flows = page.eval_on_selector_all(
        "#flows tbody tr",
        "rs => rs.map(r => [r.dataset.distributor, r.dataset.city,"
        " r.querySelector('[data-count=scans]').textContent.trim()])",
    )
    api_flows = _api(served, key, "flows")
    assert flows == [[f["distributor"], f["city"], str(f["scans"])] for f in api_flows]
    assert len(flows) > 0
    shoot(page, "dashboard-zh")

    # Drill down: Guangdong's cities, sorted, as the API gives them.
    page.click("#tilemap .tile[data-code='440000']")
    expect(page.locator("#cities h2")).to_contain_text("广东 各城市")
    expect(page.locator("#chart-cities svg")).to_have_count(1)
    cities = _cells(page, "#city-table")
    api_cities = {
        row["key"]: row["scans"] for row in _api(served, key, "regions", province="440000")
    }
    assert {k: int(v) for k, v in cities.items()} == api_cities
    ordered = [int(v) for v in cities.values()]
    assert ordered == sorted(ordered, reverse=True)
    shoot(page, "cities-zh")

    # Printable: the print stylesheet hides the menu and the filters.
    page.emulate_media(media="print")
    expect(page.locator("nav.menu")).to_be_hidden()
    expect(page.locator("#filters")).to_be_hidden()
    shoot(page, "print-zh")
    page.emulate_media(media="screen")

    # English: the same figures, in English words.
    page.click("#lang-switch")
    expect(page.get_by_role("heading", level=1)).to_have_text("Analytics")
    expect(page.locator("#cities h2")).to_contain_text("Cities of Guangdong")
    expect(page.locator("#tilemap .tile[data-code='440000'] .name")).to_have_text("Guangdong")
    expect(page.locator("#chart-series svg")).to_have_count(1)
    assert {k: int(v) for k, v in _cells(page, "#series").items()} == api_series
    shoot(page, "dashboard-en")

    # On a phone the tile map keeps all 34 squares side by side, none off the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/console/analytics?{QUERY}&lang=zh-CN")
    expect(page.locator("#tilemap .tile")).to_have_count(34)
    right = page.eval_on_selector_all(
        "#tilemap .tile", "ts => Math.max(...ts.map(t => t.getBoundingClientRect().right))"
    )
    assert right <= 390
    shoot(page, "dashboard-phone-zh")
    assert outside == []
