"""Printer outputs for seal-code runs: a ZIP of per-code QR images (the label sheets, PDF and
ZPL, are drawn from a design: codes/design.py and codes/render.py).

What goes into each QR is the label's GS1 Digital Link URL, encoded by zxing-cpp at error
correction level M (15 % of the symbol may be lost: enough for scuffed labels without the size
cost of Q or H). zxing-cpp was chosen after ``bench/qr.py`` measured it against segno; the
figures and the reasoning are in ``docs/architecture.md``.

The writer takes any iterable of :class:`Label` and reports progress in increments:

>>> import io
>>> label = Label(code="00712345678901234567",
...               url="https://verify.example.org/01/09506000134352/21/00712345678901234567")
>>> write_qr_zip(io.BytesIO(), [label])
1

Callers must give each code once per output (the ZIP names files after the codes) and should
write to a temporary file that is moved into place only when the writer returns: on error the
ZIP is left without its central directory, but whatever bytes already reached ``out`` stay
there.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Final, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt
import zxingcpp
from PIL import Image

__all__ = ["Label", "ProgressFn", "qr_matrix", "write_qr_zip"]

ProgressFn: TypeAlias = Callable[[int], None]
_T = TypeVar("_T")

_CODE_RE: Final = re.compile(r"[0-9]{20}")
_PIN_RE: Final = re.compile(r"[0-9]{1,16}")

_EC_LEVEL: Final = "M"
# Nominal print size of one module. 0.5 mm scans comfortably with phone cameras, and at
# 4 px per module it is exactly 8 dots/mm (203.2 dpi), the resolution of the most common
# thermal label printers, so a PNG printed at its stated dpi needs no resampling.
_MODULE_MM: Final = 0.5
_PNG_PX_PER_MODULE: Final = 4
_PNG_DPI: Final = _PNG_PX_PER_MODULE * 25.4 / _MODULE_MM
# Progress is reported in batches: a per-label callback into a progress bar would cost more
# than encoding the label.
_PROGRESS_EVERY: Final = 100
# Only a few MB of manifest are kept in memory; a large run's manifest spills to disk.
_MANIFEST_SPOOL_BYTES: Final = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Label:
    """One printed label: the seal code, the URL its QR encodes, and an optional scratch-off PIN.

    Validated on construction because ``code`` becomes a file name inside the ZIP.
    """

    code: str
    url: str
    pin: str | None = None

    def __post_init__(self) -> None:
        if not _CODE_RE.fullmatch(self.code):
            raise ValueError(f"label code must be 20 ASCII digits, got {self.code!r}")
        if not self.url or not self.url.isprintable() or any(c.isspace() for c in self.url):
            raise ValueError(f"label URL must be non-empty without spaces, got {self.url!r}")
        if self.pin is not None and not _PIN_RE.fullmatch(self.pin):
            raise ValueError(f"label PIN must be 1 to 16 ASCII digits, got {self.pin!r}")


def _encode(text: str) -> zxingcpp.Barcode:
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=_EC_LEVEL)
    # zxing-cpp silently ignores keyword options it does not know, so a renamed option in a
    # future release would quietly drop to its default level L. Check rather than trust.
    if barcode.ec_level != _EC_LEVEL:
        raise RuntimeError(f"zxing-cpp encoded level {barcode.ec_level!r}, not {_EC_LEVEL!r}")
    return barcode


def qr_matrix(text: str) -> npt.NDArray[np.bool_]:
    """The QR module matrix of ``text`` at error correction level M, without quiet zone.

    ``True`` is a dark module; row 0 is the top. The caller must add a 4-module quiet zone
    when drawing it.

    >>> qr_matrix("https://verify.example.org/01/09506000134352/21/00712345678901234567").shape
    (33, 33)
    """
    pixels = np.asarray(_encode(text).to_image(scale=1, add_quiet_zones=False))
    # zxing-cpp draws dark modules as 0 and light ones as 255.
    return pixels < _GREY


_GREY: Final = 128
_SVG_SIZE_RE: Final = re.compile(r'<svg width="(\d+)" height="(\d+)"')


def _svg(barcode: zxingcpp.Barcode) -> bytes:
    svg = barcode.to_svg(scale=1, add_quiet_zones=True)

    # zxing-cpp sizes the SVG in pixels and gives no viewBox, so design tools import it as a
    # 41-pixel speck. A viewBox in module units plus a size in millimetres makes it scalable
    # and gives it the nominal print size. If a future release changes the root element the
    # SVG is still valid, only unscaled; the unit test notices.
    def physical(match: re.Match[str]) -> str:
        width, height = int(match[1]), int(match[2])
        return (
            f'<svg width="{width * _MODULE_MM:g}mm" height="{height * _MODULE_MM:g}mm" '
            f'viewBox="0 0 {width} {height}"'
        )

    return _SVG_SIZE_RE.sub(physical, svg, count=1).encode()


def _png(barcode: zxingcpp.Barcode) -> bytes:
    pixels = np.asarray(barcode.to_image(scale=_PNG_PX_PER_MODULE, add_quiet_zones=True))
    height, width = pixels.shape
    # A 1-bit image keeps each PNG at a few hundred bytes. Packing the bits with numpy is
    # cheaper than Pillow's L-to-1 conversion; in mode "1" a set bit is white.
    bits = np.packbits(pixels >= _GREY, axis=1)
    image = Image.frombytes("1", (width, height), bits.tobytes())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(_PNG_DPI, _PNG_DPI))
    return buffer.getvalue()


class _Cutoff:
    """A pass-through writer that can be cut, so a failed ZIP never gets its central directory.

    ``zipfile.ZipFile`` writes the central directory whenever it is closed, including from
    ``__exit__`` and ``__del__`` after an exception. A half-written run would then be an archive
    every unzip tool accepts as complete; cutting the stream first leaves it unreadable.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._live = True

    def cut(self) -> None:
        self._live = False

    def write(self, data: bytes, /) -> int:
        return self._raw.write(data) if self._live else len(data)

    def tell(self) -> int:
        return self._raw.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence) if self._live else self._raw.tell()

    def flush(self) -> None:
        if self._live:
            self._raw.flush()

    def close(self) -> None:
        # ``out`` belongs to the caller, who closes it.
        pass


def _batched_progress(progress: ProgressFn | None, items: Iterator[_T]) -> Iterator[_T]:
    """Pass ``items`` through, calling ``progress`` every few items and once at the end.

    An item counts as written once the consumer asks for the next one.
    """
    pending = 0
    for item in items:
        yield item
        pending += 1
        if progress is not None and pending == _PROGRESS_EVERY:
            progress(pending)
            pending = 0
    if progress is not None and pending:
        progress(pending)


def write_qr_zip(
    out: IO[bytes], labels: Iterable[Label], *, progress: ProgressFn | None = None
) -> int:
    """Write a ZIP with ``svg/{code}.svg`` and ``png/{code}.png`` per label, then ``codes.csv``.

    The manifest's header is ``code,url`` plus ``pin`` when any label has a PIN. Labels and
    images are never held: images go straight into the archive and manifest rows into a
    spooled temporary file (at most 4 MiB in memory). What does grow is zipfile's record of
    each entry for the central directory the ZIP format puts at the end, about 0.8 KB per
    label (some 80 MB for 100,000 labels); split much larger runs into several archives.
    Returns the number of labels written.
    """
    # One timestamp for every entry: equal inputs started in the same second give equal bytes.
    stamp = time.localtime()[:6]
    guard = _Cutoff(out)
    # Not a `with` block: on error the stream must be cut before the archive is closed.
    archive = zipfile.ZipFile(guard, "w", allowZip64=True)
    count = 0
    try:
        with tempfile.SpooledTemporaryFile(
            _MANIFEST_SPOOL_BYTES, mode="w+", encoding="utf-8", newline=""
        ) as rows_file:
            rows = csv.writer(rows_file)
            any_pin = False
            for label in _batched_progress(progress, iter(labels)):
                barcode = _encode(label.url)
                # SVG text deflates to a third; PNG is already deflated, so it is stored.
                _add(archive, f"svg/{label.code}.svg", _svg(barcode), zipfile.ZIP_DEFLATED, stamp)
                _add(archive, f"png/{label.code}.png", _png(barcode), zipfile.ZIP_STORED, stamp)
                rows.writerow((label.code, label.url, label.pin or ""))
                any_pin = any_pin or label.pin is not None
                count += 1
            rows_file.seek(0)
            _write_manifest(archive, rows_file, with_pin=any_pin, stamp=stamp)
    except BaseException:
        guard.cut()
        # Nothing more reaches ``out``, so the directory close() would build is wasted work:
        # about 3 s for a million labels, which would delay a worker told to stop.
        archive.filelist.clear()
        raise
    finally:
        archive.close()
    return count


_Stamp: TypeAlias = tuple[int, int, int, int, int, int]


def _entry(name: str, compress_type: int, stamp: _Stamp) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = compress_type
    # ZipInfo leaves Unix permissions at 0; unzip would then extract unreadable files.
    info.external_attr = 0o644 << 16
    return info


def _add(
    archive: zipfile.ZipFile, name: str, data: bytes, compress_type: int, stamp: _Stamp
) -> None:
    archive.writestr(_entry(name, compress_type, stamp), data)


def _write_manifest(
    archive: zipfile.ZipFile, rows_file: IO[str], *, with_pin: bool, stamp: _Stamp
) -> None:
    entry = _entry("codes.csv", zipfile.ZIP_DEFLATED, stamp)
    with (
        archive.open(entry, "w") as raw,
        io.TextIOWrapper(raw, encoding="utf-8", newline="") as text,
    ):
        writer = csv.writer(text)
        writer.writerow(("code", "url", "pin") if with_pin else ("code", "url"))
        for row in csv.reader(rows_file):
            writer.writerow(row if with_pin else row[:2])
