"""Two announcements of a recall for the same lot at once: exactly one succeeds.

The service's own check cannot see an announcement another transaction has not committed;
the partial unique indexes on ``recalls`` decide. On PostgreSQL the second insert waits for
the first transaction and then fails; the test holds the first open until the second is seen
waiting on its lock (SQLite has one writer at a time, so the race cannot arise there).
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text

from tests.conftest import Platform
from tests.functional.conftest import GTIN, LOT
from traceseal.db import unit_of_work, utcnow
from traceseal.errors import Conflict
from traceseal.orgs.models import Organization
from traceseal.quality.service import Issuing
from traceseal.recalls import service
from traceseal.recalls.models import Recall


def _announce(platform: Platform, org_id: int, pids: list[int]) -> None:
    with unit_of_work(platform.session_factory) as session:
        pids.append(session.scalar(text("SELECT pg_backend_pid()")))
        issuing = Issuing(platform.app.state.keyring, platform.app.state.attachments, utcnow())
        service.announce(
            session,
            issuing,
            session.get(Organization, org_id),
            gtin=GTIN,
            lots=[LOT],
            reason="valve",
            instructions="return it",
            contact="",
        )


def _waiting_on_a_lock(platform: Platform, pids: list[int]) -> bool:
    if not pids:
        return False
    with platform.app.state.engine.connect() as connection:
        waiting = connection.scalar(
            text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
            {"pid": pids[0]},
        )
    return waiting == "Lock"


def test_concurrent_announcements_for_one_lot(platform: Platform, acme) -> None:
    if platform.app.state.engine.dialect.name != "postgresql":
        pytest.skip("SQLite admits one writer at a time: the announcements cannot overlap")
    from traceseal.orgs.models import Role

    regulator = platform.org("Regulator", Role.REGULATOR)
    outcome: dict[str, BaseException | None] = {}
    pids: list[int] = []

    def second() -> None:
        try:
            _announce(platform, regulator.id, pids)
            outcome["second"] = None
        except BaseException as exc:  # reported to the main thread
            outcome["second"] = exc

    with unit_of_work(platform.session_factory) as session:
        issuing = Issuing(platform.app.state.keyring, platform.app.state.attachments, utcnow())
        service.announce(
            session,
            issuing,
            session.get(Organization, acme.id),
            gtin=GTIN,
            lots=[LOT],
            reason="valve",
            instructions="stop using it",
            contact="",
        )
        thread = threading.Thread(target=second)
        thread.start()
        # Wait (for at most a minute) until the second announcement is blocked on our row.
        deadline = time.monotonic() + 60
        while not _waiting_on_a_lock(platform, pids) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert thread.is_alive()
    thread.join(60)
    assert isinstance(outcome["second"], Conflict)
    with platform.session_factory() as session:
        active = session.scalar(
            select(func.count()).select_from(Recall).where(Recall.ended_at.is_(None))
        )
    assert active == 1
