"""Several worker processes serving one database: ``traceseal serve --workers N``.

* With 2 workers, a client over its failure limit (codes that do not check) or its flood
  limit (requests a minute) is refused by both: the counts live in the database, or in
  Redis when TRACESEAL_REDIS_URL is set (those instances run when Redis answers on
  127.0.0.1:6379). Which worker answered is read from the kernel: the process that holds
  the server end of the request's TCP connection.
* With 4 workers, each due webhook delivery reaches the receiver exactly once, and the
  log's checkpoints are published once per size (jobs/locking.py). These check the outcome
  through real processes; the race they guard against (two processes claiming the same rows
  or size within a few milliseconds) is narrow, so without the lock they still pass most
  runs. tests/unit/jobs/test_locking.py is the one that fails at once without it.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import REDIS, REDIS_URL
from tests.functional.test_webhooks import Receiver
from tests.served.conftest import ENGINES, Served, instance, wait_for
from traceseal.ledger.models import LedgerHead

FAILURE_LIMIT = 5
RATE_LIMIT = 30


def _stores() -> list[Any]:
    """Every engine, with its limits counted in the database, then in Redis."""
    found = []
    for store in ("database", "redis"):
        for engine in ENGINES:
            name = engine if isinstance(engine, str) else engine.values[0]
            marks = [] if isinstance(engine, str) else list(engine.marks)
            if store == "redis":
                marks.append(REDIS)
            found.append(pytest.param((name, store), id=f"{name}-{store}", marks=marks))
    return found


@pytest.fixture(scope="module", params=_stores())
def two_workers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    engine, store = request.param
    env = {
        "TRACESEAL_VERIFY_FAILURE_LIMIT": str(FAILURE_LIMIT),
        "TRACESEAL_VERIFY_RATE_LIMIT": str(RATE_LIMIT),
    }
    if store == "redis":
        env["TRACESEAL_REDIS_URL"] = REDIS_URL
    yield from instance(tmp_path_factory, engine, env, ["--workers", "2"])


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(p) for p in (task / "children").read_text().split()}
    return found


def _socket_owner(pids: set[int], server_port: int, client_port: int) -> int | None:
    """The process among ``pids`` holding the server end of 127.0.0.1:client_port's
    connection to server_port (read from /proc/net/tcp and the processes' descriptors)."""
    local, remote = f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}"
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[2] == remote:
            inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        with os.scandir(f"/proc/{pid}/fd") as descriptors:
            for fd in descriptors:
                try:
                    if str(Path(fd.path).readlink()) == f"socket:[{inode}]":
                        return pid
                except OSError:
                    continue
    return None


def ask(served: Served, body: dict[str, Any], address: str) -> tuple[int, int | None]:
    """``POST /api/v1/verify`` on a connection of its own, as client ``address`` (the server
    trusts X-Forwarded-For from loopback); the status and the worker that answered."""
    port = int(served.url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            "/api/v1/verify",
            json.dumps(body),
            {"Content-Type": "application/json", "X-Forwarded-For": address},
        )
        response = connection.getresponse()
        response.read()
        assert connection.sock is not None
        client_port = connection.sock.getsockname()[1]
        worker = _socket_owner(_children(served.pid), port, client_port)
        return response.status, worker
    finally:
        connection.close()


def workers(served: Served) -> list[int]:
    """The worker processes of ``traceseal serve --workers N`` (its spawned children)."""
    found = []
    for pid in sorted(_children(served.pid)):
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"multiprocessing.resource_tracker" not in b" ".join(command):
            found.append(pid)
    return found


def settled(served: Served) -> None:
    """Wait until the log's latest checkpoint covers every leaf: then no worker's publisher
    is about to write (a worker stopped in the middle of a write would hold its lock)."""

    def published() -> bool:
        with served.db.connect() as connection:
            size = connection.scalar(select(LedgerHead.size))
        return _checkpoint_size(served) == size

    wait_for(published, "the checkpoint of every leaf")


@contextmanager
def only(served: Served, worker: int) -> Iterator[None]:
    """Every other worker stopped (SIGSTOP) for the block, so ``worker`` takes every new
    connection; they carry on afterwards (SIGCONT). The block must be short: uvicorn
    replaces a worker that does not answer its health check for 5 s."""
    settled(served)
    others = [pid for pid in workers(served) if pid != worker]
    for pid in others:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in others:
            os.kill(pid, signal.SIGCONT)


def ask_through(
    served: Served, worker: int, bodies: list[dict[str, Any]], address: str
) -> list[int]:
    """:func:`ask` for each body through ``worker`` alone; the statuses."""
    with only(served, worker):
        answers = [ask(served, body, address) for body in bodies]
    assert {answered for _, answered in answers} == {worker}
    return [status for status, _ in answers]


def test_a_client_over_its_failure_limit_is_refused_by_both_workers(two_workers: Served) -> None:
    first, second = workers(two_workers)
    address = "203.0.113.7"
    # Codes whose check digit is wrong: mistyped, a failure each; the limit's worth, three
    # through one worker and the rest through the other.
    mistyped = [{"code": f"1234567890123456789{i}"} for i in range(FAILURE_LIMIT + 1)]
    assert ask_through(two_workers, first, mistyped[:3], address) == [200] * 3
    assert ask_through(two_workers, second, mistyped[3:FAILURE_LIMIT], address) == [200] * 2
    # One more failure is one too many, whichever worker counts it: the first saw only 3.
    assert ask_through(two_workers, first, mistyped[FAILURE_LIMIT:], address) == [429]
    # Now even a well-formed request is refused by both.
    brand = two_workers.brand()
    (code,) = two_workers.issue(brand, 1)
    assert ask_through(two_workers, second, [{"code": code}], address) == [429]
    assert ask_through(two_workers, first, [{"code": code}], address) == [429]
    # Another client is not refused.
    assert ask_through(two_workers, second, [{"code": code}], "203.0.113.8") == [200]


def test_a_client_over_its_flood_limit_is_refused_by_both_workers(two_workers: Served) -> None:
    first, second = workers(two_workers)
    address = "198.51.100.23"
    if time.time() % 60 > 40:  # the database counts fixed minutes: start a fresh one
        time.sleep(61 - time.time() % 60)
    brand = two_workers.brand()
    (code,) = two_workers.issue(brand, 1)
    half = RATE_LIMIT // 2
    assert ask_through(two_workers, first, [{"code": code}] * half, address) == [200] * half
    rest = RATE_LIMIT - half
    assert ask_through(two_workers, second, [{"code": code}] * rest, address) == [200] * rest
    # Redis's token bucket refills half a token a second: a few more use up what refilled.
    more = ask_through(two_workers, first, [{"code": code}] * 3, address)
    assert 429 in more
    assert more[-1] == 429
    assert ask_through(two_workers, second, [{"code": code}], address) == [429]


@pytest.fixture(scope="module", params=ENGINES)
def four_workers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    env = {"TRACESEAL_OUTBOUND_ALLOW_PRIVATE": "1"}
    yield from instance(tmp_path_factory, request.param, env, ["--workers", "4"])


def test_each_due_webhook_delivery_arrives_exactly_once(four_workers: Served) -> None:
    served = four_workers
    assert len(workers(served)) == 4
    receiver = Receiver(failures=0)
    try:
        brand = served.brand()
        response = served.call(
            "PUT",
            "/api/v1/alerts/webhook",
            brand.key,
            json={"url": receiver.url, "secret": "webhook-secret-for-served-tests"},
        )
        assert response.status_code == 200, response.text
        codes = served.issue(brand, 12)
        # Each code queried in Shenzhen, then in Beijing by another phone: a clone alert.
        for code in codes:
            served.verify(code, device="a" * 20, region="440305")
            served.verify(code, device="b" * 20, region="110105")
        alerts = served.alerts(brand, kind="clone")
        assert len(alerts) == len(codes)
        wait_for(lambda: len(receiver.requests) >= len(codes), "every delivery", 60)
        time.sleep(3)  # three more ticks of every worker's deliverer: nothing more arrives
        sent = [json.loads(body)["alert"]["id"] for _, body in receiver.requests]
        assert sorted(sent) == sorted(alert["id"] for alert in alerts)
    finally:
        receiver.close()


def test_each_checkpoint_is_published_once(four_workers: Served) -> None:
    served = four_workers
    brand = served.brand()
    sizes = []
    # Runs issued one after another (each appends a leaf), while all four workers' publishers
    # tick twice a second.
    for _ in range(6):
        served.issue(brand, 1)
        wait_for(
            lambda: _checkpoint_size(served) > (sizes[-1] if sizes else 0),
            "a checkpoint of the grown log",
        )
        sizes.append(_checkpoint_size(served))
    assert sizes == sorted(set(sizes))
    # Two processes publishing the same size: the second fails on the size's primary key,
    # and says so on stderr (the fixture also fails on any traceback).
    assert not [line for line in served.log if "checkpoints failed" in line]


def _checkpoint_size(served: Served) -> int:
    response = served.http.get("/ledger/checkpoint")
    if response.status_code != 200:
        return 0
    return int(response.text.splitlines()[1])
