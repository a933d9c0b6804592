"""Issuance benchmark: 10,000,000 seal codes to CSV on one core.

Prints, from one process pinned to one CPU:
  * raw AES-256-ECB throughput (blocks/s) and the FF1 floor it implies (10 blocks per code),
  * the machine's sequential write speed for a new file (the CSV's other limit),
  * issuance through the real service (SQLite database, one run) and CSV output, codes/s,
    with ratios to both limits, the process's peak memory, and the database bytes added.

Usage: python bench/issuance.py [--count N] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import secrets
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from traceseal.codes.export import code_url_prefix, write_csv
from traceseal.codes.service import Keyring, issue_run, run_cipher
from traceseal.config import load_settings
from traceseal.db import make_engine, make_session_factory, migrate, unit_of_work
from traceseal.orgs.models import Role
from traceseal.orgs.service import create_organization
from traceseal.registry.schemas import ProductCreate
from traceseal.registry.service import add_product

GOAL_CODES_PER_S = 2_000_000
GOAL_DB_BYTES = 10_000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def aes_blocks_per_s(seconds: float = 1.0) -> float:
    encryptor = Cipher(algorithms.AES(secrets.token_bytes(32)), modes.ECB()).encryptor()  # noqa: S305
    # 1 MiB: the size of one issuance chunk's AES input (65,536 codes x 16 bytes).
    buffer = bytes(1 << 20)
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        encryptor.update(buffer)
        done += len(buffer) // 16
    return done / (time.perf_counter() - start)


def write_bytes_per_s(directory: Path, total: int = 512 << 20) -> float:
    path = directory / "write-probe.bin"
    chunk = bytes(1 << 20)
    start = time.perf_counter()
    with path.open("wb") as handle:
        for _ in range(total // len(chunk)):
            handle.write(chunk)
    elapsed = time.perf_counter() - start
    path.unlink()
    return total / elapsed


def database_bytes(path: Path) -> int:
    """Size of the SQLite file once the WAL is folded back into it."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    return int(pages) * int(size)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: temp)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        settings = load_settings(
            {},
            data_dir=work,
            master_key=secrets.token_hex(32),
            public_url="https://verify.example.org",
        )
        engine = make_engine(settings.resolved_database_url)
        migrate(engine)
        factory = make_session_factory(engine)
        keyring = Keyring(bytes.fromhex(settings.master_key))
        with unit_of_work(factory) as session:
            org, _ = create_organization(session, "Bench Co", Role.ENTERPRISE)
            product = add_product(session, org, ProductCreate(gtin="09506000134352", name="Bench"))
        engine.dispose()
        db_before = database_bytes(work / "traceseal.db")

        aes = aes_blocks_per_s()
        disk = write_bytes_per_s(work)

        engine = make_engine(settings.resolved_database_url)
        factory = make_session_factory(engine)
        out = work / "codes.csv"
        start = time.perf_counter()
        with unit_of_work(factory) as session:
            product = session.merge(product)
            org = session.merge(org)
            run = issue_run(session, keyring, settings, org, args.count, product=product)
            cipher = run_cipher(session, keyring, run)
            first, count = run.first, run.count
        issued_at = time.perf_counter()
        with out.open("wb") as handle:
            write_csv(
                handle, cipher, first, count, code_url_prefix(settings.public_url, product.gtin)
            )
        elapsed = time.perf_counter() - start
        engine.dispose()
        csv_bytes = out.stat().st_size
        db_after = database_bytes(work / "traceseal.db")

    rate = args.count / elapsed
    ff1_floor = aes / 10
    bytes_per_code = csv_bytes / args.count
    disk_floor = disk / bytes_per_code
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, pinned to one core"
    )
    rows = [
        ("raw AES-256-ECB", f"{aes:,.0f} blocks/s", f"FF1 floor {ff1_floor:,.0f} codes/s"),
        ("new-file write", f"{disk / 1e6:,.0f} MB/s", f"CSV floor {disk_floor:,.0f} codes/s"),
        ("issue run (db)", f"{issued_at - start:.4f} s", "one row per run"),
        ("issue + CSV", f"{rate:,.0f} codes/s", f"{args.count:,} codes, {elapsed:.2f} s"),
        ("  / FF1 floor", f"{rate / ff1_floor:.1%}", "share of the AES-bound rate"),
        ("  / disk floor", f"{rate / disk_floor:.1%}", f"at {bytes_per_code:.0f} B per CSV line"),
        ("peak memory", f"{peak_rss_mb():,.0f} MB", f"{csv_bytes / 1e6:,.0f} MB of CSV written"),
        ("database growth", f"{db_after - db_before:,} B", f"for {args.count:,} codes"),
    ]
    for name, value, note in rows:
        print(f"{name:<18}{value:>22}   {note}")
    ok_rate = rate >= GOAL_CODES_PER_S
    ok_db = db_after - db_before < GOAL_DB_BYTES
    print(
        f"goal >= {GOAL_CODES_PER_S:,} codes/s: {'met' if ok_rate else 'NOT met'}; "
        f"goal < {GOAL_DB_BYTES:,} database bytes: {'met' if ok_db else 'NOT met'}"
    )
    return 0 if ok_rate and ok_db else 1


if __name__ == "__main__":
    sys.exit(main())
