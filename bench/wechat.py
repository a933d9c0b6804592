"""WeChat benchmark: 200 followers send a code at the same moment; every passive reply must
arrive within WeChat's 5-second deadline (after which WeChat gives up and retries).

Set-up: an embedded (SQLite) database with one activated run of codes; ``traceseal serve``
(one worker, as a user starts it) in its own process with the WeChat channel configured,
first in plaintext mode, then in safe mode (AES). From this process, ``--messages``
connections are opened, then all send at once (a barrier), each a text message with a
distinct code from a distinct OpenID, signed as WeChat signs; each answer is checked to be a
passive reply saying "genuine". The same burst of ``GET /healthz`` against the same server is
the machine's own limit for 200 simultaneous requests; the ratio shows what answering a
message costs beyond that.

Usage: python bench/wechat.py [--messages N]; exits 1 if any reply is late or wrong.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from traceseal.channels.wechat_crypto import MessageCipher
from traceseal.codes.service import Keyring, activate, issue_run, run_cipher
from traceseal.config import load_settings
from traceseal.db import make_engine, make_session_factory, migrate, unit_of_work
from traceseal.orgs.models import Role
from traceseal.orgs.service import create_organization
from traceseal.registry.schemas import BatchCreate, ProductCreate
from traceseal.registry.service import add_batch, add_product

DEADLINE_S = 5.0
GTIN = "09506000134352"
TOKEN = "bench-token"  # noqa: S105 - a benchmark's own
APP_ID = "wxbench000000000"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def build(directory: Path, codes: int) -> list[str]:
    """The database with ``codes`` activated codes; returns them."""
    settings = load_settings({}, data_dir=directory, master_key=secrets.token_hex(32))
    (directory / "master.key").write_text(settings.master_key)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    factory = make_session_factory(engine)
    keyring = Keyring(bytes.fromhex(settings.master_key))
    with unit_of_work(factory) as session:
        org, _ = create_organization(session, "Bench Enterprise", Role.ENTERPRISE)
        product = add_product(session, org, ProductCreate(gtin=GTIN, name="灭火器"))
        batch = add_batch(session, product, BatchCreate(lot="BENCH1"))
        run = issue_run(session, keyring, settings, org, codes, product=product)
        activate(session, run, run.first, run.first + run.count, batch)
        cipher = run_cipher(session, keyring, run)
        first = run.first
    engine.dispose()
    return [text.decode() for text in cipher.ascii_codes(first, codes).view("S20").ravel()]


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(directory: Path, safe: bool) -> Iterator[int]:
    """``traceseal serve`` with the WeChat channel configured; yields its port."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRACESEAL_")},
        "TRACESEAL_DATA_DIR": str(directory),
        "TRACESEAL_WECHAT_TOKEN": TOKEN,
        "TRACESEAL_WECHAT_APP_ID": APP_ID,
        "TRACESEAL_WECHAT_AES_KEY": AES_KEY if safe else "",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "traceseal.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                with closing(socket.create_connection(("127.0.0.1", port), timeout=0.2)):
                    break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - WeChat's


def message(code: str, n: int, cipher: MessageCipher | None) -> tuple[str, bytes]:
    """The path with its query and the body WeChat would POST for follower ``n``."""
    stamp, nonce = str(int(time.time())), f"n{n}"
    xml = (
        f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
        f"<FromUserName><![CDATA[oBench{n:08d}]]></FromUserName>"
        f"<CreateTime>{stamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[查询 {code}]]></Content><MsgId>{7_000_000 + n}</MsgId></xml>"
    ).encode()
    query = f"signature={sign(TOKEN, stamp, nonce)}&timestamp={stamp}&nonce={nonce}"
    if cipher is None:
        return f"/channels/wechat?{query}", xml
    encrypted = cipher.encrypt(xml)
    query += f"&encrypt_type=aes&msg_signature={sign(TOKEN, stamp, nonce, encrypted)}"
    body = f"<xml><ToUserName>gh_bench</ToUserName><Encrypt>{encrypted}</Encrypt></xml>"
    return f"/channels/wechat?{query}", body.encode()


def burst(
    port: int, requests: list[tuple[str, str, bytes]], check: Callable[[bytes], bool]
) -> tuple[list[float], int]:
    """Send every request at once (one connection each); (seconds each took, wrong answers)."""
    barrier = threading.Barrier(len(requests))
    times = [0.0] * len(requests)
    wrong = [0]

    def one(i: int) -> None:
        method, path, body = requests[i]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.connect()
        barrier.wait()
        began = time.perf_counter()
        try:
            connection.request(
                method, path, body=body or None, headers={"Content-Type": "text/xml"}
            )
            response = connection.getresponse()
            data = response.read()
            ok = response.status == 200 and check(data)
        except OSError:
            ok = False
        times[i] = time.perf_counter() - began
        if not ok:
            wrong[0] += 1
        connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times, wrong[0]


def summary(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return (
        f"  {name:<28} p50 {statistics.median(ordered) * 1000:7.1f} ms   "
        f"p99 {p99 * 1000:7.1f} ms   slowest {ordered[-1] * 1000:7.1f} ms"
    )


def run_mode(directory: Path, codes: list[str], safe: bool) -> bool:
    cipher = MessageCipher(AES_KEY, APP_ID) if safe else None
    with serving(directory, safe) as port:
        # Warm up: the first request of a process pays for imports and compiled statements.
        warm_path, warm_body = message(codes[-1], 999_999, cipher)
        burst(port, [("POST", warm_path, warm_body)], lambda _: True)
        health, _ = burst(port, [("GET", "/healthz", b"")] * len(codes[:-1]), lambda _: True)
        requests = []
        for n, code in enumerate(codes[:-1]):
            path, body = message(code, n, cipher)
            requests.append(("POST", path, body))

        def genuine(data: bytes) -> bool:
            if cipher is None:
                return "正品".encode() in data
            start, end = data.find(b"<Encrypt><![CDATA[") + 18, data.find(b"]]></Encrypt>")
            return "正品".encode() in cipher.decrypt(data[start:end].decode())

        began = time.perf_counter()
        times, wrong = burst(port, requests, genuine)
        wall = time.perf_counter() - began
    mode = "safe mode (AES)" if safe else "plaintext"
    print(f"{len(requests)} simultaneous WeChat messages, {mode}:")
    print(summary("GET /healthz (the limit)", health))
    print(summary("POST /channels/wechat", times))
    slowest = max(times)
    print(
        f"  all answered in {wall:.2f} s; wrong or failed answers: {wrong}; slowest reply "
        f"{slowest / DEADLINE_S:.0%} of the 5 s deadline; p50 ratio to /healthz "
        f"{statistics.median(times) / statistics.median(health):.1f}x"
    )
    return wrong == 0 and slowest < DEADLINE_S


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    print(f"{platform.node()}  {platform.processor() or platform.machine()}  {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        directory = Path(tmp)
        codes = build(directory, 2 * (args.messages + 1))
        half = args.messages + 1
        ok = run_mode(directory, codes[:half], safe=False)
        ok = run_mode(directory, codes[half:], safe=True) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
