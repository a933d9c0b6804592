"""Numbers, dates and verdicts composed from prompts, and a catalogue that has every name
they compose, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traceseal.channels.prompts import LANGUAGES, catalogue, day, number, verdict_prompts
from traceseal.verify.models import Verdict


def spoken(names: list[str], lang: str) -> str:
    return ("" if lang == "zh-CN" else " ").join(catalogue()[lang][n] for n in names)


@pytest.mark.parametrize(
    ("n", "zh"),
    [
        (0, "零"),
        (7, "七"),
        (10, "十"),
        (12, "十二"),
        (20, "二十"),
        (105, "一百零五"),
        (110, "一百一十"),
        (2026, "两千零二十六"),
        (10_001, "一万零一"),
        (20_000, "两万"),
        (120_034, "十二万零三十四"),
        (100_000_000, "一亿"),
    ],
)
def test_chinese_numbers(n: int, zh: str) -> None:
    assert spoken(number(n, "zh-CN"), "zh-CN") == zh


@pytest.mark.parametrize(
    ("n", "en"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (40, "forty"),
        (115, "one hundred fifteen"),
        (2026, "two thousand twenty six"),
        (1_000_001, "one million one"),
    ],
)
def test_english_numbers(n: int, en: str) -> None:
    assert spoken(number(n, "en"), "en") == en


@given(st.integers(min_value=0, max_value=10**12 - 1), st.sampled_from(LANGUAGES))
def test_every_number_is_made_of_prompts_that_exist(n: int, lang: str) -> None:
    names = number(n, lang)
    assert names
    assert all(name in catalogue()[lang] for name in names)


def test_dates_are_said_in_chinas_time() -> None:
    # 20:00 UTC on 3 December is 4 December in Beijing.
    at = datetime(2026, 12, 3, 20, tzinfo=UTC)
    assert spoken(day(at, "zh-CN"), "zh-CN") == "二零二六年十二月四日"
    assert spoken(day(at, "en"), "en") == "December four two thousand twenty six"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("verdict", list(Verdict))
def test_every_verdict_has_prompts_in_both_languages(verdict: Verdict, lang: str) -> None:
    names = verdict_prompts(
        verdict, lang, count=2, first_at=datetime(2026, 1, 2, tzinfo=UTC), first_region="440305"
    )
    assert all(name in catalogue()[lang] for name in names), names


def test_a_repeat_names_the_count_date_and_province() -> None:
    names = verdict_prompts(
        Verdict.GENUINE_REPEAT,
        "zh-CN",
        count=2,
        first_at=datetime(2026, 1, 2, tzinfo=UTC),
        first_region="440305",
    )
    assert spoken(names, "zh-CN") == (
        "查询结果：正品。此防伪码已被查询两次，首次查询于二零二六年一月二日在广东省如非您本人查询，请谨慎。"
    )
    # An unknown region is left out rather than guessed.
    assert "repeat_in" not in verdict_prompts(Verdict.GENUINE_REPEAT, "en", first_region="990000")


def test_provinces_have_prompts() -> None:
    provinces = [name for name in catalogue()["zh-CN"] if name.startswith("province_")]
    assert len(provinces) == 34
    assert catalogue()["en"]["province_11"] == "Beijing"
