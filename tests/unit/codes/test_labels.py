"""Printer outputs: every QR in the ZIP and on the PDF sheet must scan back to its label's URL."""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from collections.abc import Iterator
from xml.etree import ElementTree

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from traceseal.codes.labels import (
    Label,
    qr_matrix,
    write_qr_zip,
)

HOST = "https://verify.example.org"
GTIN = "09506000134352"


def make_labels(count: int, *, pins: bool = False, seed: int = 7) -> list[Label]:
    """Distinct random-looking codes, so a grouped code cannot match across two labels' text."""
    rng = random.Random(seed)
    codes = {f"{rng.randrange(10**20):020d}" for _ in range(count * 2)}
    labels = []
    for index, code in enumerate(sorted(codes)[:count]):
        pin = f"{rng.randrange(10**6):06d}" if pins and index % 2 else None
        labels.append(Label(code=code, url=f"{HOST}/01/{GTIN}/21/{code}", pin=pin))
    return labels


def grouped(code: str) -> str:
    return " ".join(re.findall("....", code))


def decode(image: Image.Image | np.ndarray) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(image)


# --- Label ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "url", "pin"),
    [
        ("0071234567890123456", f"{HOST}/x", None),  # 19 digits
        ("007123456789012345678", f"{HOST}/x", None),  # 21 digits
        ("٠" * 20, f"{HOST}/x", None),  # Arabic-Indic digits pass str.isdigit()
        ("../../../../../etc/pw", f"{HOST}/x", None),  # would escape the ZIP's folders
        ("00712345678901234567", "", None),
        ("00712345678901234567", f"{HOST}/a b", None),
        ("00712345678901234567", f"{HOST}/x\n", None),
        ("00712345678901234567", f"{HOST}/x", ""),
        ("00712345678901234567", f"{HOST}/x", "12ab"),
    ],
)
def test_label_rejects_malformed_fields(code: str, url: str, pin: str | None) -> None:
    with pytest.raises(ValueError, match="label"):
        Label(code=code, url=url, pin=pin)


# --- QR matrix -----------------------------------------------------------------------------


def test_qr_matrix_is_a_level_m_qr_of_the_text() -> None:
    url = make_labels(1)[0].url
    matrix = qr_matrix(url)

    size = matrix.shape[0]
    assert matrix.shape == (size, size)
    assert matrix.dtype == np.bool_
    assert (size - 21) % 4 == 0  # QR versions grow by 4 modules from 21
    # Top-left finder pattern: dark 7x7 ring, light ring, dark 3x3 centre.
    assert matrix[0, :7].all()
    assert matrix[6, :7].all()
    assert not matrix[1, 1:6].any()
    assert matrix[2:5, 2:5].all()

    # Draw it the way a printer would (quiet zone, several pixels per module) and scan it.
    image = np.pad(~matrix, 4, constant_values=True).repeat(4, axis=0).repeat(4, axis=1)
    (barcode,) = decode((image * 255).astype(np.uint8))
    assert barcode.text == url
    assert barcode.ec_level == "M"


# --- ZIP -----------------------------------------------------------------------------------


def write_zip(labels: list[Label] | Iterator[Label]) -> tuple[zipfile.ZipFile, list[int]]:
    out = io.BytesIO()
    calls: list[int] = []
    count = write_qr_zip(out, labels, progress=calls.append)
    assert count == sum(calls)
    return zipfile.ZipFile(io.BytesIO(out.getvalue())), calls


def read_manifest(archive: zipfile.ZipFile) -> list[list[str]]:
    text = archive.read("codes.csv").decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_zip_pngs_scan_back_to_their_urls() -> None:
    labels = make_labels(12, pins=True)
    archive, _ = write_zip(labels)

    for label in labels:
        info = archive.getinfo(f"png/{label.code}.png")
        assert info.compress_type == zipfile.ZIP_STORED
        with Image.open(io.BytesIO(archive.read(info))) as image:
            assert image.mode == "1"
            assert image.info["dpi"] == pytest.approx((203.2, 203.2), abs=0.1)
            (barcode,) = decode(image.convert("L"))
        assert barcode.text == label.url
        assert barcode.ec_level == "M"


def test_zip_svgs_are_scalable_svg_documents() -> None:
    labels = make_labels(3)
    archive, _ = write_zip(labels)

    for label in labels:
        info = archive.getinfo(f"svg/{label.code}.svg")
        assert info.compress_type == zipfile.ZIP_DEFLATED
        root = ElementTree.fromstring(archive.read(info))  # noqa: S314 - our own output
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        side = len(qr_matrix(label.url)) + 8  # symbol plus a 4-module quiet zone each side
        assert root.get("viewBox") == f"0 0 {side} {side}"
        assert root.get("width") == f"{side * 0.5:g}mm"


def test_zip_layout_and_manifest_with_pins() -> None:
    labels = make_labels(5, pins=True)
    archive, _ = write_zip(labels)

    expected_names = [f"{kind}/{label.code}.{kind}" for label in labels for kind in ("svg", "png")]
    assert archive.namelist() == [*expected_names, "codes.csv"]
    assert archive.testzip() is None
    assert read_manifest(archive) == [
        ["code", "url", "pin"],
        *([label.code, label.url, label.pin or ""] for label in labels),
    ]


def test_zip_manifest_without_pins_has_no_pin_column() -> None:
    labels = make_labels(4)
    archive, _ = write_zip(iter(labels))

    assert read_manifest(archive) == [
        ["code", "url"],
        *([label.code, label.url] for label in labels),
    ]


def test_zip_progress_sums_to_the_label_count() -> None:
    archive, calls = write_zip(make_labels(230))

    assert sum(calls) == 230
    assert all(call > 0 for call in calls)
    assert len(read_manifest(archive)) == 231


def test_zip_of_no_labels_has_only_the_manifest() -> None:
    archive, calls = write_zip([])

    assert archive.namelist() == ["codes.csv"]
    assert read_manifest(archive) == [["code", "url"]]
    assert calls == []


def test_zip_failure_leaves_no_readable_archive() -> None:
    labels = make_labels(3)

    def failing() -> Iterator[Label]:
        yield from labels
        raise RuntimeError("database went away")

    out = io.BytesIO()
    with pytest.raises(RuntimeError, match="went away"):
        write_qr_zip(out, failing())

    assert out.getvalue()  # entries were streamed before the failure ...
    with pytest.raises(zipfile.BadZipFile):  # ... but no central directory makes them an archive
        zipfile.ZipFile(io.BytesIO(out.getvalue()))
