"""A hot spot on the dashboard: the brand's row links to the scans behind it (its own, as
the API's evidence gives them); a regulator sees the spot with no link and no scans."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta

from tests.conftest import Platform, Tenant
from tests.functional.conftest import issue
from tests.functional.people_helpers import Browser, add_person
from traceseal.geo.buckets import CHINA
from traceseal.orgs.models import Role
from traceseal.risk.service import RiskEngine
from traceseal.verify.models import Channel
from traceseal.verify.records import Query
from traceseal.verify.service import verify

END = date(2026, 11, 29)


def _verify_at(platform: Platform, code: str, region: str, at: datetime, device: str) -> None:
    query = Query(code=code, channel=Channel.QR, region=region, device_hash=device)
    with platform.app.state.engine.begin() as connection:
        verify(
            connection,
            platform.app.state.keyring,
            query,
            now=at,
            risk=RiskEngine(platform.settings),
        )


def test_a_hot_spot_links_the_brand_to_its_scans(platform: Platform, acme: Tenant) -> None:
    codes = iter(issue(platform, acme, 9 * 20))
    # Nine weeks of 20 first queries in Shenzhen; in the last, each is queried again.
    for week in range(9):
        at = datetime.combine(END - timedelta(days=7 * week + 2), time(12), CHINA).astimezone(UTC)
        batch = [next(codes) for _ in range(20)]
        for i, code in enumerate(batch):
            _verify_at(platform, code, "440305", at + timedelta(seconds=i), f"{week:02d}{i:030d}")
        if week == 0:
            for i, code in enumerate(batch):
                _verify_at(platform, code, "440305", at + timedelta(hours=1), f"r{i:031d}")
    add_person(platform, acme.id, "admin@acme.cn", "admin")
    regulator = platform.org("Reg", Role.REGULATOR)
    add_person(platform, regulator.id, "admin@reg.cn", "admin")
    brand, reg = Browser(platform), Browser(platform)
    brand.sign_in("admin@acme.cn")
    reg.sign_in("admin@reg.cn")
    span = {"from": "2026-11-01", "to": END.isoformat()}

    page = brand.get("/console/analytics", params=span)
    assert 'data-measure="repeat_rate"' in page.text
    links = [html.unescape(x) for x in re.findall(r'class="evidence" href="([^"]+)"', page.text)]
    assert len(links) == 1
    behind = brand.get(links[0])
    assert behind.status_code == 200
    assert behind.text.count("<code>") == 40  # the week's 20 first queries and 20 repeats
    api = platform.client.get(
        "/api/v1/analytics/hotspots", params={"to": END.isoformat()}, headers=acme.auth
    ).json()
    csv_rows = brand.get(
        "/console/analytics/export.csv", params=span | {"chart": "hotspots", "lang": "en"}
    ).content.decode("utf-8-sig")
    assert len(csv_rows.strip().splitlines()) == 1 + len(api) == 2
    assert "Repeat rate" in csv_rows

    theirs = reg.get("/console/analytics", params=span)
    assert 'data-measure="repeat_rate"' in theirs.text
    assert 'class="evidence"' not in theirs.text
    assert reg.get(links[0]).status_code == 403
