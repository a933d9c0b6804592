"""Verification state shared by processes: two apps over one database stand for two worker
processes (or hosts). The flood limit counted by one holds in the other, in the database and
in Redis; a verification with TRACESEAL_VERIFY_SYNCHRONOUS_COMMIT=0 is recorded as any."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text

from tests.conftest import Platform
from tests.functional.conftest import acme, issue  # noqa: F401  (acme: a fixture)
from traceseal.config import Settings
from traceseal.verify.models import Scan

RATE = 3


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(params=["database", "redis"])
def settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    if request.param == "redis":
        if not _redis_answers():
            pytest.skip("no Redis answers on 127.0.0.1:6379")
        # A database of its own is not needed: keys are keyed hashes under this test's
        # random master key, so no other test or process shares them.
        settings = settings.replace(redis_url="redis://127.0.0.1:6379/0")
    return settings.replace(verify_rate_limit=RATE, verify_synchronous_commit=0)


@pytest.fixture
def other(platform: Platform) -> Iterator[Platform]:
    """A second app over the same database: another worker process."""
    second = Platform.__new__(Platform)
    from fastapi.testclient import TestClient

    from traceseal.app import create_app

    second.settings = platform.settings
    second.app = create_app(platform.settings)
    second.client = TestClient(second.app, raise_server_exceptions=False)
    yield second
    second.client.close()
    second.app.state.engine.dispose()


def ask(platform: Platform, code: str) -> int:
    """A query from TestClient's one client address (which the flood limit keys on)."""
    return platform.client.post("/api/v1/verify", json={"code": code}).status_code


def test_the_flood_limit_holds_across_processes(
    platform: Platform,
    other: Platform,
    acme,  # noqa: F811
) -> None:
    (code,) = issue(platform, acme, 1)
    if time.time() % 60 > 55:  # the database counts fixed minutes: not across an edge
        time.sleep(61 - time.time() % 60)
    assert [ask(platform, code) for _ in range(RATE - 1)] == [200] * (RATE - 1)
    assert ask(other, code) == 200
    # Each app saw fewer than RATE requests; between them the address used its minute.
    assert ask(platform, code) == 429
    assert ask(other, code) == 429


def test_a_verification_without_the_flush_wait_is_recorded(
    platform: Platform,
    acme,  # noqa: F811
) -> None:
    (code,) = issue(platform, acme, 1)
    response = platform.client.post("/api/v1/verify", json={"code": code})
    assert response.status_code == 200, response.text
    assert response.json()["verdict"] == "genuine"
    engine = platform.app.state.engine
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).where(Scan.code == code)) == 1
        if engine.dialect.name == "postgresql":
            # SET LOCAL: the pooled connection is back to the server's default.
            assert connection.scalar(text("SHOW synchronous_commit")) == "on"
