"""Every /console route as each kind of visitor: anonymous, an organisation's member and
admin, the operator's staff, and another organisation's admin. Each gets the page, a
refusal (403 for a role, 404 for another's object), or the way to the sign-in page; and
every POST without its CSRF token is refused. A new route fails this test until it is
added to the matrix."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from tests.conftest import Platform
from tests.functional import console_matrix
from tests.functional.console_matrix import ROLES, SIGN_IN, Orgs, row
from tests.functional.people_helpers import Browser, add_person
from traceseal.db import unit_of_work
from traceseal.orgs.models import Role
from traceseal.people.models import ConsoleSession
from traceseal.people.sessions import token_hash

ALL = (200, 200, 200, 200)
_row = row
ADMIN_PAGE = _row(SIGN_IN, 403, 200, 200, 200)
OWN_PAGE = _row(SIGN_IN, *ALL)
# (method, path template): expected answer per role. Writes come after reads, and the
# admin acts last, so a refused role never meets a state changed by an allowed one.
_BASE: dict[tuple[str, str], dict[str, int | str]] = {
    ("GET", "/console"): OWN_PAGE,
    ("GET", "/console/sign-in"): _row(200, 303, 303, 303, 303),
    ("GET", "/console/sign-in/code"): _row(303, 303, 303, 303, 303),
    ("GET", "/console/reset/{token}"): _row(404, 404, 404, 404, 404),
    ("GET", "/console/account/password"): OWN_PAGE,
    ("GET", "/console/account/sessions"): OWN_PAGE,
    ("GET", "/console/account/two-step"): OWN_PAGE,
    ("GET", "/console/users"): ADMIN_PAGE,
    ("GET", "/console/users/new"): ADMIN_PAGE,
    ("GET", "/console/security"): ADMIN_PAGE,
    ("GET", "/console/audit"): ADMIN_PAGE,
    ("POST", "/console/sign-in"): _row(401, 401, 401, 401, 401),
    ("POST", "/console/sign-in/code"): _row(303, 303, 303, 303, 303),
    ("POST", "/console/reset/{token}"): _row(404, 404, 404, 404, 404),
    ("POST", "/console/account/password"): _row(SIGN_IN, 422, 422, 422, 422),
    ("POST", "/console/account/two-step/start"): _row(SIGN_IN, *ALL),
    ("POST", "/console/account/two-step/confirm"): _row(SIGN_IN, 422, 422, 422, 422),
    ("POST", "/console/account/two-step/off"): _row(SIGN_IN, 303, 303, 303, 303),
    ("POST", "/console/account/sessions/{session_id}/revoke"): _row(SIGN_IN, 404, 404, 404, 303),
    ("POST", "/console/users/new"): _row(SIGN_IN, 403, 422, 422, 422),
    ("POST", "/console/users/{person_id}/disable"): _row(SIGN_IN, 403, 404, 303, 303),
    ("POST", "/console/users/{person_id}/enable"): _row(SIGN_IN, 403, 404, 303, 303),
    ("POST", "/console/users/{person_id}/reset-link"): _row(SIGN_IN, 403, 403, 200, 403),
    ("POST", "/console/security"): _row(SIGN_IN, 403, 303, 303, 303),
    ("POST", "/console/sign-out"): _row(303, 303, 303, 303, 303),
}


def _areas() -> list[ModuleType]:
    return [
        importlib.import_module(f"{console_matrix.__name__}.{found.name}")
        for found in pkgutil.iter_modules(console_matrix.__path__)
    ]


MATRIX = dict(_BASE)
#: The area module of each row: its own values fill its paths (two areas may both call
#: a placeholder ``key_id``, for different kinds of key).
AREA: dict[tuple[str, str], str] = {}
for _area in _areas():
    MATRIX |= _area.ROWS
    AREA |= dict.fromkeys(_area.ROWS, _area.__name__)


def _console_routes(platform: Platform) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in _walk(platform.app.routes)
        if route.path.startswith("/console")
        for method in route.methods - {"HEAD"}
    }


def _walk(routes: list[Any]) -> Iterator[APIRoute]:
    """Every route, included routers' too (the console's routers carry no prefix)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _walk(inner.routes)


def test_the_matrix_names_every_console_route(platform: Platform) -> None:
    assert _console_routes(platform) == set(MATRIX)


@pytest.fixture
def orgs(platform: Platform) -> Orgs:
    return Orgs(
        acme=platform.org("Acme"),
        beta=platform.org("Beta"),
        operator=platform.operator,
        distributor=platform.org("Dist", Role.DISTRIBUTOR),
        lab=platform.org("Lab", Role.LAB),
        regulator=platform.org("Reg", Role.REGULATOR),
    )


@pytest.fixture
def visitors(platform: Platform, orgs: Orgs) -> dict[str, Browser]:
    add_person(platform, orgs.acme.id, "member@acme.cn")
    add_person(platform, orgs.acme.id, "admin@acme.cn", "admin")
    add_person(platform, orgs.acme.id, "target@acme.cn")
    add_person(platform, orgs.beta.id, "admin@beta.cn", "admin")
    add_person(platform, platform.operator.id, "staff@platform.cn", "admin")
    add_person(platform, orgs.distributor.id, "admin@dist.cn", "admin")
    add_person(platform, orgs.lab.id, "admin@lab.cn", "admin")
    add_person(platform, orgs.regulator.id, "admin@reg.cn", "admin")
    logins = {
        "member": "member@acme.cn",
        "other_admin": "admin@beta.cn",
        "operator": "staff@platform.cn",
        "distributor": "admin@dist.cn",
        "lab": "admin@lab.cn",
        "regulator": "admin@reg.cn",
        "admin": "admin@acme.cn",
    }
    browsers = {"anonymous": Browser(platform)}
    for role, login in logins.items():
        browsers[role] = Browser(platform)
        assert browsers[role].sign_in(login).status_code == 303
    return browsers


class Paths:
    """Each route's path for the test: the shared placeholders, overridden by the values
    the route's own area made."""

    def __init__(self, platform: Platform, orgs: Orgs, shared: dict[str, object]) -> None:
        self.shared = shared
        self.by_area: dict[str, dict[str, object]] = {}
        for area in _areas():
            make = getattr(area, "values", None)
            self.by_area[area.__name__] = {} if make is None else make(platform, orgs)

    def __call__(self, key: tuple[str, str]) -> str:
        own = self.by_area.get(AREA.get(key, ""), {})
        # Rows of the base matrix may use any area's values (none do today).
        merged = {k: v for values in self.by_area.values() for k, v in values.items()}
        return key[1].format(**(self.shared | merged | own))


def test_every_route_as_every_visitor(
    platform: Platform, orgs: Orgs, visitors: dict[str, Browser]
) -> None:
    target = _person_id(platform, "target@acme.cn")
    # A second session of Acme's admin: only that admin may end it.
    spare = Browser(platform)
    spare.sign_in("admin@acme.cn")
    with unit_of_work(platform.session_factory) as session:
        spare_id = session.scalar(
            select(ConsoleSession.id).where(
                ConsoleSession.token_hash == token_hash(spare.session_cookie or "")
            )
        )
    paths = Paths(
        platform, orgs, {"person_id": target, "session_id": spare_id, "token": "no-such-link"}
    )
    # Sign-out last: it ends the visitors' sessions.
    order = sorted(MATRIX, key=lambda key: key[1] == "/console/sign-out")
    wrong = []
    for method, template in order:
        path = paths((method, template))
        for role in ROLES:
            browser = visitors[role]
            if method == "GET":
                answer = browser.get(path)
            else:
                answer = browser.post(path, page=_form_page(browser))
            expected = MATRIX[method, template][role]
            got: int | str = answer.status_code
            if expected == SIGN_IN:
                location = answer.headers.get("location", "")
                got = SIGN_IN if got == 303 and location.startswith("/console/sign-in") else got
            if got != expected:
                wrong.append(f"{method} {template} as {role}: {got}, expected {expected}")
    assert wrong == []


def _form_page(browser: Browser) -> str:
    """A page whose form carries the browser's token: the home page once signed in."""
    return "/console" if browser.session_cookie else "/console/sign-in"


def _person_id(platform: Platform, email: str) -> int:
    from traceseal.people.models import Person

    with unit_of_work(platform.session_factory) as session:
        found = session.scalar(select(Person.id).where(Person.email == email))
        assert found is not None
        return found


def test_every_console_post_refuses_a_missing_or_wrong_token(
    platform: Platform, orgs: Orgs, visitors: dict[str, Browser]
) -> None:
    target = _person_id(platform, "target@acme.cn")
    paths = Paths(platform, orgs, {"person_id": target, "session_id": 1, "token": "no-such-link"})
    admin, operator = visitors["admin"], visitors["operator"]
    for method, template in MATRIX:
        if method != "POST":
            continue
        path = paths((method, template))
        for browser in (admin, operator, visitors["anonymous"]):
            for sent in ({}, {"csrf": "forged"}):
                answer = browser.client.post(path, data=sent)
                assert answer.status_code == 403, (path, sent, answer.status_code)
    # Nothing of it happened: both are still signed in, the target still enabled.
    assert admin.get("/console").status_code == 200
    assert operator.get("/console").status_code == 200
    listing = admin.get("/console/users")
    assert "target@acme.cn" in listing.text
    assert "已停用" not in listing.text
