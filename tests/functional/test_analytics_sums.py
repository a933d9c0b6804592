"""The day and month sums answer exactly what the hourly rollups answer, for every role,
including a late scan in a day already folded, and after a rebuild."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select

from tests.conftest import Platform
from tests.functional.test_analytics_flows import _verify_at
from tests.functional.test_cli import Cli
from traceseal.analytics.fold import folded_through, stale_days
from traceseal.analytics.models import ProductSums
from traceseal.analytics.sums import plan
from traceseal.db import unit_of_work
from traceseal.orgs.models import Role
from traceseal.simulation import simulate
from traceseal.verify.models import Scan, ScanRollup

MONTH = {"from": "2026-09-30", "to": "2026-11-30"}
QUESTIONS: list[tuple[str, dict[str, str]]] = [
    ("/api/v1/analytics/series", MONTH),
    ("/api/v1/analytics/series", MONTH | {"bucket": "hour"}),
    ("/api/v1/analytics/series", MONTH | {"channel": "qr"}),
    ("/api/v1/analytics/regions", MONTH),
    ("/api/v1/analytics/regions", MONTH | {"province": "440000"}),
    ("/api/v1/analytics/regions", MONTH | {"channel": "api"}),
    ("/api/v1/analytics/verdicts", MONTH),
    ("/api/v1/analytics/verdicts", {"from": "2026-10-03", "to": "2026-10-17"}),
    ("/api/v1/analytics/hotspots", {"to": "2026-10-31"}),
]


def _answers(platform: Platform, viewers: dict[str, dict[str, str]]) -> dict[Any, Any]:
    answers = {}
    for name, auth in viewers.items():
        for path, params in QUESTIONS:
            response = platform.client.get(path, params=params, headers=auth)
            assert response.status_code == 200, response.text
            answers[(name, path, tuple(sorted(params.items())))] = response.json()
    return answers


def test_the_sums_answer_what_the_rollups_answer(platform: Platform) -> None:
    result = simulate(
        platform.session_factory,
        platform.app.state.keyring,
        platform.settings,
        codes_count=160,
        diverted=4,
        cloned=4,
        seed=3,
    )
    viewers = {
        "brand": {"Authorization": f"Bearer {result.enterprise_key}"},
        "regulator": platform.org("Regulator", Role.REGULATOR).auth,
    }
    registered = platform.client.post(
        "/api/v1/distributors",
        json={"name": "华南经销商", "territory": ["440000", "310100"]},
        headers=viewers["brand"],
    )
    assert registered.status_code == 201, registered.text
    viewers["distributor"] = {"Authorization": f"Bearer {registered.json()['api_key']}"}
    with unit_of_work(platform.session_factory) as session:
        assert folded_through(session.connection()) is None
    unfolded = _answers(platform, viewers)
    assert sum(len(a) for a in unfolded.values()) > 50

    devices = _devices(platform, viewers)
    cli = Cli(platform.settings.data_dir, platform.settings.resolved_database_url)
    folded = cli.json("analytics", "fold")
    assert folded["days_folded"] > 30
    with unit_of_work(platform.session_factory) as session:
        through = folded_through(session.connection())
        assert through is not None
        assert through >= date(2026, 12, 1)
        months = session.scalar(select(func.count()).where(ProductSums.span == "month"))
        assert months > 0
        # October is read from month rows, its neighbours' days from day rows.
        segments = plan(session, date(2026, 9, 30), date(2026, 11, 2), {"verdict"}, daily=False)
        assert {(s.table.__tablename__, s.span) for s in segments} == {
            ("scan_sums_totals", "month"),
            ("scan_sums_totals", "day"),
        }
        # A channel needs the products' sums; hours their own, day rows only; a batch
        # filter is beyond the sums: the rollups answer.
        wanted = {"verdict", "channel"}
        segments = plan(session, date(2026, 10, 1), date(2026, 10, 31), wanted, daily=False)
        assert [(s.table.__tablename__, s.span) for s in segments] == [
            ("scan_sums_products", "month")
        ]
        (hours,) = plan(session, date(2026, 10, 1), date(2026, 10, 31), {"hour"}, daily=True)
        assert (hours.table.__tablename__, hours.span) == ("scan_sums_hours", "day")
        (only,) = plan(session, date(2026, 10, 1), date(2026, 10, 31), {"batch_id"}, daily=True)
        assert only.table is ScanRollup
    assert _answers(platform, viewers) == unfolded
    assert _devices(platform, viewers) == devices

    # A late scan in a day already folded counts at once, and after the next fold too.
    with unit_of_work(platform.session_factory) as session:
        code = session.scalar(select(Scan.code).where(Scan.verdict == "genuine").limit(1))
    brand = viewers["brand"]
    before = _day_scans(platform, brand, "2026-10-15")
    _verify_at(platform, code, "440305", datetime(2026, 10, 15, 4, tzinfo=UTC), "d" * 32)
    with unit_of_work(platform.session_factory) as session:
        assert stale_days(session.connection()) == {date(2026, 10, 15)}
    assert _day_scans(platform, brand, "2026-10-15") == before + 1
    regulator_late = _answers(platform, {"regulator": viewers["regulator"]})
    assert regulator_late != {k: v for k, v in unfolded.items() if k[0] == "regulator"}
    assert cli.json("analytics", "fold")["days_folded"] == 1
    with unit_of_work(platform.session_factory) as session:
        assert stale_days(session.connection()) == set()
    assert _answers(platform, {"regulator": viewers["regulator"]}) == regulator_late

    # A rebuild starts the sums again from the rebuilt rollups: the same answers.
    cli.json("analytics", "rebuild", "--since", "2026-10-20")
    assert _answers(platform, {"regulator": viewers["regulator"]}) == regulator_late
    with unit_of_work(platform.session_factory) as session:
        total = session.scalar(select(func.sum(ScanRollup.scans)))
        days = session.scalar(select(func.sum(ProductSums.scans)).where(ProductSums.span == "day"))
    assert days == total == result.scans + 1


def _devices(platform: Platform, viewers: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Distinct devices as each viewer sees them, checked against the raw log's count."""
    with unit_of_work(platform.session_factory) as session:
        exact = session.scalar(select(func.count(Scan.device_hash.distinct())))
    answers = {}
    for name, auth in viewers.items():
        response = platform.client.get("/api/v1/analytics/devices", params=MONTH, headers=auth)
        if name == "distributor":
            assert response.status_code == 403, response.text
            continue
        assert response.status_code == 200, response.text
        answers[name] = response.json()
    brand = answers["brand"]
    assert exact > 100
    assert abs(brand["devices"] - exact) <= exact * 0.02
    assert "HyperLogLog" in brand["method"]
    # A device that queried in two provinces counts in each, once in all.
    assert sum(brand["provinces"].values()) >= brand["devices"]
    assert answers["regulator"]["devices"] == brand["devices"]
    return answers


def _day_scans(platform: Platform, auth: dict[str, str], day: str) -> int:
    series = platform.client.get(QUESTIONS[0][0], params=MONTH, headers=auth).json()
    return sum(row["scans"] for row in series if row["key"] == day)
