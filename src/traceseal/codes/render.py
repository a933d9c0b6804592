"""Drawing a designed label (codes/design.py): a PDF of sheets or roll labels, a PNG preview
of one label, and ZPL for thermal printers.

The three draw the same :class:`~traceseal.codes.design.Layout`. In the PDF the symbol is a
1-bit image of one pixel per module: PDF viewers and printers scale it without smoothing
(``/Interpolate`` is off), it costs a few hundred bytes, and it is the fastest way fpdf2 has
to place 10,000 symbols (bench/labels.py). The text is set in the bundled Noto Sans SC,
which fpdf2 embeds as a subset of the characters used.
"""

from __future__ import annotations

import functools
import io
import itertools
from collections.abc import Iterable, Iterator
from typing import IO, Final

import numpy as np
import numpy.typing as npt
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from traceseal.codes.design import (
    FONT_PATH,
    PT_MM,
    Box,
    Design,
    Layout,
    Text,
    layout,
    symbol_matrix,
)
from traceseal.codes.labels import Label, ProgressFn

__all__ = ["preview_png", "write_design_pdf", "zpl_labels"]

_FONT: Final = "notosanssc"
_PROGRESS_EVERY: Final = 100


def _symbol_image(url: str, plan: Layout, design: Design) -> Image.Image:
    matrix = symbol_matrix(url, design.symbol)
    quiet = plan.quiet_modules
    padded = np.pad(matrix, quiet, constant_values=False)
    # Mode "1": a set bit is white.
    bits = np.packbits(~padded, axis=1)
    return Image.frombytes("1", (padded.shape[1], padded.shape[0]), bits.tobytes())


def write_design_pdf(
    out: IO[bytes],
    labels: Iterable[Label],
    design: Design,
    *,
    title: str,
    pin_digits: int = 8,
    progress: ProgressFn | None = None,
    max_labels: int = 10_000,
) -> int:
    """Write the labels as a PDF: one label per page for rolls, a grid per A4 page for
    sheets. Raises ``ValueError`` before drawing if there are more than ``max_labels``
    labels (the PDF is built in memory). Returns the number of labels and pages."""
    batch = list(itertools.islice(labels, max_labels + 1))
    if len(batch) > max_labels:
        raise ValueError(f"label PDF is limited to {max_labels:,} labels; split the run")
    preset = design.preset
    plan = layout(design, pin_digits=pin_digits)
    pdf = FPDF(unit="mm", format=preset.page_size)
    pdf.set_auto_page_break(auto=False)
    pdf.set_margin(0)
    pdf.c_margin = 0
    pdf.set_title(title)
    pdf.set_creator("TraceSeal")
    pdf.add_font(_FONT, fname=str(FONT_PATH))
    pdf.set_text_color(0)
    if not batch:
        pdf.add_page()
    pending = 0
    for index, label in enumerate(batch):
        slot = index % preset.per_page
        if slot == 0:
            pdf.add_page()
        left, top = preset.origin(slot)
        _draw(pdf, plan, design, label, left, top)
        pending += 1
        if progress is not None and pending == _PROGRESS_EVERY:
            progress(pending)
            pending = 0
    if progress is not None and pending:
        progress(pending)
    out.write(pdf.output())
    return len(batch)


def _draw(pdf: FPDF, plan: Layout, design: Design, label: Label, left: float, top: float) -> None:
    box = plan.symbol
    pdf.image(_symbol_image(label.url, plan, design), left + box.x, top + box.y, box.w, box.h)
    for text in plan.texts_for(label.code, label.pin):
        if not text.text:
            continue
        pdf.set_font(_FONT, size=text.size)
        pdf.set_xy(left + text.x, top + text.y)
        pdf.cell(text.w, text.h, text.text, align=text.align)
    if plan.pin_box is not None:
        pin = plan.pin_box
        pdf.set_draw_color(0)
        pdf.set_line_width(0.15)
        pdf.set_dash_pattern(dash=0.6, gap=0.4)
        pdf.rect(left + pin.x, top + pin.y, pin.w, pin.h)
        pdf.set_dash_pattern()


# --- PNG preview ---------------------------------------------------------------------------

#: 12 pixels a millimetre (about 300 dpi): the digits of a 30×20 mm label stay readable.
_PX_MM: Final = 12


def preview_png(design: Design, label: Label, *, pin_digits: int = 8) -> bytes:
    """One label as a PNG, drawn from the same layout as the PDF, with a grey outline
    where the label's edge is."""
    plan = layout(design, pin_digits=pin_digits)
    width, height = round(plan.w * _PX_MM), round(plan.h * _PX_MM)
    image = Image.new("L", (width + 2, height + 2), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width + 1, height + 1), outline=170)
    symbol = _symbol_image(label.url, plan, design)
    side = round(plan.symbol.w * _PX_MM)
    image.paste(
        symbol.resize((side, side), Image.Resampling.NEAREST).convert("L"),
        (1 + round(plan.symbol.x * _PX_MM), 1 + round(plan.symbol.y * _PX_MM)),
    )
    for text in plan.texts_for(label.code, label.pin):
        if text.text:
            _preview_text(draw, text)
    if plan.pin_box is not None:
        _dashed(draw, plan.pin_box)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _px(mm: float) -> int:
    return 1 + round(mm * _PX_MM)


@functools.lru_cache(maxsize=32)
def _preview_font(pixels: int) -> ImageFont.FreeTypeFont:
    # Loading the 2.3 MB font costs more than drawing a label: once per size.
    return ImageFont.truetype(str(FONT_PATH), pixels)


def _preview_text(draw: ImageDraw.ImageDraw, text: Text) -> None:
    font = _preview_font(max(1, round(text.size * PT_MM * _PX_MM)))
    middle = _px(text.y + text.h / 2)
    if text.align == "C":
        draw.text((_px(text.x + text.w / 2), middle), text.text, fill=0, font=font, anchor="mm")
    else:
        draw.text((_px(text.x), middle), text.text, fill=0, font=font, anchor="lm")


def _dashed(draw: ImageDraw.ImageDraw, box: Box) -> None:
    x0, y0, x1, y1 = _px(box.x), _px(box.y), _px(box.x + box.w), _px(box.y + box.h)
    dash, gap = 7, 5
    for start in range(x0, x1, dash + gap):
        end = min(x1, start + dash)
        draw.line((start, y0, end, y0), fill=0, width=2)
        draw.line((start, y1, end, y1), fill=0, width=2)
    for start in range(y0, y1, dash + gap):
        end = min(y1, start + dash)
        draw.line((x0, start, x0, end), fill=0, width=2)
        draw.line((x1, start, x1, end), fill=0, width=2)


# --- ZPL -----------------------------------------------------------------------------------

#: The printer font ZPL text is set in: the bundled TrueType font (static/fonts/), stored
#: once on the printer's flash (E:) under this name; docs/codes.md says how.
ZPL_FONT: Final = "E:NOTOSC.TTF"
#: Dots per millimetre: 8 for the common 203 dpi thermal printers, 12 for 300 dpi.
ZPL_DPMM: Final = (8, 12)


def _zpl_text(value: str) -> str:
    """Field data with ZPL's command characters hex-escaped (used with ``^FH\\``)."""
    out = []
    for char in value:
        if char in "^~\\":
            out.append(f"\\{ord(char):02X}")
        else:
            out.append(char)
    return "".join(out)


def zpl_labels(
    labels: Iterable[Label], design: Design, *, dpmm: int = 8, pin_digits: int = 8
) -> Iterator[str]:
    """One ``^XA ... ^XZ`` format per label, UTF-8 text (``^CI28``) in :data:`ZPL_FONT`.

    QR is ``^BQN,2,m`` with field data ``MA,<uri>`` (error correction M, automatic input);
    Data Matrix is ``^BXN,m,200`` (ECC 200) with the URI as its field data. ``m`` is the
    largest whole number of dots per module that fits the layout's symbol box.
    """
    if dpmm not in ZPL_DPMM:
        raise ValueError(f"dpmm must be one of {ZPL_DPMM}")
    plan = layout(design, pin_digits=pin_digits)

    def dots(mm: float) -> int:
        return round(mm * dpmm)

    head = f"^XA^CI28^PW{dots(plan.w)}^LL{dots(plan.h)}^LH0,0"
    sample: npt.NDArray[np.bool_] | None = None
    for label in labels:
        if any(c in label.url for c in "^~_"):
            raise ValueError(f"URL {label.url!r} has a character ZPL barcodes cannot carry")
        if sample is None:
            # Every URL of a run has the same length, so one symbol's size holds for all.
            sample = symbol_matrix(label.url, design.symbol)
        modules = sample.shape[0] + 2 * plan.quiet_modules
        module = max(1, dots(plan.symbol.w) // modules)
        quiet = plan.quiet_modules * module
        at = f"^FO{dots(plan.symbol.x) + quiet},{dots(plan.symbol.y) + quiet}"
        if design.symbol.value == "qr":
            symbol = f"{at}^BQN,2,{min(module, 10)}^FDMA,{label.url}^FS"
        else:
            symbol = f"{at}^BXN,{module},200^FD{label.url}^FS"
        parts = [head, symbol]
        for text in plan.texts_for(label.code, label.pin):
            if not text.text:
                continue
            size = max(10, dots(text.size * PT_MM))
            justify = "C" if text.align == "C" else "L"
            parts.append(
                f"^FO{dots(text.x)},{dots(text.y)}^A@N,{size},{size},{ZPL_FONT}"
                f"^FB{dots(text.w)},1,0,{justify}^FH\\^FD{_zpl_text(text.text)}^FS"
            )
        if plan.pin_box is not None:
            pin = plan.pin_box
            parts.append(f"^FO{dots(pin.x)},{dots(pin.y)}^GB{dots(pin.w)},{dots(pin.h)},2^FS")
        parts.append("^XZ\n")
        yield "".join(parts)
