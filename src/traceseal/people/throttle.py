"""Back-off and lockout of console sign-ins.

Failures are counted per sign-in name (its SHA-256: an unknown name counts and answers the
same as a known one, so the lockout reveals nothing) and per client address. After
``backoff_after`` failures in a row each further attempt must wait 1, 2, 4 ... seconds
after the last failure; after ``threshold`` the name is locked for ``lockout_seconds``. An
address gets five times the allowance, so one address cannot try many names. A success
clears its name's count (not the address's). While blocked, the password is not checked at
all: a blocked guess learns nothing.

The counts are rows written in the request's transaction: the sign-in page answers its
refusal as a normal page, so the transaction commits with the failure recorded.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from traceseal.config import Settings
from traceseal.db import dialect_insert, utcnow
from traceseal.errors import TooManyRequests
from traceseal.people.models import SignInThrottle

#: An address may fail this many times more than one name before it is blocked.
ADDRESS_FACTOR = 5


@dataclass(frozen=True)
class Policy:
    backoff_after: int
    threshold: int
    lockout_seconds: int

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(
            settings.console_backoff_after,
            settings.console_lockout_threshold,
            settings.console_lockout_seconds,
        )

    def block_for(self, failures: int, limit_factor: int = 1) -> float:
        """Seconds to refuse attempts after the ``failures``-th failure in a row.

        >>> Policy(3, 10, 900).block_for(2), Policy(3, 10, 900).block_for(4)
        (0.0, 2.0)
        >>> Policy(3, 10, 900).block_for(10)
        900.0
        """
        if failures >= self.threshold * limit_factor:
            return float(self.lockout_seconds)
        if failures < self.backoff_after * limit_factor:
            return 0.0
        return min(float(self.lockout_seconds), 2.0 ** (failures - self.backoff_after))


def name_key(login: str) -> str:
    return "name:" + hashlib.sha256(login.encode()).hexdigest()


def address_key(ip: str | None) -> str | None:
    return f"addr:{ip}" if ip else None


def check(session: Session, keys: list[str], now: datetime | None = None) -> None:
    """Raise TooManyRequests if any of ``keys`` is blocked now."""
    now = now or utcnow()
    for key in keys:
        row = session.get(SignInThrottle, key)
        if row is not None and row.blocked_until is not None and row.blocked_until > now:
            wait = math.ceil((row.blocked_until - now).total_seconds())
            raise TooManyRequests(
                f"too many failed sign-ins: try again in {wait} seconds", retry_after=wait
            )


def failed(session: Session, policy: Policy, name: str, address: str | None) -> None:
    """Count one failure against the name and the address; block them as the policy says."""
    now = utcnow()
    for key, factor in ((name, 1), (address, ADDRESS_FACTOR)):
        if key is None:
            continue
        # An atomic upsert, so concurrent failures are all counted (never read-modify-write).
        statement = dialect_insert(session, SignInThrottle).values(
            key=key, failures=1, last_failure_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=["key"],
            set_={"failures": SignInThrottle.failures + 1, "last_failure_at": now},
        ).returning(SignInThrottle.failures)
        failures = session.execute(statement).scalar_one()
        wait = policy.block_for(failures, factor)
        if wait:
            row = session.get(SignInThrottle, key, populate_existing=True)
            assert row is not None
            row.blocked_until = now + timedelta(seconds=wait)
    session.flush()


def succeeded(session: Session, name: str) -> None:
    row = session.get(SignInThrottle, name)
    if row is not None:
        session.delete(row)
        session.flush()
