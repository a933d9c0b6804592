"""The analytics dashboards over a simulated month: each role's page and CSV exports carry
exactly the analytics API's figures for that role (a brand its own, as they are; Beta
nothing of Acme's; a distributor its territory's; the regulator and the operator across
brands with small counts as "<5"), and the brand's figures are the raw scan log's counts."""

from __future__ import annotations

import csv
import html
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from tests.conftest import Platform
from tests.functional.people_helpers import Browser, add_person
from traceseal.console.dashboard_figures import csv_bytes
from traceseal.console.weekly_pdf import cjk_font_path, parse_week
from traceseal.db import unit_of_work
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.service import issue_api_key
from traceseal.simulation import DISTRIBUTORS, simulate
from traceseal.verify.models import Scan

# The simulated month is October; some scans come a little after it.
MONTH = {"from": "2026-09-30", "to": "2026-11-30"}
API = "/api/v1/analytics"
#: Each CSV chart and the API answer whose rows it carries.
CHARTS = {
    "series": ("series", {}),
    "verdicts": ("verdicts", {}),
    "provinces": ("regions", {}),
    "cities": ("regions", {"province": "440000"}),
}
COUNTS = ("scans", "firsts", "repeats", "trade")


@dataclass
class Month:
    platform: Platform
    keys: dict[str, str]
    browsers: dict[str, Browser]
    enterprise_id: int


@pytest.fixture
def month(platform: Platform) -> Iterator[Month]:
    """A simulated month (160 codes), Acme's people and one of every other kind."""
    result = simulate(
        platform.session_factory,
        platform.app.state.keyring,
        platform.settings,
        codes_count=160,
        diverted=4,
        cloned=4,
        seed=5,
    )
    beta = platform.org("Beta")
    regulator = platform.org("Reg", Role.REGULATOR)
    lab = platform.org("Lab", Role.LAB)
    with unit_of_work(platform.session_factory) as session:
        dist = session.scalar(select(Organization).where(Organization.name == DISTRIBUTORS[0].name))
        assert dist is not None
        dist_id, dist_key = dist.id, issue_api_key(session, dist)
        acme = session.get(Organization, result.enterprise_id)
        assert acme is not None
        acme_key = result.enterprise_key or issue_api_key(session, acme)
    people = {
        "admin": (result.enterprise_id, "admin@acme.cn"),
        "member": (result.enterprise_id, "member@acme.cn"),
        "other_admin": (beta.id, "admin@beta.cn"),
        "regulator": (regulator.id, "admin@reg.cn"),
        "operator": (platform.operator.id, "staff@platform.cn"),
        "distributor": (dist_id, "admin@dist.cn"),
        "lab": (lab.id, "admin@lab.cn"),
    }
    browsers = {}
    for role, (org_id, login) in people.items():
        add_person(platform, org_id, login, "admin" if role != "member" else "member")
        browsers[role] = Browser(platform)
        assert browsers[role].sign_in(login).status_code == 303
    keys = {
        "admin": acme_key,
        "member": acme_key,
        "other_admin": beta.key,
        "regulator": regulator.key,
        "operator": platform.operator.key,
        "distributor": dist_key,
    }
    yield Month(platform, keys, browsers, result.enterprise_id)
    for browser in browsers.values():
        browser.close()


def _api(month: Month, role: str, path: str, **params: str) -> list[dict[str, Any]]:
    answer = month.platform.client.get(
        f"{API}/{path}",
        params=MONTH | params,
        headers={"Authorization": f"Bearer {month.keys[role]}"},
    )
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def _csv(month: Month, role: str, chart: str, **params: str) -> list[list[str]]:
    answer = month.browsers[role].get(
        "/console/analytics/export.csv", params=MONTH | {"chart": chart} | params
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


def _raw_provinces(month: Month) -> Counter[str]:
    with unit_of_work(month.platform.session_factory) as session:
        return Counter(
            "" if region is None else region[:2] + "0000"
            for region in session.scalars(
                select(Scan.region).where(Scan.organization_id == month.enterprise_id)
            )
        )


ROLES = ("admin", "member", "other_admin", "regulator", "operator", "distributor")


def _exports_match_the_api(month: Month, role: str) -> None:
    for chart, (path, params) in CHARTS.items():
        rows = _csv(month, role, chart, **params)
        expected = _api(month, role, path, **params)
        keyed = {row[0 if chart == "series" else 1]: row[-4:] for row in rows[1:]}
        api = {item["key"]: [str(item[name]) for name in COUNTS] for item in expected}
        assert keyed == api, (role, chart)
    flows = _csv(month, role, "flows")
    expected_flows = _api(month, role, "flows")
    if role in ("admin", "regulator", "operator"):
        assert expected_flows  # the planted diverted goods were seen elsewhere
    assert [row[-2:] for row in flows[1:]] == [
        [str(item["scans"]), str(item["trade"])] for item in expected_flows
    ]
    hot = _csv(month, role, "hotspots")
    assert len(hot) - 1 == len(_api(month, role, "hotspots", to=MONTH["to"]))


@pytest.mark.slow
def test_each_role_exports_and_sees_the_api_figures_of_its_role(month: Month) -> None:
    for role in ROLES:
        _exports_match_the_api(month, role)
    raw = _raw_provinces(month)
    assert sum(raw.values()) > 100
    provinces = {row[1]: int(row[2]) for row in _csv(month, "admin", "provinces")[1:]}
    assert provinces == dict(raw)
    # Beta's admin: nothing of Acme's, on the page or in an export.
    assert _csv(month, "other_admin", "provinces")[1:] == []
    page = month.browsers["other_admin"].get("/console/analytics", params=MONTH)
    assert page.status_code == 200
    assert 'id="series-empty"' in page.text
    assert "华南安盾经销有限公司" not in page.text
    # The regulator: every brand (only Acme has scans), small counts hidden.
    every = [row[1] for row in _csv(month, "regulator", "series")[1:]]
    brand_days = [row[1] for row in _csv(month, "admin", "series")[1:]]
    assert "<5" not in brand_days  # the brand sees its own small counts as they are
    assert len(every) == len(brand_days)
    assert "<5" in every  # quiet days: hidden from anyone but the brand
    assert all(
        mine == theirs or (theirs == "<5" and int(mine) < 5)
        for mine, theirs in zip(brand_days, every, strict=True)
    )
    # The distributor: its territory (Guangdong) only.
    territory = _csv(month, "distributor", "provinces")[1:]
    assert {row[1] for row in territory} == {"440000"}

    _page_matches_the_api(month)


def _page_matches_the_api(month: Month) -> None:
    for role in ("admin", "regulator", "operator", "distributor"):
        page = month.browsers[role].get("/console/analytics", params=MONTH | {"province": "440000"})
        assert page.status_code == 200, role
        found = re.findall(r'data-code="(\d{6})" data-scans="([^"]*)"', page.text)
        tiles = {code: html.unescape(value) for code, value in found}
        assert len(tiles) == 34
        api = {row["key"]: str(row["scans"]) for row in _api(month, role, "regions")}
        assert {code: value for code, value in tiles.items() if value != "0"} == {
            code: value for code, value in api.items() if code and value != "0"
        }, role
        assert 'id="cities"' in page.text
    # English, and the lab is refused.
    english = month.browsers["admin"].get("/console/analytics", params=MONTH | {"lang": "en"})
    assert "Scans by province" in english.text
    assert "Guangdong" in english.text
    assert month.browsers["lab"].get("/console/analytics").status_code == 403
    assert month.browsers["lab"].get("/console/analytics/export.csv").status_code == 403


@pytest.mark.slow
def test_filters_errors_and_the_scans_behind_a_figure(month: Month) -> None:
    admin = month.browsers["admin"]
    wrong = admin.get("/console/analytics", params={"from": "2026-10-31", "to": "2026-10-01"})
    assert wrong.status_code == 200
    assert "截止日期早于起始日期" in wrong.text
    assert admin.get("/console/analytics", params={"from": "31/10"}).status_code == 200
    # An export with filters the page refuses goes back to the page, which says why.
    refused = admin.get(
        "/console/analytics/export.csv",
        params={"chart": "series", "from": "2026-10-31", "to": "2026-10-01"},
    )
    assert refused.status_code == 303
    assert "截止日期早于起始日期" in admin.get(refused.headers["location"]).text
    assert admin.get("/console/analytics/export.csv", params={"chart": "x"}).status_code == 404
    by_channel = _csv(month, "admin", "series", channel="qr")
    expected = _api(month, "admin", "series", channel="qr")
    assert [row[1] for row in by_channel[1:]] == [str(item["scans"]) for item in expected]
    scans = admin.get("/console/analytics/scans", params=MONTH | {"province": "440000"})
    assert scans.status_code == 200
    listed = scans.text.count("<code>")
    expected_rows = month.platform.client.get(
        f"{API}/scans",
        params=MONTH | {"province": "440000", "limit": "50"},
        headers={"Authorization": f"Bearer {month.keys['admin']}"},
    ).json()
    assert listed == len(expected_rows) > 0
    assert month.browsers["regulator"].get("/console/analytics/scans").status_code == 403
    assert (
        month.browsers["other_admin"]
        .get("/console/analytics/scans", params=MONTH)
        .text.count("<code>")
        == 0
    )

    _weekly_summary(month)


def _weekly_summary(month: Month) -> None:
    admin = month.browsers["admin"]
    answer = admin.get("/console/analytics/weekly.pdf", params={"week": "2026-W41", "lang": "en"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    assert "Weekly verification summary" in text
    assert "2026-10-05 - 2026-10-11" in text
    week = _api(month, "admin", "series", **{"from": "2026-10-05", "to": "2026-10-11"})
    assert f"Scans: {sum(int(row['scans']) for row in week)}" in text
    bad = admin.get("/console/analytics/weekly.pdf", params={"week": "41"})
    assert bad.status_code == 303
    assert 'id="weekly-error"' in admin.get(bad.headers["location"]).text
    assert month.browsers["regulator"].get("/console/analytics/weekly.pdf").status_code == 403
    beta = month.browsers["other_admin"].get(
        "/console/analytics/weekly.pdf", params={"week": "2026-W41", "lang": "en"}
    )
    beta_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(beta.content)).pages)
    assert "Scans: 0" in beta_text


@pytest.mark.slow
def test_the_weekly_summary_in_chinese(platform: Platform) -> None:
    assert cjk_font_path() is not None  # the labels' bundled font
    result = simulate(
        platform.session_factory, platform.app.state.keyring, platform.settings, codes_count=160
    )
    add_person(platform, result.enterprise_id, "admin@acme.cn", "admin")
    admin = Browser(platform)
    admin.sign_in("admin@acme.cn")
    answer = admin.get(
        "/console/analytics/weekly.pdf", params={"week": "2026-W41", "lang": "zh-CN"}
    )
    assert answer.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    assert "每周查询汇总" in text
    assert "安盾消防科技有限公司" in text


def test_csv_cells_that_would_run_as_formulas_are_defused() -> None:
    body = csv_bytes([["name", "n"], ['=HYPERLINK("x")', 3], ["+1", "<5"], ["-2", "@a"]])
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[1] == ['\'=HYPERLINK("x")', "3"]
    assert rows[2] == ["'+1", "<5"]
    assert rows[3] == ["'-2", "'@a"]
    assert parse_week("2026-W01").isoformat() == "2025-12-29"
