"""The label designer's core and renderers: every symbol in every preset's PDF scans back to
its code's Digital Link URI, the Chinese texts are real text in the PDF, the ZPL has one
well-formed format per code, and the layout stays inside the label."""

from __future__ import annotations

import doctest
import io
import os
import re

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from traceseal.codes import design as design_module
from traceseal.codes.design import (
    PRESETS,
    PROMPT_EN,
    PROMPT_ZH,
    Design,
    Symbol,
    grouped,
    layout,
    missing_characters,
    symbol_matrix,
    text_width_mm,
)
from traceseal.codes.export import code_url_prefix, iter_labels
from traceseal.codes.labels import Label
from traceseal.codes.render import preview_png, write_design_pdf, zpl_labels
from traceseal.codes.sealcode import SlotCipher

PREFIX = code_url_prefix("https://verify.example.org", "06901234567892")
PRODUCT = "云南普洱茶 357克 礼盒装"
BRAND = "七彩云南"


def run_labels(count: int, *, pins: bool = False) -> list[Label]:
    """Real seal codes of a slot under a random key, with their URIs (and PINs)."""
    cipher = SlotCipher(321, os.urandom(32))
    return list(iter_labels(cipher, 1000, count, PREFIX, pin_digits=8 if pins else None))


def pdf_symbols(data: bytes) -> list[str]:
    """The text of every symbol embedded in the PDF, in page order (None if unreadable)."""
    texts = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for found in page.images:
            image = found.image
            assert image is not None
            big = image.resize((image.width * 4, image.height * 4), Image.Resampling.NEAREST)
            results = zxingcpp.read_barcodes(big)
            texts.append(results[0].text if len(results) == 1 else "")
    return texts


@pytest.mark.parametrize("symbol", list(Symbol))
@pytest.mark.parametrize("key", sorted(PRESETS))
def test_every_symbol_of_every_preset_decodes_to_its_uri(key: str, symbol: Symbol) -> None:
    labels = run_labels(300, pins=True)
    design = Design(PRESETS[key], symbol, PRODUCT, BRAND, pin_box=True)
    out = io.BytesIO()

    assert write_design_pdf(out, labels, design, title="t") == 300

    assert pdf_symbols(out.getvalue()) == [label.url for label in labels]
    reader = PdfReader(io.BytesIO(out.getvalue()))
    preset = PRESETS[key]
    assert len(reader.pages) == -(-300 // preset.per_page)
    width, height = preset.page_size
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72, 1), round(float(box.height) * 25.4 / 72, 1)) == (
        width,
        height,
    )


def test_the_pdf_carries_the_chinese_texts_the_code_and_the_pin_as_text() -> None:
    labels = run_labels(30, pins=True)
    design = Design(PRESETS["roll-50x30"], Symbol.QR, PRODUCT, BRAND, pin_box=True)
    out = io.BytesIO()
    write_design_pdf(out, labels, design, title="t")

    reader = PdfReader(io.BytesIO(out.getvalue()))
    for page, label in zip(reader.pages, labels, strict=True):
        text = " ".join(page.extract_text().split())
        assert PRODUCT in text
        assert BRAND in text
        assert PROMPT_ZH in text
        assert PROMPT_EN in text
        assert grouped(label.code) in text or all(g in text for g in grouped(label.code).split())
        assert f"PIN {label.pin}" in text
    # The font is embedded as a subset: a few dozen glyphs, not the 2 MB file.
    assert len(out.getvalue()) < 30 * 40_000


def test_without_the_box_no_pin_is_printed() -> None:
    labels = run_labels(3, pins=True)
    out = io.BytesIO()
    write_design_pdf(out, labels, Design(PRESETS["roll-40x30"], product=PRODUCT), title="t")
    text = PdfReader(io.BytesIO(out.getvalue())).pages[0].extract_text()
    assert "PIN" not in text
    assert labels[0].pin is not None
    assert labels[0].pin not in text


def test_a_run_over_the_pdf_limit_is_refused_before_drawing() -> None:
    with pytest.raises(ValueError, match="limited to 5 labels"):
        write_design_pdf(
            io.BytesIO(), run_labels(6), Design(PRESETS["a4-3x8"]), title="t", max_labels=5
        )


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_the_layout_stays_inside_the_label(key: str) -> None:
    long_name = "超长的产品名称" * 6
    design = Design(PRESETS[key], Symbol.QR, long_name, BRAND, pin_box=True)
    plan = layout(design)
    code = run_labels(1)[0].code
    texts = plan.texts_for(code, "12345678")
    boxes = [plan.symbol, *(t for t in texts), *([plan.pin_box] if plan.pin_box else [])]
    for box in boxes:
        assert box.x >= 0
        assert box.y >= 0
        assert box.x + box.w <= plan.w + 1e-6
        assert box.y + box.h <= plan.h + 1e-6
    for text in texts:
        assert text_width_mm(text.text, text.size) <= text.w + 1e-6
    # Every digit of the code is printed, in groups of four.
    printed = " ".join(t.text for t in texts)
    assert all(group in printed for group in grouped(code).split())
    # The long name is cut, with an ellipsis, not dropped.
    assert texts[0].text.endswith("…")
    assert texts[0].text.startswith("超长")
    # The symbol and the text column do not overlap.
    assert all(t.x >= plan.symbol.x + plan.symbol.w for t in texts)


def test_data_matrix_is_square_and_qr_is_level_m() -> None:
    url = run_labels(1)[0].url
    matrix = symbol_matrix(url, Symbol.DATAMATRIX)
    assert matrix.shape[0] == matrix.shape[1]
    read = zxingcpp.read_barcodes(
        zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M").to_image(scale=4)
    )
    assert read[0].ec_level == "M"


def test_characters_the_font_lacks_are_named() -> None:
    assert missing_characters("普洱茶 Pu'er Tea ÄÖ") == ""
    assert missing_characters("𠀀茶") == "𠀀"


def test_the_preview_is_a_png_of_the_label_that_scans() -> None:
    label = run_labels(1, pins=True)[0]
    for key in PRESETS:
        design = Design(PRESETS[key], Symbol.DATAMATRIX, PRODUCT, BRAND, pin_box=True)
        image = Image.open(io.BytesIO(preview_png(design, label)))
        preset = PRESETS[key]
        assert image.size == (round(preset.label_w * 12) + 2, round(preset.label_h * 12) + 2)
        results = zxingcpp.read_barcodes(image)
        assert [r.text for r in results] == [label.url]


_FORMAT = re.compile(r"\^XA(.*?)\^XZ", re.S)


@pytest.mark.parametrize("symbol", list(Symbol))
def test_zpl_has_one_well_formed_format_per_code(symbol: Symbol) -> None:
    labels = run_labels(400, pins=True)
    design = Design(PRESETS["roll-50x30"], symbol, PRODUCT, BRAND, pin_box=True)
    zpl = "".join(zpl_labels(labels, design))

    assert zpl.count("^XA") == zpl.count("^XZ") == len(labels)
    # Balanced: every ^XA is closed before the next opens.
    assert re.fullmatch(r"(\^XA(?:(?!\^XA).)*?\^XZ\n)*", zpl, re.S)
    formats = _FORMAT.findall(zpl)
    command = "^BQN,2," if symbol is Symbol.QR else "^BXN,"
    for body, label in zip(formats, labels, strict=True):
        assert body.startswith("^CI28^PW400^LL240")
        assert body.count(command) == 1
        data = re.search(re.escape(command) + r"[^\^]*\^FD(.*?)\^FS", body)
        assert data is not None
        assert data.group(1) == (f"MA,{label.url}" if symbol is Symbol.QR else label.url)
        fields = re.findall(r"\^FH\\\^FD(.*?)\^FS", body)
        assert PRODUCT in fields
        assert BRAND in fields
        assert f"PIN {label.pin}" in fields
        assert " ".join(f for f in fields if re.fullmatch(r"[0-9 ]+", f)) == grouped(label.code)
        assert "^A@N," in body
        assert "E:NOTOSC.TTF" in body


def test_zpl_escapes_its_command_characters_in_texts() -> None:
    design = Design(PRESETS["roll-30x20"], product="A^B~C\\D")
    body = next(zpl_labels(run_labels(1), design))
    assert "^FDA\\5EB\\7EC\\5CD^FS" in body


def test_zpl_at_300_dpi_scales_the_label() -> None:
    body = next(zpl_labels(run_labels(1), Design(PRESETS["roll-40x30"]), dpmm=12))
    assert body.startswith("^XA^CI28^PW480^LL360")


def test_the_examples_in_the_core_hold() -> None:
    assert doctest.testmod(design_module).failed == 0
