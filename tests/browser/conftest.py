"""A real browser against a real server: Debian's Chromium, driven headless by Playwright,
talking HTTP to uvicorn serving the app over a migrated SQLite database.

Playwright's own browser downloads are not used: ``make browser`` installs Debian's
``chromium`` package, the build CI and developers already trust and update with the system.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import Platform, serve
from traceseal.codes.design import FONT_PATH
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
    with serve(migrated) as platform:
        yield platform


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    env = {**os.environ, "FONTCONFIG_FILE": str(_fonts_conf(tmp_path_factory.mktemp("fonts")))}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=env)
        yield browser
        browser.close()


def _fonts_conf(folder: Path) -> Path:
    """A fontconfig file adding the project's own CJK font (the labels' Noto Sans SC cut)
    to the system's: a machine without Chinese fonts would draw the pages' Chinese as
    boxes in the screenshots. People's browsers bring their own fonts."""
    conf = folder / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <dir>{FONT_PATH.parent}</dir>\n"
        f"  <cachedir>{folder / 'cache'}</cachedir>\n"
        "</fontconfig>\n",
        encoding="utf-8",
    )
    return conf


#: Where the journeys' screenshots are kept as test artefacts (CI may collect the folder).
ARTEFACTS = Path(os.environ.get("TRACESEAL_ARTEFACTS", "build/artefacts")) / "screenshots"


class Shots:
    """Screenshots of a test's pages, numbered in the order taken:
    ``build/artefacts/screenshots/<test>/<nn>-<name>.png``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []

    def __call__(self, page: Page, name: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Shots:
    """``shoot(page, "brand-home")`` saves the page as it looks now."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    return Shots(ARTEFACTS / name)
