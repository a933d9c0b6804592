"""kill -9 of a real server in the middle of a capture loop loses nothing it acknowledged and
leaves no half document: every stored event has its leaf, and the log verifies. Nor does it
leave the capture worker processes running."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from tests.functional.test_cli import Cli
from traceseal.epcis.models import CaptureJob, Event
from traceseal.epcis.pipeline import PARALLEL_FROM

EVENTS_PER_DOCUMENT = 1500


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def capture_document(number: int) -> bytes:
    events = [
        {
            "type": "ObjectEvent",
            "eventTime": "2026-11-01T08:00:00+08:00",
            "eventTimeZoneOffset": "+08:00",
            "epcList": [f"urn:epc:id:sgtin:9506000.013435.{number}-{i}"],
            "action": "ADD",
            "bizStep": "commissioning",
        }
        for i in range(EVENTS_PER_DOCUMENT)
    ]
    return json.dumps(
        {
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-11-01T00:00:00Z",
            "epcisBody": {"eventList": events},
        }
    ).encode()


@contextlib.contextmanager
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[subprocess.Popen[bytes], str, str]]:
    """``traceseal serve`` in a session of its own, answering: the process, its base URL and
    the operator's API key. Whatever is left of its process group is killed afterwards."""
    cli = Cli(tmp_path / "var", database_url)
    key = cli.json("init")["operator_api_key"]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "traceseal.cli.main", "serve", "--port", str(port)],
        env=cli.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        yield server, base, key
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def test_kill_9_mid_capture_leaves_whole_documents_and_a_log_that_verifies(
    tmp_path: Path, database_url: str
) -> None:
    acknowledged: list[str] = []
    durations: list[float] = []
    current = {"number": 0, "started": 0.0}
    with served(tmp_path, database_url) as (server, base, key):
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/ld+json"}

        def loop() -> None:
            number = 0
            while True:
                number += 1
                request = urllib.request.Request(
                    f"{base}/epcis/capture", data=capture_document(number), headers=headers
                )
                started = time.monotonic()
                current.update(number=number, started=started)
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        status, body = response.status, json.loads(response.read())
                except (urllib.error.URLError, ConnectionError, OSError, http.client.HTTPException):
                    return  # the server is gone (an answer cut short is IncompleteRead)
                durations.append(time.monotonic() - started)
                assert status == 202
                acknowledged.append(body["captureID"])

        sender = threading.Thread(target=loop, daemon=True)
        sender.start()
        while len(durations) < 3:
            time.sleep(0.01)
            assert sender.is_alive() or len(durations) >= 3, "capture loop stopped early"
        # Kill when the next request is about two thirds through, by the timings so far:
        # inside the write transaction, most likely.
        mean = sum(durations) / len(durations)
        target = len(durations) + 1
        while current["number"] < target:
            time.sleep(0.001)
        time.sleep(max(0.0, current["started"] + mean * 0.66 - time.monotonic()))
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        sender.join(timeout=30)

    assert len(acknowledged) >= 3
    cli = Cli(tmp_path / "var", database_url)
    verify = cli.run("ledger", "verify", "--db", "--state", str(tmp_path / "audit-state.json"))
    assert "leaves verified" in verify.stdout

    _assert_documents_whole(database_url, acknowledged)


def _assert_documents_whole(database_url: str, acknowledged: list[str]) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            jobs = connection.execute(
                select(CaptureJob.id, CaptureJob.capture_id, CaptureJob.event_count)
            ).all()
            stored = dict(
                connection.execute(
                    select(Event.capture_job_id, func.count()).group_by(Event.capture_job_id)
                ).all()
            )
            # Every acknowledged capture is there; every job there is whole.
            assert set(acknowledged) <= {capture_id for _, capture_id, _ in jobs}
            for job_id, _, count in jobs:
                assert stored.get(job_id, 0) == count == EVENTS_PER_DOCUMENT
            # Every event has its leaf: the event's id is its leaf index, and that leaf
            # names the event's hash.
            orphans = connection.execute(
                text(
                    "SELECT count(*) FROM epcis_events e LEFT JOIN ledger_leaves l "
                    'ON l."index" = e.id WHERE l."index" IS NULL OR l.kind <> \'epcis.event\''
                )
            ).scalar_one()
            assert orphans == 0
            leaves = connection.execute(
                text("SELECT count(*) FROM ledger_leaves WHERE kind = 'epcis.event'")
            ).scalar_one()
            assert leaves == sum(stored.values())
    finally:
        engine.dispose()


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, ppid, ...), or None."""
    try:
        text_ = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text_.rsplit(")", 1)[1].split()


def _descendants(root: int) -> set[int]:
    children: dict[int, set[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), set()).add(int(entry.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _running(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")  # a zombie has exited


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_kill_9_of_the_server_takes_its_capture_workers_with_it(
    tmp_path: Path, database_url: str
) -> None:
    with served(tmp_path, database_url) as (server, base, key):
        # Large enough to be prepared by the pool of worker processes.
        assert EVENTS_PER_DOCUMENT >= PARALLEL_FROM
        request = urllib.request.Request(
            f"{base}/epcis/capture",
            data=capture_document(1),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/ld+json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            assert response.status == 202
        spawned = _descendants(server.pid)
        assert len(spawned) >= 2, spawned  # the fork server and its workers, at least

        os.kill(server.pid, signal.SIGKILL)  # the server alone, not its process group
        server.wait(timeout=10)
        deadline = time.monotonic() + 10
        while (left := {pid for pid in spawned if _running(pid)}) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert left == set(), f"still running after the server was killed: {sorted(left)}"
