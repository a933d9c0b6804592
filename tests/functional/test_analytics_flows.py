"""Hot spots and diversion flows: kept as scans arrive, read back per role over HTTP, and
equal to counting the raw scan log."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import func, select

from tests.conftest import Platform, Tenant
from tests.functional.conftest import GTIN, LOT, issue
from tests.functional.test_cli import Cli
from tests.functional.test_diversion import register, scan
from traceseal.analytics.alerts import raise_hot_spot_alerts
from traceseal.db import unit_of_work
from traceseal.geo.buckets import CHINA
from traceseal.orgs.models import Role
from traceseal.registry.models import Product
from traceseal.risk.models import DiversionFlow
from traceseal.risk.service import RiskEngine
from traceseal.simulation import simulate
from traceseal.verify.models import Channel, Scan, ScanRollup
from traceseal.verify.records import Query
from traceseal.verify.service import verify

FLOWS = "/api/v1/analytics/flows"
HOTSPOTS = "/api/v1/analytics/hotspots"


def _get(platform: Platform, tenant: Tenant, path: str, **params: Any) -> Any:
    response = platform.client.get(path, params=params, headers=tenant.auth)
    assert response.status_code == 200, response.text
    return response.json()


def _lot_codes(platform: Platform, acme: Tenant, count: int) -> list[str]:
    run = platform.client.post(
        "/api/v1/code-runs", json={"product": GTIN, "count": count}, headers=acme.auth
    ).json()["run"]
    platform.client.post(f"/api/v1/code-runs/{run}/activate", json={"lot": LOT}, headers=acme.auth)
    listing = platform.client.get(f"/api/v1/code-runs/{run}/codes.csv", headers=acme.auth)
    return [row["code"] for row in csv.DictReader(io.StringIO(listing.text))]


def test_flows_count_every_scan_outside_the_territory_and_are_scoped(
    platform: Platform, acme: Tenant
) -> None:
    north = register(platform, acme, "华北经销有限公司", [], ["110000"])
    east = register(platform, acme, "华东经销有限公司", [], ["310000"])
    codes = _lot_codes(platform, acme, 8)
    response = platform.client.post(
        f"/api/v1/distributors/{north['id']}/assignments",
        json={"gtin": GTIN, "lot": LOT},
        headers=acme.auth,
    )
    assert response.status_code == 201, response.text

    scan(platform, codes[0], "110108", device="a" * 20)  # Beijing: inside
    scan(platform, codes[1], "440305", device="b" * 20)  # Shenzhen, twice, two devices
    scan(platform, codes[1], "440305", device="c" * 20)
    scan(platform, codes[2], "440106", device="d" * 20)  # Guangzhou
    scan(platform, codes[3], "320105", device="e" * 20, key=north["api_key"])  # Nanjing, trade
    scan(platform, codes[3], "320105", device="f" * 20)

    # The raw log: every counted scan of the lot outside Beijing, per province and city.
    with unit_of_work(platform.session_factory) as session:
        rows = session.execute(select(Scan.region, Scan.trade_org_id)).all()
    outside = Counter((r[:2] + "0000", r[:4] + "00") for r, _ in rows if not r.startswith("11"))
    trade = Counter(r[:4] + "00" for r, t in rows if t is not None and not r.startswith("11"))
    assert sum(outside.values()) == 5

    brand = _get(platform, acme, FLOWS)
    assert {(f["province"], f["city"]): f["scans"] for f in brand} == dict(outside)
    assert {f["city"]: f["trade"] for f in brand if f["trade"]} == dict(trade)
    assert {f["distributor"] for f in brand} == {"华北经销有限公司"}
    assert all(f["territory"] == ["110000"] for f in brand)
    assert brand[0]["scans"] == 2  # the largest first
    product = _product_id(platform)
    assert len(_get(platform, acme, FLOWS, product_id=product)) == len(brand)

    # The distributor the goods were meant for sees them, small counts hidden; another
    # distributor, another brand and nobody see none; labs are refused.
    theirs = {"Authorization": f"Bearer {north['api_key']}"}
    seen = platform.client.get(FLOWS, headers=theirs).json()
    assert {(f["city"], f["scans"]) for f in seen} == {
        ("440300", "<5"),
        ("440100", "<5"),
        ("320100", "<5"),
    }
    other = {"Authorization": f"Bearer {east['api_key']}"}
    assert platform.client.get(FLOWS, headers=other).json() == []
    rival = platform.org("Rival Co")
    assert _get(platform, rival, FLOWS) == []
    regulator = platform.org("Market regulator", Role.REGULATOR)
    assert len(_get(platform, regulator, FLOWS)) == 3
    lab = platform.org("Lab", Role.LAB)
    assert platform.client.get(FLOWS, headers=lab.auth).status_code == 403
    assert platform.client.get(FLOWS).status_code == 401


def _product_id(platform: Platform) -> int:
    with unit_of_work(platform.session_factory) as session:
        return int(session.scalar(select(Product.id).where(Product.gtin == GTIN)))


def _verify_at(platform: Platform, code: str, region: str, at: datetime, device: str) -> None:
    """A consumer's verification at a past moment, through the service the edges call."""
    query = Query(code=code, channel=Channel.QR, region=region, device_hash=device)
    with platform.app.state.engine.begin() as connection:
        verify(
            connection,
            platform.app.state.keyring,
            query,
            now=at,
            risk=RiskEngine(platform.settings),
        )


def test_a_week_whose_repeat_rate_leaves_its_baseline_is_a_hot_spot(
    platform: Platform, acme: Tenant
) -> None:
    end = date(2026, 11, 29)
    codes = iter(issue(platform, acme, 9 * 24 + 9 * 6))
    # Nine weeks of 24 first queries in Shenzhen and 6 in Beijing, at noon CST; in the
    # last week each Shenzhen code is queried again from another device.
    for week in range(9):
        day = end - timedelta(days=7 * week + 2)
        at = datetime.combine(day, time(12), CHINA).astimezone(UTC)
        shenzhen = [next(codes) for _ in range(24)]
        for i, code in enumerate(shenzhen):
            _verify_at(platform, code, "440305", at + timedelta(seconds=i), f"{week:02d}{i:030d}")
        for i in range(6):
            _verify_at(platform, next(codes), "110105", at, f"b{week:02d}{i:029d}")
        if week == 0:
            for i, code in enumerate(shenzhen):
                _verify_at(platform, code, "440305", at + timedelta(hours=1), f"r{i:031d}")

    (spot,) = _get(platform, acme, HOTSPOTS, to=end.isoformat())
    assert (spot["province"], spot["product_id"], spot["measure"]) == (
        "440000",
        _product_id(platform),
        "repeat_rate",
    )
    assert (spot["value"], spot["baseline"], spot["spread"]) == (0.5, 0.0, 0.01)
    assert spot["z"] == 50.0
    assert (spot["start"], spot["end"]) == ("2026-11-23", "2026-11-29")
    assert (spot["scans"], spot["repeats"], spot["suspicious"]) == (48, 24, 0)

    # The scans behind it: the brand's own, in that week and province, the raw log's.
    behind = platform.client.get(spot["evidence"], headers=acme.auth)
    assert behind.status_code == 200, behind.text
    rows = behind.json()
    assert len(rows) == 48
    assert {row["region"] for row in rows} == {"440305"}
    assert sorted(row["count"] for row in rows) == [1] * 24 + [2] * 24
    ids = [row["id"] for row in rows]
    assert ids == sorted(ids, reverse=True)
    page = platform.client.get(spot["evidence"] + "&limit=10", headers=acme.auth).json()
    after = platform.client.get(
        spot["evidence"] + f"&limit=10&before={page[-1]['id']}", headers=acme.auth
    ).json()
    assert [row["id"] for row in page + after] == ids[:20]

    # A week earlier nothing stands out; a regulator sees the spot without the scans.
    assert _get(platform, acme, HOTSPOTS, to=(end - timedelta(days=7)).isoformat()) == []
    regulator = platform.org("Market regulator", Role.REGULATOR)
    (theirs,) = _get(platform, regulator, HOTSPOTS, to=end.isoformat())
    assert theirs["evidence"] is None
    assert theirs["z"] == 50.0
    assert platform.client.get(spot["evidence"], headers=regulator.auth).status_code == 403
    rival = platform.org("Rival Co")
    assert _get(platform, rival, HOTSPOTS, to=end.isoformat()) == []
    # Another brand asking for the same scans gets its own: none.
    assert platform.client.get(spot["evidence"], headers=rival.auth).json() == []

    # The calendar week over (end is a Sunday), the hourly job raises it as the brand's
    # alert, once however often it runs that week, with the same evidence; the rival
    # brand gets none.
    with unit_of_work(platform.session_factory) as session:
        assert raise_hot_spot_alerts(session, platform.settings, today=end) == 0  # not over
        assert raise_hot_spot_alerts(session, platform.settings, today=end + timedelta(1)) == 1
    with unit_of_work(platform.session_factory) as session:
        assert raise_hot_spot_alerts(session, platform.settings, today=end + timedelta(6)) == 0
    alerts = _get(platform, acme, "/api/v1/alerts")
    (alert,) = [a for a in alerts if a["kind"] == "hot_spot"]
    assert alert["details"]["evidence"] == spot["evidence"]
    assert (alert["details"]["measure"], alert["details"]["z"]) == ("repeat_rate", 50.0)
    assert alert["region"] == "440000"
    assert [a for a in _get(platform, rival, "/api/v1/alerts") if a["kind"] == "hot_spot"] == []


def test_bad_hot_spot_and_scan_filters_are_refused_not_failed(
    platform: Platform, acme: Tenant
) -> None:
    for path, params in (
        (HOTSPOTS, {"to": "29/11"}),
        (HOTSPOTS, {"product_id": "0"}),
        ("/api/v1/analytics/scans", {"verdict": "fake"}),
        ("/api/v1/analytics/scans", {"limit": "501"}),
        ("/api/v1/analytics/scans", {"province": "440300"}),
        (FLOWS, {"from": "2026-01-01", "to": "2027-06-01"}),
    ):
        response = platform.client.get(path, params=params, headers=acme.auth)
        assert response.status_code == 422, (path, params, response.text)


def test_the_log_rollups_and_flows_export_to_parquet_as_the_database_holds_them(
    platform: Platform, tmp_path: Path
) -> None:
    result = simulate(
        platform.session_factory,
        platform.app.state.keyring,
        platform.settings,
        codes_count=160,
        diverted=4,
        cloned=4,
        seed=11,
    )
    cli = Cli(platform.settings.data_dir, platform.settings.resolved_database_url)
    window = ("--from", "2026-09-30", "--to", "2026-11-30")
    with unit_of_work(platform.session_factory) as session:
        scans = session.execute(select(Scan.id, Scan.code, Scan.verdict).order_by(Scan.id)).all()
        rollups = session.scalar(select(func.sum(ScanRollup.scans)))
        flows = session.execute(
            select(func.count(), func.sum(DiversionFlow.scans)).select_from(DiversionFlow)
        ).one()
    assert len(scans) == result.scans
    assert flows[0] > 0  # the simulation's diverted codes were scanned outside their territory

    out = tmp_path / "scans.parquet"
    answer = cli.json("analytics", "export", "scans", "--out", str(out), *window)
    assert answer["rows"] == len(scans)
    table = pq.read_table(out)
    assert [tuple(r.values()) for r in table.select(["id", "code", "verdict"]).to_pylist()] == [
        tuple(row) for row in scans
    ]
    # No consumer's coordinates, address or device leave the platform this way.
    assert not {"latitude", "longitude", "ip_hash", "device_hash"} & set(table.column_names)
    assert table.schema.field("scanned_at").type == pa.timestamp("us", tz="UTC")

    out = tmp_path / "rollups.parquet"
    cli.json("analytics", "export", "rollups", "--out", str(out), *window)
    exported = pq.read_table(out)
    assert pc.sum(exported["scans"]).as_py() == rollups == len(scans)
    # One row per bucket, whatever shards PostgreSQL keeps it in.
    counts = ("scans", "firsts", "repeats", "trade")
    keys = [tuple(v for k, v in row.items() if k not in counts) for row in exported.to_pylist()]
    assert len(keys) == len(set(keys)) > 0
    assert "shard" not in exported.column_names
    out = tmp_path / "flows.parquet"
    cli.json("analytics", "export", "flows", "--out", str(out), *window)
    exported = pq.read_table(out)
    assert (exported.num_rows, pc.sum(exported["scans"]).as_py()) == tuple(flows)

    # One brand's rows only; another brand's are none; a later month is empty.
    mine = cli.json(
        "analytics",
        "export",
        "scans",
        "--out",
        str(out),
        *window,
        "--org",
        str(result.enterprise_id),
    )
    assert mine["rows"] == len(scans)
    rival = platform.org("Rival Co")
    theirs = cli.json(
        "analytics", "export", "scans", "--out", str(out), *window, "--org", str(rival.id)
    )
    assert theirs["rows"] == 0
    assert pq.read_table(out).num_rows == 0
    # Bad requests are refused with a reason; nothing half-written is left behind.
    for args in (
        ("codes", "--out", str(tmp_path / "x.parquet"), *window),
        ("scans", "--out", str(tmp_path / "x.parquet"), "--from", "1/10", "--to", "2026-10-31"),
        (
            "scans",
            "--out",
            str(tmp_path / "x.parquet"),
            "--from",
            "2026-10-31",
            "--to",
            "2026-10-01",
        ),
        ("scans", "--out", str(tmp_path / "nowhere" / "x.parquet"), *window),
    ):
        failed = cli.run("analytics", "export", *args, ok=False)
        assert failed.returncode == 2, failed.stderr
        assert "error:" in failed.stderr
    assert sorted(
        p.name for p in tmp_path.iterdir() if p.suffix == ".parquet" or p.name.startswith(".")
    ) == [
        "flows.parquet",
        "rollups.parquet",
        "scans.parquet",
    ]
