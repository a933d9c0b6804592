"""The console's pages as people use them: navigation reaches every page, tables page and
filter, empty states say so, both languages, and no malformed filter gives an error page."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.conftest import Platform
from tests.functional.people_helpers import Browser, add_person
from traceseal.console import words
from traceseal.db import unit_of_work, utcnow
from traceseal.people import audit
from traceseal.people.audit import Actor
from traceseal.people.models import AuditEntry, Person

_HREF = re.compile(r'href="(/console[^"?#]*)')
#: Pages reached from a link elsewhere than the navigation: the sign-in steps and the link
#: a person is given.
NOT_IN_NAVIGATION = {"/console/sign-in", "/console/sign-in/code", "/console/reset/{token}"}


@pytest.fixture
def people(platform: Platform) -> dict[str, int]:
    acme, beta = platform.org("Acme"), platform.org("Beta")
    add_person(platform, acme.id, "admin@acme.cn", "admin")
    add_person(platform, beta.id, "admin@beta.cn", "admin")
    add_person(platform, platform.operator.id, "staff@platform.cn", "admin")
    return {"acme": acme.id, "beta": beta.id}


def _crawl(browser: Browser) -> set[str]:
    seen, todo = set(), ["/console"]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        page = browser.get(path)
        assert page.status_code == 200, path
        todo += [link for link in _HREF.findall(page.text) if link not in seen]
    return seen


def _templates(paths: set[str], templates: set[str]) -> set[str]:
    """The route template each crawled path is (``/console/x/7`` is ``/console/x/{id}``)."""
    patterns = {
        template: re.compile(re.sub(r"\\{[a-z_]+\\}", "[0-9]+", re.escape(template)) + "$")
        for template in templates
    }
    found = set()
    for path in paths:
        if path in templates:
            found.add(path)
            continue
        found |= {template for template, pattern in patterns.items() if pattern.match(path)}
    return found


def test_every_page_is_reachable_from_the_navigation(
    platform: Platform, people: dict[str, int]
) -> None:
    from tests.functional.test_console_routes import MATRIX

    # Each page's objects exist, so a link to every page of each console can be found.
    made = platform.client.post(
        "/api/v1/programmes",
        json={"name": "3·15 标识", "rules": {"certificate": {"scheme": "CCC"}}},
        headers=platform.operator.auth,
    )
    assert made.status_code == 201, made.text
    gets = {path for method, path in MATRIX if method == "GET"} - NOT_IN_NAVIGATION
    for login, role in (("admin@acme.cn", "admin"), ("staff@platform.cn", "operator")):
        pages = {path for path in gets if MATRIX["GET", path][role] == 200}
        browser = Browser(platform)
        browser.sign_in(login)
        assert _templates(_crawl(browser), gets) == pages, login


def test_the_audit_log_pages_and_filters(platform: Platform, people: dict[str, int]) -> None:
    acme, beta = people["acme"], people["beta"]
    with unit_of_work(platform.session_factory) as session:
        actor = Actor(None, "li@acme.cn", "192.0.2.7")
        for n in range(30):
            audit.record(session, actor, "person.create", organization_id=acme, target=f"t{n}")
        audit.record(session, actor, "policy.require_totp", organization_id=acme)
        audit.record(session, Actor(None, "wu@beta.cn"), "person.create", organization_id=beta)
        # One entry of last year.
        old = audit.record(session, actor, "person.disable", organization_id=acme)
        old.at = utcnow() - timedelta(days=400)
    admin = Browser(platform)
    admin.sign_in("admin@acme.cn")
    first = admin.get("/console/audit")
    rows = first.text.count("<tr>") - 1
    assert rows == 25
    assert "wu@beta.cn" not in first.text  # another organisation's entries: never
    older = re.search(r'href="([^"]+)" id="older"', first.text)
    assert older
    second = admin.get(older.group(1).replace("&amp;", "&"))
    assert second.text.count("<tr>") - 1 == 8  # 33 entries of Acme, sign-in included
    assert 'id="older"' not in second.text
    assert 'id="first-page"' in second.text

    only = admin.get("/console/audit", params={"action": "policy"})
    assert only.text.count("<tr>") - 1 == 1
    assert "policy.require_totp" in only.text
    by = admin.get("/console/audit", params={"actor": "LI@acme", "action": "person"})
    assert by.text.count("<tr>") - 1 == 25
    year = str(utcnow().year - 1)
    dated = admin.get("/console/audit", params={"since": f"{year}-01-01", "until": f"{year}-12-31"})
    assert dated.text.count("<tr>") - 1 == 1
    assert "person.disable" in dated.text
    none = admin.get("/console/audit", params={"actor": "nobody"})
    assert 'id="empty"' in none.text
    bad = admin.get("/console/audit", params={"since": "31/12/2026", "lang": "en"})
    assert bad.status_code == 200
    assert "a date is YYYY-MM-DD" in bad.text
    # An admin cannot widen the view to another organisation.
    widened = admin.get("/console/audit", params={"org": beta})
    assert "wu@beta.cn" not in widened.text

    staff = Browser(platform)
    staff.sign_in("staff@platform.cn")
    everyone = staff.get("/console/audit", params={"action": "person.create"})
    assert "wu@beta.cn" in everyone.text
    assert "li@acme.cn" in everyone.text
    beta_only = staff.get("/console/audit", params={"org": beta})
    assert "wu@beta.cn" in beta_only.text
    assert "li@acme.cn" not in beta_only.text


def test_people_pages_empty_search_and_the_operators_view(
    platform: Platform, people: dict[str, int]
) -> None:
    admin = Browser(platform)
    admin.sign_in("admin@acme.cn")
    for n in range(27):
        add_person(platform, people["acme"], f"p{n:02}@acme.cn")
    listing = admin.get("/console/users")
    assert listing.text.count("/disable") == 25
    assert 'id="older"' in listing.text
    assert "admin@beta.cn" not in listing.text
    found = admin.get("/console/users", params={"q": "P05@"})
    assert "p05@acme.cn" in found.text
    assert "p06@acme.cn" not in found.text
    assert 'id="empty"' in admin.get("/console/users", params={"q": "zzz"}).text
    # An admin's form naming another organisation still adds to the admin's own.
    admin.post(
        "/console/users/new",
        {"email": "x@acme.cn", "password": "long enough pw", "organization": str(people["beta"])},
    )
    with unit_of_work(platform.session_factory) as session:
        added = session.scalar(select(Person).where(Person.email == "x@acme.cn"))
        assert added is not None
        assert added.organization_id == people["acme"]

    staff = Browser(platform)
    staff.sign_in("staff@platform.cn")
    beta = staff.get("/console/users", params={"org": people["beta"]})
    assert "admin@beta.cn" in beta.text
    assert "acme.cn" not in beta.text
    answer = staff.post(
        "/console/users/new",
        {"email": "new@beta.cn", "organization": str(people["beta"]), "role": "admin"},
        page="/console/users/new",
    )
    # No password: an invitation link, shown once.
    assert answer.status_code == 200
    assert "/console/reset/" in answer.text
    with unit_of_work(platform.session_factory) as session:
        added = session.scalar(select(Person).where(Person.email == "new@beta.cn"))
        assert added is not None
        assert added.organization_id == people["beta"]
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "reset_link.issue"))
        assert entry is not None
        assert entry.organization_id == people["beta"]
        assert entry.actor == "staff@platform.cn"


def test_language_is_chosen_remembered_and_errors_are_worded_in_it(
    platform: Platform, people: dict[str, int]
) -> None:
    browser = Browser(platform)
    page = browser.get("/console/sign-in")
    assert '<html lang="zh-CN">' in page.text
    assert "登录控制台" in page.text
    english = Browser(platform, **{"accept-language": "en-GB,en;q=0.9"})
    assert "Sign in to the console" in english.get("/console/sign-in").text
    # ?lang= switches and is remembered on the next pages.
    assert "Sign in to the console" in browser.get("/console/sign-in?lang=en").text
    assert '<html lang="en">' in browser.get("/console/sign-in").text
    wrong = browser.sign_in("admin@acme.cn", "not it at all")
    assert "The sign-in name" not in wrong.text
    assert "is not right" in wrong.text
    browser.get("/console/sign-in?lang=zh-CN")
    wrong = browser.sign_in("admin@acme.cn", "not it at all")
    assert "账号或密码不正确" in wrong.text


def test_every_message_a_console_page_shows_has_zh_words() -> None:
    """The services' messages the console renders beside a field, in zh-CN."""
    from traceseal.people import passwords, resets, service, signin, totp

    messages = [
        signin.WRONG,
        signin.WRONG_CODE,
        "too many failed sign-ins: try again in 12 seconds",
        "li@acme.cn already signs in another person",
        f"the password needs at least {passwords.MIN_LENGTH} characters",
        f"the password may have at most {passwords.MAX_LENGTH} characters",
    ]
    sources = [service, totp, resets, passwords]
    for module in sources:
        text = Path(module.__file__ or "").read_text(encoding="utf-8")
        messages += re.findall(r'(?:InvalidInput|Unauthorized|NotFound)\(\s*"([^"{]+)"', text)
    missing = [m for m in messages if not words.known(m)]
    assert missing == []
    assert words.say(signin.WRONG, zh=False) == signin.WRONG


def test_a_disabled_person_cannot_sign_in_and_is_told_nothing_more(
    platform: Platform, people: dict[str, int]
) -> None:
    with unit_of_work(platform.session_factory) as session:
        session.execute(
            update(Person).where(Person.email == "admin@beta.cn").values(disabled_at=utcnow())
        )
    answer = Browser(platform).sign_in("admin@beta.cn")
    unknown = Browser(platform).sign_in("nobody@beta.cn")
    assert answer.status_code == unknown.status_code == 401

    def page(answer: object, login: str) -> str:
        text: str = answer.text  # type: ignore[attr-defined]
        return re.sub(r'name="csrf" value="[^"]+"', "", text.replace(login, ""))

    assert page(answer, "admin@beta.cn") == page(unknown, "nobody@beta.cn")


def test_a_mobile_number_signs_in_however_it_is_typed(
    platform: Platform, people: dict[str, int]
) -> None:
    from tests.functional.people_helpers import PASSWORD
    from traceseal.orgs.models import Organization
    from traceseal.people.service import create_person

    with unit_of_work(platform.session_factory) as session:
        org = session.get(Organization, people["acme"])
        assert org is not None
        create_person(session, org, mobile="+86 138 0013 8000", role="member", password=PASSWORD)
    for typed in ("13800138000", "138-0013-8000", "+86 138 0013 8000"):
        browser = Browser(platform)
        assert browser.sign_in(typed).status_code == 303, typed
        assert "8613800138000" in browser.get("/console").text
