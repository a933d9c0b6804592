"""The audit log: every write made through a console, recorded by :func:`record` in the
transaction of the write itself (so a write is never stored without its entry, nor an
entry without its write).

Every console handler that changes something calls ``record`` with the request's
:class:`Actor` (console/deps.py builds it); the CLI records as ``Actor.cli()``.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceseal.people.models import AuditEntry, Person
from traceseal.people.service import PAGE_SIZE, Page


@dataclass(frozen=True)
class Actor:
    """Who makes a write, and from where."""

    person_id: int | None
    name: str
    ip: str = ""
    user_agent: str = ""

    @classmethod
    def of(cls, person: Person, ip: str | None, user_agent: str) -> Actor:
        return cls(person.id, person.login, ip or "", user_agent[:200])

    @classmethod
    def cli(cls) -> Actor:
        """The operator's shell on the server: named by the system user running it."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return cls(None, f"cli:{user}"[:254], "local")


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    organization_id: int | None,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry. ``action`` is a dotted name (``person.create``); ``organization_id``
    is the organisation the write concerns, whose admins will read the entry; ``details``
    must hold no secret (no password, token or code)."""
    entry = AuditEntry(
        organization_id=organization_id,
        actor_id=actor.person_id,
        actor=actor.name,
        action=action,
        target=target[:300],
        details=details or {},
        ip=actor.ip[:45],
        user_agent=actor.user_agent[:200],
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditFilter:
    """What a reader narrows the log to; empty fields do not narrow."""

    action: str = ""
    actor: str = ""
    since: datetime | None = None
    until: datetime | None = None
    organization_id: int | None = None


def search(
    session: Session,
    within: int | None,
    filters: AuditFilter,
    *,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> Page[AuditEntry]:
    """Entries newest first. ``within`` is the reader's organisation (an admin reads only
    their own); None is the operator, who may narrow by ``filters.organization_id``."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    organization_id = within if within is not None else filters.organization_id
    if organization_id is not None:
        statement = statement.where(AuditEntry.organization_id == organization_id)
    if filters.action:
        # A prefix: "person" finds person.create, person.disable, ...
        statement = statement.where(AuditEntry.action.startswith(filters.action, autoescape=True))
    if filters.actor:
        statement = statement.where(
            AuditEntry.actor.contains(filters.actor.strip().lower(), autoescape=True)
        )
    if filters.since is not None:
        statement = statement.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        statement = statement.where(AuditEntry.at < filters.until)
    if before:
        statement = statement.where(AuditEntry.id < before)
    rows = list(session.scalars(statement))
    older = rows[limit - 1].id if len(rows) > limit else None
    return Page(rows[:limit], older)
