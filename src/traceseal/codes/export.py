"""Streaming outputs of a run's codes for printers: CSV here, QR images and PDF in labels.py.

The CSV writer never formats a string per code. Every line of a run has the same length
(20-digit code, fixed URL prefix, fixed PIN length), so a chunk of lines is one uint8 matrix:
a template row broadcast down, with the code's numerals written into their columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

import numpy as np

from traceseal.codes.labels import Label
from traceseal.codes.sealcode import CODE_DIGITS, SlotCipher

ProgressFn = Callable[[int], None]


def code_url_prefix(public_url: str, gtin: str | None) -> str:
    """Digital Link of a product-bound code is /01/{GTIN}/21/{code}; otherwise /v/{code}."""
    if gtin:
        return f"{public_url}/01/{gtin}/21/"
    return f"{public_url}/v/"


def csv_chunks(
    cipher: SlotCipher,
    start: int,
    count: int,
    url_prefix: str,
    *,
    pin_digits: int | None = None,
    chunk: int = 1 << 16,
) -> Iterator[memoryview | bytes]:
    """``code,url[,pin]`` CSV of sequence numbers ``start .. start+count-1``, in pieces."""
    prefix = url_prefix.encode("ascii")
    yield b"code,url,pin\n" if pin_digits else b"code,url\n"
    url_code_at = CODE_DIGITS + 1 + len(prefix)
    pin_at = url_code_at + CODE_DIGITS + 1
    # code "," prefix code ["," pin] "\n"
    width = url_code_at + CODE_DIGITS + (1 + pin_digits if pin_digits else 0) + 1
    template = bytearray(width)
    template[CODE_DIGITS] = ord(",")
    template[CODE_DIGITS + 1 : url_code_at] = prefix
    if pin_digits:
        template[url_code_at + CODE_DIGITS] = ord(",")
    template[-1] = ord("\n")
    row = np.frombuffer(bytes(template), dtype=np.uint8)
    for first, ascii_codes in cipher.iter_ascii(start, count, chunk):
        size = ascii_codes.shape[0]
        lines = np.empty((size, width), dtype=np.uint8)
        lines[:] = row
        lines[:, :CODE_DIGITS] = ascii_codes
        lines[:, url_code_at : url_code_at + CODE_DIGITS] = ascii_codes
        if pin_digits:
            lines[:, pin_at : pin_at + pin_digits] = cipher.ascii_pins(first, size, pin_digits)
        yield memoryview(lines.data).cast("B")


def write_csv(
    out: BinaryIO,
    cipher: SlotCipher,
    start: int,
    count: int,
    url_prefix: str,
    *,
    pin_digits: int | None = None,
    progress: ProgressFn | None = None,
    chunk: int = 1 << 16,
) -> int:
    """Write the CSV of a range to ``out``; returns the number of codes written."""
    written = 0
    pieces = csv_chunks(cipher, start, count, url_prefix, pin_digits=pin_digits, chunk=chunk)
    out.write(next(pieces))  # the header
    for piece in pieces:
        out.write(piece)
        done = min(chunk, count - written)
        written += done
        if progress:
            progress(done)
    return written


def iter_labels(
    cipher: SlotCipher,
    start: int,
    count: int,
    url_prefix: str,
    *,
    pin_digits: int | None = None,
    chunk: int = 4096,
) -> Iterator[Label]:
    """One :class:`Label` per code, for the per-code image outputs."""
    for first, ascii_codes in cipher.iter_ascii(start, count, chunk):
        codes = ascii_codes.tobytes()
        size = ascii_codes.shape[0]
        pins = cipher.ascii_pins(first, size, pin_digits).tobytes() if pin_digits else None
        for k in range(size):
            code = codes[k * CODE_DIGITS : (k + 1) * CODE_DIGITS].decode("ascii")
            pin = (
                pins[k * pin_digits : (k + 1) * pin_digits].decode()
                if pins and pin_digits
                else None
            )
            yield Label(code=code, url=url_prefix + code, pin=pin)
