from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from traceseal.db import Base, BigId, UtcDateTime, utcnow


class KeyScope(enum.StrEnum):
    ADMIN = "admin"  # everything the organisation may do, its keys included
    MEMBER = "member"  # everything but managing keys


class Role(enum.StrEnum):
    OPERATOR = "operator"
    ENTERPRISE = "enterprise"
    DISTRIBUTOR = "distributor"
    LAB = "lab"
    REGULATOR = "regulator"


_ROLE_VALUES = ", ".join(f"'{r.value}'" for r in Role)


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = (CheckConstraint(f"role IN ({_ROLE_VALUES})", name="role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="organization")

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class ApiKey(Base):
    """An API key, stored as the SHA-256 of the secret (see docs/architecture.md)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100), default="")
    #: ``admin`` keys also manage the organisation's keys; ``member`` keys do the rest.
    scope: Mapped[str] = mapped_column(String(10), default="admin", server_default="admin")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    #: Written at most once a minute per key (orgs.deps), so it costs reads nothing.
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

    organization: Mapped[Organization] = relationship(back_populates="api_keys")
