"""A verification's wait on a PostgreSQL across a network, this tree against an earlier one.

The machine has no second host, and its kernel no ``netem``: the network is a TCP proxy in
this process that forwards every chunk, each way, a fixed delay after it arrived (in order),
in front of the local PostgreSQL. Each tree, in a process of its own, verifies distinct codes
one after another through ``Verifier.verify_async`` as the API does, with the verifications
in worker threads (TRACESEAL_VERIFY_ON_EVENT_LOOP=0, what a database across a network gets)
and risk evaluation on; printed: the proxy's measured round trip (``SELECT 1``), and each
tree's median and 90th percentile wall time per verification. One client at a time, so the
proxy's own CPU is no bottleneck; what differs between the trees is how many times a
verification waits for the network.

Usage: python bench/remote.py [--before SRC] [--delay-ms 0.25] [--codes 400] [--postgres URL]
  --before: the ``src`` directory of an earlier checkout (a ``git worktree`` of main).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import Any


class DelayingProxy:
    """Forwards TCP to ``upstream``, every chunk ``delay`` seconds late, each way."""

    def __init__(self, upstream: tuple[str, int], delay: float) -> None:
        self.upstream = upstream
        self.delay = delay
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._pump(client, server)
            self._pump(server, client)

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()

        def read() -> None:
            with suppress(OSError):
                while data := source.recv(65536):
                    chunks.put((time.monotonic() + self.delay, data))
            chunks.put((0.0, b""))

        def write() -> None:
            with suppress(OSError):
                while True:
                    due, data = chunks.get()
                    if not data:
                        target.shutdown(socket.SHUT_WR)
                        return
                    wait = due - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    target.sendall(data)

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=write, daemon=True).start()

    def close(self) -> None:
        self._server.close()


def child(spec: dict[str, Any]) -> None:
    """In the tree under test: verify the codes one by one, print the wall times (ms)."""
    import asyncio

    from sqlalchemy import text

    from traceseal.codes.service import Keyring
    from traceseal.config import load_settings
    from traceseal.db import make_engine, make_session_factory
    from traceseal.verify.channel import Verifier
    from traceseal.verify.models import Channel
    from traceseal.verify.service import Query

    settings = load_settings(
        {"TRACESEAL_VERIFY_ON_EVENT_LOOP": "0", "TRACESEAL_RISK_EVALUATION": "1"},
        data_dir=Path(spec["data_dir"]),
        database_url=spec["url"],
        master_key=spec["master_key"],
    )
    engine = make_engine(settings.resolved_database_url)
    verifier = Verifier(
        settings, make_session_factory(engine), Keyring(bytes.fromhex(settings.master_key))
    )
    with engine.connect() as connection:
        started = time.perf_counter()
        for _ in range(50):
            connection.execute(text("SELECT 1"))
        trip = (time.perf_counter() - started) / 50 * 1000

    async def run() -> list[float]:
        times = []
        for i, code in enumerate(spec["codes"]):
            client = verifier.client(f"10.7.{i // 250}.{i % 250}", secrets.token_hex(8))
            started = time.perf_counter()
            await verifier.verify_async(Query(code, channel=Channel.QR, region="440305"), client)
            times.append((time.perf_counter() - started) * 1000)
        return times

    times = asyncio.run(run())[20:]  # the first ones warm the pools and statements
    print(json.dumps({"trip": trip, "times": times}))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, default=None)
    parser.add_argument("--delay-ms", type=float, default=0.25)
    parser.add_argument("--codes", type=int, default=400)
    parser.add_argument("--postgres", default=os.environ.get("TRACESEAL_TEST_POSTGRES_URL", ""))
    parser.add_argument("--child", default="")
    args = parser.parse_args()
    if args.child:
        child(json.loads(Path(args.child).read_text()))
        return
    if not args.postgres:
        raise SystemExit("give --postgres URL (or set TRACESEAL_TEST_POSTGRES_URL)")

    from sqlalchemy import make_url

    from statements import build, postgres_schema

    trees: list[tuple[str, Path | None]] = [("this tree", None)]
    if args.before is not None:
        trees.append(("before", args.before.resolve()))
    with tempfile.TemporaryDirectory() as tmp, postgres_schema(args.postgres) as url:
        settings, codes, _missing = build(url, Path(tmp), args.codes * len(trees))
        parsed = make_url(url)
        proxy = DelayingProxy(
            (parsed.host or "127.0.0.1", parsed.port or 5432), args.delay_ms / 1000
        )
        remote = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
        print(f"proxy delay {args.delay_ms} ms each way; {args.codes - 20} first queries per tree")
        for n, (name, source) in enumerate(trees):
            spec = {
                "url": remote,
                "data_dir": tmp,
                "master_key": settings.master_key,
                "codes": codes[n * args.codes : (n + 1) * args.codes],
            }
            path = Path(tmp) / f"spec{n}.json"
            path.write_text(json.dumps(spec))
            env = dict(os.environ)
            if source is not None:
                env["PYTHONPATH"] = str(source)
            found = json.loads(
                subprocess.run(
                    [sys.executable, __file__, "--child", str(path)],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout.splitlines()[-1]
            )
            times = sorted(found["times"])
            p90 = times[int(len(times) * 0.9)]
            print(
                f"  {name:<10} SELECT 1 {found['trip']:.2f} ms; one verification: "
                f"median {statistics.median(times):.2f} ms, p90 {p90:.2f} ms"
            )
        proxy.close()


if __name__ == "__main__":
    main()
