"""Retention of the scan log: raw scans older than the horizon go, the rollups and the
analytics answered from them stay; on PostgreSQL whole months go as partitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text

from tests.conftest import Platform, add_batch, add_product
from tests.functional.test_cli import Cli
from traceseal.config import SettingsError, load_settings
from traceseal.db import py_time, unit_of_work
from traceseal.simulation import simulate
from traceseal.verify.models import Scan, ScanRollup
from traceseal.verify.partitions import (
    PRUNE_HOUR_UTC,
    ensure_partitions,
    is_partitioned,
    maintain,
    month_partitions,
    prune,
)

SERIES = "/api/v1/analytics/series"
VERDICTS = "/api/v1/analytics/verdicts"


def _months_ago(now: datetime, months: int) -> datetime:
    month = now.month - months - 1
    return datetime(now.year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def _rollups(platform: Platform) -> list[tuple[Any, ...]]:
    with unit_of_work(platform.session_factory) as session:
        return sorted(tuple(row) for row in session.execute(select(ScanRollup.__table__)))


def _times(platform: Platform) -> list[datetime]:
    with unit_of_work(platform.session_factory) as session:
        found = [py_time(at) for at in session.scalars(select(Scan.scanned_at))]
    return sorted(at for at in found if at is not None)


def _figures(platform: Platform, key: str, start: datetime) -> list[Any]:
    span = {"from": (start - timedelta(days=2)).date().isoformat()}
    span["to"] = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    auth = {"Authorization": f"Bearer {key}"}
    answers = []
    for path in (SERIES, VERDICTS):
        response = platform.client.get(path, params=span, headers=auth)
        assert response.status_code == 200, response.text
        answers.append(response.json())
    return answers


def _scan_now(platform: Platform) -> None:
    """Two consumers' scans of today, which no retention here reaches."""
    brand = platform.org("Today Co")
    add_product(platform, brand, "04012345000009")
    add_batch(platform, brand, "04012345000009", "T1")
    run = platform.client.post(
        "/api/v1/code-runs", json={"product": "04012345000009", "count": 2}, headers=brand.auth
    ).json()["run"]
    platform.client.post(
        f"/api/v1/code-runs/{run}/activate", json={"lot": "T1"}, headers=brand.auth
    )
    listing = platform.client.get(f"/api/v1/code-runs/{run}/codes.csv", headers=brand.auth)
    for line in listing.text.splitlines()[1:3]:
        response = platform.client.post("/api/v1/verify", json={"code": line.split(",")[0]})
        assert response.status_code == 200, response.text


def test_prune_drops_raw_scans_and_keeps_the_rollups(platform: Platform) -> None:
    now = datetime.now(UTC)
    start = _months_ago(now, 3)
    sim = simulate(
        platform.session_factory,
        platform.app.state.keyring,
        platform.settings,
        enterprise="Retention Co",
        codes_count=160,
        diverted=4,
        cloned=4,
        seed=11,
        start=start.date(),
    )
    _scan_now(platform)
    partitioned = False
    with unit_of_work(platform.session_factory) as session:
        conn = session.connection()
        if is_partitioned(conn):
            partitioned = True
            # The simulated months came after the migration's partitions: they sat in the
            # default partition until their months were created, which moves them.
            ensure_partitions(conn, start, 2)
            assert conn.execute(text("SELECT count(*) FROM scans_default")).scalar_one() == 0
    kept, figures = _rollups(platform), _figures(platform, sim.enterprise_key, start)
    times = _times(platform)
    assert len(times) == sim.scans + 2
    old = [at for at in times if at < now - timedelta(days=2)]
    assert len(old) == sim.scans > 100

    cli = Cli(platform.settings.data_dir, platform.settings.resolved_database_url)
    # Half of the simulated month: no month is wholly older, rows are deleted in batches.
    middle = old[len(old) // 2]
    days = (now - middle).days
    first = cli.json("scans", "prune", "--days", str(days))
    horizon = datetime.fromisoformat(first["before"])
    assert first["partitions"] == []
    assert first["rows"] == sum(1 for at in times if at < horizon) > 0
    assert _times(platform) == [at for at in times if at >= horizon]
    assert _rollups(platform) == kept
    assert _figures(platform, sim.enterprise_key, start) == figures
    # A rebuild may not replace the pruned days' counts with what is left of their scans...
    refused = cli.run("analytics", "rebuild", ok=False)
    assert refused.returncode == 2
    assert "pruned" in refused.stderr
    whole = (_times(platform)[0] + timedelta(hours=8)).date() + timedelta(days=1)
    assert f"--since {whole}" in refused.stderr
    early = cli.run("analytics", "rebuild", "--since", str(whole - timedelta(days=1)), ok=False)
    assert early.returncode == 2
    # ...but the days whose scans are all kept, it may.
    assert cli.json("analytics", "rebuild", "--since", str(whole))["scans"] > 0
    assert _rollups(platform) == kept

    # Past the simulated months: on PostgreSQL they are dropped whole.
    after = _months_ago(old[-1], -1)
    second = cli.json("scans", "prune", "--days", str((now - after).days))
    assert _times(platform) == times[-2:]  # only today's scans remain
    if partitioned:
        assert f"scans_p{start:%Y%m}" in second["partitions"]
    else:
        assert second["partitions"] == []
    assert first["rows"] + second["rows"] == sim.scans
    assert _rollups(platform) == kept
    assert _figures(platform, sim.enterprise_key, start) == figures


def test_prune_deletes_in_batches_with_progress(platform: Platform) -> None:
    _scan_now(platform)
    with unit_of_work(platform.session_factory) as session:
        rows = session.execute(select(Scan.__table__).limit(1)).mappings().one()
        template = {k: v for k, v in rows.items() if k != "id"}
        long_ago = datetime.now(UTC) - timedelta(days=400)
        session.execute(
            insert(Scan),
            [template | {"scanned_at": long_ago + timedelta(minutes=i)} for i in range(23)],
        )
    seen: list[tuple[int, int]] = []
    pruned = prune(
        platform.session_factory,
        datetime.now(UTC) - timedelta(days=30),
        progress=lambda done, total: seen.append((done, total)),
        batch=5,
    )
    assert pruned.rows == 23
    assert seen[0] == (0, 23)
    assert seen[-1] == (23, 23)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert len(seen) >= 23 // 5 + 1
    assert len(_times(platform)) == 2


def test_prune_without_a_retention_refuses(platform: Platform) -> None:
    cli = Cli(platform.settings.data_dir, platform.settings.resolved_database_url)
    refused = cli.run("scans", "prune", ok=False)
    assert refused.returncode == 2
    assert "TRACESEAL_SCAN_RETENTION_DAYS" in refused.stderr
    cli.env["TRACESEAL_SCAN_RETENTION_DAYS"] = "30"
    assert cli.json("scans", "prune")["rows"] == 0


def test_partitions_ahead_and_a_default_that_catches_the_rest(platform: Platform) -> None:
    cli = Cli(platform.settings.data_dir, platform.settings.resolved_database_url)
    listed = cli.json("scans", "partitions")
    with unit_of_work(platform.session_factory) as session:
        partitioned = is_partitioned(session.connection())
    assert listed["partitioned"] is partitioned
    if not partitioned:
        pytest.skip("SQLite: the scan log is one table")
    now = datetime.now(UTC)
    names = [p["name"] for p in listed["partitions"]]
    assert f"scans_p{now:%Y%m}" in names
    assert len([n for n in names if n >= f"scans_p{now:%Y%m}"]) == 4  # this month and 3 more
    _scan_now(platform)
    # A scan dated far beyond the partitions lands in the default partition...
    future = now + timedelta(days=800)
    with unit_of_work(platform.session_factory) as session:
        conn = session.connection()
        row = conn.execute(select(Scan.__table__).limit(1)).mappings().one()
        conn.execute(
            insert(Scan), {k: v for k, v in row.items() if k != "id"} | {"scanned_at": future}
        )
        assert conn.execute(text("SELECT count(*) FROM scans_default")).scalar_one() == 1
        # ...and moves into its month when that month is created.
        created = ensure_partitions(conn, future, 0)
        assert created == [f"scans_p{future:%Y%m}"]
        assert conn.execute(text("SELECT count(*) FROM scans_default")).scalar_one() == 0
        assert f"scans_p{future:%Y%m}" in [p.name for p in month_partitions(conn)]
        assert conn.execute(select(func.count()).select_from(Scan)).scalar_one() == 3


def test_the_servers_job_keeps_months_ahead_and_prunes_once_a_day(platform: Platform) -> None:
    _scan_now(platform)
    with unit_of_work(platform.session_factory) as session:
        row = session.execute(select(Scan.__table__).limit(1)).mappings().one()
        old = {k: v for k, v in row.items() if k != "id"}
        session.execute(insert(Scan), old | {"scanned_at": datetime.now(UTC) - timedelta(days=90)})
    keep = platform.settings.replace(scan_retention_days=30)
    today = datetime.now(UTC)
    noon = today.replace(hour=(PRUNE_HOUR_UTC + 5) % 24)
    maintain(platform.session_factory, keep, noon)
    assert len(_times(platform)) == 3  # not the hour for it
    maintain(platform.session_factory, platform.settings, today.replace(hour=PRUNE_HOUR_UTC))
    assert len(_times(platform)) == 3  # no retention set
    later = today + timedelta(days=120)
    maintain(platform.session_factory, keep, later.replace(hour=PRUNE_HOUR_UTC))
    assert len(_times(platform)) == 0  # 120 days on, every scan is past 30 days
    with unit_of_work(platform.session_factory) as session:
        conn = session.connection()
        if is_partitioned(conn):
            names = [p.name for p in month_partitions(conn)]
            assert f"scans_p{later:%Y%m}" in names


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRACESEAL_SCAN_RETENTION_DAYS", "-1"),
        ("TRACESEAL_SCAN_PARTITIONS_AHEAD", "0"),
        ("TRACESEAL_SCAN_PARTITIONS_AHEAD", "25"),
    ],
)
def test_out_of_range_settings_are_named(name: str, value: str, tmp_path: Any) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value}, data_dir=tmp_path)
