"""The label designer at the size of a print run: a PDF of 10,000 labels with Chinese text.

    .venv/bin/python bench/labels.py [--labels 10000] [--preset a4-3x8] [--symbol qr] [--pin]

Real seal codes (a slot cipher under a random key) and their GS1 Digital Link URLs, product
and brand names in Chinese. Printed: seconds and pages of the PDF, its size, the ZPL's
seconds for the same labels, and how many of the PDF's symbols decode (every one is read
back with zxing-cpp from the image embedded in the PDF, upscaled 4x without smoothing).

Exits non-zero when the PDF takes 30 s or more, or any symbol fails to decode to its URL.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import time

import zxingcpp
from PIL import Image
from pypdf import PdfReader

from traceseal.codes.design import PRESETS, Design, Symbol
from traceseal.codes.export import code_url_prefix, iter_labels
from traceseal.codes.render import write_design_pdf, zpl_labels
from traceseal.codes.sealcode import SlotCipher

GOAL_SECONDS = 30.0
PREFIX = code_url_prefix("https://verify.example.org", "06901234567892")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument("--preset", default="a4-3x8", choices=sorted(PRESETS))
    parser.add_argument("--symbol", default="qr", choices=[s.value for s in Symbol])
    parser.add_argument("--pin", action="store_true", help="with PINs and the scratch-off box")
    args = parser.parse_args(argv)

    cipher = SlotCipher(123, os.urandom(32))
    pin_digits = 8 if args.pin else None
    labels = list(iter_labels(cipher, 0, args.labels, PREFIX, pin_digits=pin_digits))
    design = Design(
        PRESETS[args.preset], Symbol(args.symbol), "云南普洱茶 357克 礼盒装", "七彩云南", args.pin
    )
    print(f"{platform.node()} {os.cpu_count()} CPUs, Python {platform.python_version()}")

    buffer = io.BytesIO()
    started = time.perf_counter()
    write_design_pdf(buffer, labels, design, title="bench", max_labels=args.labels)
    pdf_seconds = time.perf_counter() - started
    reader = PdfReader(io.BytesIO(buffer.getvalue()))
    pages = len(reader.pages)
    print(
        f"PDF {args.preset} {args.symbol}: {args.labels:,} labels in {pdf_seconds:.1f} s, "
        f"{pages:,} pages, {len(buffer.getvalue()) / 1e6:.1f} MB"
    )

    started = time.perf_counter()
    zpl_bytes = sum(len(f.encode()) for f in zpl_labels(labels, design))
    print(f"ZPL: {time.perf_counter() - started:.1f} s, {zpl_bytes / 1e6:.1f} MB")

    started = time.perf_counter()
    decoded = 0
    index = 0
    for page in reader.pages:
        for found in page.images:
            image = found.image
            assert image is not None
            image = image.resize((image.width * 4, image.height * 4), Image.Resampling.NEAREST)
            results = zxingcpp.read_barcodes(image)
            if len(results) == 1 and results[0].text == labels[index].url:
                decoded += 1
            index += 1
    share = decoded / args.labels * 100
    print(
        f"decoded {decoded:,} of {args.labels:,} symbols ({share:.2f} %) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    ok = pdf_seconds < GOAL_SECONDS and decoded == args.labels == index
    print("OK" if ok else f"FAILED: goal < {GOAL_SECONDS:.0f} s and every symbol decoding")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
