"""The rollup key of one scan: its China Standard Time hour, its province and city, and the
small-count rule (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from traceseal.analytics.schemas import shown
from traceseal.verify.rollups import bucket, place, rollup


def test_a_scan_counts_in_its_own_china_standard_time_hour() -> None:
    # 16:00 UTC is midnight in Beijing: the day turns there, not at UTC midnight.
    assert bucket(datetime(2026, 10, 1, 15, 59, 59, tzinfo=UTC)) == (date(2026, 10, 1), 23)
    assert bucket(datetime(2026, 10, 1, 16, 0, tzinfo=UTC)) == (date(2026, 10, 2), 0)
    # Any offset given is the same moment; a naive time is UTC (as the scan log stores it).
    tokyo = timezone(timedelta(hours=9))
    assert bucket(datetime(2026, 10, 2, 1, 0, tzinfo=tokyo)) == (date(2026, 10, 2), 0)
    assert bucket(datetime(2026, 10, 1, 16, 0)) == (date(2026, 10, 2), 0)


def test_province_and_city_come_from_the_district_code() -> None:
    assert place("440305") == ("440000", "440300")  # 广东省 深圳市 南山区
    assert place("110105") == ("110000", "110100")  # 北京市 市辖区 朝阳区
    assert place(None) == ("", "")
    assert place("") == ("", "")


def test_firsts_repeats_and_trade_checks_are_told_apart() -> None:
    at = datetime(2026, 10, 1, 2, tzinfo=UTC)
    common = {
        "organization_id": 3,
        "product_id": 4,
        "batch_id": None,
        "region": None,
        "sequence": 17,
        "shards": 1,
    }
    first = rollup(at, **common, channel="qr", verdict="genuine", scan_count=1, trade=False)
    again = rollup(at, **common, channel="qr", verdict="genuine_repeat", scan_count=2, trade=False)
    clone = rollup(at, **common, channel="qr", verdict="suspicious", scan_count=7, trade=False)
    shop = rollup(at, **common, channel="api", verdict="genuine", scan_count=1, trade=True)
    fake = rollup(
        at,
        organization_id=None,
        product_id=None,
        batch_id=None,
        region="440305",
        channel="sms",
        verdict="not_found",
        scan_count=0,
        trade=False,
        sequence=None,
        shards=8,
    )
    counts = [(r["firsts"], r["repeats"], r["trade"]) for r in (first, again, clone, shop, fake)]
    assert counts == [(1, 0, 0), (0, 1, 0), (0, 1, 0), (0, 0, 1), (0, 0, 0)]
    assert first["batch_id"] == 0  # no NULL in the key: NULLs never conflict
    assert (fake["organization_id"], fake["province"], fake["city"]) == (0, "440000", "440300")
    assert all(r["scans"] == 1 for r in (first, again, clone, shop, fake))


def test_a_busy_bucket_is_spread_by_the_codes_sequence_numbers() -> None:
    at = datetime(2026, 10, 1, 2, tzinfo=UTC)
    common = {"organization_id": 3, "product_id": 4, "batch_id": 5, "region": "440305"}
    answer = {"channel": "qr", "verdict": "genuine", "scan_count": 1, "trade": False}

    def shard(sequence: int | None, shards: int) -> int:
        return int(rollup(at, **common, **answer, sequence=sequence, shards=shards)["shard"])

    # Eight consecutive codes (a case of goods scanned at a launch): eight rows to lock.
    assert sorted(shard(n, 8) for n in range(1000, 1008)) == list(range(8))
    # One engine-wide row per bucket where there is one writer (SQLite); a code that was
    # never issued has no sequence number and counts in the first row.
    assert {shard(n, 1) for n in range(1000, 1008)} == {0}
    assert shard(None, 8) == 0


def test_small_counts_are_hidden_only_when_asked() -> None:
    assert [shown(n, 5, hide=True) for n in (0, 1, 4, 5, 99)] == [0, "<5", "<5", 5, 99]
    assert [shown(n, 5, hide=False) for n in (0, 1, 4, 5)] == [0, 1, 4, 5]
    assert shown(9, 10, hide=True) == "<10"
