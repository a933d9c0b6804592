"""Analytics at scale: a year of scans, the rollups rebuilt from them, dashboard queries timed.

Set-up (not timed): a fresh database (SQLite file, or a PostgreSQL database made for the
run with ``--postgres URL``), 10 brands with 5 products each (50 products) and a batch per
product and month, a regulator; then ``--scans`` scans (default 20,000,000) over the year
ending 2026-11-30 written straight into the scan log the way verification writes it: every
province-level division of GB/T 2260 weighted by population, a district drawn within it,
product popularity skewed (Zipf), a daily rhythm, the verdict and channel mix of the
simulation. Straight writes, not verifications: at ~4,000 verifications/s a year of 20
million would take 80 minutes per engine; bench/analytics.py measures what the rollups
cost a verification.

Timed: ``traceseal analytics rebuild`` (the rollups from the whole log, one transaction),
the fold of the year into the day and month sums (analytics/fold.py), then each dashboard
query of the API, through the ASGI app with the brand's and the regulator's keys,
``--queries`` times each, reporting p50 and p95 (goal: p95 < 300 ms).

Usage: python bench/analytics_scale.py [--scans N] [--queries N] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, insert, select, text

from traceseal.analytics.fold import SUM_TABLES, fold
from traceseal.analytics.service import rebuild
from traceseal.app import create_app
from traceseal.config import load_settings
from traceseal.db import make_engine, make_session_factory, migrate, unit_of_work
from traceseal.geo.regions import table
from traceseal.orgs.models import Role
from traceseal.orgs.service import create_organization
from traceseal.registry.models import Batch, Product
from traceseal.verify.models import Scan, ScanRollup

END = date(2026, 11, 30)
DAYS = 365
CHUNK = 500_000
#: Population share by province (first two digits of GB/T 2260), 2020 census, rounded.
POPULATION = {
    "11": 21.9, "12": 13.9, "13": 74.6, "14": 34.9, "15": 24.0, "21": 42.6, "22": 24.1,
    "23": 31.9, "31": 24.9, "32": 84.7, "33": 64.6, "34": 61.0, "35": 41.5, "36": 45.2,
    "37": 101.5, "41": 99.4, "42": 57.8, "43": 66.4, "44": 126.0, "45": 50.1, "46": 10.1,
    "50": 32.1, "51": 83.7, "52": 38.6, "53": 47.2, "54": 3.6, "61": 39.5, "62": 25.0,
    "63": 5.9, "64": 7.2, "65": 25.9, "71": 23.6, "81": 7.5, "82": 0.7,
}  # fmt: skip
VERDICTS = {
    "genuine": 0.55, "genuine_repeat": 0.34, "suspicious": 0.02, "not_found": 0.05,
    "inactive": 0.02, "recalled": 0.01, "void": 0.01,
}  # fmt: skip
CHANNELS = {"qr": 0.80, "web": 0.08, "wechat": 0.06, "sms": 0.04, "api": 0.015, "phone": 0.005}
#: Scans per hour of the day (China Standard Time), relative: quiet nights, busy evenings.
HOURS = [1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 9, 9, 8, 8, 8, 8, 9, 10, 11, 11, 9, 6, 3]


def _database(postgres: str | None, directory: Path) -> str:
    if postgres is None:
        return f"sqlite:///{directory / 'traceseal.db'}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS traceseal_bench_analytics"))
        connection.execute(text("CREATE DATABASE traceseal_bench_analytics"))
    admin.dispose()
    return postgres.rsplit("/", 1)[0] + "/traceseal_bench_analytics"


def _setup(url: str) -> tuple[dict[str, str], list[int], list[list[int]], list[int]]:
    """Brands, products, monthly batches and a regulator; their keys and ids."""
    engine = make_engine(url)
    migrate(engine)
    keys: dict[str, str] = {}
    brands: list[int] = []
    batches: list[list[int]] = []
    products: list[int] = []
    with unit_of_work(make_session_factory(engine)) as session:
        for b in range(10):
            org, key = create_organization(session, f"Brand {b}", Role.ENTERPRISE)
            keys.setdefault("brand", key)
            for p in range(5):
                product = Product(
                    organization_id=org.id,
                    gtin=f"0695{b:02d}{p:02d}00000{(b + p) % 10}",
                    name=f"P{b}.{p}",
                )
                session.add(product)
                session.flush()
                months = []
                for m in range(12):
                    batch = Batch(product_id=product.id, lot=f"L{m:02d}")
                    session.add(batch)
                    session.flush()
                    months.append(batch.id)
                brands.append(org.id)
                products.append(product.id)
                batches.append(months)
        _, keys["regulator"] = create_organization(session, "Regulator", Role.REGULATOR)
    engine.dispose()
    return keys, brands, batches, products


def _districts() -> tuple[list[str], np.ndarray]:
    """Every district, and the probability of drawing each (its province's share, evenly)."""
    regions = table()
    by_province: dict[str, list[str]] = {}
    for code, region in regions.by_code.items():
        if region.level == 3 and code[:2] in POPULATION:
            by_province.setdefault(code[:2], []).append(code)
    for prefix in POPULATION:  # divisions listed without districts count as one place
        by_province.setdefault(prefix, [prefix + "0000"])
    codes: list[str] = []
    weights: list[float] = []
    total = sum(POPULATION.values())
    for prefix, share in POPULATION.items():
        members = by_province[prefix]
        codes.extend(members)
        weights.extend([share / total / len(members)] * len(members))
    return codes, np.array(weights) / sum(weights)


def _chunks(n: int, setup: tuple[Any, ...], seed: int = 19) -> Iterator[list[dict[str, Any]]]:
    _, brands, batches, products = setup
    rng = np.random.default_rng(seed)
    districts, district_p = _districts()
    zipf = 1 / np.arange(1, len(products) + 1) ** 0.8
    product_p = zipf / zipf.sum()
    hour_p = np.array(HOURS) / sum(HOURS)
    verdicts, verdict_p = list(VERDICTS), np.array(list(VERDICTS.values()))
    channels, channel_p = list(CHANNELS), np.array(list(CHANNELS.values()))
    start = datetime(END.year, END.month, END.day, tzinfo=UTC) - timedelta(days=DAYS - 1, hours=8)
    done = 0
    while done < n:
        size = min(CHUNK, n - done)
        day = np.sort(rng.integers(0, DAYS, size))
        seconds = day * 86400 + rng.choice(24, size, p=hour_p) * 3600 + rng.integers(0, 3600, size)
        product = rng.choice(len(products), size, p=product_p)
        month = np.minimum(day * 12 // DAYS, 11)
        district = rng.choice(len(districts), size, p=district_p)
        verdict = rng.choice(len(verdicts), size, p=verdict_p / verdict_p.sum())
        channel = rng.choice(len(channels), size, p=channel_p / channel_p.sum())
        repeat = rng.integers(2, 6, size)
        trade = rng.random(size) < 0.03
        rows = []
        for i in range(size):
            v = verdicts[verdict[i]]
            p = int(product[i])
            found = v != "not_found"
            rows.append(
                {
                    "scanned_at": start + timedelta(seconds=int(seconds[i])),
                    "code": f"{done + i:020d}",
                    "slot": p,
                    "sequence": done + i if found else None,
                    "organization_id": brands[p],
                    "product_id": products[p] if found else None,
                    "batch_id": batches[p][month[i]] if found else None,
                    "verdict": v,
                    "reasons": "",
                    "scan_count": int(repeat[i]) if v == "genuine_repeat" else int(found),
                    "trade_org_id": brands[p] if trade[i] else None,
                    "channel": channels[channel[i]],
                    "region": districts[district[i]],
                }
            )
        done += size
        yield rows


def _timed(client: TestClient, path: str, key: str, params: dict[str, str], n: int) -> list[float]:
    headers = {"Authorization": f"Bearer {key}"}
    times = []
    for _ in range(n):
        began = time.perf_counter()
        response = client.get(path, params=params, headers=headers)
        times.append(time.perf_counter() - began)
        assert response.status_code == 200, response.text
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scans", type=int, default=20_000_000)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--postgres", help="A PostgreSQL server URL (a database is made on it)")
    args = parser.parse_args()
    print(f"{platform.machine()}  {os.cpu_count()} CPUs  load {os.getloadavg()[0]:.2f}")
    directory = Path(tempfile.mkdtemp(prefix="bench-analytics-scale-"))
    url = _database(args.postgres, directory)
    setup = _setup(url)
    engine = make_engine(url)
    began = time.perf_counter()
    with engine.begin() as connection:
        for rows in _chunks(args.scans, setup):
            connection.execute(insert(Scan), rows)
    wrote = time.perf_counter() - began
    print(f"{engine.dialect.name}: {args.scans:,} scans written in {wrote:.0f} s")

    began = time.perf_counter()
    with engine.begin() as connection:
        read = rebuild(connection)
    took = time.perf_counter() - began
    with engine.connect() as connection:
        rows = connection.scalar(select(func.count()).select_from(ScanRollup))
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))
            connection.commit()
    print(f"rebuild: {read:,} scans in {took:.0f} s ({read / took:,.0f}/s), {rows:,} rollup rows")
    began = time.perf_counter()
    days = 0
    while True:
        with engine.begin() as connection:
            folded = fold(connection, now=datetime.now(UTC))
        days += folded.days
        if folded.done:
            break
    took = time.perf_counter() - began
    with engine.connect() as connection:
        sizes = {
            t.__tablename__: connection.scalar(select(func.count()).select_from(t))
            for t in SUM_TABLES
        }
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))
            connection.commit()
    print(
        f"fold: {days} days in {took:.0f} s; rows: "
        + ", ".join(f"{k} {v:,}" for k, v in sizes.items())
    )

    settings = load_settings({}, data_dir=directory, database_url=url, master_key="00" * 32)
    keys = setup[0]
    month = {"from": (END - timedelta(days=29)).isoformat(), "to": END.isoformat()}
    year = {"from": (END - timedelta(days=DAYS - 1)).isoformat(), "to": END.isoformat()}
    queries = [
        ("series, 30 days", "/api/v1/analytics/series", month),
        ("series, a year", "/api/v1/analytics/series", year),
        ("series by hour, 30 days", "/api/v1/analytics/series", month | {"bucket": "hour"}),
        ("provinces, 30 days", "/api/v1/analytics/regions", month),
        (
            "cities of Guangdong, 30 days",
            "/api/v1/analytics/regions",
            month | {"province": "440000"},
        ),
        ("verdicts, 30 days", "/api/v1/analytics/verdicts", month),
        ("hot spots", "/api/v1/analytics/hotspots", {"to": END.isoformat()}),
        ("flows, 30 days", "/api/v1/analytics/flows", month),
    ]
    with TestClient(create_app(settings)) as client:
        print(f"{'query':<30} {'viewer':<10} {'p50 ms':>8} {'p95 ms':>8}")
        for name, path, params in queries:
            for viewer in ("brand", "regulator"):
                times = sorted(_timed(client, path, keys[viewer], params, args.queries))
                p50, p95 = statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]
                print(f"{name:<30} {viewer:<10} {p50 * 1e3:8.1f} {p95 * 1e3:8.1f}")
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
