"""Signing a person in: the password step and the second-factor step, through the throttle.

Both raise ``Unauthorized`` for a wrong answer (one wording whether or not the account
exists) and ``TooManyRequests`` while blocked. They record the failure before raising, so
the caller must commit even then (the console's sign-in page answers its refusal as a
page; it does not let the error roll the transaction back).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from traceseal.db import utcnow
from traceseal.errors import Unauthorized
from traceseal.keys import MasterKey
from traceseal.people import service, throttle, totp
from traceseal.people.models import Person
from traceseal.people.passwords import hash_password, needs_rehash, verify_password
from traceseal.people.service import find_by_login, normalise_login

WRONG = "the sign-in name or the password is not right"
WRONG_CODE = "the code is not right"


def check_password(
    session: Session, policy: throttle.Policy, login: str, password: str, ip: str | None
) -> Person:
    """The person whose ``login`` and ``password`` these are. A disabled person is refused
    with the same words as a wrong password."""
    if not login.strip() or not password:
        # Guesses nothing, so counts against nothing.
        raise Unauthorized(WRONG, field="password")
    name = throttle.name_key(normalise_login(login))
    address = throttle.address_key(ip)
    throttle.check(session, [name, *([address] if address else [])])
    person = find_by_login(session, login)
    good = verify_password(person.password_hash if person else None, password)
    if person is None or not good or person.disabled_at is not None:
        throttle.failed(session, policy, name, address)
        raise Unauthorized(WRONG, field="password")
    throttle.succeeded(session, name)
    if needs_rehash(person.password_hash):
        person.password_hash = hash_password(password)
    return person


def check_second_factor(
    session: Session,
    policy: throttle.Policy,
    person: Person,
    keys: MasterKey,
    code: str,
    ip: str | None,
) -> None:
    """Pass if ``code`` is the person's TOTP or an unused recovery code. Wrong codes count
    against the same name as wrong passwords: six digits must not be guessed at leisure."""
    name = throttle.name_key(person.login)
    address = throttle.address_key(ip)
    throttle.check(session, [name, *([address] if address else [])])
    if not totp.verify(session, person, keys, code):
        throttle.failed(session, policy, name, address)
        raise Unauthorized(WRONG_CODE, field="code")
    throttle.succeeded(session, name)


def signed_in(person: Person) -> None:
    person.last_sign_in_at = utcnow()


def change_password(
    session: Session,
    policy: throttle.Policy,
    person: Person,
    current: str,
    new: str,
    *,
    keep: int | None,
    ip: str | None,
) -> None:
    """A new password for a signed-in person, who must know the current one: wrong
    guesses count against the person's name like sign-in failures (a borrowed unlocked
    browser must not try passwords at leisure)."""
    name = throttle.name_key(person.login)
    address = throttle.address_key(ip)
    throttle.check(session, [name, *([address] if address else [])])
    try:
        service.change_password(session, person, current, new, keep=keep)
    except Unauthorized:
        throttle.failed(session, policy, name, address)
        raise
