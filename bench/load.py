"""Mixed load and a soak against a served instance on PostgreSQL, several workers.

Set-up (bench/serve.py's): a PostgreSQL schema of its own with one run of activated codes,
the brand's API key, and one of its people signed in to the console. One ``traceseal serve``
with ``--workers N`` (default 4), and wrk (``make wrk``) with a script that mixes, per 100
requests:

* 90 ``POST /api/v1/verify`` of distinct codes, from 100,000 consumers' addresses (given in
  ``X-Forwarded-For`` as the reverse proxy in front of a deployment gives them), flood limit on;
* 5 ``POST /epcis/capture``: a commissioning ObjectEvent of a new serial of the brand's GTIN,
  with the brand's API key (the capture runs in the request: small documents do);
* 3 ``GET /api/v1/analytics/series`` with the brand's key (30 days, from the rollups);
* 2 ``GET /console/products`` with the signed-in person's session cookie (a console page).

First at full speed for ``--seconds`` (the capacity); then, with ``--soak S``, for S seconds
at ``--share`` (default 70 %) of that capacity (wrk's ``delay()`` paces each connection),
with every server process's resident memory read every 30 s. Printed: per kind of request
the answers, non-2xx answers and server-side p50/p99 (Server-Timing); socket errors and
timeouts; the memory table. The soak passes with no non-2xx answer, no socket error and no
worker growing by more than ``--memory-bound`` MiB (default 64) from minute 2 to its end.

The other faults of the issue (a worker killed mid-load, PostgreSQL restarted mid-load) are
tests: tests/served/test_faults.py.

Usage: python bench/load.py [--postgres URL] [--workers N] [--seconds S] [--soak S]
       [--share F] [--connections C] [--codes N] [--memory-bound MiB]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from serve import Config, build, serving  # bench/serve.py
from statements import postgres_schema  # bench/statements.py
from traceseal.db import make_engine, make_session_factory, unit_of_work
from traceseal.orgs.models import Organization
from traceseal.people import sessions
from traceseal.people.models import SessionStage
from traceseal.people.service import create_person

KINDS = ("verify", "capture", "analytics", "console")

MIXED = r"""
-- Per 100 requests: 90 verifications, 5 captures, 3 analytics reads, 2 console pages.
local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  codes = {}
  for line in io.lines(os.getenv("CODES_FILE")) do codes[#codes + 1] = line end
  key = os.getenv("BRAND_KEY")
  cookie = os.getenv("COOKIE")
  pause = tonumber(os.getenv("DELAY_MS") or "0") or 0
  counter = 0
  -- Flat globals per kind: thread:get copies numbers and flat arrays between Lua states.
  for _, kind in ipairs({"verify", "capture", "analytics", "console"}) do
    _G["n_" .. kind] = 0
    _G["bad_" .. kind] = 0
    _G["t_" .. kind] = {}
  end
  last = nil
end
local function kind_of(n)
  local k = n % 100
  if k < 90 then return "verify" elseif k < 95 then return "capture"
  elseif k < 98 then return "analytics" else return "console" end
end
function request()
  counter = counter + 1
  last = kind_of(counter * 37)
  if last == "verify" then
    local code = codes[(counter * 7 + id * 100003) % #codes + 1]
    local n = (id * 7919 + counter) % 100000
    local address = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256,
                                  math.floor(n / 256) % 256, n % 256)
    return wrk.format("POST", "/api/v1/verify",
      {["Content-Type"] = "application/json", ["X-Forwarded-For"] = address},
      '{"code": "' .. code .. '", "channel": "qr"}')
  elseif last == "capture" then
    local serial = string.format("L%d-%d", id, counter)
    local body = '{"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],'
      .. '"type": "EPCISDocument", "schemaVersion": "2.0",'
      .. '"creationDate": "2026-11-01T08:00:00Z", "epcisBody": {"eventList": [{'
      .. '"type": "ObjectEvent", "eventTime": "2026-11-01T08:00:00+08:00",'
      .. '"eventTimeZoneOffset": "+08:00",'
      .. '"epcList": ["urn:epc:id:sgtin:9506000.013435.' .. serial .. '"],'
      .. '"action": "ADD", "bizStep": "commissioning", "disposition": "active",'
      .. '"readPoint": {"id": "urn:epc:id:sgln:9506000.00001.0"}}]}}'
    return wrk.format("POST", "/epcis/capture",
      {["Content-Type"] = "application/ld+json", ["Authorization"] = "Bearer " .. key}, body)
  elseif last == "analytics" then
    return wrk.format("GET", "/api/v1/analytics/series",
      {["Authorization"] = "Bearer " .. key})
  end
  return wrk.format("GET", "/console/products", {["Cookie"] = cookie})
end
function delay()
  return pause
end
function response(status, headers, body)
  _G["n_" .. last] = _G["n_" .. last] + 1
  if status < 200 or status > 299 then _G["bad_" .. last] = _G["bad_" .. last] + 1 end
  local timing = headers["server-timing"] or headers["Server-Timing"]
  if timing then
    local ms = tonumber(string.match(timing, "dur=([%d.]+)"))
    local times = _G["t_" .. last]
    if ms then times[#times + 1] = ms end
  end
end
function done(summary, latency, requests)
  for _, kind in ipairs({"verify", "capture", "analytics", "console"}) do
    local n, bad, all = 0, 0, {}
    for _, thread in ipairs(threads) do
      n = n + thread:get("n_" .. kind)
      bad = bad + thread:get("bad_" .. kind)
      for _, ms in ipairs(thread:get("t_" .. kind)) do all[#all + 1] = ms end
    end
    table.sort(all)
    local p50, p99 = 0, 0
    if #all > 0 then
      p50 = all[math.max(1, math.floor(#all * 0.50))]
      p99 = all[math.max(1, math.floor(#all * 0.99))]
    end
    io.write(string.format("KIND %s %d %d %.3f %.3f\n", kind, n, bad, p50, p99))
  end
  io.write(string.format("ERRORS %d %d %d %d %d\n", summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, summary.errors.status))
end
"""


def console_cookie(database_url: str) -> str:
    """A person of the bench brand, signed in: the Cookie header of their session."""
    engine = make_engine(database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            brand = session.query(Organization).filter_by(name="Bench Enterprise").one()
            person = create_person(
                session, brand, email="ops@bench.example", role="admin", password="x" * 16
            )
            token, _ = sessions.start(
                session,
                person,
                SessionStage.SIGNED_IN,
                absolute_seconds=86_400,
                ip="127.0.0.1",
                user_agent="bench/load.py",
            )
    finally:
        engine.dispose()
    return f"ts_console={token}"


def run_wrk(
    base: str, directory: Path, seconds: float, connections: int, delay_ms: float
) -> tuple[float, dict[str, tuple[int, int, float, float]], list[int]]:
    """One wrk run of the mix: requests/s, per kind (answers, non-2xx, p50, p99 ms), and
    the socket errors (connect, read, write, timeout, status)."""
    env = {
        **os.environ,
        "CODES_FILE": str(directory / "codes.txt"),
        "BRAND_KEY": (directory / "brand.key").read_text(),
        "COOKIE": (directory / "cookie.txt").read_text(),
        "DELAY_MS": f"{delay_ms:.0f}",
    }
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds:.0f}s",
        "--timeout",
        "5s",
        "-s",
        str(directory / "mixed.lua"),
        base + "/",
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    kinds = {}
    found = re.findall(r"^KIND (\w+) (\d+) (\d+) ([\d.]+) ([\d.]+)$", out, re.M)
    for name, n, bad, p50, p99 in found:
        kinds[name] = (int(n), int(bad), float(p50), float(p99))
    errors = re.search(r"^ERRORS (\d+) (\d+) (\d+) (\d+) (\d+)$", out, re.M)
    if errors is None or set(kinds) != set(KINDS):
        raise SystemExit(f"unexpected wrk output:\n{out}")
    return rps, kinds, [int(e) for e in errors.groups()]


def resident_mib(session: int) -> dict[int, float]:
    """Resident memory of every process of the server's session, by process id."""
    found = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) != session:
                continue
            rss = (status.parent / "status").read_text()
        except (OSError, IndexError):
            continue
        kib = re.search(r"^VmRSS:\s+(\d+) kB", rss, re.M)
        if kib:
            found[int(status.parent.name)] = int(kib.group(1)) / 1024
    return found


def report(title: str, rps: float, kinds: dict[str, tuple[int, int, float, float]]) -> None:
    print(f"{title}: {rps:,.0f} requests/s")
    print(f"  {'request':<10} {'answers':>9} {'non-2xx':>8} {'server p50':>11} {'p99':>9}")
    for name in KINDS:
        n, bad, p50, p99 = kinds[name]
        print(f"  {name:<10} {n:>9,} {bad:>8,} {p50:>8.2f} ms {p99:>6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("TRACESEAL_TEST_POSTGRES_URL", ""))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--soak", type=float, default=0, help="seconds at --share of capacity")
    parser.add_argument("--share", type=float, default=0.7)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--codes", type=int, default=1_000_000)
    parser.add_argument("--memory-bound", type=float, default=64.0)
    args = parser.parse_args()
    if not args.postgres:
        raise SystemExit("give --postgres URL (or set TRACESEAL_TEST_POSTGRES_URL)")
    print(f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()}")
    ok = True
    with tempfile.TemporaryDirectory() as tmp, postgres_schema(args.postgres) as url:
        directory = Path(tmp)
        codes = build(directory, url, args.codes)
        (directory / "codes.txt").write_text("\n".join(codes) + "\n")
        (directory / "cookie.txt").write_text(console_cookie(url))
        (directory / "mixed.lua").write_text(MIXED)
        config = Config(
            f"PostgreSQL, {args.workers} workers",
            url,
            args.workers,
            None,
            env=(("TRACESEAL_CONSOLE_INSECURE_COOKIES", "1"),),
        )
        with serving(config, directory) as (base, session):
            run_wrk(base, directory, 5, args.connections, 0)  # warm-up
            rps, kinds, errors = run_wrk(base, directory, args.seconds, args.connections, 0)
            report(f"capacity, {args.connections} connections, {args.seconds:.0f} s", rps, kinds)
            print(f"  socket errors (connect, read, write, timeout): {errors[:4]}")
            if args.soak:
                ok = soak(args, base, directory, session, rps)
    print(f"load average after: {os.getloadavg()}")
    sys.exit(0 if ok else 1)


def soak(
    args: argparse.Namespace, base: str, directory: Path, session: int, capacity: float
) -> bool:
    target = args.share * capacity
    # Each connection waits this long after each answer: C connections at ``target``/s.
    # One 15 s calibration: what the answers themselves take at that pace comes off.
    delay_ms = args.connections * 1000 / target
    tried, _, _ = run_wrk(base, directory, 15, args.connections, delay_ms)
    answering = args.connections * 1000 / tried - delay_ms
    delay_ms = max(0.0, args.connections * 1000 / target - answering)
    samples: list[tuple[float, dict[int, float]]] = []
    stop = threading.Event()

    def watch() -> None:
        began = time.monotonic()
        while not stop.wait(0 if not samples else 30):
            samples.append((time.monotonic() - began, resident_mib(session)))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        rps, kinds, errors = run_wrk(base, directory, args.soak, args.connections, delay_ms)
    finally:
        stop.set()
        watcher.join()
    report(
        f"soak, {args.soak / 60:.0f} min at {args.share:.0%} of {capacity:,.0f}/s "
        f"(target {target:,.0f}/s, each connection pausing {delay_ms:.0f} ms)",
        rps,
        kinds,
    )
    print(f"  socket errors (connect, read, write, timeout): {errors[:4]}")
    print("  resident memory (MiB) of the server's processes:")
    pids = sorted(samples[-1][1])
    print("  " + f"{'minute':>7}" + "".join(f"{pid:>9}" for pid in pids))
    for at, sizes in samples:
        if at < 1 or round(at) % 300 < 30 or (at, sizes) == samples[-1]:
            line = "".join(f"{sizes.get(pid, 0):>9.1f}" for pid in pids)
            print(f"  {at / 60:>7.1f}{line}")
    settled = next(sizes for at, sizes in samples if at >= 120) if samples[-1][0] > 120 else {}
    growth = max((samples[-1][1].get(pid, 0) - settled.get(pid, 0) for pid in settled), default=0)
    bound = args.memory_bound
    print(f"  largest growth from minute 2 to the end: {growth:.1f} MiB (bound {bound:.0f})")
    refused = sum(bad for _, bad, _, _ in kinds.values())
    passed = refused == 0 and sum(errors[:4]) == 0 and growth <= args.memory_bound
    print(f"soak {'passed' if passed else 'FAILED'}")
    return passed


if __name__ == "__main__":
    main()
