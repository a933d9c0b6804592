"""The plans of the hot queries on PostgreSQL, over a realistic amount of data.

Set-up, in a schema of its own on the given server (dropped afterwards unless ``--keep``):
a simulated month of one brand (production, shipping, pallets, scans with planted clones
and diversions: simulation.py), then in bulk for the same brand an issued run of which
``--codes`` codes were scanned (as many ``scanned_codes`` rows, 1.5 times as many scans
spread over ``--months`` months, in monthly partitions), the rollups rebuilt from them,
``--alerts`` alerts, and ``--events`` EPCIS events captured through the capture path.

Then each hot request runs once through the app (verification of a code scanned before and
of a new one, EPCIS queries by EPC and by EPC and time, the trace of a code, the analytics
series, regions and verdicts, the alert list and summary, the trade checks; every keyed
request looks its API key up), while every statement it sends is recorded: the Core
statements of the hot path (``db.Prepared``) and the ORM's. Each distinct statement is then
run again under ``EXPLAIN (ANALYZE, BUFFERS)`` (writes inside a transaction rolled back) and
its plan printed. A sequential scan of a table that grows with traffic is reported and
makes the exit status 1: the check that docs/scaling.md's index review relies on.

Usage: python bench/explain.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test
       [--codes 200000] [--months 6] [--events 50000] [--alerts 20000] [--keep]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402

from epcis_docs import events as generated_events  # noqa: E402
from epcis_docs import generate  # noqa: E402
from traceseal.analytics.service import rebuild  # noqa: E402
from traceseal.app import create_app  # noqa: E402
from traceseal.codes.service import Keyring, activate, issue_run, run_cipher  # noqa: E402
from traceseal.config import Settings, load_settings  # noqa: E402
from traceseal.db import (  # noqa: E402
    Prepared,
    make_engine,
    make_session_factory,
    migrate,
    unit_of_work,
)
from traceseal.epcis import capture as capturing  # noqa: E402
from traceseal.epcis import pipeline  # noqa: E402
from traceseal.epcis.identifiers import to_digital_link  # noqa: E402
from traceseal.orgs.models import Organization, Role  # noqa: E402
from traceseal.orgs.service import create_organization  # noqa: E402
from traceseal.registry.schemas import BatchCreate, ProductCreate  # noqa: E402
from traceseal.registry.service import add_batch, add_product  # noqa: E402
from traceseal.simulation import simulate  # noqa: E402
from traceseal.verify.partitions import ensure_partitions  # noqa: E402

#: Tables that grow with traffic: a plan that reads one of them whole is a finding.
GROWING = (
    "scans",
    "scanned_codes",
    "code_risk",
    "scan_rollups",
    "alerts",
    "epcis_events",
    "epcis_epcs",
    "epcis_event_access",
    "epcis_biz_transactions",
    "ledger_leaves",
    "ledger_nodes",
    "rate_windows",
    "channel_messages",
    "webhook_deliveries",
)
#: Below this many rows a sequential scan is the planner's right choice (an empty future
#: month, a handful of distributors); above it, it reads what an index would skip.
BIG = 10_000
SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")
GTIN = "09506000134369"


def _schema_url(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def build(settings: Settings, codes: int, months: int, events: int, alerts: int) -> dict[str, Any]:
    """Fill the database; return what the requests need (key, codes, EPCs)."""
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    factory = make_session_factory(engine)
    keyring = Keyring(bytes.fromhex(settings.master_key))
    started = time.perf_counter()
    sim = simulate(factory, keyring, settings, codes_count=800, diverted=10, cloned=10, seed=3)
    print(f"  simulated month: {sim.scans:,} scans, {sim.events:,} events", flush=True)
    now = datetime.now(UTC)
    with unit_of_work(factory) as session:
        ensure_partitions(session.connection(), now - timedelta(days=31 * months), months + 3)
        org = session.get(Organization, sim.enterprise_id)
        assert org is not None
        product = add_product(session, org, ProductCreate(gtin=GTIN, name="Bulk product"))
        product.scan_limit = 1_000_000
        batch = add_batch(session, product, BatchCreate(lot="BULK1"))
        run = issue_run(session, keyring, settings, org, codes * 5, product=product)
        activate(session, run, run.first, run.first + run.count, batch)
        cipher = run_cipher(session, keyring, run)
        ids = (run.slot, org.id, product.id, batch.id, run.first)
    fresh, repeat = _bulk_scans(settings, cipher, ids, codes, months, now)
    print(f"  {codes:,} codes scanned in bulk ({time.perf_counter() - started:.0f} s)")
    with unit_of_work(factory) as session:
        rebuild(session.connection())
    with unit_of_work(factory) as session:
        # Other brands, so that one brand's rows are a share of each table as in production.
        others = [
            create_organization(session, f"Brand {n}", Role.ENTERPRISE)[0].id for n in range(9)
        ]
    _bulk_alerts(settings, alerts, others)
    epcs = _capture(factory, sim.enterprise_id, events)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    return {
        "key": sim.enterprise_key,
        "repeat": repeat,
        "fresh": fresh,
        "traced": next(iter(sim.diverted)),
        "epcs": epcs,
    }


def _bulk_scans(
    settings: Settings,
    cipher: Any,
    ids: tuple[int, int, int, int, int],
    codes: int,
    months: int,
    now: datetime,
) -> tuple[str, str]:
    """COPY the scan state and log of ``codes`` codes; return a never-scanned code and a
    scanned one."""
    slot, org_id, product_id, batch_id, first = ids
    texts = cipher.ascii_codes(first, codes * 5).view("S20").ravel()
    rng = np.random.default_rng(7)
    order = rng.permutation(codes * 5)
    scanned = np.sort(order[:codes])
    span = 31 * months * 86400
    regions = ["440305", "110105", "310115", "510107", "330106"]
    channels = ["qr", "qr", "qr", "web", "wechat", "sms"]
    with psycopg.connect(_libpq(settings.resolved_database_url)) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY scanned_codes (slot, sequence, organization_id, scan_count, first_scan_at, "
            "first_region, first_channel, last_scan_at, last_region) FROM STDIN"
        ) as copy:
            for s in scanned:
                at = now - timedelta(seconds=int(rng.integers(span)))
                region = regions[int(s) % 5]
                copy.write_row((slot, first + int(s), org_id, 1, at, region, "qr", at, region))
        with cur.copy(
            "COPY scans (scanned_at, code, slot, sequence, organization_id, product_id, "
            "batch_id, verdict, reasons, scan_count, channel, region) FROM STDIN"
        ) as copy:
            # 1.5 scans per code, in time order, so that ids grow with time as they do.
            picks = np.concatenate([scanned, scanned[: codes // 2]])
            moments = np.sort(rng.integers(span, size=len(picks)))[::-1]
            for s, ago in zip(rng.permutation(picks), moments, strict=True):
                verdict = "genuine" if int(s) % 7 else "genuine_repeat"
                copy.write_row(
                    (
                        now - timedelta(seconds=int(ago)),
                        texts[s].decode(),
                        slot,
                        first + int(s),
                        org_id,
                        product_id,
                        batch_id,
                        verdict,
                        "",
                        1,
                        channels[int(s) % 6],
                        regions[int(s) % 5],
                    )
                )
        conn.commit()
    return texts[order[codes]].decode(), texts[scanned[codes // 3]].decode()


def _bulk_alerts(settings: Settings, count: int, others: list[int]) -> None:
    """``count`` copies of the simulation's first alert, each for another code, one in 50
    for its brand (a brand among many) and the rest for ``others``; most of them closed."""
    with psycopg.connect(_libpq(settings.resolved_database_url)) as conn:
        conn.execute(
            "INSERT INTO alerts (kind, severity, organization_id, summary, details, dedupe_key, "
            "raised_at, acknowledged_at, region, distributor_id, code) "
            "SELECT a.kind, a.severity, CASE WHEN g %% 50 = 0 THEN a.organization_id "
            "ELSE (%s::bigint[])[1 + g %% 9] END, a.summary, a.details, "
            "'bulk-' || g, a.raised_at - g * interval '1 minute', "
            "CASE WHEN g %% 20 = 0 THEN NULL ELSE a.raised_at END, a.region, a.distributor_id, "
            "lpad(g::text, 20, '9') FROM alerts a, generate_series(1, %s) g "
            "WHERE a.id = (SELECT min(id) FROM alerts)",
            (others, count),
        )
        conn.commit()


def _capture(factory: Any, org_id: int, total: int) -> list[str]:
    """Capture ``total`` generated events for the brand; return a few of their item EPCs."""
    workers = pipeline.Workers()
    epcs: list[str] = []
    try:
        with factory() as session:
            org = session.get(Organization, org_id)
            session.expunge(org)
        for seed in range(100, 100 + (total + 9_999) // 10_000):
            size = min(10_000, total - (seed - 100) * 10_000)
            data = generate(size, fmt="jsonld", seed=seed)
            with pipeline.collection_paused():
                document, source = capturing.read_body(data, "application/ld+json")
                pipeline.capture(
                    factory,
                    org,
                    document,
                    source_format=source,
                    max_events=1_000_000,
                    now=datetime.now(UTC),
                    workers=workers,
                )
            if len(epcs) < 5:
                epcs += [
                    e
                    for ev in generated_events(size, seed)
                    if ev.type == "ObjectEvent"
                    for e in ev.epcs
                    if ":sgtin:" in e
                ][:1]
    finally:
        workers.close()
    print(f"  {total:,} EPCIS events captured", flush=True)
    return epcs


class Recorder:
    """Every statement sent while recording: the ORM's and db.Prepared's (on the cursor)."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []
        self.on = False

    @contextmanager
    def installed(self, engine: Any) -> Iterator[None]:
        originals = {name: getattr(Prepared, name) for name in ("run", "run_many")}

        def run(prepared: Prepared, connection: Any, params: dict[str, Any]) -> Any:
            if self.on:
                sql, defaults, _ = prepared._compiled(connection.dialect)
                self.statements.append((sql, {**defaults, **params}))
            return originals["run"](prepared, connection, params)

        def run_many(prepared: Prepared, connection: Any, rows: list[dict[str, Any]]) -> None:
            if self.on and rows:
                sql, defaults, _ = prepared._compiled(connection.dialect)
                self.statements.append((sql, {**defaults, **rows[0]}))
            originals["run_many"](prepared, connection, rows)

        def orm(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, many: bool) -> None:
            if self.on:
                self.statements.append((sql, params[0] if many else params))

        # Wrapped for the recording only; put back as they were below.
        setattr(Prepared, "run", run)  # noqa: B010
        setattr(Prepared, "run_many", run_many)  # noqa: B010
        event.listen(engine, "before_cursor_execute", orm)
        try:
            yield
        finally:
            for name, original in originals.items():
                setattr(Prepared, name, original)
            event.remove(engine, "before_cursor_execute", orm)

    def take(self, request: Callable[[], Any]) -> list[tuple[str, Any]]:
        self.statements.clear()
        self.on = True
        try:
            response = request()
        finally:
            self.on = False
        assert response.status_code < 400, (response.status_code, response.text[:300])
        seen: dict[str, Any] = {}
        for sql, params in self.statements:
            if sql.split(None, 1)[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
                seen.setdefault(sql, params)
        return list(seen.items())


def requests(client: TestClient, data: dict[str, Any]) -> list[tuple[str, Callable[[], Any]]]:
    auth = {"Authorization": f"Bearer {data['key']}"}
    epc = data["epcs"][0]
    link = quote(to_digital_link(epc), safe="")
    today = datetime.now(UTC).date()
    days = {"from": str(today - timedelta(days=30)), "to": str(today)}
    since = (datetime.now(UTC) - timedelta(days=400)).isoformat().replace("+00:00", "Z")
    return [
        (
            "verify: a code scanned before",
            lambda: client.post(
                "/api/v1/verify", json={"code": data["repeat"], "region": "440305"}
            ),
        ),
        (
            "verify: a code never scanned",
            lambda: client.post("/api/v1/verify", json={"code": data["fresh"], "region": "440305"}),
        ),
        ("EPCIS: events of an EPC", lambda: client.get(f"/epcis/epcs/{link}/events", headers=auth)),
        (
            "EPCIS: query by EPC and time",
            lambda: client.get(
                "/epcis/events",
                params={"MATCH_anyEPC": epc, "GE_eventTime": since},
                headers=auth,
            ),
        ),
        ("trace of a code", lambda: client.get(f"/api/v1/trace/{data['traced']}", headers=auth)),
        (
            "analytics: series",
            lambda: client.get("/api/v1/analytics/series", params=days, headers=auth),
        ),
        (
            "analytics: regions",
            lambda: client.get("/api/v1/analytics/regions", params=days, headers=auth),
        ),
        ("alerts: list", lambda: client.get("/api/v1/alerts", headers=auth)),
        ("alerts: summary", lambda: client.get("/api/v1/alerts/summary", headers=auth)),
        ("trade checks", lambda: client.get("/api/v1/trade-checks", headers=auth)),
    ]


def explain(url: str, sql: str, params: Any) -> list[str]:
    """The plan of one statement, run for real (writes rolled back)."""
    with psycopg.connect(_libpq(url)) as conn:
        # Client-side binding: the values go into the text, as a custom plan would see them.
        cur = psycopg.ClientCursor(conn)
        if isinstance(params, list | tuple):
            sql = re.sub(r"\$\d+", "%s", sql)
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params or None)
        lines = [row[0] for row in cur.fetchall()]
        conn.rollback()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", default=os.environ.get("TRACESEAL_TEST_POSTGRES_URL", ""))
    parser.add_argument("--codes", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--alerts", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    args = parser.parse_args()
    if not args.url.startswith("postgresql"):
        sys.exit("give --url postgresql+psycopg://... (or TRACESEAL_TEST_POSTGRES_URL)")
    schema = "explain_" + secrets.token_hex(4)
    admin = create_engine(args.url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    findings = []
    try:
        url = _schema_url(args.url, schema)
        directory = Path(tempfile.mkdtemp(prefix="explain-"))
        settings = load_settings(
            {},
            data_dir=directory,
            database_url=url,
            master_key=secrets.token_hex(32),
            public_url="https://verify.example.org",
        )
        print(f"schema {schema}: building", flush=True)
        data = build(settings, args.codes, args.months, args.events, args.alerts)
        sizes = _sizes(url)
        app = create_app(settings)
        recorder = Recorder()
        # No lifespan: the background threads (checkpoints, exports) would add their own
        # statements to the recording.
        client = TestClient(app)
        with recorder.installed(app.state.engine):
            for label, request in requests(client, data):
                for sql, params in recorder.take(request):
                    plan = explain(url, sql, params)
                    findings += [
                        f"{label}: Seq Scan on {table}"
                        for table in SEQ_SCAN.findall("\n".join(plan))
                        if _growing(table) and sizes.get(table, 0) >= BIG
                    ]
                    print(f"\n== {label}\n{_one_line(sql)}\n" + "\n".join(plan), flush=True)
        app.state.engine.dispose()
    finally:
        if not args.keep:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    print("\nsequential scans of growing tables:", *(findings or ["none"]), sep="\n  ")
    sys.exit(1 if findings else 0)


def _growing(table: str) -> bool:
    return table in GROWING or re.match(r"scans_(p\d{6}|default)$", table) is not None


def _one_line(sql: str) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= 400 else flat[:397] + "..."


def _sizes(url: str) -> dict[str, int]:
    with psycopg.connect(_libpq(url)) as conn:
        rows = conn.execute(
            "SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = current_schema()::regnamespace ORDER BY reltuples DESC"
        ).fetchall()
    print("rows (estimated):", ", ".join(f"{name} {n:,}" for name, n in rows if n >= BIG))
    return dict(rows)


if __name__ == "__main__":
    main()
