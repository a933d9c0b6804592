"""A brand's weekly summary as a PDF (fpdf2): the week's scans per day, the verdict mix,
the provinces, the diversion flows and the hot spots, as the dashboard shows them.

Chinese text needs a CJK TrueType font, which fpdf2's core fonts do not have: the summary
uses the labels' bundled font (:func:`cjk_font_path`). Should the file be missing, the
summary is written in English and any text a Latin font cannot draw (a Chinese product
name) is left out rather than printed as boxes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from traceseal.codes.design import FONT_PATH
from traceseal.console.dashboard_figures import Dashboard, Query, rows_of
from traceseal.verify.rollups import CHINA

__all__ = ["cjk_font_path", "last_week", "parse_week", "week_label", "weekly_pdf"]

_WEEK = re.compile(r"(\d{4})-W(\d{2})")
#: Rows of each table at most: the PDF is a summary, the CSV exports have every row.
_ROWS = 15


def cjk_font_path() -> Path | None:
    """The platform's own CJK font, the one labels are printed with (codes/design.py:
    Noto Sans SC cut to GB2312); None only in an installation that lost the file."""
    return FONT_PATH if FONT_PATH.is_file() else None


def parse_week(raw: str) -> date:
    """The Monday of an ISO week ``2026-W41``. Raises ValueError.

    >>> parse_week("2026-W41")
    datetime.date(2026, 10, 5)
    """
    found = _WEEK.fullmatch(raw)
    if found is None:
        raise ValueError("a week is YYYY-Www, such as 2026-W41")
    try:
        return date.fromisocalendar(int(found[1]), int(found[2]), 1)
    except ValueError as error:
        raise ValueError("a week is YYYY-Www, such as 2026-W41") from error


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def last_week(today: date | None = None) -> date:
    """The Monday of the last whole week (China Standard Time)."""
    day = today or datetime.now(CHINA).date()
    return day - timedelta(days=day.weekday() + 7)


class _Doc(FPDF):
    def __init__(self, font: Path | None) -> None:
        super().__init__(format="A4")
        self.cjk = font is not None
        if font is not None:
            self.add_font("cjk", fname=str(font))
            # Table headings are bold; a CJK font seldom ships a bold face: the same one.
            self.add_font("cjk", style="B", fname=str(font))
        self.family = "cjk" if font is not None else "helvetica"
        self.set_auto_page_break(auto=True, margin=15)

    def text_of(self, value: object) -> str:
        text = str(value)
        if self.cjk:
            return text
        # Helvetica draws Latin-1 only: leave out what it cannot draw.
        return text.encode("latin-1", "ignore").decode("latin-1").strip()

    def heading(self, text: str) -> None:
        self.set_font(self.family, size=12)
        self.ln(3)
        self.cell(0, 8, self.text_of(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def grid(self, rows: Sequence[Sequence[object]], empty: str) -> None:
        self.set_font(self.family, size=8)
        if len(rows) <= 1:
            self.cell(0, 6, self.text_of(empty), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            return
        with self.table(first_row_as_headings=True, line_height=5) as shown:
            for row in rows[: _ROWS + 1]:
                line = shown.row()
                for value in row:
                    line.cell(self.text_of(value))


def weekly_pdf(
    organization: str, query: Query, figures: Dashboard, lang: str, *, made: datetime
) -> bytes:
    """The summary of the week ``query.start``..``query.end`` (figures as gathered for the
    brand, so counts are as they are). Chinese only with a CJK font (cjk_font_path)."""
    font = cjk_font_path()
    if font is None:
        lang = "en"
    zh = lang == "zh-CN"
    doc = _Doc(font)
    doc.set_title(f"TraceSeal weekly summary {week_label(query.start)}")
    doc.add_page()
    doc.set_font(doc.family, size=16)
    title = "每周查询汇总" if zh else "Weekly verification summary"
    doc.cell(0, 10, doc.text_of(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_font(doc.family, size=10)
    total = sum(row.scans for row in figures.series if isinstance(row.scans, int))
    lines = [
        organization,
        f"{week_label(query.start)}: {query.start.isoformat()} - {query.end.isoformat()}"
        + (" (北京时间)" if zh else " (China Standard Time)"),
        (f"查询总数：{total}" if zh else f"Scans: {total}"),
        (f"生成时间：{made:%Y-%m-%d %H:%M}" if zh else f"Made {made:%Y-%m-%d %H:%M %Z}".strip()),
    ]
    for line in lines:
        text = doc.text_of(line)
        if text:
            doc.cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    none = "本周没有数据。" if zh else "Nothing this week."
    sections = (
        ("series", "每日查询", "Scans per day"),
        ("verdicts", "验证结果", "Verdicts"),
        ("provinces", "各省查询（前 15）", "Provinces (top 15)"),
        ("flows", "窜货流向", "Diversion flows"),
        ("hotspots", "异常热点", "Hot spots"),
    )
    for chart, zh_title, en_title in sections:
        doc.heading(zh_title if zh else en_title)
        rows = rows_of(chart, figures, lang)
        if chart == "provinces":
            rows = [rows[0], *sorted(rows[1:], key=lambda row: -_number(row[2]))]
        doc.grid(rows, none)
    return bytes(doc.output())


def _number(value: object) -> int:
    return value if isinstance(value, int) else 0
