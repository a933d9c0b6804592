"""Verification benchmark: in process on one core, then over HTTP on loopback.

Set-up: an embedded (SQLite) database holding one issued and activated run of 10,000,000
codes, of which 1,000,000 have been verified before (1,000,000 ``scanned_codes`` rows and
as many scan-log rows).

1. In process, pinned to one CPU: verifications/s through the same edge the HTTP handlers
   use (limits, one transaction, the verification service), half of them first queries of
   new codes and half repeat queries; beside it the pure part (check digit and FF1
   decryption) so the share of storage is visible. Every query carries a region and a
   device, and the run is assigned to a distributor whose territory holds the region, so
   risk evaluation (custody, risk memory, signals) does all its reads and writes; queries
   alternate between a verifier with risk evaluation off and one with it on, and the two
   are printed side by side with the difference.
2. Over HTTP: ``traceseal serve`` (one worker, as a user starts it; risk evaluation on,
   then again off on other codes) in its own process,
   load from ``wrk`` in another: ``POST /api/v1/verify`` with distinct codes, and the same
   server's trivial ``GET /healthz``, same connections and duration, run back to back.
   Prints requests/s, p50/p99 latency (wrk's, at the client: an upper bound on the
   server-side time) and the verify/healthz ratio.

Usage: python bench/verify.py [--codes N] [--scanned N] [--seconds S] [--connections C]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import numpy as np
from sqlalchemy import text

from traceseal.codes.sealcode import parse_code
from traceseal.codes.service import Keyring, activate, issue_run, run_cipher
from traceseal.config import load_settings
from traceseal.db import make_engine, make_session_factory, migrate, unit_of_work, utcnow
from traceseal.logistics.service import assign_range, register_distributor
from traceseal.orgs.models import Role
from traceseal.orgs.service import create_organization
from traceseal.registry.schemas import BatchCreate, ProductCreate
from traceseal.registry.service import add_batch, add_product
from traceseal.verify.channel import Verifier
from traceseal.verify.models import Channel
from traceseal.verify.service import Query

GOAL_P99_MS = 20.0
GOAL_RATIO = 0.5
GTIN = "09506000134352"

WRK_SCRIPT = """
-- Each thread keeps the server-side times (Server-Timing: app;dur=) it saw; done()
-- gathers them from every thread and prints their percentiles for bench/verify.py.
local threads = {}
function setup(thread)
  thread:set("offset", math.random(1, 100000))
  table.insert(threads, thread)
end
function init(args)
  codes = {}
  if os.getenv("CODES_FILE") ~= "" then
    for line in io.lines(os.getenv("CODES_FILE")) do codes[#codes + 1] = line end
  end
  counter = 0
  clients = tonumber(os.getenv("CLIENTS") or "") or 0
  times = {}
end
function request()
  if #codes == 0 then return wrk.format(nil) end
  counter = counter + 1
  local code = codes[((offset + counter) % #codes) + 1]
  local headers = {["Content-Type"] = "application/json"}
  if clients > 0 then
    -- Consumers, not one client: each request from one of CLIENTS addresses, given as a
    -- reverse proxy on 127.0.0.1 gives them (uvicorn trusts its forwarded headers).
    local n = (offset * 7919 + counter) % clients
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256,
                                               math.floor(n / 256) % 256, n % 256)
  end
  return wrk.format("POST", "/api/v1/verify", headers,
                    '{"code": "' .. code .. '", "channel": "qr"}')
end
function response(status, headers, body)
  local timing = headers["server-timing"] or headers["Server-Timing"]
  if timing then
    local ms = tonumber(string.match(timing, "dur=([%d.]+)"))
    if ms then times[#times + 1] = ms end
  end
end
function done(summary, latency, requests)
  local all = {}
  for _, thread in ipairs(threads) do
    for _, ms in ipairs(thread:get("times")) do all[#all + 1] = ms end
  end
  table.sort(all)
  if #all > 0 then
    io.write(string.format("SERVER %d %.3f %.3f\\n", #all,
      all[math.max(1, math.floor(#all * 0.50))], all[math.max(1, math.floor(#all * 0.99))]))
  end
end
"""


def build(
    directory: Path, codes: int, scanned: int, database_url: str = ""
) -> tuple[list[str], list[str]]:
    """Create the database (SQLite in ``directory`` unless ``database_url`` names another);
    return (already-scanned codes, never-scanned codes) samples."""
    settings = load_settings(
        {}, data_dir=directory, master_key=secrets.token_hex(32), database_url=database_url
    )
    (directory / "master.key").write_text(settings.master_key)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    factory = make_session_factory(engine)
    keyring = Keyring(bytes.fromhex(settings.master_key))
    with unit_of_work(factory) as session:
        org, _ = create_organization(session, "Bench Enterprise", Role.ENTERPRISE)
        product = add_product(session, org, ProductCreate(gtin=GTIN, name="Bench product"))
        product.scan_limit = 1_000_000  # repeat queries stay genuine_repeat
        batch = add_batch(session, product, BatchCreate(lot="BENCH1"))
        run = issue_run(session, keyring, settings, org, codes, product=product)
        activate(session, run, run.first, run.first + run.count, batch)
        distributor, _ = register_distributor(
            session, org, "Bench Distributor", territory=["440000"]
        )
        assign_range(session, distributor, run, run.first, run.first + run.count)
        cipher = run_cipher(session, keyring, run)
        slot, org_id, product_id, batch_id = run.slot, org.id, product.id, batch.id
        run_first = run.first

    # Every code of the run at once (vectorised FF1), then past queries written straight
    # into the tables as verification would have written them.
    texts = cipher.ascii_codes(run_first, codes).view("S20").ravel()
    rng = np.random.default_rng(7)
    order = rng.permutation(codes)
    scanned_seq = np.sort(order[:scanned])
    fresh_seq = order[scanned : scanned + 400_000]
    now = utcnow().replace(tzinfo=None)
    with engine.begin() as db:
        db.execute(
            text(
                "INSERT INTO scanned_codes (slot, sequence, organization_id, scan_count, "
                "first_scan_at, first_region, last_scan_at, last_region) "
                "VALUES (:slot, :seq, :org, 1, :now, '440305', :now, '440305')"
            ),
            [{"slot": slot, "seq": int(s), "org": org_id, "now": now} for s in scanned_seq],
        )
        db.execute(
            text(
                "INSERT INTO scans (scanned_at, code, slot, sequence, organization_id, "
                "product_id, batch_id, verdict, reasons, scan_count, channel, region) "
                "VALUES (:now, :code, :slot, :seq, :org, :product, :batch, 'genuine', '', 1, "
                "'qr', '440305')"
            ),
            [
                {
                    "now": now,
                    "code": texts[s].decode(),
                    "slot": slot,
                    "seq": int(s),
                    "org": org_id,
                    "product": product_id,
                    "batch": batch_id,
                }
                for s in scanned_seq
            ],
        )
    engine.dispose()
    repeat = [texts[s].decode() for s in order[: min(scanned, 400_000)]]
    return repeat, [texts[s].decode() for s in fresh_seq]


def in_process(directory: Path, repeat: list[str], fresh: list[str], seconds: float) -> None:
    settings = load_settings(
        {}, data_dir=directory, master_key=(directory / "master.key").read_text()
    )
    engine = make_engine(settings.resolved_database_url)
    keyring = Keyring(bytes.fromhex(settings.master_key))
    factory = make_session_factory(engine)
    verifiers = {
        "off": Verifier(settings.replace(risk_evaluation=0), factory, keyring),
        "on": Verifier(settings.replace(risk_evaluation=1), factory, keyring),
    }
    mixed = [code for pair in zip(repeat, fresh, strict=False) for code in pair]
    # One device per code (a shopper's phone), the same region for all: inside the territory.
    devices = [secrets.token_urlsafe(16) for _ in range(len(mixed))]

    # The pure part: check digit and one FF1 decryption per code.
    cipher = None
    with unit_of_work(make_session_factory(engine)) as session:
        cipher = keyring.cipher_for(session, parse_code(mixed[0]).slot)
    assert cipher is not None
    start, done = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        cipher.sequence(parse_code(mixed[done % len(mixed)]))
        done += 1
    pure_rate = done / (time.perf_counter() - start)

    latencies: dict[str, list[float]] = {"off": [], "on": []}
    verdicts: dict[str, int] = {}
    start, done = time.perf_counter(), 0
    while time.perf_counter() - start < 2 * seconds and done < len(mixed):
        mode = "on" if done % 2 else "off"
        verifier = verifiers[mode]
        client = verifier.client("127.0.0.1", devices[done])
        query = Query(mixed[done], channel=Channel.QR, region="440305")
        began = time.perf_counter()
        result = verifier.verify(query, client)
        latencies[mode].append(time.perf_counter() - began)
        verdicts[result.verdict.value] = verdicts.get(result.verdict.value, 0) + 1
        done += 1
    print("in process (one core):")
    print(f"  check digit + FF1 decrypt only   {pure_rate:>10,.0f} codes/s")
    figures = {}
    for mode, label in (("off", "risk evaluation off"), ("on", "risk evaluation on ")):
        times = latencies[mode]
        cuts = statistics.quantiles(times, n=100)
        figures[mode] = (len(times) / sum(times), statistics.mean(times), cuts[49], cuts[98])
        rate, _, p50, p99 = figures[mode]
        print(
            f"  verify, {label}      {rate:>10,.0f} verifications/s  "
            f"p50 {p50 * 1e3:.3f} ms  p99 {p99 * 1e3:.3f} ms"
        )
    print(f"    (limits, transaction, scan log, counter upsert; verdicts {verdicts})")
    added = [(figures["on"][i] - figures["off"][i]) * 1e3 for i in (1, 2, 3)]
    print(
        f"  risk evaluation adds             mean {added[0]:.3f} ms  p50 {added[1]:.3f} ms  "
        f"p99 {added[2]:.3f} ms  (goal < 1 ms)"
    )
    print(f"  storage share of the time        {1 - figures['off'][0] / pure_rate:.0%}")
    engine.dispose()


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrk(
    url: str,
    seconds: float,
    connections: int,
    script: Path | None = None,
    codes: Path | None = None,
    clients: int = 0,
) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    env = {**os.environ, "CODES_FILE": str(codes or ""), "CLIENTS": str(clients)}
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, env=env
    ).stdout
    units = {"us": 1e-3, "ms": 1.0, "s": 1e3}

    def percentile(p: str) -> float:
        found = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if found is None:
            raise SystemExit(f"unexpected wrk output:\n{out}")
        return float(found.group(1)) * units[found.group(2)]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    server = re.search(r"^SERVER (\d+) ([\d.]+) ([\d.]+)$", out, re.M)
    if server is None:
        raise SystemExit(f"no Server-Timing headers seen:\n{out}")
    return {
        "server_p50": float(server.group(2)),
        "server_p99": float(server.group(3)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": percentile("50"),
        "p99": percentile("99"),
        "errors": float(errors.group(1)) if errors else 0.0,
    }


@contextmanager
def serving(directory: Path, risk: str) -> Iterator[str]:
    """``traceseal serve`` over the benchmark database; yields its base URL."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRACESEAL_")},
        "TRACESEAL_DATA_DIR": str(directory),
        # wrk is one client address; the per-address flood limit would refuse it.
        "TRACESEAL_VERIFY_RATE_LIMIT": "0",
        "TRACESEAL_RISK_EVALUATION": risk,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "traceseal.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                with closing(socket.create_connection(("127.0.0.1", port), timeout=0.2)):
                    break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def over_http(directory: Path, codes: list[str], seconds: float, connections: int) -> bool:
    """The server with risk evaluation on (as deployed), then off, on separate codes."""
    if shutil.which("wrk") is None:
        print("over HTTP: skipped, wrk is not installed (Debian: apt-get install wrk)")
        return True
    script = directory / "verify.lua"
    script.write_text(WRK_SCRIPT)
    halves = {"1": codes[: len(codes) // 2], "0": codes[len(codes) // 2 :]}
    results: dict[str, dict[str, float]] = {}
    health: dict[str, float] = {}
    for risk, part in halves.items():
        codes_file = directory / f"codes-{risk}.txt"
        codes_file.write_text("\n".join(part) + "\n")
        with serving(directory, risk) as base:
            if risk == "1":
                wrk(base + "/healthz", 2, connections, script)  # warm-up
                health = wrk(base + "/healthz", seconds, connections, script)
            results[risk] = wrk(base + "/api/v1/verify", seconds, connections, script, codes_file)
    verify = results["1"]
    ratio = verify["rps"] / health["rps"]
    print(f"over HTTP (uvicorn, 1 worker; wrk -t1 -c{connections} -d{seconds:.0f}s):")
    print("                              throughput   server-side      at the client (wrk)")
    print("                                           p50      p99      p50      p99")
    rows = (
        ("GET /healthz", health),
        ("POST /api/v1/verify", verify),
        ("  same, risk off", results["0"]),
    )
    for name, r in rows:
        print(
            f"  {name:<24} {r['rps']:>8,.0f}/s {r['server_p50']:>6.2f} {r['server_p99']:>6.2f} ms "
            f"{r['p50']:>6.2f} {r['p99']:>6.2f} ms  non-2xx {r['errors']:.0f}"
        )
    print(f"  verify / healthz throughput      {ratio:.0%}  (goal >= {GOAL_RATIO:.0%})")
    print(
        f"  verify server-side p99           {verify['server_p99']:.2f} ms  "
        f"(goal < {GOAL_P99_MS:.0f} ms)"
    )
    return ratio >= GOAL_RATIO and verify["server_p99"] < GOAL_P99_MS and verify["errors"] == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--codes", type=int, default=10_000_000)
    parser.add_argument("--scanned", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    print(f"{platform.node()}  {platform.processor() or platform.machine()}  {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        directory = Path(tmp)
        began = time.perf_counter()
        repeat, fresh = build(directory, args.codes, args.scanned)
        size = (directory / "traceseal.db").stat().st_size
        print(
            f"database: {args.codes:,} codes issued, {args.scanned:,} scanned before; "
            f"{size / 1e6:.0f} MB; built in {time.perf_counter() - began:.0f} s"
        )
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        in_process(directory, repeat[: len(repeat) // 2], fresh[: len(fresh) // 2], args.seconds)
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        http_codes = repeat[len(repeat) // 2 :] + fresh[len(fresh) // 2 :]
        random.Random(3).shuffle(http_codes)
        ok = over_http(directory, http_codes, args.seconds, args.connections)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
