"""The dashboards' pure helpers: tile shades, place names, filter links, ISO weeks."""

from __future__ import annotations

from datetime import date

import pytest

from traceseal.console.dashboard_figures import Query, numeric, place_name, shade
from traceseal.console.weekly_pdf import last_week, parse_week, week_label
from traceseal.verify.models import Channel


def test_shades_step_evenly_and_a_hidden_count_is_the_lightest() -> None:
    assert [shade(n, 100) for n in (0, 1, 20, 21, 60, 100)] == [0, 1, 1, 2, 3, 5]
    assert shade("<5", 100) == 1
    assert shade(0, 0) == 0
    assert numeric("<5") == 1
    assert numeric(7) == 7


def test_places_are_named_in_the_page_language() -> None:
    assert place_name("440000", "zh-CN") == "广东"
    assert place_name("440000", "en") == "Guangdong"
    assert place_name("440300", "zh-CN") == "深圳市"
    assert place_name("110100", "zh-CN") == "北京"  # a municipality's placeholder city
    assert place_name("", "en") == "Not placed"


def test_links_keep_the_filters_and_drop_what_is_emptied() -> None:
    query = Query(date(2026, 10, 1), date(2026, 10, 31), 3, None, Channel.QR, "440000")
    assert (
        query.link("/x", province="") == "/x?from=2026-10-01&to=2026-10-31&product_id=3&channel=qr"
    )
    assert "province=440000" in query.link("/x")


def test_iso_weeks() -> None:
    assert parse_week("2026-W41") == date(2026, 10, 5)
    assert week_label(date(2026, 10, 11)) == "2026-W41"
    assert last_week(date(2026, 12, 4)) == date(2026, 11, 23)
    for wrong in ("2026-41", "2026-W54", "W41"):
        with pytest.raises(ValueError, match="YYYY-Www"):
            parse_week(wrong)
