"""Console sessions kept on the server: the browser holds a random id, the database its
SHA-256, the stage (second factor due, or signed in), the CSRF token and the times.

A session ends when revoked, after CONSOLE_SESSION_IDLE seconds unused, or
CONSOLE_SESSION_ABSOLUTE seconds after it began, whichever comes first. Signing in always
makes a new id (a fixated or stolen pre-sign-in id is worthless), as does passing the
second factor.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceseal.db import utcnow
from traceseal.errors import NotFound
from traceseal.people.models import ConsoleSession, Person, SessionStage

#: ``last_seen_at`` is written at most this often per session: the idle timeout is
#: minutes long, and a write on every page would make every page a write.
TOUCH_EVERY = timedelta(seconds=30)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    session: Session,
    person: Person,
    stage: SessionStage,
    *,
    absolute_seconds: int,
    ip: str | None,
    user_agent: str,
    replaces: ConsoleSession | None = None,
) -> tuple[str, ConsoleSession]:
    """A new session (and its id, for the cookie). ``replaces`` ends an earlier one: the
    pre-second-factor session when the second factor passes, or any session the browser
    still had. Its absolute deadline counts from now."""
    now = utcnow()
    token = secrets.token_urlsafe(32)
    if replaces is not None:
        replaces.revoked_at = now
    row = ConsoleSession(
        token_hash=token_hash(token),
        person_id=person.id,
        person=person,
        stage=stage.value,
        csrf=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=absolute_seconds),
        ip=(ip or "")[:45],
        user_agent=user_agent[:200],
    )
    session.add(row)
    session.flush()
    return token, row


def load(
    session: Session, token: str, *, idle_seconds: int, now: datetime | None = None
) -> ConsoleSession | None:
    """The live session whose id is ``token``, its last use noted; None if there is none,
    or it was revoked, or it expired (idle or absolute), or its person is disabled."""
    if not token or len(token) > 100:
        return None
    now = now or utcnow()
    row = session.scalar(
        select(ConsoleSession).where(ConsoleSession.token_hash == token_hash(token))
    )
    if row is None or row.revoked_at is not None or row.person.disabled_at is not None:
        return None
    if now >= row.expires_at or now - row.last_seen_at >= timedelta(seconds=idle_seconds):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def end(session: Session, row: ConsoleSession) -> None:
    row.revoked_at = row.revoked_at or utcnow()
    session.flush()


def live_sessions(session: Session, person: Person, *, idle_seconds: int) -> list[ConsoleSession]:
    """The person's sessions that still work, newest first."""
    now = utcnow()
    rows = session.scalars(
        select(ConsoleSession)
        .where(
            ConsoleSession.person_id == person.id,
            ConsoleSession.revoked_at.is_(None),
            ConsoleSession.expires_at > now,
            ConsoleSession.last_seen_at > now - timedelta(seconds=idle_seconds),
        )
        .order_by(ConsoleSession.id.desc())
    )
    return list(rows)


def revoke(session: Session, person: Person, session_id: int) -> ConsoleSession:
    """End one of the person's own sessions; another person's answers NotFound."""
    row = session.get(ConsoleSession, session_id)
    if row is None or row.person_id != person.id or row.revoked_at is not None:
        raise NotFound("no such session")
    end(session, row)
    return row
