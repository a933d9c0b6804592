"""The keyed client hashes rotate their salt per period (verify/salts.py): the same in
every process within a period, different across periods, and gone with the period's
pruned scans, after which nothing can recompute that period's hashes."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import Platform
from tests.functional.conftest import issue
from traceseal.db import make_engine, make_session_factory, unit_of_work
from traceseal.verify.models import Scan
from traceseal.verify.partitions import prune
from traceseal.verify.salts import DAY, ClientKeys, ClientSalt, period_end, period_of

BASE = b"k" * 32
DEVICE = "device-0123456789abcdef"


def _hash(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def _salts(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as session:
        return session.scalar(select(func.count()).select_from(ClientSalt)) or 0


def test_processes_share_a_periods_key_and_the_next_period_has_another(
    platform: Platform,
) -> None:
    now = [1_800_000_000.0]
    # A second engine: what another process or host would have.
    engine = make_engine(platform.settings.resolved_database_url)
    try:
        one = ClientKeys(BASE, 30, platform.session_factory, clock=lambda: now[0])
        two = ClientKeys(BASE, 30, make_session_factory(engine), clock=lambda: now[0])
        first = one.current()
        assert two.current() == first
        assert first != BASE
        assert _salts(platform.session_factory) == 1
        # Later in the same period: the key each process kept, with no new salt.
        now[0] += 29 * DAY - (now[0] % (30 * DAY))
        assert one.current() == first
        assert _salts(platform.session_factory) == 1
        now[0] += 2 * DAY
        second = two.current()
        assert second != first
        assert one.current() == second
        assert _salts(platform.session_factory) == 2
    finally:
        engine.dispose()


def test_rotation_off_keeps_the_one_key_and_stores_no_salt(platform: Platform) -> None:
    keys = ClientKeys(BASE, 0, platform.session_factory)
    assert keys.current() == BASE
    assert _salts(platform.session_factory) == 0


def test_scans_store_the_device_hashed_with_the_periods_salt(platform: Platform, acme) -> None:
    code = issue(platform, acme, 5)[0]
    platform.client.cookies.set("ts_device", DEVICE)
    answer = platform.client.post("/api/v1/verify", json={"code": code})
    assert answer.status_code == 200, answer.text
    keyring = platform.app.state.keyring
    period = period_of(datetime.now(UTC).timestamp(), platform.settings.client_salt_days)
    with unit_of_work(platform.session_factory) as session:
        stored = session.scalar(select(Scan.device_hash))
        salt = session.scalar(select(ClientSalt.salt).where(ClientSalt.period == period))
    assert salt is not None
    key = hmac.new(keyring.derive("client-hash"), b"client-salt:" + salt, hashlib.sha256)
    assert stored == _hash(key.digest(), DEVICE)
    # Not the unsalted hash of the years before rotation.
    assert stored != _hash(keyring.derive("client-hash"), DEVICE)


def test_pruning_a_periods_scans_deletes_its_salt_and_keeps_the_current_one(
    platform: Platform,
) -> None:
    days = 30
    now = datetime.now(UTC)
    current = period_of(now.timestamp(), days)
    with unit_of_work(platform.session_factory) as session:
        for period in (current - 3, current - 2, current - 1):
            session.add(ClientSalt(period=period, salt=b"s" * 32, ends_at=period_end(period, days)))
    ClientKeys(BASE, days, platform.session_factory).current()
    assert _salts(platform.session_factory) == 4
    # The horizon falls inside period current-1: it still has scans that are kept.
    horizon = period_end(current - 2, days) + timedelta(days=1)
    done = prune(platform.session_factory, horizon)
    assert done.salts == 2
    with unit_of_work(platform.session_factory) as session:
        left = sorted(session.scalars(select(ClientSalt.period)))
    assert left == [current - 1, current]
