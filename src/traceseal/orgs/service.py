"""Organisations and API keys.

API keys are 256-bit random secrets, so they are stored as plain SHA-256 digests: a slow
password hash protects guessable secrets and would only add latency to every request here.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from traceseal.db import unit_of_work, utcnow
from traceseal.errors import Conflict, InvalidInput, NotFound
from traceseal.orgs.models import ApiKey, KeyScope, Organization, Role

KEY_PREFIX = "ts_"


def _hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {value!r}; one of: {allowed}", field="role") from None


def create_organization(session: Session, name: str, role: Role | str) -> tuple[Organization, str]:
    """Create an organisation and its first API key. Returns the key's only plain copy."""
    role = parse_role(role) if isinstance(role, str) else role
    name = name.strip()
    if not name:
        raise InvalidInput("organisation name must not be empty", field="name")
    if len(name) > 200:
        raise InvalidInput("organisation name is longer than 200 characters", field="name")
    taken = session.scalar(select(func.count()).where(Organization.name == name))
    if taken:
        raise Conflict(f"an organisation named {name!r} already exists", field="name")
    org = Organization(name=name, role=role.value)
    session.add(org)
    session.flush()
    return org, issue_api_key(session, org)


def issue_api_key(
    session: Session,
    org: Organization,
    label: str = "",
    *,
    scope: KeyScope = KeyScope.ADMIN,
    expires_at: datetime | None = None,
) -> str:
    """A new key for ``org``; returns its only plain copy (the database keeps a digest)."""
    token, _ = create_key(session, org, label, scope=scope, expires_at=expires_at)
    return token


def create_key(
    session: Session,
    org: Organization,
    label: str = "",
    *,
    scope: KeyScope = KeyScope.ADMIN,
    expires_at: datetime | None = None,
) -> tuple[str, ApiKey]:
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput("a key's expiry must be in the future", field="expires_at")
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        organization_id=org.id,
        key_hash=_hash_key(token),
        prefix=token[: len(KEY_PREFIX) + 6],
        label=label.strip()[:100],
        scope=scope.value,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return token, key


def authenticate_key(session: Session, token: str) -> tuple[Organization, ApiKey] | None:
    """The organisation and key a bearer token is, or None for an unknown, revoked or
    expired key."""
    if not token.startswith(KEY_PREFIX) or len(token) > 100:
        return None
    found = session.execute(
        select(Organization, ApiKey)
        .join(ApiKey)
        .where(ApiKey.key_hash == _hash_key(token), ApiKey.revoked_at.is_(None))
    ).first()
    if found is None:
        return None
    org, key = found
    if key.expires_at is not None and key.expires_at <= utcnow():
        return None
    return org, key


def authenticate(session: Session, token: str) -> Organization | None:
    """The organisation a bearer token belongs to, or None for an unknown, revoked or
    expired key."""
    found = authenticate_key(session, token)
    return None if found is None else found[0]


def list_keys(session: Session, org: Organization) -> list[ApiKey]:
    return list(
        session.scalars(select(ApiKey).where(ApiKey.organization_id == org.id).order_by(ApiKey.id))
    )


def revoke_key(session: Session, org: Organization, key_id: int) -> ApiKey:
    """Revoke one of ``org``'s keys; another organisation's key answers as a missing one."""
    key = session.get(ApiKey, key_id)
    if key is None or key.organization_id != org.id:
        raise NotFound(f"no API key {key_id}", field="key")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def rotate_key(session: Session, org: Organization, key_id: int) -> tuple[str, ApiKey]:
    """A new key with the old one's name, scope and expiry; the old one is revoked."""
    old = revoke_key(session, org, key_id)
    return create_key(session, org, old.label, scope=KeyScope(old.scope), expires_at=old.expires_at)


def revoke_api_keys(session: Session, org: Organization) -> int:
    keys = session.scalars(
        select(ApiKey).where(ApiKey.organization_id == org.id, ApiKey.revoked_at.is_(None))
    ).all()
    for key in keys:
        key.revoked_at = utcnow()
    return len(keys)


def find_organization(session: Session, ref: str | int) -> Organization:
    """Look an organisation up by id or exact name (the CLI's ``--org``)."""
    org: Organization | None = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isascii() and ref.isdigit()):
        org = session.get(Organization, int(ref))
    if org is None and isinstance(ref, str):
        org = session.scalar(select(Organization).where(Organization.name == ref))
    if org is None:
        raise NotFound(f"no organisation {ref!r}", field="org")
    return org


def list_organizations(session: Session, role: Role | None = None) -> list[Organization]:
    query = select(Organization).order_by(Organization.id)
    if role is not None:
        query = query.where(Organization.role == role.value)
    return list(session.scalars(query))


def operator_exists(session: Session) -> bool:
    return bool(
        session.scalar(select(func.count()).where(Organization.role == Role.OPERATOR.value))
    )


def record_key_uses(factory: sessionmaker[Session], uses: dict[int, datetime]) -> int:
    """Write the last uses noted by read-only requests (a background task); how many."""
    if not uses:
        return 0
    taken = {key_id: uses.pop(key_id) for key_id in list(uses)}
    with unit_of_work(factory) as session:
        for key_id, at in taken.items():
            session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=at))
    return len(taken)


def search_organizations(
    session: Session,
    *,
    role: Role | None = None,
    query: str = "",
    before: int | None = None,
    limit: int = 25,
) -> tuple[list[Organization], int | None]:
    """One page of organisations, newest first, and the ``before`` of the next page (the
    operator's console lists them; a platform may hold thousands)."""
    statement = select(Organization).order_by(Organization.id.desc()).limit(limit + 1)
    if role is not None:
        statement = statement.where(Organization.role == role.value)
    if before:
        statement = statement.where(Organization.id < before)
    if query.strip():
        statement = statement.where(Organization.name.like(f"%{query.strip()}%"))
    rows = list(session.scalars(statement))
    older = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], older


def count_by_role(session: Session) -> dict[str, int]:
    """How many organisations of each kind (the operator's home page)."""
    rows = session.execute(select(Organization.role, func.count()).group_by(Organization.role))
    found = {str(role): int(count) for role, count in rows}
    return {role.value: found.get(role.value, 0) for role in Role}
