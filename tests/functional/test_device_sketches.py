"""Distinct-device sketches survive retention: a day folded again after some of its scans
were pruned keeps the devices of the pruned ones (analytics/sketches.py)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from tests.conftest import Platform, Tenant
from tests.functional.conftest import issue
from tests.functional.test_analytics_flows import _verify_at
from traceseal.analytics.fold import fold
from traceseal.db import unit_of_work
from traceseal.geo.buckets import CHINA
from traceseal.verify.partitions import prune

DEVICES = "/api/v1/analytics/devices"


def _devices(platform: Platform, acme: Tenant, day: str) -> object:
    answer = platform.client.get(DEVICES, params={"from": day, "to": day}, headers=acme.auth)
    assert answer.status_code == 200, answer.text
    return answer.json()["devices"]


def test_a_day_folded_again_after_pruning_keeps_the_pruned_scans_devices(
    platform: Platform, acme: Tenant
) -> None:
    codes = iter(issue(platform, acme, 12))
    day = (datetime.now(CHINA) - timedelta(days=40)).date()
    morning = datetime.combine(day, time(9), CHINA).astimezone(UTC)
    # Eight devices in the morning, two more in the afternoon.
    for i in range(8):
        _verify_at(platform, next(codes), "440305", morning + timedelta(minutes=i), f"m{i:031d}")
    for i in range(2):
        at = morning + timedelta(hours=6, minutes=i)
        _verify_at(platform, next(codes), "440305", at, f"a{i:031d}")
    with unit_of_work(platform.session_factory) as session:
        fold(session.connection(), now=datetime.now(UTC))
    assert _devices(platform, acme, day.isoformat()) == 10

    # Retention reaches noon of that day: the morning's scans go.
    assert prune(platform.session_factory, morning + timedelta(hours=3)).rows == 8
    # A late scan of that day (a phone that was offline) makes the day stale: it is
    # folded again from what the log still holds, joined to the sketch folded before.
    late = morning + timedelta(hours=7)
    _verify_at(platform, next(codes), "440305", late, "l" + "0" * 31)
    with unit_of_work(platform.session_factory) as session:
        fold(session.connection(), now=datetime.now(UTC))
    assert _devices(platform, acme, day.isoformat()) == 11
