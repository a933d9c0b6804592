"""The label designer's core: label sizes, the symbol, and where each part of a label goes.

Pure functions over millimetres and points: no database, no PDF, no image. The renderers
(``codes/render.py``: PDF, PNG preview, ZPL) all draw the same :class:`Layout`, so what the
preview shows is what the sheet and the thermal printer print.

A label carries, left to right: the symbol (QR or Data Matrix) of the code's GS1 Digital
Link URI, then a column of text: product name, brand name, the prompt
"扫码验真 / Scan to verify", the code's digits in groups of four, and optionally the
scratch-off box with the code's PIN in it.

>>> design = Design(preset=PRESETS["roll-50x30"], symbol=Symbol.QR, product="普洱茶",
...                 brand="七彩云南")
>>> plan = layout(design)
>>> [t.text for t in plan.texts_for("10045775895447491927", None)]
['普洱茶', '七彩云南', '扫码验真', 'Scan to verify', '1004 5775 8954', '4749 1927']
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import zxingcpp
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

__all__ = [
    "DEFAULT_PIN_DIGITS",
    "FONT_PATH",
    "PRESETS",
    "PROMPT",
    "Box",
    "Design",
    "Layout",
    "Preset",
    "Symbol",
    "Text",
    "grouped",
    "layout",
    "missing_characters",
    "symbol_matrix",
    "text_width_mm",
]

#: Noto Sans SC Regular cut to GB2312 plus Latin-1 (static/fonts/README.md says how).
FONT_PATH: Final = (
    Path(__file__).parent.parent / "static" / "fonts" / "NotoSansSC-Regular-GB2312.ttf"
)
PROMPT: Final = "扫码验真 / Scan to verify"
PROMPT_ZH: Final = "扫码验真"
PROMPT_EN: Final = "Scan to verify"
SCRATCH_CAPTION: Final = "刮开涂层 Scratch"

#: One typographic point in millimetres.
PT_MM: Final = 25.4 / 72
#: Line height as a multiple of the font size: room for CJK ascenders and Latin descenders.
_LEADING: Final = 1.25
#: Smallest size any text shrinks to: 4 pt is about 1.4 mm, still legible on a label.
MIN_PT: Final = 4.0
_ELLIPSIS: Final = "…"
#: Room the scratch-off box leaves for the PIN when the caller does not say (PIN_DIGITS).
DEFAULT_PIN_DIGITS: Final = 8


class Symbol(enum.StrEnum):
    QR = "qr"
    DATAMATRIX = "datamatrix"


@dataclass(frozen=True, slots=True)
class Preset:
    """A label size and how labels sit on the page (mm).

    A roll has one label per page of the label's own size, as roll printers' drivers expect.
    Sheets are A4 with the pitch and margins of common die-cut sheets.
    """

    key: str
    zh: str
    en: str
    label_w: float
    label_h: float
    columns: int = 1
    rows: int = 1
    page_w: float = 0.0
    page_h: float = 0.0
    left: float = 0.0
    top: float = 0.0
    pitch_x: float = 0.0
    pitch_y: float = 0.0

    @property
    def is_roll(self) -> bool:
        return self.columns * self.rows == 1 and not self.page_w

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    @property
    def page_size(self) -> tuple[float, float]:
        if self.is_roll:
            return self.label_w, self.label_h
        return self.page_w, self.page_h

    def origin(self, slot: int) -> tuple[float, float]:
        """Top-left corner on its page of the label in ``slot`` (0 .. per_page-1)."""
        if self.is_roll:
            return 0.0, 0.0
        column, row = slot % self.columns, slot // self.columns
        return self.left + column * self.pitch_x, self.top + row * self.pitch_y


def _sheet(key: str, size: tuple[float, float], grid: tuple[int, int],
           corner: tuple[float, float], pitch: tuple[float, float]) -> Preset:  # fmt: skip
    (w, h), (columns, rows) = size, grid
    zh = f"A4 不干胶 {columns}×{rows}（{w:g}×{h:g} mm）"
    en = f"A4 sheet {columns}×{rows} ({w:g}×{h:g} mm)"
    return Preset(key, zh, en, w, h, columns, rows, 210.0, 297.0, *corner, *pitch)


#: The sizes offered. Sheet pitches follow the widely sold A4 die-cut sheets of these sizes
#: (the 24-, 40- and 65-up layouts, e.g. L7159, L7654 and L7651), so a sheet printed at 100 %
#: lands on the die cuts.
PRESETS: Final[dict[str, Preset]] = {
    p.key: p
    for p in (
        Preset("roll-30x20", "卷标 30×20 mm", "Roll 30×20 mm", 30.0, 20.0),
        Preset("roll-40x30", "卷标 40×30 mm", "Roll 40×30 mm", 40.0, 30.0),
        Preset("roll-50x30", "卷标 50×30 mm", "Roll 50×30 mm", 50.0, 30.0),
        _sheet("a4-3x8", (63.5, 33.9), (3, 8), (7.25, 12.9), (66.0, 33.9)),
        _sheet("a4-4x10", (45.7, 25.4), (4, 10), (9.7, 21.5), (48.3, 25.4)),
        _sheet("a4-5x13", (38.1, 21.2), (5, 13), (4.75, 10.7), (40.6, 21.2)),
    )
}


@dataclass(frozen=True, slots=True)
class Design:
    """What a person chose in the designer. Texts are printed as given (trimmed)."""

    preset: Preset
    symbol: Symbol = Symbol.QR
    product: str = ""
    brand: str = ""
    pin_box: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for an export job's row (codes/models.py ``ExportJob.design``).

        >>> d = Design(PRESETS["a4-5x13"], Symbol.DATAMATRIX, "茶", "", pin_box=True)
        >>> Design.from_dict(d.to_dict()) == d
        True
        """
        return {
            "preset": self.preset.key,
            "symbol": self.symbol.value,
            "product": self.product,
            "brand": self.brand,
            "pin_box": self.pin_box,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Design:
        return cls(
            preset=PRESETS[values["preset"]],
            symbol=Symbol(values["symbol"]),
            product=str(values.get("product", "")),
            brand=str(values.get("brand", "")),
            pin_box=bool(values.get("pin_box", False)),
        )


@dataclass(frozen=True, slots=True)
class Text:
    """A line of text: its box (mm, top-left origin within the label) and size (pt)."""

    x: float
    y: float
    w: float
    h: float
    text: str
    size: float
    align: str = "L"


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle (mm); ``dashed`` for the scratch-off area's outline."""

    x: float
    y: float
    w: float
    h: float
    dashed: bool = False


@dataclass(frozen=True, slots=True)
class Layout:
    """Where everything goes on one label. Fixed texts are resolved; the code's digit lines
    and the PIN are filled in per label by :meth:`texts_for`."""

    w: float
    h: float
    symbol: Box
    fixed: tuple[Text, ...]
    code_lines: tuple[tuple[Text, int, int], ...]  # template, first group, end group
    pin_box: Box | None = None
    pin_text: Text | None = None
    quiet_modules: int = 4

    def texts_for(self, code: str, pin: str | None) -> list[Text]:
        groups = grouped(code).split(" ")
        texts = list(self.fixed)
        for template, first, end in self.code_lines:
            texts.append(_with(template, " ".join(groups[first:end])))
        if self.pin_text is not None:
            texts.append(_with(self.pin_text, f"PIN {pin}" if pin else ""))
        return texts


def _with(template: Text, text: str) -> Text:
    return Text(template.x, template.y, template.w, template.h, text, template.size, template.align)


def grouped(code: str) -> str:
    """The code as printed: groups of four digits (docs/codes.md).

    >>> grouped("10045775895447491927")
    '1004 5775 8954 4749 1927'
    """
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


@functools.cache
def _metrics() -> tuple[dict[int, int], float]:
    with TTFont(FONT_PATH) as font:
        cmap = font.getBestCmap()
        hmtx = font["hmtx"]
        advances = {cp: hmtx[name][0] for cp, name in cmap.items()}
        return advances, float(font["head"].unitsPerEm)


def text_width_mm(text: str, size_pt: float) -> float:
    """Width of ``text`` set in the bundled font at ``size_pt`` (no kerning: a slight
    overestimate, which only errs towards fitting).

    >>> round(text_width_mm("扫码", 10), 2)
    7.06
    """
    advances, em = _metrics()
    # A character missing from the font is drawn as a full-width box by every renderer.
    units = sum(advances.get(ord(c), int(em)) for c in text)
    return units / em * size_pt * PT_MM


def missing_characters(text: str) -> str:
    """The characters of ``text`` the bundled font cannot draw (GB2312 + Latin-1 only)."""
    advances, _ = _metrics()
    return "".join(sorted({c for c in text if ord(c) not in advances and c.isprintable()}))


def standard(product: str, brand: str, *, pins: bool) -> Design:
    """The sheet a run's ``labels.pdf`` is (API, CLI, exports): A4 3 x 8 with QR symbols,
    the product's and brand's names, and the PIN box when the run has PINs. A character the
    font lacks is left out of a name here rather than refusing the sheet (the designer
    page asks instead).

    >>> standard("灭火器", "", pins=False).preset.key
    'a4-3x8'
    """

    def printable(text: str) -> str:
        lacking = set(missing_characters(text))
        return "".join(ch for ch in text if ch not in lacking)

    return Design(PRESETS["a4-3x8"], Symbol.QR, printable(product), printable(brand), pins)


def _fit(text: str, width: float, size: float) -> tuple[str, float]:
    """Shrink to fit ``width``, down to MIN_PT; beyond that cut the text with an ellipsis."""
    while size > MIN_PT and text_width_mm(text, size) > width:
        size = max(MIN_PT, size * 0.92)
    if text_width_mm(text, size) <= width:
        return text, size
    while text and text_width_mm(text + _ELLIPSIS, size) > width:
        text = text[:-1]
    return (text + _ELLIPSIS if text else ""), size


def layout(design: Design, *, pin_digits: int = DEFAULT_PIN_DIGITS) -> Layout:
    """Place symbol and texts on one label of ``design.preset``.

    Sizes start from the label's height and shrink together until the column of text fits;
    any single line too long even at MIN_PT is cut with an ellipsis (product and brand names)
    or wrapped by groups of four digits (the code). The caller checks the characters first
    with :func:`missing_characters`.
    """
    preset = design.preset
    w, h = preset.label_w, preset.label_h
    pad = 1.5 if min(w, h) < 25 else 2.0
    side = min(h - 2 * pad, w * 0.5)
    symbol = Box(pad, (h - side) / 2, side, side)
    x = pad + side + 1.0
    column = w - x - pad
    scale = 1.0
    for _ in range(12):
        plan = _column(design, x, column, pad, h, scale, pin_digits)
        if plan is not None:
            return Layout(w, h, symbol, *plan, quiet_modules=_quiet(design.symbol))
        scale *= 0.9
    plan = _column(design, x, column, pad, h, 0.0, pin_digits, force=True)
    assert plan is not None
    return Layout(w, h, symbol, *plan, quiet_modules=_quiet(design.symbol))


def _quiet(symbol: Symbol) -> int:
    # ISO/IEC 18004 asks 4 modules around a QR symbol, ISO/IEC 16022 1 around Data Matrix;
    # 2 gives a die-cut edge or a neighbour's ink some slack.
    return 4 if symbol is Symbol.QR else 2


_Column = tuple[tuple[Text, ...], tuple[tuple[Text, int, int], ...], Box | None, Text | None]


def _column(
    design: Design,
    x: float,
    width: float,
    pad: float,
    h: float,
    scale: float,
    pin_digits: int,
    *,
    force: bool = False,
) -> _Column | None:
    base = max(MIN_PT, min(9.0, h * 0.3) * scale)
    small = max(MIN_PT, base * 0.8)
    y = pad
    fixed: list[Text] = []

    def line(text: str, size: float) -> None:
        nonlocal y
        fitted, size = _fit(text, width, size)
        height = size * PT_MM * _LEADING
        fixed.append(Text(x, y, width, height, fitted, size))
        y += height

    if design.product.strip():
        line(design.product.strip(), base)
    if design.brand.strip():
        line(design.brand.strip(), small)
    if text_width_mm(PROMPT, small) <= width:
        line(PROMPT, small)
    else:
        line(PROMPT_ZH, small)
        line(PROMPT_EN, small)

    code_lines, y = _code_lines(x, y, width, small)
    pin_box = pin_text = None
    if design.pin_box:
        caption, pin_box, pin_text, y = _pin_box(x, y, width, small, pin_digits)
        fixed.append(caption)
    if y > h - pad + 0.01 and not force:
        return None
    return tuple(fixed), tuple(code_lines), pin_box, pin_text


def _code_lines(
    x: float, y: float, width: float, size: float
) -> tuple[list[tuple[Text, int, int]], float]:
    """The code's lines: as many groups of four per line as fit, never a group split."""
    code_size = max(MIN_PT, size)
    per_line = 5
    while per_line > 1 and text_width_mm(grouped("0" * 4 * per_line), code_size) > width:
        per_line -= 1
    # Balance the lines: 3 + 2 groups reads better than 4 + 1.
    lines = -(-5 // per_line)
    per_line = -(-5 // lines)
    height = code_size * PT_MM * _LEADING
    code_lines = []
    for first in range(0, 5, per_line):
        code_lines.append(
            (Text(x, y, width, height, "", code_size), first, min(5, first + per_line))
        )
        y += height
    return code_lines, y


def _pin_box(
    x: float, y: float, width: float, size: float, pin_digits: int
) -> tuple[Text, Box, Text, float]:
    """The caption, the dashed box, and the PIN's place inside it."""
    caption, caption_size = _fit(SCRATCH_CAPTION, width, max(MIN_PT, size * 0.8))
    caption_h = caption_size * PT_MM * _LEADING
    above = Text(x, y + 0.3, width, caption_h, caption, caption_size)
    y += caption_h + 0.3
    pin_size = max(MIN_PT, size)
    box_w = min(width, text_width_mm("PIN " + "0" * pin_digits, pin_size) + 2.0)
    box_h = pin_size * PT_MM * 1.6
    box = Box(x, y, box_w, box_h, dashed=True)
    return above, box, Text(x, y, box_w, box_h, "", pin_size, "C"), y + box_h


def symbol_matrix(text: str, symbol: Symbol) -> npt.NDArray[np.bool_]:
    """The symbol's module matrix (``True`` dark, row 0 on top), without quiet zone.

    QR at error correction level M (codes/labels.py says why); Data Matrix ECC 200 forced
    square, since the label gives it a square.

    >>> symbol_matrix("https://verify.example.org/01/09506000134352/21/00712345678901234567",
    ...               Symbol.DATAMATRIX).shape
    (32, 32)
    """
    if symbol is Symbol.QR:
        barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    else:
        barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.DataMatrix, forceSquare=True)
    pixels = np.asarray(barcode.to_image(scale=1, add_quiet_zones=False))
    matrix: npt.NDArray[np.bool_] = pixels < 128
    # zxing-cpp ignores options it does not know: check rather than trust.
    if matrix.shape[0] != matrix.shape[1]:
        raise RuntimeError(f"zxing-cpp made a {matrix.shape} symbol, not a square one")
    return matrix
