"""People who sign in to the consoles, their sessions, and the audit log of what they did.

Machines keep using API keys (orgs/); a person's credentials are a password (argon2id) and,
optionally, a TOTP second factor. Secrets are never stored as given: passwords as argon2id
hashes, session ids, reset tokens and recovery codes as SHA-256 digests (they are 128+ bit
random, so a slow hash would add latency and no security), TOTP secrets wrapped by the master
key (they must be read back to check a code).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from traceseal.db import Base, BigId, UtcDateTime, utcnow
from traceseal.orgs.models import Organization


class PersonRole(enum.StrEnum):
    """A person's role in their organisation. People of the operator's organisation are the
    platform's staff: its admins see and manage every organisation's people and audit log."""

    ADMIN = "admin"  # manages the organisation's people, its security policy; reads its audit
    MEMBER = "member"  # works in the consoles; manages only their own account


_ROLES = ", ".join(f"'{r.value}'" for r in PersonRole)


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (
        CheckConstraint(f"role IN ({_ROLES})", name="role"),
        CheckConstraint("email IS NOT NULL OR mobile IS NOT NULL", name="contact"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    #: Lower-cased; each signs in one person on the whole platform.
    email: Mapped[str | None] = mapped_column(String(254), unique=True, default=None)
    #: Digits only, with the country code (8613800138000).
    mobile: Mapped[str | None] = mapped_column(String(20), unique=True, default=None)
    name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(10))
    password_hash: Mapped[str] = mapped_column(String(200))
    password_changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: The TOTP secret wrapped by the master key; set at enrolment, confirmed by a code.
    totp_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    #: The last TOTP time step accepted: a code is good once (RFC 6238, section 5.2).
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

    organization: Mapped[Organization] = relationship()

    @property
    def login(self) -> str:
        """What the person signs in with, for display: the email, else the mobile number."""
        return self.email or self.mobile or ""

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def is_operator(self) -> bool:
        """Staff of the platform's operator (the association)."""
        return self.organization.role == "operator"


class SessionStage(enum.StrEnum):
    SECOND_FACTOR = "totp"  # the password was right; a TOTP or recovery code is still due
    SIGNED_IN = "full"


class ConsoleSession(Base):
    """A signed-in browser. The cookie holds a random id; the row holds its SHA-256."""

    __tablename__ = "console_sessions"
    __table_args__ = (CheckConstraint("stage IN ('totp', 'full')", name="stage"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    stage: Mapped[str] = mapped_column(String(4))
    #: The synchronizer token every form of this session must send back (CSRF).
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: created_at + CONSOLE_SESSION_ABSOLUTE: the idle timeout never extends past it.
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    person: Mapped[Person] = relationship()


class SignInThrottle(Base):
    """Failed sign-ins per sign-in name (hashed, so unknown names count the same) and per
    client address; drives the back-off and the lockout (people/throttle.py)."""

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    blocked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class ResetLink(Base):
    """A one-time password reset link: single use, expiring, stored as the token's SHA-256."""

    __tablename__ = "password_reset_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    #: The operator staff member who issued it; None when issued by the CLI.
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])


class RecoveryCode(Base):
    """One of the ten codes that stand in for a lost authenticator, each good once."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class SecurityPolicy(Base):
    """An organisation's sign-in rules, set by its admins (a missing row: the defaults)."""

    __tablename__ = "security_policies"

    organization_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("organizations.id"), primary_key=True
    )
    require_totp: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class AuditEntry(Base):
    """One write made through a console: who, when, what, from where.

    ``organization_id`` is the organisation the write concerns (its admins read it); the
    operator's staff read every entry. Rows are only ever inserted.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_organization_id_id", "organization_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    #: The person who acted; None for the CLI (the operator's shell on the server).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    #: The actor's sign-in name at the time (kept if the person is later renamed).
    actor: Mapped[str] = mapped_column(String(254))
    #: A dotted name from people.audit.ACTIONS (``person.create``, ``session.revoke``).
    action: Mapped[str] = mapped_column(String(60), index=True)
    #: What was acted on, for people (``person 12 (li@example.cn)``).
    target: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
