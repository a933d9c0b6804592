"""Scan analytics: rollups kept by the verification path equal a rebuild from the scan log
and a count of the raw log; the API is scoped per role and hides small counts from anyone
but the brand that owns them."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from tests.conftest import Platform, Tenant, add_batch, add_product
from tests.functional.conftest import issue
from tests.functional.test_cli import Cli
from traceseal.analytics.service import rebuild
from traceseal.db import py_time, unit_of_work
from traceseal.orgs.models import Role
from traceseal.simulation import simulate
from traceseal.verify.models import Scan, ScanRollup

ENDPOINTS = ("/api/v1/analytics/series", "/api/v1/analytics/regions", "/api/v1/analytics/verdicts")


#: A rollup row's column positions, by name.
COLUMN = {column.name: i for i, column in enumerate(ScanRollup.__table__.c)}


def _rollups(platform: Platform) -> list[tuple[Any, ...]]:
    with unit_of_work(platform.session_factory) as session:
        return sorted(tuple(row) for row in session.execute(select(ScanRollup.__table__)))


def _raw(platform: Platform) -> tuple[Counter[str], Counter[str], Counter[str], int]:
    """Scans per China Standard Time day, per hour and per verdict, counted from the log."""
    days: Counter[str] = Counter()
    hours: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    with unit_of_work(platform.session_factory) as session:
        rows = session.execute(select(Scan.scanned_at, Scan.verdict)).all()
    for at, verdict in rows:
        moment = py_time(at)
        assert moment is not None
        local = moment.astimezone(UTC) + timedelta(hours=8)
        days[local.date().isoformat()] += 1
        hours[local.strftime("%Y-%m-%dT%H")] += 1
        verdicts[verdict] += 1
    return days, hours, verdicts, len(rows)


def test_rollups_kept_by_verification_equal_a_rebuild_and_the_raw_log(platform: Platform) -> None:
    result = simulate(
        platform.session_factory,
        platform.app.state.keyring,
        platform.settings,
        codes_count=160,
        diverted=4,
        cloned=4,
        seed=5,
    )
    kept = _rollups(platform)
    days, hours, verdicts, scans = _raw(platform)
    assert scans == result.scans > 100
    assert sum(row[COLUMN["scans"]] for row in kept) == scans
    # The simulated month is October; the clock says otherwise: each scan is in its own day.
    assert min(days) >= "2026-10-01"
    assert len(days) > 20

    cli = Cli(platform.settings.data_dir, platform.settings.resolved_database_url)
    assert cli.json("analytics", "rebuild")["scans"] == scans
    assert _rollups(platform) == kept

    # A partial rebuild replaces exactly the days it covers.
    middle = date(2026, 10, 15)
    with unit_of_work(platform.session_factory) as session:
        session.execute(delete(ScanRollup).where(ScanRollup.day >= middle))
    assert _rollups(platform) != kept
    rebuilt = cli.json("analytics", "rebuild", "--since", middle.isoformat())
    assert 0 < rebuilt["scans"] < scans
    assert _rollups(platform) == kept
    assert cli.run("analytics", "rebuild", "--since", "15/10", ok=False).returncode == 2

    # The brand's API figures are the raw log's counts.
    auth = {"Authorization": f"Bearer {result.enterprise_key}"}
    month = {"from": "2026-09-30", "to": "2026-11-30"}
    series = platform.client.get(ENDPOINTS[0], params=month, headers=auth).json()
    assert {row["key"]: row["scans"] for row in series} == dict(days)
    hourly = platform.client.get(ENDPOINTS[0], params=month | {"bucket": "hour"}, headers=auth)
    assert {row["key"]: row["scans"] for row in hourly.json()} == dict(hours)
    assert len(hours) > len(days)
    with unit_of_work(platform.session_factory) as session:
        places = Counter(
            "" if region is None else region[:2] + "0000"
            for region in session.scalars(select(Scan.region))
        )
    assert len(places) > 3
    provinces = platform.client.get(ENDPOINTS[1], params=month, headers=auth).json()
    assert {row["key"]: row["scans"] for row in provinces} == dict(places)
    mix = platform.client.get(ENDPOINTS[2], params=month, headers=auth).json()
    assert {row["key"]: row["scans"] for row in mix} == dict(verdicts)
    with unit_of_work(platform.session_factory) as session:
        firsts = session.scalar(
            select(func.count()).where(Scan.verdict == "genuine", Scan.trade_org_id.is_(None))
        )
        trade = session.scalar(select(func.count()).where(Scan.trade_org_id.is_not(None)))
    assert sum(row["firsts"] for row in mix) == firsts > 0
    assert sum(row["trade"] for row in mix) == trade > 0


def _verify(platform: Platform, code: str, region: str | None = None) -> None:
    body = {"code": code} if region is None else {"code": code, "region": region}
    response = platform.client.post("/api/v1/verify", json=body)
    assert response.status_code == 200, response.text


def _get(platform: Platform, tenant: Tenant, path: str, **params: Any) -> Any:
    response = platform.client.get(path, params=params, headers=tenant.auth)
    assert response.status_code == 200, response.text
    return response.json()


def test_each_role_sees_its_own_figures_and_small_counts_hidden(
    platform: Platform, acme: Tenant
) -> None:
    codes = issue(platform, acme, 8)
    for code in codes[:6]:
        _verify(platform, code, "440305")  # 广东省深圳市南山区
    _verify(platform, codes[0], "440305")  # a repeat
    _verify(platform, codes[6], "110105")  # 北京市朝阳区
    rival = platform.org("Rival Co")
    add_product(platform, rival, "04012345000009")
    add_batch(platform, rival, "04012345000009", "R1")
    run = platform.client.post(
        "/api/v1/code-runs", json={"product": "04012345000009", "count": 2}, headers=rival.auth
    ).json()["run"]
    platform.client.post(
        f"/api/v1/code-runs/{run}/activate", json={"lot": "R1"}, headers=rival.auth
    )
    listing = platform.client.get(f"/api/v1/code-runs/{run}/codes.csv", headers=rival.auth)
    _verify(platform, listing.text.splitlines()[1].split(",")[0], "440305")

    series = ENDPOINTS[0]
    # The brand: its own 8 scans, small counts as they are.
    (mine,) = _get(platform, acme, series)
    assert (mine["scans"], mine["firsts"], mine["repeats"]) == (8, 7, 1)
    provinces = _get(platform, acme, ENDPOINTS[1])
    assert {row["key"]: row["scans"] for row in provinces} == {"110000": 1, "440000": 7}
    cities = _get(platform, acme, ENDPOINTS[1], province="440000")
    assert {row["key"]: row["scans"] for row in cities} == {"440300": 7}
    # The rival: its one scan only, and nothing when it names the brand's product.
    (theirs,) = _get(platform, rival, series)
    assert theirs["scans"] == 1
    with unit_of_work(platform.session_factory) as session:
        product = session.scalar(select(Scan.product_id).where(Scan.organization_id == acme.id))
    assert _get(platform, rival, series, product_id=product) == []
    assert _get(platform, acme, series, product_id=product)[0]["scans"] == 8
    # Regulator and operator: every brand summed; counts under 5 hidden.
    for role in (Role.REGULATOR, Role.OPERATOR):
        viewer = platform.org(f"Viewer {role}", role)
        (everyone,) = _get(platform, viewer, series)
        assert (everyone["scans"], everyone["firsts"], everyone["repeats"]) == (9, 8, "<5")
        assert everyone["trade"] == 0
        regions = {row["key"]: row["scans"] for row in _get(platform, viewer, ENDPOINTS[1])}
        assert regions == {"110000": "<5", "440000": 8}
    # A distributor: the brands that registered it, within its territory there (Guangdong
    # for acme: not acme's Beijing scan, nor the rival's Guangdong one); small counts hidden.
    registered = platform.client.post(
        "/api/v1/distributors",
        json={"name": "华南经销商", "territory": ["440000"]},
        headers=acme.auth,
    )
    assert registered.status_code == 201, registered.text
    south = Tenant(registered.json()["organization_id"], "华南经销商", registered.json()["api_key"])
    (theirs,) = _get(platform, south, series)
    assert (theirs["scans"], theirs["firsts"], theirs["repeats"]) == (7, 6, "<5")
    assert [row["key"] for row in _get(platform, south, ENDPOINTS[1])] == ["440000"]
    stranger = platform.org("Unregistered Distributor", Role.DISTRIBUTOR)
    for path in ENDPOINTS:
        assert _get(platform, stranger, path) == []
    # Labs and callers without a key are refused on every path.
    lab = platform.org("Lab", Role.LAB)
    for path in ENDPOINTS:
        assert platform.client.get(path, headers=lab.auth).status_code == 403
        assert platform.client.get(path).status_code == 401


def test_bad_filters_are_refused_not_failed(platform: Platform, acme: Tenant) -> None:
    for params in (
        {"from": "2026-12-02", "to": "2026-12-01"},
        {"from": "2025-01-01", "to": "2026-12-01"},
        {"from": "yesterday"},
        {"province": "440300"},
        {"product_id": str(2**70)},
        {"channel": "fax"},
    ):
        for path in ENDPOINTS:
            response = platform.client.get(path, params=params, headers=acme.auth)
            if path != ENDPOINTS[1] and set(params) == {"province"}:
                assert response.status_code == 200  # not a parameter of this path
                continue
            assert response.status_code == 422, (path, params, response.text)
    assert _get(platform, acme, ENDPOINTS[0], channel="sms", to="2026-12-01") == []
    # The calendar's first and last days are answered, not failed.
    assert _get(platform, acme, ENDPOINTS[0], to="0001-01-01") == []
    assert _get(platform, acme, ENDPOINTS[0], **{"from": "9999-12-31", "to": "9999-12-31"}) == []


def test_simultaneous_scans_of_one_key_are_each_counted_once(
    platform: Platform, acme: Tenant
) -> None:
    codes = issue(platform, acme, 10)
    barrier = threading.Barrier(30)

    def query(code: str) -> None:
        barrier.wait()
        _verify(platform, code, "440305")

    # Each thread goes through the ASGI app with its own connection; all hit a few rows.
    workers = [threading.Thread(target=query, args=(codes[i % 10],)) for i in range(30)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    kept = _rollups(platform)
    _, _, verdicts, scans = _raw(platform)
    assert scans == 30
    counted: Counter[str] = Counter()
    for row in kept:  # a bucket's shards (PostgreSQL) are summed, as every reader does
        counted[row[COLUMN["verdict"]]] += row[COLUMN["scans"]]
    assert counted == verdicts
    assert sum(row[COLUMN["firsts"]] for row in kept) == verdicts["genuine"] == 10
    with unit_of_work(platform.session_factory) as session:
        assert rebuild(session.connection()) == 30
    assert _rollups(platform) == kept
