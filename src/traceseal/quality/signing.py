"""Issuers' Ed25519 keys and the signed form of a quality record (docs/quality.md).

A record's signature covers ``DOMAIN || JCS(payload)``: the prefix names this use and its
version, so a signature made here can never be replayed as a log checkpoint or any other
signed message of the platform, and the payload is RFC 8785 canonical JSON, so a verifier in
any language rebuilds the same bytes from the record the API serves.

Keys are either managed by the platform (the private key wrapped by the master key, made on
first use) or registered by the organisation, which then signs records itself and submits
the signature with them (a detached signature), verified here before anything is stored.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from traceseal.errors import Conflict, InvalidInput, NotFound
from traceseal.keys import MasterKey
from traceseal.ledger.service import canonical_json
from traceseal.orgs.models import Organization
from traceseal.quality.models import SigningKey

#: Version 1 of the signed form; a new version gets a new prefix.
DOMAIN = b"traceseal/quality-record/v1\n"
PAYLOAD_VERSION = 1


def signed_message(payload: dict[str, Any]) -> bytes:
    """The bytes an issuer signs for ``payload``.

    >>> signed_message({"v": 1, "type": "commitment", "issuer": 3})
    b'traceseal/quality-record/v1\\n{"issuer":3,"type":"commitment","v":1}'
    """
    return DOMAIN + canonical_json(payload)


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _purpose(public_key: bytes) -> str:
    # Binds the wrapped private key to its public half: a blob copied onto another row
    # does not unwrap.
    return f"signing-key/{public_key.hex()}"


def managed_key(session: Session, keyring: MasterKey, org: Organization) -> tuple[SigningKey, bool]:
    """The organisation's platform-managed key, created on first use (then True)."""
    key = session.scalar(
        select(SigningKey)
        .where(
            SigningKey.organization_id == org.id,
            SigningKey.wrapped_private.is_not(None),
            SigningKey.revoked_at.is_(None),
        )
        .order_by(SigningKey.id.desc())
        .limit(1)
    )
    if key is not None:
        return key, False
    private = Ed25519PrivateKey.generate()
    public = _raw_public(private.public_key())
    seed = private.private_bytes_raw()
    key = SigningKey(
        organization_id=org.id,
        public_key=public,
        wrapped_private=keyring.wrap_secret(_purpose(public), seed),
    )
    session.add(key)
    session.flush()
    return key, True


def sign(keyring: MasterKey, key: SigningKey, payload: dict[str, Any]) -> bytes:
    assert key.wrapped_private is not None, "only managed keys sign on the platform"
    seed = keyring.unwrap_secret(_purpose(key.public_key), key.wrapped_private)
    return Ed25519PrivateKey.from_private_bytes(seed).sign(signed_message(payload))


def decode_signature(value: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:  # not base64, or not even ASCII (binascii.Error is a ValueError)
        raw = b""
    if len(raw) != 64:
        raise InvalidInput("an Ed25519 signature is 64 bytes in base64", field="signature")
    return raw


def check_detached(
    session: Session, org: Organization, key_id: int, signature: bytes, payload: dict[str, Any]
) -> SigningKey:
    """The registered key ``key_id`` of ``org`` if ``signature`` verifies over ``payload``."""
    key = session.get(SigningKey, key_id)
    if key is None or key.organization_id != org.id:
        raise NotFound(f"your organisation has no key {key_id}", field="signature.key")
    if key.revoked_at is not None:
        raise InvalidInput(f"key {key_id} is revoked", field="signature.key")
    try:
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(
            signature, signed_message(payload)
        )
    except InvalidSignature:
        raise InvalidInput(
            "the signature does not verify with key "
            f"{key_id} over {signed_message(payload).decode()!r}",
            field="signature",
        ) from None
    return key


def register_key(session: Session, org: Organization, public_key_b64: str) -> SigningKey:
    """Register an organisation's own Ed25519 public key (32 bytes, base64)."""
    try:
        raw = base64.b64decode(public_key_b64, validate=True)
        Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            "public_key must be a raw 32-byte Ed25519 public key in base64", field="public_key"
        ) from None
    key = SigningKey(organization_id=org.id, public_key=raw)
    try:
        with session.begin_nested():
            session.add(key)
    except IntegrityError:
        raise Conflict("this public key is already registered", field="public_key") from None
    return key


def list_keys(session: Session, organization_id: int) -> list[SigningKey]:
    return list(
        session.scalars(
            select(SigningKey)
            .where(SigningKey.organization_id == organization_id)
            .order_by(SigningKey.id)
        )
    )


def revoke_key(session: Session, org: Organization, key_id: int, now: Any) -> SigningKey:
    """Stop using a key for new records; records it signed stay verifiable."""
    key = session.get(SigningKey, key_id)
    if key is None or key.organization_id != org.id:
        raise NotFound(f"your organisation has no key {key_id}")
    if key.revoked_at is None:
        key.revoked_at = now
    return key
