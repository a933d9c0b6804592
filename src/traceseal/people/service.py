"""People and their organisations' sign-in rules. Takes a Session, flushes, never commits.

Every lookup of a person on behalf of an organisation's admin is filtered by that
organisation: another organisation's person answers NotFound, exactly as a missing one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from traceseal.db import utcnow
from traceseal.errors import Conflict, InvalidInput, NotFound, Unauthorized
from traceseal.orgs.models import Organization
from traceseal.people.models import ConsoleSession, Person, PersonRole, SecurityPolicy
from traceseal.people.passwords import check_new_password, hash_password, verify_password

T = TypeVar("T")

#: Rows in one page of a console table.
PAGE_SIZE = 25

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
#: A mobile number as typed: digits, optionally a leading + and spaces or dashes.
_MOBILE = re.compile(r"\+?[0-9][0-9 -]{6,22}")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a table, newest first; ``older`` is the ``before`` of the next page."""

    items: list[T]
    older: int | None


def normalise_login(login: str) -> str:
    """The form a sign-in name is stored and looked up in: an email lower-cased, a mobile
    number as digits (a mainland number without its +86 gets it).

    >>> normalise_login(" Li.Wei@Example.CN "), normalise_login("138 0013 8000")
    ('li.wei@example.cn', '8613800138000')
    """
    login = login.strip()
    if "@" in login:
        return login.lower()
    digits = re.sub(r"[ +-]", "", login)
    if len(digits) == 11 and digits.startswith("1"):
        digits = "86" + digits
    return digits


def parse_role(value: str) -> PersonRole:
    try:
        return PersonRole(value)
    except ValueError:
        raise InvalidInput("role must be admin or member", field="role") from None


def create_person(
    session: Session,
    org: Organization,
    *,
    email: str = "",
    mobile: str = "",
    name: str = "",
    role: PersonRole | str,
    password: str,
) -> Person:
    """A new person of ``org``, who signs in with ``email`` or ``mobile`` and ``password``."""
    email = normalise_login(email) if email.strip() else ""
    mobile = normalise_login(mobile) if mobile.strip() else ""
    if not email and not mobile:
        raise InvalidInput("give an email address or a mobile number", field="email")
    if (email and not _EMAIL.fullmatch(email)) or len(email) > 254:
        raise InvalidInput("this is not an email address", field="email")
    if mobile and (not _MOBILE.fullmatch(mobile) or not mobile.isdigit()):
        raise InvalidInput("a mobile number is 7 to 20 digits", field="mobile")
    if len(name) > 100:
        raise InvalidInput("the name may have at most 100 characters", field="name")
    role = parse_role(role)
    for value, field in ((email, "email"), (mobile, "mobile")):
        if value and find_by_login(session, value) is not None:
            raise Conflict(f"{value} already signs in another person", field=field)
    person = Person(
        organization_id=org.id,
        organization=org,
        email=email or None,
        mobile=mobile or None,
        name=name.strip(),
        role=role.value,
        password_hash=hash_password(password),
    )
    session.add(person)
    session.flush()
    return person


def find_by_login(session: Session, login: str) -> Person | None:
    login = normalise_login(login)
    if not login:
        return None
    column = Person.email if "@" in login else Person.mobile
    return session.scalar(select(Person).where(column == login))


def get_person(session: Session, person_id: int, *, within: int | None) -> Person:
    """The person ``person_id``; with ``within``, only if of that organisation (else
    NotFound, as for one that does not exist). ``within=None`` is the operator's view."""
    person = session.get(Person, person_id)
    if person is None or (within is not None and person.organization_id != within):
        raise NotFound("no such person")
    return person


def list_people(
    session: Session,
    *,
    organization_id: int | None,
    before: int | None = None,
    query: str = "",
    limit: int = PAGE_SIZE,
) -> Page[Person]:
    """People newest first, of one organisation (None: all, for the operator)."""
    statement = select(Person).order_by(Person.id.desc()).limit(limit + 1)
    if organization_id is not None:
        statement = statement.where(Person.organization_id == organization_id)
    if before:
        statement = statement.where(Person.id < before)
    if query.strip():
        like = f"%{query.strip().lower()}%"
        statement = statement.where(
            or_(Person.email.like(like), Person.mobile.like(like), Person.name.like(like))
        )
    rows = list(session.scalars(statement))
    older = rows[limit - 1].id if len(rows) > limit else None
    return Page(rows[:limit], older)


def count_people(session: Session, organization_id: int) -> int:
    statement = select(func.count()).where(Person.organization_id == organization_id)
    return session.scalar(statement) or 0


def set_disabled(session: Session, person: Person, disabled: bool) -> None:
    """Disable (and sign out everywhere) or enable a person."""
    if disabled:
        person.disabled_at = person.disabled_at or utcnow()
        end_sessions(session, person)
    else:
        person.disabled_at = None
    session.flush()


def end_sessions(session: Session, person: Person, *, keep: int | None = None) -> int:
    """Revoke every live session of ``person`` but ``keep``; the number revoked."""
    statement = (
        update(ConsoleSession)
        .where(ConsoleSession.person_id == person.id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if keep is not None:
        statement = statement.where(ConsoleSession.id != keep)
    return session.execute(statement).rowcount  # type: ignore[attr-defined, no-any-return]


def set_password(session: Session, person: Person, new: str, *, keep: int | None = None) -> None:
    """A new password; every other session of the person ends (a thief's included)."""
    person.password_hash = hash_password(new)
    person.password_changed_at = utcnow()
    end_sessions(session, person, keep=keep)
    session.flush()


def change_password(
    session: Session, person: Person, current: str, new: str, *, keep: int | None
) -> None:
    if not verify_password(person.password_hash, current):
        raise Unauthorized("the current password is not right", field="current")
    check_new_password(new, field="new")
    if new == current:
        raise InvalidInput("the new password is the same as the current one", field="new")
    set_password(session, person, new, keep=keep)


def policy(session: Session, organization_id: int) -> SecurityPolicy:
    found = session.get(SecurityPolicy, organization_id)
    return found or SecurityPolicy(organization_id=organization_id, require_totp=False)


def set_require_totp(session: Session, organization_id: int, required: bool) -> SecurityPolicy:
    found = session.get(SecurityPolicy, organization_id)
    if found is None:
        found = SecurityPolicy(organization_id=organization_id)
        session.add(found)
    found.require_totp = required
    found.updated_at = utcnow()
    session.flush()
    return found


def must_enrol_totp(session: Session, person: Person) -> bool:
    """Whether the person's organisation requires TOTP and they have none yet: such a
    person may only reach the enrolment page (and sign out) until they have one."""
    return not person.totp_enabled and policy(session, person.organization_id).require_totp
