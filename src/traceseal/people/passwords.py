"""Password hashing (argon2id, argon2-cffi) and the rules a new password must meet."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from traceseal.errors import InvalidInput

#: argon2-cffi's defaults are RFC 9106's second recommended profile (argon2id, t=3,
#: m=64 MiB, p=4), paid once per sign-in. On the shared 2-core VM, busy with test runs,
#: one check took about 0.6 s (2026-12-04); sign-in is rare enough for that.
PRODUCTION = PasswordHasher()
_HASHER = PRODUCTION

#: NIST SP 800-63B (5.1.1.2): at least 8 characters, long passphrases allowed, no
#: composition rules. 10 is our floor; 256 bounds the work an attacker can ask of argon2.
MIN_LENGTH = 10
MAX_LENGTH = 256


@cache
def _dummy(hasher: PasswordHasher) -> str:
    """Checked against when the sign-in name is unknown, so an unknown account takes as
    long to refuse as a wrong password (its existence does not leak through timing). Made
    at the first such sign-in, not at import: a hash costs every CLI call and worker
    start 0.3 s or more."""
    return hasher.hash("not a password anyone has")


def hash_password(password: str) -> str:
    check_new_password(password)
    return _HASHER.hash(password)


def check_new_password(password: str, *, field: str = "password") -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"the password needs at least {MIN_LENGTH} characters", field=field)
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"the password may have at most {MAX_LENGTH} characters", field=field)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (None: an unknown account, always False after
    the same work as a real check)."""
    try:
        checked = stored or _dummy(_HASHER)
        return _HASHER.verify(checked, password[:MAX_LENGTH]) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a hash was made with weaker parameters than today's (rehash at sign-in)."""
    return _HASHER.check_needs_rehash(stored)
