"""Rollup maintenance cost: verification throughput with and without the rollup upsert.

Set-up: bench/verify.py's embedded (SQLite) database (one activated run, some codes verified
before, a distributor whose territory, Guangdong, holds every query's region).

In one process, pinned to one CPU, through the same edge the HTTP handlers use
(verify.channel.Verifier: limits, one transaction, the verification service with risk
evaluation on, the scan log): batches of verifications, half first queries and half
repeats, from six Guangdong districts. Batches alternate between the code as shipped and
the same code with the rollup upsert (``verify.service``'s ``ROLLUP``) replaced by a no-op, the
first to go alternating too, so both meet the same machine load. Prints each side's median
time per verification over the batches, the throughput ratio and the cost of the rollups.
The run fails (exit 1) if the rollups did not count exactly the batches run with them.

With ``--same`` both sides keep rollups: an A/A run, the noise floor. With ``--postgres URL``
the database is PostgreSQL's (a schema of its own), where the scan row and its rollup are one
statement (``LOG_AND_ROLLUP``): *without* runs the scan row's insert alone in its place.

Usage: python bench/analytics.py [--codes N] [--scanned N] [--rounds N] [--batch N] [--same]
       [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from sqlalchemy import func, select

import verify as bench  # bench/verify.py
from statements import postgres_schema  # bench/statements.py
from traceseal.codes.service import Keyring
from traceseal.config import load_settings
from traceseal.db import make_engine, make_session_factory, unit_of_work
from traceseal.verify import service, statements
from traceseal.verify.channel import Verifier
from traceseal.verify.models import Channel, ScanRollup
from traceseal.verify.service import Query

#: Districts of Guangdong (440000, the distributor's territory): no diversion signals.
DISTRICTS = ("440305", "440103", "440604", "441302", "440402", "440113")


class _Skipped:
    """Stands in for the rollup upsert: runs nothing."""

    def run(self, *_: Any) -> None:
        return None


_NO_ROLLUP = {"sqlite": _Skipped(), "postgresql": _Skipped()}


class _LogOnly:
    """Stands in for PostgreSQL's scan row and rollup in one statement: the row alone."""

    def run(self, connection: Any, params: dict[str, Any]) -> Any:
        row = {k: v for k, v in params.items() if not k.startswith(statements.ROLLUP_PREFIX)}
        return statements.LOG.run(connection, row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--codes", type=int, default=1_000_000)
    parser.add_argument("--scanned", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument(
        "--same", action="store_true", help="A/A: rollups on both sides (the noise floor)"
    )
    parser.add_argument("--postgres", default="", help="a PostgreSQL server URL")
    args = parser.parse_args()
    print(f"{platform.machine()}  {os.cpu_count()} CPUs  load {os.getloadavg()[0]:.2f}")
    if not args.postgres:
        run(args, "")
        return
    with postgres_schema(args.postgres) as url:
        run(args, url)


def run(args: argparse.Namespace, database_url: str) -> None:
    directory = Path(tempfile.mkdtemp(prefix="bench-analytics-"))
    repeat, fresh = bench.build(directory, args.codes, args.scanned, database_url)
    # One client address sends every query: the flood limit (requests a minute) is off.
    settings = load_settings(
        {},
        data_dir=directory,
        master_key=(directory / "master.key").read_text(),
        database_url=database_url,
        verify_rate_limit=0,
    )
    factory = make_session_factory(make_engine(settings.resolved_database_url))
    verifier = Verifier(settings, factory, Keyring(bytes.fromhex(settings.master_key)))
    mixed = [code for pair in zip(repeat, fresh, strict=False) for code in pair]
    needed = 2 * args.rounds * args.batch
    if len(mixed) < needed:
        raise SystemExit(f"{len(mixed)} codes for {needed} verifications: raise --scanned")
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    shipped, combined = service.ROLLUP, service.LOG_AND_ROLLUP
    times: dict[str, list[float]] = {"with": [], "without": []}
    done = 0
    for round_ in range(args.rounds):
        order = ("with", "without") if round_ % 2 == 0 else ("without", "with")
        for side in order:
            off = side == "without" and not args.same
            service.ROLLUP = _NO_ROLLUP if off else shipped  # type: ignore[assignment]
            service.LOG_AND_ROLLUP = _LogOnly() if off else combined  # type: ignore[assignment]
            latencies = []
            for _ in range(args.batch):
                client = verifier.client("127.0.0.1", secrets.token_urlsafe(16))
                region = DISTRICTS[done % len(DISTRICTS)]
                query = Query(mixed[done], channel=Channel.QR, region=region)
                began = time.perf_counter()
                verifier.verify(query, client)
                latencies.append(time.perf_counter() - began)
                done += 1
            times[side].append(statistics.median(latencies))
    service.ROLLUP, service.LOG_AND_ROLLUP = shipped, combined
    with unit_of_work(factory) as session:
        counted = session.scalar(select(func.sum(ScanRollup.scans))) or 0
    medians = {side: statistics.median(values) for side, values in times.items()}
    cost = medians["with"] / medians["without"] - 1
    engine = "PostgreSQL" if database_url else "SQLite"
    print(
        f"{engine}, in process (one core), {args.rounds} interleaved batches of {args.batch} each:"
    )
    for side in ("without", "with"):
        rate = 1 / medians[side]
        label = f"{side:<7} rollups" if not args.same else f"{side:<7} (A/A: both with)"
        print(f"  {label}  {medians[side] * 1e6:8.1f} µs median  {rate:8,.0f} /s")
    print(
        f"  rollups cost {cost * 100:+.1f} % per verification "
        f"(throughput x{medians['without'] / medians['with']:.3f}); goal <= 15 %; "
        f"load {os.getloadavg()[0]:.2f}"
    )
    expected = args.rounds * args.batch * (2 if args.same else 1)
    if counted != expected:
        print(f"rollups counted {counted} scans, expected {expected}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
