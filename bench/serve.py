"""Served verification, side by side: PostgreSQL with one worker per core against SQLite with
one worker, this tree's code against an earlier tree's (``--before``), in one run.

Set-up: one database of each engine holding one run of 200,000 issued and activated codes.
Each configuration gets its own server (``traceseal serve`` in a process of its own) and its
own never-queried codes; against it, wrk (``make wrk``) runs, back to back, 16 connections:
the same server's ``GET /healthz``, then ``POST /api/v1/verify`` with distinct codes.
The verifications come from 100,000 client addresses, as consumers' do, given in
``X-Forwarded-For`` as the reverse proxy in front of a deployment gives them (uvicorn trusts
it from 127.0.0.1), with the flood limit on; one row sends everything from wrk's one address
instead (the flood limit off), the pattern of someone checking consecutive codes, whose
sequential-burst counter is then one row every request updates; one keeps PostgreSQL's
verifications in the thread pool (TRACESEAL_VERIFY_ON_EVENT_LOOP=0), as for a database
across a network, against the event loop that a database on this host gets by default.
Printed per configuration: requests/s, server-side p50/p99 (from Server-Timing), the
client-side p99, non-2xx answers, verify/healthz, and the CPU time one verification cost the
server's processes and PostgreSQL's (read from /proc around the verify run), and the whole
machine's CPU per request for each of the two (wrk's share included), and the busiest server
process's share of the server's CPU in each (near 100 % with several workers: one worker
got every connection, see busiest_share). The goal:
verify >= 50 % of healthz, server-side p99 < 20 ms and no non-200 answer, on both engines.

The machine's load average is printed before and after: on a shared machine only the
ratios of one run compare, and figures for the record need a quiet machine.

Usage: python bench/serve.py [--before SRC] [--codes N] [--seconds S] [--connections C]
       [--postgres URL] [--redis URL] [--workers N] [--only TEXT]
  --workers: PostgreSQL's server processes (default: one per core this process may use; under
            ``taskset`` the cores left to the server, e.g. with PostgreSQL pinned elsewhere).
  --only: only the configurations whose name holds TEXT (e.g. "thread pool").
  --before: the ``src`` directory of an earlier checkout (e.g. a ``git worktree`` of main),
            served by the same interpreter; its codes are its own, like every column's.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from statements import cpu_seconds, postgres_schema, processes_now
from traceseal.codes.service import Keyring, activate, issue_run, run_cipher
from traceseal.config import load_settings
from traceseal.db import make_engine, make_session_factory, migrate, unit_of_work
from traceseal.orgs.models import Role
from traceseal.orgs.service import create_organization
from traceseal.registry.schemas import BatchCreate, ProductCreate
from traceseal.registry.service import add_batch, add_product
from verify import GOAL_P99_MS, GOAL_RATIO, WRK_SCRIPT, free_port, wrk

GTIN = "09506000134352"
CLIENTS = 100_000


@dataclass(frozen=True)
class Config:
    name: str
    database_url: str
    workers: int
    source: Path | None  # None: this tree
    redis_url: str = ""
    synchronous_commit: bool = True
    clients: int = CLIENTS  # 0: every request from wrk's own address
    env: tuple[tuple[str, str], ...] = ()  # more settings, as (name, value)


def build(directory: Path, database_url: str, count: int) -> list[str]:
    """A migrated database with one run of ``count`` activated codes; the codes."""
    master_key = secrets.token_hex(32)
    settings = load_settings(
        {}, data_dir=directory, database_url=database_url, master_key=master_key
    )
    (directory / "master.key").write_text(master_key)
    (directory / "master.key").chmod(0o600)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    keyring = Keyring(bytes.fromhex(master_key))
    with unit_of_work(make_session_factory(engine)) as session:
        org, key = create_organization(session, "Bench Enterprise", Role.ENTERPRISE)
        (directory / "brand.key").write_text(key)  # bench/load.py's API calls
        product = add_product(session, org, ProductCreate(gtin=GTIN, name="Bench product"))
        product.scan_limit = 1_000_000
        batch = add_batch(session, product, BatchCreate(lot="BENCH1"))
        run = issue_run(session, keyring, settings, org, count, product=product)
        activate(session, run, run.first, run.first + run.count, batch)
        cipher = run_cipher(session, keyring, run)
        first = run.first
    engine.dispose()
    texts = cipher.ascii_codes(first, count).view("S20").ravel()
    return [text.decode() for text in texts]


@contextmanager
def serving(config: Config, directory: Path) -> Iterator[tuple[str, int]]:
    """``traceseal serve`` of ``config``; yields its base URL and process id once /healthz
    answers (its workers are in the session of that id)."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRACESEAL_")},
        "TRACESEAL_DATA_DIR": str(directory),
        "TRACESEAL_DATABASE_URL": config.database_url,
    }
    if not config.clients:
        # wrk's one address would be refused by the per-address flood limit.
        env["TRACESEAL_VERIFY_RATE_LIMIT"] = "0"
    if config.redis_url:
        env["TRACESEAL_REDIS_URL"] = config.redis_url
    if not config.synchronous_commit:
        env["TRACESEAL_VERIFY_SYNCHRONOUS_COMMIT"] = "0"
    if config.source is not None:
        env["PYTHONPATH"] = str(config.source)
    env.update(config.env)
    command = [sys.executable, "-m", "traceseal.cli.main", "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", str(config.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(directory / "server.log").open("a"),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, config.workers)
        yield base, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()


def _wait_healthy(base: str, workers: int) -> None:
    import http.client

    port = int(base.rsplit(":", 1)[1])
    deadline = time.monotonic() + 120
    answered = 0
    while time.monotonic() < deadline:
        try:
            with closing(http.client.HTTPConnection("127.0.0.1", port, timeout=2)) as conn:
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    answered += 1
                    if answered >= 3 * workers:  # every worker up, most likely
                        time.sleep(2)
                        return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the server at {base} did not start (its server.log says why)")


def measure(
    config: Config, directory: Path, codes: list[str], seconds: float, connections: int
) -> tuple[dict[str, float], dict[str, float]]:
    script = directory / "verify.lua"
    script.write_text(WRK_SCRIPT)
    codes_file = directory / f"codes-{secrets.token_hex(3)}.txt"
    codes_file.write_text("\n".join(codes) + "\n")
    with serving(config, directory) as (base, session):
        print(f"  {config.name}: serving", file=sys.stderr, flush=True)
        wrk(base + "/healthz", 2, connections, script)  # warm-up
        machine, workers = machine_seconds(), process_seconds(session)
        health = wrk(base + "/healthz", seconds, connections, script)
        health["cpu_machine"] = (machine_seconds() - machine) / (health["rps"] * seconds) * 1000
        health["busiest"] = busiest_share(workers, process_seconds(session))
        before, machine = cpu_seconds(session), machine_seconds()
        workers = process_seconds(session)
        verify = wrk(
            base + "/api/v1/verify", seconds, connections, script, codes_file, config.clients
        )
        after, spent = cpu_seconds(session), machine_seconds() - machine
        verify["busiest"] = busiest_share(workers, process_seconds(session))
    done = verify["rps"] * seconds
    verify["cpu_server"] = (after[0] - before[0]) / done * 1000
    verify["cpu_postgres"] = (after[1] - before[1]) / done * 1000
    verify["cpu_machine"] = spent / done * 1000
    return health, verify


def process_seconds(session: int) -> dict[int, float]:
    """CPU seconds used so far by each process of ``session`` (the server and its workers)."""
    return {
        pid: used
        for pid, (_name, process_session, used) in processes_now().items()
        if process_session == session
    }


def busiest_share(before: dict[int, float], after: dict[int, float]) -> float:
    """The busiest process's share of the server's CPU between two readings.

    wrk opens its connections at once, and a worker woken for the first one accepts every
    one waiting (the event loop accepts until the queue is empty): in about half the runs
    on this machine one of two workers got all 16 and the other none, and requests/s halved.
    A share near 100 % with several workers says the run measured one of them."""
    used = [after[pid] - before.get(pid, 0.0) for pid in after]
    return max(used) / sum(used) if sum(used) > 0 else 1.0


def machine_seconds() -> float:
    """CPU seconds the whole machine has spent working (every core, everything but idle and
    I/O wait), from /proc/stat. When wrk, the server and PostgreSQL keep every core busy,
    requests/s is the cores divided by one request's share of this, so verify/healthz is
    healthz's share over verify's: the figure that says what reaching a ratio would take."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def report(rows: list[tuple[Config, dict[str, float], dict[str, float]]]) -> bool:
    ok = True
    print(
        f"{'':<34} {'healthz':>9} {'verify':>9} {'ratio':>6} "
        f"{'server p50':>11} {'p99':>7} {'client p99':>11} {'non-2xx':>8} "
        f"{'CPU/verify: server':>19} {'PostgreSQL':>10} {'machine':>9} "
        f"{'machine/healthz':>16} {'busiest worker h/v':>19}"
    )
    for config, health, verify in rows:
        ratio = verify["rps"] / health["rps"]
        print(
            f"{config.name:<34} {health['rps']:>8,.0f}/s {verify['rps']:>8,.0f}/s {ratio:>6.0%} "
            f"{verify['server_p50']:>8.2f} ms {verify['server_p99']:>5.2f} ms "
            f"{verify['p99']:>8.2f} ms {verify['errors'] + health['errors']:>8.0f} "
            f"{verify['cpu_server']:>16.2f} ms {verify['cpu_postgres']:>7.2f} ms "
            f"{verify['cpu_machine']:>6.2f} ms {health['cpu_machine']:>13.2f} ms "
            f"{health['busiest']:>12.0%} / {verify['busiest']:.0%}"
        )
        if config.source is None:
            ok = ok and ratio >= GOAL_RATIO and verify["server_p99"] < GOAL_P99_MS
            ok = ok and verify["errors"] == 0
    print(
        f"goal: verify >= {GOAL_RATIO:.0%} of healthz, server-side p99 < {GOAL_P99_MS:.0f} ms, "
        "no non-2xx (this tree's rows)"
    )
    return ok


#: Each configuration's share of a database's codes is one of this many.
SLICES = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, default=None)
    parser.add_argument("--codes", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--postgres", default=os.environ.get("TRACESEAL_TEST_POSTGRES_URL", ""))
    parser.add_argument("--redis", default="")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--only", default="", help="only the rows whose name holds this")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: make wrk")
    if not args.postgres:
        raise SystemExit("give --postgres URL (or set TRACESEAL_TEST_POSTGRES_URL)")
    cores = args.workers or len(os.sched_getaffinity(0))
    print(f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp, postgres_schema(args.postgres) as pg_url:
        print(f"work directory {tmp}", file=sys.stderr, flush=True)
        sqlite_dir, pg_dir = Path(tmp) / "sqlite", Path(tmp) / "pg"
        sqlite_dir.mkdir()
        pg_dir.mkdir()
        sqlite_url = f"sqlite:///{sqlite_dir / 'traceseal.db'}"
        sqlite_codes = build(sqlite_dir, sqlite_url, args.codes)
        pg_codes = build(pg_dir, pg_url, args.codes)
        configs = [
            (Config(f"PostgreSQL, {cores} workers", pg_url, cores, None), pg_dir, pg_codes),
            (Config("SQLite, 1 worker", sqlite_url, 1, None), sqlite_dir, sqlite_codes),
        ]
        # The same server with its verifications in the thread pool, as across a network.
        pooled = (("TRACESEAL_VERIFY_ON_EVENT_LOOP", "0"),)
        name = f"PostgreSQL, {cores} workers, thread pool"
        configs.append((Config(name, pg_url, cores, None, env=pooled), pg_dir, pg_codes))
        if args.redis:
            name = f"PostgreSQL, {cores} workers, Redis"
            configs.append((Config(name, pg_url, cores, None, args.redis), pg_dir, pg_codes))
        name = f"PostgreSQL, {cores} workers, one client address"
        configs.append((Config(name, pg_url, cores, None, clients=0), pg_dir, pg_codes))
        name = f"PostgreSQL, {cores} workers, no flush wait"
        configs.append(
            (
                Config(name, pg_url, cores, None, args.redis, synchronous_commit=False),
                pg_dir,
                pg_codes,
            )
        )
        if args.before is not None:
            configs += [
                (
                    Config(f"before: PostgreSQL, {cores} workers", pg_url, cores, args.before),
                    pg_dir,
                    pg_codes,
                ),
                (
                    Config("before: SQLite, 1 worker", sqlite_url, 1, args.before),
                    sqlite_dir,
                    sqlite_codes,
                ),
                (
                    Config(
                        f"before: PostgreSQL, {cores} workers, thread pool",
                        pg_url,
                        cores,
                        args.before,
                        env=pooled,
                    ),
                    pg_dir,
                    pg_codes,
                ),
            ]
        configs = [c for c in configs if args.only in c[0].name]
        rows = []
        slices: dict[str, int] = {}
        for config, directory, codes in configs:
            # Every configuration its own never-queried codes: all first queries.
            share = len(codes) // SLICES
            start = slices.get(str(directory), 0)
            slices[str(directory)] = start + share
            health, verify = measure(
                config, directory, codes[start : start + share], args.seconds, args.connections
            )
            rows.append((config, health, verify))
        print(f"wrk -t1 -c{args.connections} -d{args.seconds:.0f}s; {args.codes:,} codes")
        ok = report(rows)
    print(f"load average after: {os.getloadavg()}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
