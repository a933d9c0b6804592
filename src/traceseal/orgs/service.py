"""Organisations and API keys.

API keys are 256-bit random secrets, so they are stored as plain SHA-256 digests: a slow
password hash protects guessable secrets and would only add latency to every request here.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from traceseal.db import utcnow
from traceseal.errors import Conflict, InvalidInput, NotFound
from traceseal.orgs.models import ApiKey, Organization, Role

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


def issue_api_key(session: Session, org: Organization, label: str = "") -> str:
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            organization_id=org.id,
            key_hash=_hash_key(token),
            prefix=token[: len(KEY_PREFIX) + 6],
            label=label,
        )
    )
    session.flush()
    return token


def authenticate(session: Session, token: str) -> Organization | None:
    """The organisation a bearer token belongs to, or None for an unknown or revoked key."""
    if not token.startswith(KEY_PREFIX) or len(token) > 100:
        return None
    return session.scalar(
        select(Organization)
        .join(ApiKey)
        .where(ApiKey.key_hash == _hash_key(token), ApiKey.revoked_at.is_(None))
    )


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
