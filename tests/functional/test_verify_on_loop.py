"""Verifications on the event loop of a PostgreSQL on this host (TRACESEAL_VERIFY_ON_EVENT_LOOP).

Their connections give up a lock wait after 20 ms and a statement after 200 ms
(connections.impatient_engine); the verification is then redone in a worker thread, so one that
meets a held lock neither stalls the server's other requests nor is counted twice.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.exc import OperationalError

from tests.conftest import Platform
from tests.functional.conftest import issue
from tests.functional.pg_proxy import OptionsDropper, dropping_options
from traceseal.app import create_app
from traceseal.config import load_settings
from traceseal.connections import TimeoutsIgnored, impatient_engine, same_host
from traceseal.db import make_engine, make_session_factory
from traceseal.settings_values import SettingsError
from traceseal.verify.channel import Verifier
from traceseal.verify.models import Channel, Scan, Verdict
from traceseal.verify.service import Query, Verification


def _postgres(platform: Platform) -> str:
    url = platform.settings.resolved_database_url
    if url.startswith("sqlite"):
        pytest.skip("PostgreSQL's connections; SQLite verifies on the loop with its own gate")
    return url


def verify(platform: Platform, code: str) -> dict:
    response = platform.client.post("/api/v1/verify", json={"code": code})
    assert response.status_code == 200, response.text
    return response.json()


def _beside(platform: Platform, **changes: object) -> Platform:
    """Another app over the same database, with other settings: another server."""
    second = Platform.__new__(Platform)
    second.settings = platform.settings.replace(**changes)
    second.app = create_app(second.settings)
    second.client = TestClient(second.app, raise_server_exceptions=False)
    return second


async def _ask(platform: Platform, code: str, address: str) -> dict:
    """POST /api/v1/verify straight into the app on the running loop, from ``address``."""
    body = json.dumps({"code": code}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/verify",
        "raw_path": b"/api/v1/verify",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"x"), (b"content-type", b"application/json")],
        "client": (address, 1000),
        "server": ("x", 80),
    }
    sent: list[dict] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        if messages:
            return messages.pop()
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await platform.app(scope, receive, send)
    assert next(m["status"] for m in sent if m["type"] == "http.response.start") == 200
    return json.loads(
        b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    )


def test_a_verification_held_by_a_lock_moves_off_the_loop_and_counts_once(
    platform: Platform, acme
) -> None:
    url = _postgres(platform)
    assert platform.app.state.verifier.on_event_loop  # 127.0.0.1: on this host
    held, other = issue(platform, acme, 2)
    answers: dict[str, dict] = {}
    other_answered = threading.Event()

    async def scenario() -> None:
        answers["first"] = await _ask(platform, held, "192.0.2.1")
        waiting = asyncio.create_task(_ask(platform, held, "192.0.2.1"))
        reached.wait()  # the lock is held (main thread), then the first query goes to it
        await asyncio.sleep(0.3)  # past the loop's 20 ms: now waiting in a worker thread
        # The loop is free: another client's query of another code is answered meanwhile.
        answers["other"] = await _ask(platform, other, "192.0.2.2")
        other_answered.set()
        answers["held"] = await waiting

    reached = threading.Event()
    # A loop of its own in a thread of its own: the browser tests may hold this one's.
    runner = threading.Thread(target=asyncio.run, args=(scenario(),))
    holder = create_engine(url)
    try:
        with holder.connect() as connection, connection.begin():
            runner.start()
            deadline = time.monotonic() + 10
            while "first" not in answers:
                assert time.monotonic() < deadline, "the first query was not answered"
                time.sleep(0.01)
            # Another transaction holds the code's counter row, as a long console job might.
            connection.execute(text("SELECT scan_count FROM scanned_codes FOR UPDATE")).all()
            reached.set()
            # Without the loop's impatience the held query would keep the loop until this
            # transaction ends, and the other query would wait for it.
            answered_while_held = other_answered.wait(timeout=10)
    finally:
        reached.set()
        runner.join(timeout=20)
        holder.dispose()
    assert answered_while_held, "the event loop was held by the waiting verification"
    assert answers["other"]["verdict"] == "genuine"
    assert answers["held"]["verdict"] == "genuine_repeat"
    assert answers["held"]["scan_count"] == 2
    with platform.session_factory() as session:
        logged = session.scalar(select(func.count()).select_from(Scan).where(Scan.code == held))
    assert logged == 2  # the attempt given up on the loop left no row


def test_the_setting_chooses_where_postgresql_verifies(platform: Platform, acme) -> None:
    url = _postgres(platform)
    code = issue(platform, acme, 1)[0]
    # 0: in the thread pool, with the same answers.
    pooled = _beside(platform, verify_on_event_loop="0")
    try:
        assert not pooled.app.state.verifier.on_event_loop
        assert verify(pooled, code)["verdict"] == "genuine"
        assert verify(pooled, code)["scan_count"] == 2
    finally:
        pooled.client.close()
        pooled.app.state.verifier.close()
        pooled.app.state.engine.dispose()
    assert same_host(make_engine(url))


def test_impatient_connections_give_up_a_lock_and_a_long_statement(platform: Platform) -> None:
    url = _postgres(platform)
    engine = make_engine(url)
    impatient = impatient_engine(engine, lock_ms=20, statement_ms=200)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE held (n int)"))
        with engine.connect() as connection, connection.begin():
            connection.execute(text("LOCK TABLE held IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            with pytest.raises(OperationalError) as lock, impatient.connect() as waiting:
                waiting.execute(text("SELECT count(*) FROM held"))
            assert time.monotonic() - started < 5
        assert lock.value.orig.sqlstate == "55P03"  # type: ignore[union-attr]
        with pytest.raises(OperationalError) as slow, impatient.connect() as connection:
            connection.execute(text("SELECT pg_sleep(2)"))
        assert slow.value.orig.sqlstate == "57014"  # type: ignore[union-attr]
        # The URL's own options (the test's search_path) are kept beside the timeouts.
        with impatient.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM held")).scalar_one() == 0
    finally:
        impatient.dispose()
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("postgresql+psycopg://u@127.0.0.1:5432/db", True),
        ("postgresql+psycopg://u@localhost/db", True),
        ("postgresql+psycopg://u@[::1]:5432/db", True),
        ("postgresql+psycopg:///db", True),  # libpq's default Unix socket
        ("postgresql+psycopg://u@/db?host=/var/run/postgresql", True),
        ("postgresql+psycopg://u@db.internal:5432/db", False),
        ("postgresql+psycopg://u@10.0.0.5/db", False),
        ("postgresql+psycopg://u@/db?host=/tmp&host=db.internal", False),
    ],
)
def test_on_this_host_is_a_loopback_address_or_a_unix_socket(url: str, local: bool) -> None:
    assert same_host(make_engine(url)) is local


def test_the_setting_takes_auto_0_or_1() -> None:
    for value in ("auto", "0", "1"):
        assert load_settings({"TRACESEAL_VERIFY_ON_EVENT_LOOP": value}).verify_on_event_loop
    with pytest.raises(SettingsError, match="auto, 0 or 1"):
        load_settings({"TRACESEAL_VERIFY_ON_EVENT_LOOP": "yes"})


def _proxied(url: str, proxy: OptionsDropper) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(False)


def _upstream(url: str) -> tuple[str, int]:
    parsed = make_url(url)
    return parsed.host or "127.0.0.1", parsed.port or 5432


def test_a_connection_that_lost_its_timeouts_is_refused(platform: Platform) -> None:
    url = _postgres(platform)
    with dropping_options(_upstream(url), "lock_timeout", "statement_timeout") as proxy:
        engine = make_engine(_proxied(url, proxy))
        impatient = impatient_engine(engine, lock_ms=20, statement_ms=200)
        try:
            with pytest.raises(TimeoutsIgnored, match="lock_timeout=0 and statement_timeout=0"):
                impatient.connect()
            # The pooler passed the rest of the options on: the test's own schema is seen.
            with engine.connect() as connection:
                assert (
                    connection.execute(text("SELECT count(*) FROM scan_rollups")).scalar_one() == 0
                )
        finally:
            impatient.dispose()
            engine.dispose()
    assert proxy.stripped == 1


def test_without_its_timeouts_the_loop_leaves_verifications_to_worker_threads(
    platform: Platform, acme, caplog: pytest.LogCaptureFixture
) -> None:
    url = _postgres(platform)
    codes = issue(platform, acme, 2)
    with dropping_options(_upstream(url), "lock_timeout", "statement_timeout") as proxy:
        engine = make_engine(_proxied(url, proxy))
        verifier = Verifier(
            platform.settings.replace(verify_on_event_loop="1"),
            make_session_factory(engine),
            platform.app.state.keyring,
        )
        client = verifier.client("192.0.2.9", None)

        async def both() -> list[Verification]:
            return [
                await verifier.verify_async(Query(code, channel=Channel.API), client)
                for code in codes
            ]

        try:
            # A loop of its own in a thread of its own: the browser tests may hold this one's.
            with ThreadPoolExecutor(max_workers=1) as runner:
                answers = runner.submit(asyncio.run, both()).result(timeout=60)
        finally:
            verifier.close()
            engine.dispose()
    assert [answer.verdict for answer in answers] == [Verdict.GENUINE, Verdict.GENUINE]
    # The loop's connection was tried once; the second query did not try again so soon.
    assert proxy.stripped == 1
    assert "TRACESEAL_VERIFY_ON_EVENT_LOOP=0" in caplog.text
