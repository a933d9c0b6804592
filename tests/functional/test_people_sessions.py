"""Console sessions, CSRF, back-off and lockout, TOTP and reset links, through HTTP."""

from __future__ import annotations

import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select, update

from tests.conftest import Platform
from tests.functional.people_helpers import PASSWORD, Browser, add_person
from traceseal.db import unit_of_work, utcnow
from traceseal.people.models import ConsoleSession, Person, ResetLink, SignInThrottle
from traceseal.people.sessions import token_hash


@pytest.fixture
def acme(platform: Platform) -> int:
    org = platform.org("Acme")
    add_person(platform, org.id, "admin@acme.cn", "admin")
    add_person(platform, org.id, "member@acme.cn")
    return org.id


def _age(platform: Platform, cookie: str, **ago: timedelta) -> None:
    """Move a session's times into the past, as if that much time had gone by."""
    with unit_of_work(platform.session_factory) as session:
        row = session.scalar(
            select(ConsoleSession).where(ConsoleSession.token_hash == token_hash(cookie))
        )
        assert row is not None
        for column, delta in ago.items():
            setattr(row, column, getattr(row, column) - delta)


def test_sign_in_rotates_the_session_id_and_sign_out_ends_it(platform: Platform, acme: int) -> None:
    browser = Browser(platform)
    browser.sign_in("member@acme.cn")
    first = browser.session_cookie
    assert first
    assert browser.get("/console").status_code == 200
    # Signing in again (e.g. a fixated id planted before): a new id, the old one dead.
    answer = browser.sign_in("member@acme.cn")
    assert answer.status_code == 303
    second = browser.session_cookie
    assert second
    assert second != first
    old = Browser(platform)
    old.client.cookies.set("__Host-ts_console", first, domain="testserver")
    assert old.get("/console").status_code == 303
    cookie = answer.headers["set-cookie"]
    for flag in ("Secure", "HttpOnly", "SameSite=lax", "Path=/"):
        assert flag in cookie
    assert "Domain" not in cookie
    # The id is in the cookie only, never in a URL.
    assert second not in answer.headers["location"]
    browser.post("/console/sign-out", page="/console")
    replay = Browser(platform)
    replay.client.cookies.set("__Host-ts_console", second, domain="testserver")
    assert replay.get("/console").headers["location"].startswith("/console/sign-in")


def test_idle_and_absolute_expiry(platform: Platform, acme: int) -> None:
    settings = platform.settings
    idle = Browser(platform)
    idle.sign_in("member@acme.cn")
    assert idle.get("/console").status_code == 200
    cookie = idle.session_cookie
    assert cookie
    _age(platform, cookie, last_seen_at=timedelta(seconds=settings.console_session_idle - 60))
    assert idle.get("/console").status_code == 200  # used within the idle time: still good
    _age(platform, cookie, last_seen_at=timedelta(seconds=settings.console_session_idle + 1))
    assert idle.get("/console").headers["location"] == "/console/sign-in?next=/console"

    busy = Browser(platform)
    busy.sign_in("member@acme.cn")
    cookie = busy.session_cookie
    assert cookie
    # Busy all along, but past the absolute lifetime: ends all the same.
    _age(platform, cookie, expires_at=timedelta(seconds=settings.console_session_absolute))
    assert busy.get("/console/account/sessions").status_code == 303


def test_sessions_are_listed_and_revocable_from_the_console(platform: Platform, acme: int) -> None:
    phone, laptop = Browser(platform, **{"user-agent": "Phone"}), Browser(platform)
    phone.sign_in("member@acme.cn")
    laptop.sign_in("member@acme.cn")
    listing = laptop.get("/console/account/sessions")
    assert listing.text.count("/revoke") == 2
    assert "Phone" in listing.text
    with unit_of_work(platform.session_factory) as session:
        phone_id = session.scalar(
            select(ConsoleSession.id).where(ConsoleSession.user_agent == "Phone")
        )
    answer = laptop.post(f"/console/account/sessions/{phone_id}/revoke", page="/console")
    assert answer.status_code == 303
    assert phone.get("/console").status_code == 303
    assert laptop.get("/console").status_code == 200
    # Another person's session: 404, as for none.
    admin = Browser(platform)
    admin.sign_in("admin@acme.cn")
    with unit_of_work(platform.session_factory) as session:
        laptop_id = session.scalar(
            select(ConsoleSession.id).where(
                ConsoleSession.token_hash == token_hash(laptop.session_cookie or "")
            )
        )
    answer = admin.post(f"/console/account/sessions/{laptop_id}/revoke", page="/console")
    assert answer.status_code == 404
    assert laptop.get("/console").status_code == 200


def test_csrf_missing_or_wrong_is_refused(platform: Platform, acme: int) -> None:
    browser = Browser(platform)
    browser.sign_in("admin@acme.cn")
    form = {"email": "new@acme.cn", "role": "member", "password": "long enough pw"}
    for sent in ({}, {"csrf": "wrong"}, {"csrf": ""}):
        answer = browser.client.post("/console/users/new", data={**form, **sent})
        assert answer.status_code == 403, sent
        assert "expired" in answer.text or "过期" in answer.text
    # A token of another browser's session does not do either.
    other = Browser(platform)
    other.sign_in("member@acme.cn")
    stolen = other.csrf("/console")
    assert (
        browser.client.post("/console/users/new", data={**form, "csrf": stolen}).status_code == 403
    )
    with unit_of_work(platform.session_factory) as session:
        assert session.scalar(select(Person).where(Person.email == "new@acme.cn")) is None
    assert browser.post("/console/users/new", form).status_code == 303
    # Before sign-in the form's token is the browser's own cookie (double submit).
    stranger = Browser(platform)
    answer = stranger.client.post(
        "/console/sign-in", data={"login": "admin@acme.cn", "password": PASSWORD}
    )
    assert answer.status_code == 403
    assert stranger.session_cookie is None


def test_back_off_then_lockout_the_same_for_unknown_names(platform: Platform, acme: int) -> None:
    settings = platform.settings  # back-off after 3 failures, lockout after 10
    browser = Browser(platform)
    for _ in range(settings.console_backoff_after):
        assert browser.sign_in("member@acme.cn", "wrong password").status_code == 401
    # Now each attempt must wait; even the right password is refused unchecked meanwhile.
    blocked = browser.sign_in("member@acme.cn")
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1
    assert browser.session_cookie is None
    for login in ("member@acme.cn", "nobody@acme.cn"):
        for _ in range(settings.console_lockout_threshold):
            _unblock(platform)
            browser.sign_in(login, "wrong password")
        locked = browser.sign_in(login)
        assert locked.status_code == 429, login
        retry = int(locked.headers["retry-after"])
        assert settings.console_lockout_seconds - 5 <= retry <= settings.console_lockout_seconds
    # The lockout passes with time; a success clears the count.
    _unblock(platform)
    assert browser.sign_in("member@acme.cn").status_code == 303


def _unblock(platform: Platform) -> None:
    """Let the back-off's wait pass (it is seconds long; the count is kept)."""
    with unit_of_work(platform.session_factory) as session:
        session.execute(update(SignInThrottle).values(blocked_until=utcnow()))


def test_totp_enrolment_then_required_at_sign_in(platform: Platform, acme: int) -> None:
    browser = Browser(platform)
    browser.sign_in("member@acme.cn")
    page = browser.post("/console/account/two-step/start", page="/console/account/two-step")
    assert 'src="data:image/svg+xml;base64,' in page.text
    secret = page.text.split('id="totp-secret">')[1].split("<")[0].replace(" ", "")
    enrolled = pyotp.TOTP(secret).now()
    wrong = browser.client.post(
        "/console/account/two-step/confirm",
        data={"csrf": browser.csrf("/console"), "code": "000000"},
    )
    assert wrong.status_code == 422
    assert 'aria-invalid="true"' in wrong.text
    done = browser.client.post(
        "/console/account/two-step/confirm",
        data={"csrf": browser.csrf("/console"), "code": enrolled},
    )
    assert done.status_code == 200
    recovery = done.text.split('id="recovery-codes">')[1].split("</ul>")[0]
    codes = [c.removeprefix("<li>") for c in recovery.split("</li>") if c.strip()]
    assert len(codes) == 10

    again = Browser(platform)
    step = again.sign_in("member@acme.cn")
    assert step.headers["location"].startswith("/console/sign-in/code")
    pending = again.session_cookie
    # The password alone opens nothing.
    assert again.get("/console").headers["location"].startswith("/console/sign-in")
    bad = again.post("/console/sign-in/code", {"code": "123456"})
    assert bad.status_code == 401
    # The code just used at enrolment is not good twice (RFC 6238, 5.2); the next step's
    # code is (one step of clock drift is allowed).
    assert again.post("/console/sign-in/code", {"code": enrolled}).status_code == 401
    following = pyotp.TOTP(secret).at(time.time() + 30)
    good = again.post("/console/sign-in/code", {"code": following})
    assert good.status_code == 303
    assert again.session_cookie != pending
    # The signed-in session lasts its full lifetime, not the short one of the code step.
    with unit_of_work(platform.session_factory) as session:
        row = session.scalar(
            select(ConsoleSession).where(
                ConsoleSession.token_hash == token_hash(again.session_cookie or "")
            )
        )
        assert row is not None
        lifetime = (row.expires_at - row.created_at).total_seconds()
        assert lifetime == platform.settings.console_session_absolute
    assert again.get("/console").status_code == 200
    # A recovery code stands in for a code, once.
    for expected in (303, 401):
        reuse = Browser(platform)
        reuse.sign_in("member@acme.cn")
        assert reuse.post("/console/sign-in/code", {"code": codes[0]}).status_code == expected


def test_organisation_requires_totp(platform: Platform, acme: int) -> None:
    admin = Browser(platform)
    admin.sign_in("admin@acme.cn")
    assert admin.post("/console/security", {"require_totp": "on"}).status_code == 303
    member = Browser(platform)
    member.sign_in("member@acme.cn")
    # Without TOTP only the enrolment page is open.
    assert member.get("/console/users").headers["location"] == "/console/account/two-step"
    assert member.get("/console").headers["location"] == "/console/account/two-step"
    page = member.get("/console/account/two-step")
    assert page.status_code == 200
    assert 'id="must-enrol"' in page.text
    start = member.post("/console/account/two-step/start", page="/console/account/two-step")
    secret = start.text.split('id="totp-secret">')[1].split("<")[0].replace(" ", "")
    member.post(
        "/console/account/two-step/confirm",
        {"code": pyotp.TOTP(secret).now()},
        page="/console/account/two-step",
    )
    assert member.get("/console").status_code == 200
    # Required: it cannot be turned off.
    off = member.post("/console/account/two-step/off", page="/console/account/two-step")
    assert off.status_code == 403


def test_reset_link_works_once_and_expires(platform: Platform, acme: int) -> None:
    operator = platform.operator
    add_person(platform, operator.id, "staff@platform.cn", "admin")
    staff = Browser(platform)
    staff.sign_in("staff@platform.cn")
    with unit_of_work(platform.session_factory) as session:
        member_id = session.scalar(select(Person.id).where(Person.email == "member@acme.cn"))
    issued = staff.post(f"/console/users/{member_id}/reset-link", page="/console/users")
    link = issued.text.split('id="reset-link">')[1].split("<")[0]
    path = link.removeprefix(platform.settings.public_url)
    member = Browser(platform)
    member.sign_in("member@acme.cn")
    stranger = Browser(platform)
    page = stranger.get(path)
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    new = "another good secret"
    mismatch = stranger.post(path, {"password": new, "again": new + "x"})
    assert mismatch.status_code == 200
    assert "aria-invalid" in mismatch.text
    assert stranger.post(path, {"password": new, "again": new}).status_code == 303
    assert stranger.get(path).status_code == 404
    again = {"password": "yet another one", "again": "yet another one"}
    assert stranger.post(path, again, page="/console/sign-in").status_code == 404
    # The old sessions ended; the new password signs in, the old one does not.
    assert member.get("/console").status_code == 303
    assert Browser(platform).sign_in("member@acme.cn").status_code == 401
    assert Browser(platform).sign_in("member@acme.cn", new).status_code == 303
    # An expired link is refused like a used one.
    issued = staff.post(f"/console/users/{member_id}/reset-link", page="/console/users")
    path = issued.text.split('id="reset-link">')[1].split("<")[0]
    path = path.removeprefix(platform.settings.public_url)
    with unit_of_work(platform.session_factory) as session:
        session.execute(update(ResetLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert Browser(platform).get(path).status_code == 404


def test_password_change_keeps_this_session_ends_the_others(platform: Platform, acme: int) -> None:
    here, there = Browser(platform), Browser(platform)
    here.sign_in("member@acme.cn")
    there.sign_in("member@acme.cn")
    new = "a fresh password"
    wrong = here.post(
        "/console/account/password", {"current": "nope nope nope", "new": new, "again": new}
    )
    assert wrong.status_code == 422
    assert 'id="current-error"' in wrong.text
    short = here.post(
        "/console/account/password", {"current": PASSWORD, "new": "short", "again": "short"}
    )
    assert short.status_code == 422
    assert 'id="new-error"' in short.text
    # Guessing the current password meets the same back-off as signing in.
    for _ in range(platform.settings.console_backoff_after - 1):
        guess = {"current": "still a guess", "new": new, "again": new}
        assert here.post("/console/account/password", guess).status_code == 422
    blocked = here.post(
        "/console/account/password", {"current": PASSWORD, "new": new, "again": new}
    )
    assert blocked.status_code == 422
    assert "too many failed" in blocked.text or "登录失败次数过多" in blocked.text
    _unblock(platform)
    ok = here.post("/console/account/password", {"current": PASSWORD, "new": new, "again": new})
    assert ok.status_code == 303
    assert here.get("/console").status_code == 200
    assert there.get("/console").status_code == 303
