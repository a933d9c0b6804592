"""One-time password reset links, issued by the operator's staff or the CLI.

The link carries a 256-bit random token; the database keeps its SHA-256, the expiry, and
when it was used. A link works once: setting the password marks it used, ends every
session of the person, and the person signs in anew.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from traceseal.db import utcnow
from traceseal.errors import NotFound
from traceseal.people.models import Person, ResetLink
from traceseal.people.passwords import check_new_password
from traceseal.people.service import set_password
from traceseal.people.sessions import token_hash

PATH = "/console/reset/"


def issue(session: Session, person: Person, *, ttl_seconds: int, issued_by: Person | None) -> str:
    """A new link's token (earlier unused links of the person stop working)."""
    now = utcnow()
    session.execute(
        update(ResetLink)
        .where(ResetLink.person_id == person.id, ResetLink.used_at.is_(None))
        .values(expires_at=now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        ResetLink(
            token_hash=token_hash(token),
            person_id=person.id,
            issued_by_id=issued_by.id if issued_by else None,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
    )
    session.flush()
    return token


def find(session: Session, token: str) -> ResetLink:
    """The usable link of ``token``; NotFound for an unknown, used or expired one alike."""
    if not token or len(token) > 100:
        raise NotFound("this link does not work: it is wrong, used or expired")
    link = session.scalar(select(ResetLink).where(ResetLink.token_hash == token_hash(token)))
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        raise NotFound("this link does not work: it is wrong, used or expired")
    if link.person.disabled_at is not None:
        raise NotFound("this link does not work: it is wrong, used or expired")
    return link


def use(session: Session, token: str, password: str) -> Person:
    """Set the password through the link, once."""
    link = find(session, token)
    check_new_password(password)
    # Mark it used first: a second request racing this one updates no row and fails.
    claimed = session.execute(
        update(ResetLink)
        .where(ResetLink.id == link.id, ResetLink.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound("this link does not work: it is wrong, used or expired")
    set_password(session, link.person, password)
    return link.person
