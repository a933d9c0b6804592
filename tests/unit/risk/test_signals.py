"""The pure scoring core: each signal, the threshold, diversion evidence and its weights."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from traceseal.risk.signals import Memory, Policy, Sighting, assess

T = datetime(2026, 11, 1, 8, tzinfo=UTC)
SHENZHEN = ("440305", (22.52, 113.92))
GUANGZHOU = ("440106", (23.12, 113.36))
BEIJING = ("110105", (39.92, 116.43))
POLICY = Policy()


def seen(region: tuple[str, tuple[float, float]], at: datetime = T, **fields: object) -> Memory:
    return Memory(last_at=at, last_point=region[1], last_region=region[0], **fields)  # type: ignore[arg-type]


def sighting(
    region: tuple[str, tuple[float, float]], after: timedelta, **fields: object
) -> Sighting:
    return Sighting(T + after, region[0], region[1], **fields)  # type: ignore[arg-type]


def test_a_first_scan_fires_nothing_and_is_remembered() -> None:
    finding = assess(Memory(), sighting(SHENZHEN, timedelta(0), device="aaaa0000"), None, POLICY)
    assert finding.signals == ()
    assert finding.score == 0
    assert not finding.suspicious
    assert finding.memory.devices == ("aaaa0000",)
    assert finding.memory.last_point == SHENZHEN[1]


def test_impossible_travel_depends_on_speed_not_distance_alone() -> None:
    fast = assess(seen(SHENZHEN), sighting(BEIJING, timedelta(hours=2)), None, POLICY)
    assert fast.signals == ("impossible_travel",)
    assert fast.score == 60
    assert fast.suspicious
    assert fast.cloned
    # The same trip over a day is an ordinary journey.
    slow = assess(seen(SHENZHEN), sighting(BEIJING, timedelta(hours=24)), None, POLICY)
    assert slow.signals == ()
    # Nearby places within minutes: centroids are too coarse to call it travel.
    near = assess(seen(SHENZHEN), sighting(GUANGZHOU, timedelta(minutes=5)), None, POLICY)
    assert near.signals == ()


def test_many_devices_fires_at_the_limit() -> None:
    memory = Memory(devices=("a", "b", "c"))
    assert assess(memory, Sighting(T, device="d"), None, POLICY).signals == ()
    memory = Memory(devices=("a", "b", "c", "d"))
    assert assess(memory, Sighting(T, device="d"), None, POLICY).signals == ()  # seen before
    assert assess(memory, Sighting(T, device="e"), None, POLICY).signals == ("many_devices",)


def test_weak_signals_add_up_to_the_threshold() -> None:
    outside_repeat = Sighting(T, "110105", repeat=True)
    alone = assess(Memory(), outside_repeat, ("440000",), POLICY)
    assert alone.signals == ("unshipped_region",)
    assert not alone.suspicious  # 30 < 50
    both = assess(Memory(), Sighting(T, "110105", repeat=True, burst=True), ("440000",), POLICY)
    assert set(both.signals) == {"unshipped_region", "sequential_burst"}
    assert both.score == 60
    assert both.suspicious


def test_diversion_evidence_weighs_trade_scans_over_consumer_scans() -> None:
    territory = ("440000",)
    trade = assess(Memory(), Sighting(T, "110105", trade=True), territory, POLICY)
    assert trade.outside
    assert trade.diverted
    first = assess(Memory(), Sighting(T, "110105", device="a"), territory, POLICY)
    assert first.memory.diversion == 50
    assert not first.diverted
    again = assess(first.memory, Sighting(T, "110105", device="a"), territory, POLICY)
    assert again.memory.diversion == 50  # the same consumer counts once
    second = assess(again.memory, Sighting(T, "110106", device="b"), territory, POLICY)
    assert second.memory.diversion == 100
    assert second.diverted
    third = assess(second.memory, Sighting(T, "110106", device="c"), territory, POLICY)
    assert not third.diverted  # raised once, when crossing the threshold


def test_inside_the_territory_or_without_one_there_is_no_diversion() -> None:
    assert not assess(Memory(), Sighting(T, "440305", trade=True), ("440000",), POLICY).outside
    assert not assess(Memory(), Sighting(T, "110105", trade=True), None, POLICY).outside
    # A scan placed only to a province may be inside a city territory in it.
    assert not assess(Memory(), Sighting(T, "440000", trade=True), ("440300",), POLICY).outside


def test_a_code_judged_a_clone_gathers_no_diversion_evidence() -> None:
    cloned = Memory(score=60)
    finding = assess(cloned, Sighting(T, "110105", trade=True), ("440000",), POLICY)
    assert finding.outside
    assert finding.memory.diversion == 0
    assert not finding.diverted
