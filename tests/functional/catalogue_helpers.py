"""Shared steps of the brand catalogue's console tests: an Acme admin and member, Beta's
admin, and the form posts a person makes on the products and codes pages."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx2 as httpx
import pytest

from tests.conftest import Platform, Tenant
from tests.functional.people_helpers import Browser, add_person

GTIN = "09506000134352"
LOT = "L2026-11A"
#: How long a codes file may take before a test gives up (not a timing assertion).
HANG_GUARD = 60.0


@dataclass
class Brand:
    acme: Tenant
    beta: Tenant
    admin: Browser
    member: Browser
    beta_admin: Browser


@pytest.fixture
def brand(platform: Platform) -> Iterator[Brand]:
    acme, beta = platform.org("Acme"), platform.org("Beta")
    add_person(platform, acme.id, "admin@acme.cn", "admin")
    add_person(platform, acme.id, "member@acme.cn")
    add_person(platform, beta.id, "admin@beta.cn", "admin")
    people = []
    for login in ("admin@acme.cn", "member@acme.cn", "admin@beta.cn"):
        browser = Browser(platform)
        assert browser.sign_in(login).status_code == 303
        people.append(browser)
    yield Brand(acme, beta, *people)
    for browser in people:
        browser.close()


@pytest.fixture
def runner(platform: Platform) -> Iterator[None]:
    """The export runner working, as in a served process (the test app has no lifespan)."""
    exports = platform.app.state.exports
    exports.start()
    yield
    exports.stop()


def field_error(answer: httpx.Response, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="{name}-error">([^<]*)</p>', answer.text)
    assert found, f"no error beside {name}: {answer.status_code} {answer.text[:2000]}"
    return found.group(1)


def add_product(browser: Browser, gtin: str = GTIN, name: str = "4kg 干粉灭火器") -> str:
    answer = browser.post("/console/products/new", {"gtin": gtin, "name": name, "scan_limit": "5"})
    assert answer.status_code == 303, answer.text[:2000]
    return answer.headers["location"]


def add_batch(browser: Browser, gtin: str = GTIN, lot: str = LOT) -> None:
    path = f"/console/products/{gtin}/batches/new"
    answer = browser.post(path, {"lot": lot, "production_date": "2026-11-01"})
    assert answer.status_code == 303, answer.text[:2000]


def issue(browser: Browser, count: int, gtin: str = GTIN, lot: str = "") -> tuple[int, int | None]:
    """Issue a run; its id and its codes file's job id (None if no file was queued)."""
    data = {"product": gtin, "count": str(count), "lot": lot}
    answer = browser.post("/console/codes/new", data)
    assert answer.status_code == 303, answer.text[:2000]
    location = answer.headers["location"]
    found = re.fullmatch(r"/console/codes/(\d+)(?:/file/(\d+))?(?:\?.*)?", location)
    assert found, location
    return int(found.group(1)), int(found.group(2)) if found.group(2) else None


def wait_done(browser: Browser, run_id: int, job_id: int) -> list[dict[str, object]]:
    """Every status of the codes file seen until it is done or failed."""
    seen: list[dict[str, object]] = []
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        answer = browser.get(f"/console/codes/{run_id}/file/{job_id}/status")
        assert answer.status_code == 200, answer.text
        seen.append(answer.json())
        if seen[-1]["state"] in ("done", "failed"):
            return seen
        time.sleep(0.1)
    raise AssertionError(f"the codes file never finished: {seen[-1]}")


def audit_rows(browser: Browser, action: str) -> str:
    answer = browser.get(f"/console/audit?action={action}")
    assert answer.status_code == 200
    return answer.text
