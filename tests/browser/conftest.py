"""A real browser against a real server: Debian's Chromium, driven headless by Playwright,
talking HTTP to uvicorn serving the app over a migrated SQLite database.

Playwright's own browser downloads are not used: ``make browser`` installs Debian's
``chromium`` package, the build CI and developers already trust and update with the system.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import Platform
from traceseal.config import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root in a container, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # containers give /dev/shm 64 MB, too little for a renderer
    "--disable-background-networking",  # no update checks or safe-browsing fetches
]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the pages' database behaviour is covered on PostgreSQL by tests/functional."""
    return f"sqlite:///{tmp_path / 'traceseal.db'}"


@pytest.fixture
def served(migrated: Settings) -> Iterator[Platform]:
    """The platform served on a free port of 127.0.0.1, with PUBLIC_URL naming that port,
    so the URLs printed into codes.csv are the ones the browser opens."""
    # Binding before uvicorn starts gives the port without a race for a "free" one.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    platform = Platform(migrated.replace(public_url=f"http://{host}:{port}"))
    config = uvicorn.Config(
        platform.app, log_level="warning", lifespan="off", ws="none", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started or not thread.is_alive():
                break
            thread.join(0.01)
        assert server.started, "uvicorn did not start"
        yield platform
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        platform.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
