"""Finding a code in what people send, and the reply's language."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traceseal.channels.text import extract, language

CODE = "10000000000000000003"


def wide(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


@pytest.mark.parametrize(
    "text",
    [
        CODE,
        "1000 0000 0000 0000 0003",
        "1000-0000-0000-0000-0003",
        "查询 1000 0000 0000 0000 0003",
        "查询：1000—0000—0000—0000—0003，谢谢",
        wide("1000 0000 0000 0000 0003"),
        "１０００\u3000００００－００００ ００００ ０００３",
        f"please check {CODE} thanks",
        f"https://verify.example.org/v/{CODE}",
        f"扫到的是 https://verify.example.org/01/09506000134352/21/{CODE}，真的吗",
    ],
)
def test_the_code_is_found_however_it_is_written(text: str) -> None:
    found = extract(text)
    assert (found.kind, found.code) == ("code", CODE)


def test_a_digital_link_gives_its_gtin_and_lot() -> None:
    found = extract(f"https://v.example/01/09506000134352/10/L2026-11A/21/{CODE}?s=1")
    assert (found.code, found.gtin, found.lot) == (CODE, "09506000134352", "L2026-11A")
    assert extract(f"QR_CODE,https://v.example/01/09506000134352/21/{CODE}").code == CODE


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("你好", "none"),
        ("", "none"),
        ("电话 13800000000", "none"),
        ("1000 0000 0000 0000 000", "length"),  # a digit missing
        ("1000 0000 0000 0000 00033", "length"),  # a digit doubled
        ("https://example.org/some/page", "none"),
        ("https://v.example/01/09506000134352/21/12345", "length"),
    ],
)
def test_no_code_is_told_apart_from_a_near_miss(text: str, kind: str) -> None:
    found = extract(text)
    assert found.code is None
    assert found.kind == kind


def test_the_language_is_english_only_for_english_words() -> None:
    assert language("查询 " + CODE) == "zh-CN"
    assert language(CODE) == "zh-CN"
    assert language("check " + CODE) == "en"
    assert language(f"https://verify.example.org/v/{CODE}") == "zh-CN"
    assert language(f"Is this real? https://verify.example.org/v/{CODE}") == "en"


@given(st.text(max_size=300))
def test_any_text_gives_a_code_of_20_digits_or_none(text: str) -> None:
    found = extract(text)
    assert found.kind in ("code", "none", "length")
    if found.code is not None:
        assert len(found.code) == 20
        assert found.code.isascii()
        assert found.code.isdigit()
