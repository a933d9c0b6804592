"""Every verdict has a plain sentence in both languages, and the sentence says the facts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from traceseal.verify.messages import message
from traceseal.verify.models import Verdict
from traceseal.verify.records import Verification


@pytest.mark.parametrize("verdict", list(Verdict))
def test_every_verdict_is_worded_in_both_languages(verdict: Verdict) -> None:
    result = Verification(verdict, None, scan_count=2, reasons=("scan_limit",))
    zh, en = message(result, "zh-CN"), message(result, "en")
    assert zh
    assert en
    assert zh != en
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)
    assert en.isascii()


def test_a_repeat_says_how_often_when_and_where_it_was_first_checked() -> None:
    result = Verification(
        Verdict.GENUINE_REPEAT,
        None,
        scan_count=3,
        first_scan_at=datetime(2026, 11, 30, 4, 5, tzinfo=UTC),
        first_region="440305",
    )
    zh = message(result, "zh-CN")
    assert "3 次" in zh
    assert "2026年11月30日 12:05" in zh
    assert "南山区" in zh
    en = message(result, "en")
    assert "3 times" in en
    assert "30 Nov 2026, 12:05" in en
