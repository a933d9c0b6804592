"""Every reply fits one SMS segment (70 characters), in both languages, for every verdict."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from traceseal.channels import replies
from traceseal.verify.models import Verdict
from traceseal.verify.records import ProductFacts, Verification

LONG_NAME = "手提式干粉灭火器（ABC类，4公斤，含压力表及安装支架，适用于A、B、C类火灾）" * 2
PRODUCT = ProductFacts("09506000134352", LONG_NAME, "安盾", "", "", "")


def result(verdict: Verdict, product: ProductFacts | None = PRODUCT) -> Verification:
    return Verification(
        verdict,
        "1" * 20,
        scan_count=123_456,
        first_scan_at=datetime(2026, 12, 31, 20, 0, tzinfo=UTC),
        product=product,
    )


@pytest.mark.parametrize("verdict", list(Verdict))
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_reply_fits_one_segment(verdict: Verdict, lang: str) -> None:
    for product in (PRODUCT, None):
        text = replies.reply(result(verdict, product), lang)
        assert 0 < len(text) <= replies.SMS_LIMIT, text
    for key in ("help", "length", "wait"):
        assert len(replies.fixed(key, lang)) <= replies.SMS_LIMIT


def test_a_repeat_says_how_often_and_when_first_in_china_time() -> None:
    text = replies.sentence(result(Verdict.GENUINE_REPEAT), "zh-CN")
    assert "123456次" in text
    assert "2027年1月1日" in text  # 20:00 UTC on 31 December is 1 January in China


def test_the_product_name_is_shortened_not_the_verdict() -> None:
    text = replies.reply(result(Verdict.NOT_FOUND), "zh-CN")
    assert text.endswith("查无此码，产品很可能是仿冒品。")
    assert text.startswith("【手提式")
    assert "…】" in text


def test_a_typo_is_never_called_a_fake() -> None:
    for lang in ("zh-CN", "en"):
        text = replies.reply(result(Verdict.MISTYPED, None), lang)
        assert "仿冒" not in text
        assert "counterfeit" not in text
