"""The TOTP second factor (RFC 6238, pyotp): enrolment with a QR code, codes checked once
each, and ten recovery codes for a lost authenticator.

The secret is wrapped by the master key (bound to the person's id) since it must be read
back to check a code; recovery codes are 50-bit random and stored as SHA-256 digests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import pyotp
import zxingcpp
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from traceseal.db import utcnow
from traceseal.errors import InvalidInput
from traceseal.keys import MasterKey
from traceseal.people.models import Person, RecoveryCode

ISSUER = "TraceSeal"
RECOVERY_CODES = 10
#: One step either side (30 s) for clock drift between phone and server (RFC 6238, 5.2).
VALID_WINDOW = 1


def _purpose(person: Person) -> str:
    return f"totp/{person.id}"


def begin(session: Session, person: Person, keys: MasterKey) -> str:
    """A new, not yet confirmed secret for ``person`` (replacing any unconfirmed one)."""
    if person.totp_enabled:
        raise InvalidInput("two-step sign-in is already on", field="code")
    secret = pyotp.random_base32()
    person.totp_wrapped = keys.wrap_secret(_purpose(person), secret.encode())
    session.flush()
    return secret


def pending_secret(person: Person, keys: MasterKey) -> str | None:
    if person.totp_wrapped is None:
        return None
    return keys.unwrap_secret(_purpose(person), person.totp_wrapped).decode()


def provisioning_uri(person: Person, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=person.login, issuer_name=ISSUER)


def qr_data_uri(text: str) -> str:
    """``text`` as a QR code in an SVG data URI (pages allow ``img-src data:``)."""
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    svg = barcode.to_svg(scale=1, add_quiet_zones=True)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _check(person: Person, secret: str, code: str) -> bool:
    """Whether ``code`` is right now and newer than the last accepted one (each code once)."""
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return False
    totp = pyotp.TOTP(secret)
    now = int(time.time())
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        step = now // totp.interval + offset
        expected = totp.at(step * totp.interval)
        if hmac.compare_digest(expected, code) and step > person.totp_last_step:
            person.totp_last_step = step
            return True
    return False


def confirm(session: Session, person: Person, keys: MasterKey, code: str) -> list[str]:
    """Turn TOTP on once the person shows a right code; the new recovery codes (shown once)."""
    secret = pending_secret(person, keys)
    if secret is None or person.totp_enabled:
        raise InvalidInput("start the set-up again", field="code")
    if not _check(person, secret, code):
        raise InvalidInput("the code is not right; check the phone's clock", field="code")
    person.totp_enabled_at = utcnow()
    codes = new_recovery_codes(session, person)
    session.flush()
    return codes


def disable(session: Session, person: Person) -> None:
    person.totp_wrapped = None
    person.totp_enabled_at = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == person.id))
    session.flush()


def _digest(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().lower().encode()).hexdigest()


def new_recovery_codes(session: Session, person: Person) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == person.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(7)).decode().lower()[:10]
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(person_id=person.id, code_hash=_digest(raw)))
    session.flush()
    return codes


def verify(session: Session, person: Person, keys: MasterKey, code: str) -> bool:
    """Whether ``code`` is a right TOTP code, or an unused recovery code (then used up)."""
    secret = pending_secret(person, keys)
    if secret is None or not person.totp_enabled:
        return False
    if _check(person, secret, code):
        return True
    if len(code.strip()) > 20:
        return False
    found = session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.person_id == person.id,
            RecoveryCode.code_hash == _digest(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if found is None:
        return False
    found.used_at = utcnow()
    session.flush()
    return True


def recovery_codes_left(session: Session, person: Person) -> int:
    rows = session.scalars(
        select(RecoveryCode.id).where(
            RecoveryCode.person_id == person.id, RecoveryCode.used_at.is_(None)
        )
    )
    return len(list(rows))
