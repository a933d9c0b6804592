"""Export under load: a 1,000,000-code ZIP export while 8 clients verify codes over HTTP.

Set-up: ``traceseal serve`` (one worker, as a user starts it) over an embedded SQLite file
database in its own process. Over HTTP: an enterprise, a product and a lot; a run of
1,000,000 codes issued and activated; its codes.csv (the list the clients verify from).

1. Without an export: 8 clients (``wrk``, one keep-alive connection each, a new request as
   soon as the last is answered) send ``POST /api/v1/verify`` for ``--baseline`` seconds.
2. With one: ``POST /api/v1/code-runs/{id}/exports {"format": "zip"}``, and the same 8
   clients verify until the job is done. Progress is polled once a second.
3. SIGTERM mid-export: a second export of the same run, SIGTERM to the server once the job
   has written ``--kill-after`` labels; the time until the server process, and then every
   process of its group (fork server, export worker), is gone; the partial file must be
   gone and the job failed.

Printed: export time and rate; verification requests, 5xx answers, p50/p99 latency at the
client, with and without the export, and the p99 ratio; the SIGTERM-to-exit times. Goals:
no 5xx, verify p99 under 1 s during the export, exit within 10 s of SIGTERM (exit code 1 if
one is missed).

Usage: python bench/export_under_load.py [--codes N] [--clients C] [--baseline S]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

GTIN = "09506000134352"
GOAL_P99_S = 1.0
GOAL_EXIT_S = 10.0
#: Codes the clients cycle through (wrk holds them in memory): a quarter of a million,
#: first queries first, then repeats.
CLIENT_CODES = 250_000


def machine() -> str:
    model = "unknown CPU"
    with Path("/proc/cpuinfo").open() as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cores = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    return f"{platform.node()}: nproc {cores}, {model}, Python {platform.python_version()}"


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``traceseal serve`` over DIRECTORY in a process group of its own."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TRACESEAL_")},
            "TRACESEAL_DATA_DIR": str(directory),
            "TRACESEAL_PUBLIC_URL": "https://verify.example.org",
            # The clients are one address; the per-address flood limit would refuse them.
            "TRACESEAL_VERIFY_RATE_LIMIT": "0",
        }
        init = self.cli("init", "--json")
        self.key = json.loads(init)["operator_api_key"]
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        command = [sys.executable, "-m", "traceseal.cli.main", *args]
        return subprocess.run(
            command, env=self.env, capture_output=True, text=True, check=True
        ).stdout

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "traceseal.cli.main", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(300):
            try:
                self.call("GET", "/healthz")
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("the server did not start")

    def call(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            headers = {"Authorization": f"Bearer {key or self.key}"}
            data = None if body is None else json.dumps(body).encode()
            if data is not None:
                headers["Content-Type"] = "application/json"
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            if response.status >= 400:
                raise SystemExit(f"{method} {path}: {response.status} {payload[:300]!r}")
            is_json = response.getheader("content-type", "").startswith("application/json")
            return json.loads(payload) if is_json else payload
        finally:
            connection.close()

    def group_alive(self) -> bool:
        assert self.process is not None
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill(self) -> None:
        if self.process is not None and self.group_alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def prepare(server: Server, count: int) -> tuple[int, list[str]]:
    """An enterprise, its product and lot, and an activated run of ``count`` codes."""
    org = server.call("POST", "/api/v1/orgs", {"name": "Bench Enterprise", "role": "enterprise"})
    key = org["api_key"]
    server.call("POST", "/api/v1/products", {"gtin": GTIN, "name": "Bench product"}, key)
    server.call("POST", f"/api/v1/products/{GTIN}/batches", {"lot": "BENCH1"}, key)
    began = time.perf_counter()
    run = server.call("POST", "/api/v1/code-runs", {"product": GTIN, "count": count}, key)
    server.call("POST", f"/api/v1/code-runs/{run['run']}/activate", {"lot": "BENCH1"}, key)
    listing = server.call("GET", f"/api/v1/code-runs/{run['run']}/codes.csv", key=key)
    codes = [line.split(b",", 1)[0].decode() for line in listing.splitlines()[1:]]
    print(
        f"run {run['run']}: {count:,} codes issued, activated and listed over HTTP in "
        f"{time.perf_counter() - began:.1f} s",
        flush=True,
    )
    server.key = key  # the exports are the brand's
    return int(run["run"]), codes


WRK_SCRIPT = """
-- POST /api/v1/verify with the codes of CODES_FILE; done() prints the 5xx and other non-2xx
-- answers and the latency percentiles (ms) for bench/export_under_load.py.
local threads = {}
function setup(thread)
  thread:set("offset", math.random(1, 100000))
  table.insert(threads, thread)
end
function init(args)
  codes = {}
  for line in io.lines(os.getenv("CODES_FILE")) do codes[#codes + 1] = line end
  counter, server_errors, other = 0, 0, 0
end
function request()
  counter = counter + 1
  local code = codes[((offset + counter) % #codes) + 1]
  return wrk.format("POST", "/api/v1/verify", {["Content-Type"] = "application/json"},
                    '{"code": "' .. code .. '", "channel": "qr"}')
end
function response(status, headers, body)
  if status >= 500 then server_errors = server_errors + 1
  elseif status >= 300 then other = other + 1 end
end
function done(summary, latency, requests)
  local fives, others = 0, 0
  for _, thread in ipairs(threads) do
    fives = fives + thread:get("server_errors")
    others = others + thread:get("other")
  end
  local e = summary.errors
  io.write(string.format("FIGURES %d %d %d %d %.3f %.3f %.3f %.3f\\n", summary.requests,
    fives, others, e.connect + e.read + e.write + e.timeout,
    summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3))
end
"""


class Load:
    """``wrk`` as the clients: one connection per client, each sending its next request when
    the last is answered, until :meth:`stop` (SIGINT: wrk then prints its summary). A C
    load generator leaves the two cores to the server and the export, where Python clients
    would take most of one."""

    def __init__(self, port: int, codes_file: Path, clients: int) -> None:
        script = codes_file.with_suffix(".lua")
        script.write_text(WRK_SCRIPT)
        self.process = subprocess.Popen(
            # One thread, a day at most, a 60 s timeout: slow answers are measured, not dropped.
            [
                *("wrk", "-t1", f"-c{clients}", "-d24h", "--timeout", "60s", "-s", str(script)),
                f"http://127.0.0.1:{port}/api/v1/verify",
            ],
            env={**os.environ, "CODES_FILE": str(codes_file)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def stop(self) -> dict[str, float]:
        self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=60)
        found = re.search(r"^FIGURES (.+)$", out, re.M)
        if found is None:
            raise SystemExit(f"unexpected wrk output:\n{out}")
        values = [float(v) for v in found.group(1).split()]
        names = ("requests", "5xx", "other_non_2xx", "errors", "seconds", "p50", "p99", "max")
        figures = dict(zip(names, values, strict=True))
        figures["rate"] = figures["requests"] / figures["seconds"]
        for name in ("p50", "p99", "max"):
            figures[name] /= 1e3  # seconds, like the rest of this script
        return figures


def baseline(server: Server, codes: Path, clients: int, seconds: float) -> dict[str, float]:
    load = Load(server.port, codes, clients)
    try:
        time.sleep(seconds)
    finally:
        figures = load.stop()
    return figures


def export_under_load(
    server: Server, run: int, codes: Path, clients: int
) -> tuple[dict[str, float], dict[str, Any]]:
    load = Load(server.port, codes, clients)
    try:
        began = time.perf_counter()
        job = server.call("POST", f"/api/v1/code-runs/{run}/exports", {"format": "zip"})
        last_print = 0.0
        while job["state"] not in ("done", "failed"):
            time.sleep(1.0)
            job = server.call("GET", f"/api/v1/exports/{job['id']}")
            if time.perf_counter() - last_print >= 60:
                last_print = time.perf_counter()
                done, total = job["progress"]["done"], job["progress"]["total"]
                print(f"  {last_print - began:6.0f} s: {done:,} of {total:,} labels", flush=True)
        elapsed = time.perf_counter() - began
    finally:
        figures = load.stop()
    if job["state"] != "done":
        raise SystemExit(f"the export failed: {job['error']}")
    server.call("DELETE", f"/api/v1/exports/{job['id']}")
    return figures, {"seconds": elapsed, "size": job["size"], "labels": job["progress"]["done"]}


def sigterm_mid_export(server: Server, run: int, kill_after: int) -> dict[str, Any]:
    """Seconds from SIGTERM to the server's exit and to its whole group's."""
    assert server.process is not None
    job = server.call("POST", f"/api/v1/code-runs/{run}/exports", {"format": "zip"})
    while server.call("GET", f"/api/v1/exports/{job['id']}")["progress"]["done"] < kill_after:
        time.sleep(0.2)
    partial = server.directory / "exports" / f"job-{job['id']}.zip.partial"
    had_partial = partial.exists()
    sent = time.perf_counter()
    os.kill(server.process.pid, signal.SIGTERM)
    server.process.wait(timeout=60)
    server_exit = time.perf_counter() - sent
    while server.group_alive() and time.perf_counter() - sent < 60:
        time.sleep(0.01)
    group_exit = time.perf_counter() - sent
    with closing(_sqlite(server.directory)) as db:
        state, error, done = db.execute(
            "SELECT state, error, done FROM export_jobs WHERE id = ?", (job["id"],)
        ).fetchone()
    return {
        "server_exit": server_exit,
        "group_exit": group_exit,
        "had_partial": had_partial,
        "partial_left": partial.exists(),
        "state": state,
        "error": error,
        "done": done,
    }


def _sqlite(directory: Path) -> Any:
    import sqlite3

    return sqlite3.connect(directory / "traceseal.db")


def report(
    clients: int,
    quiet: dict[str, float],
    busy: dict[str, float],
    export: dict[str, Any],
    stop: dict[str, Any],
) -> bool:
    print(
        f"export: {export['labels']:,} labels in {export['seconds']:.0f} s "
        f"({export['labels'] / export['seconds']:,.0f} labels/s), {export['size'] / 1e9:.2f} GB"
    )
    print(f"verification, {clients} clients    without export    during export")
    for name, unit, scale in (
        ("requests", "", 1),
        ("seconds", " s", 1),
        ("rate", "/s", 1),
        ("5xx", "", 1),
        ("other_non_2xx", "", 1),
        ("errors", "", 1),
        ("p50", " ms", 1e3),
        ("p99", " ms", 1e3),
        ("max", " ms", 1e3),
    ):
        before, during = quiet[name] * scale, busy[name] * scale
        print(f"  {name:<24} {before:>14,.1f}{unit:<3} {during:>14,.1f}{unit}")
    ratio = busy["p99"] / quiet["p99"]
    print(f"  p99 during / without export   {ratio:.2f}x  (goal: p99 < {GOAL_P99_S:.0f} s, no 5xx)")
    partial = "left behind" if stop["partial_left"] else "removed"
    print(
        f"SIGTERM at {stop['done']:,} labels: server exited in {stop['server_exit']:.2f} s, its "
        f"whole process group in {stop['group_exit']:.2f} s (goal < {GOAL_EXIT_S:.0f} s); "
        f"partial file {partial}; job {stop['state']}: {stop['error']}"
    )
    return (
        busy["5xx"] == 0
        and quiet["5xx"] == 0
        and busy["errors"] == 0
        and busy["p99"] < GOAL_P99_S
        and stop["group_exit"] < GOAL_EXIT_S
        and stop["had_partial"]
        and not stop["partial_left"]
        and stop["state"] == "failed"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--codes", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--baseline", type=float, default=60.0, help="seconds without export")
    parser.add_argument("--kill-after", type=int, default=50_000, help="labels before SIGTERM")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    print(time.strftime("%Y-%m-%d %H:%M %Z"), "|", machine(), flush=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        server = Server(Path(tmp) / "var")
        try:
            server.start()
            run, listed = prepare(server, args.codes)
            random.Random(7).shuffle(listed)
            codes = Path(tmp) / "codes.txt"
            codes.write_text("\n".join(listed[:CLIENT_CODES]) + "\n")
            quiet = baseline(server, codes, args.clients, args.baseline)
            busy, export = export_under_load(server, run, codes, args.clients)
            stop = sigterm_mid_export(server, run, args.kill_after)
        finally:
            server.kill()
        ok = report(args.clients, quiet, busy, export, stop)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
