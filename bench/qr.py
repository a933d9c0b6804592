"""QR throughput for seal-code printer outputs: zxing-cpp against segno, and the real ZIP writer.

    .venv/bin/python bench/qr.py [--seconds 2] [--zip-labels 2000]

Both libraries encode the same realistic GS1 Digital Link URLs at error correction level M with
a 4-module quiet zone; PNGs are 1-bit at 4 px per module. Each figure includes encoding, as the
ZIP writer encodes every label afresh. Printed: SVG/s and PNG/s per library with their ratio,
the symbol version each library picks, labels/s of a ZIP with the same layout per library, and
labels/s of ``write_qr_zip`` itself against the bare zxing-cpp render rate (its overhead).

segno is measured only when installed (it is not a dependency). Exits non-zero when a sample of
outputs does not scan back to its URL or a 100,000-label ZIP would take longer than an hour.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import zxingcpp
from PIL import Image

# The private helpers are the exact code paths write_qr_zip runs per label, so the per-kind
# figures explain its rate.
from traceseal.codes.labels import Label, _encode, _png, _svg, write_qr_zip

Render = Callable[[str], bytes]
HOST = "https://verify.example.org"
GTINS = ("09506000134352", "06901234567892", "06975012345670")
RUN_LABELS = 100_000
HOUR = 3600.0


def digital_link_urls(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [f"{HOST}/01/{rng.choice(GTINS)}/21/{rng.randrange(10**20):020d}" for _ in range(count)]


def rate(render: Render, urls: Sequence[str], seconds: float) -> float:
    """Items per second of ``render`` over ``urls``, stopping after about ``seconds``."""
    render(urls[0])  # warm-up: first calls pay for imports and caches
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    for url in urls:
        render(url)
        done += 1
        if done % 50 == 0 and time.perf_counter() > deadline:
            break
    return done / (time.perf_counter() - start)


def zxing_renderers() -> tuple[Render, Render, Callable[[str], str]]:
    def version(url: str) -> str:
        side = int(_encode(url).to_image(scale=1, add_quiet_zones=False).shape[0])
        return f"{(side - 17) // 4}-{_encode(url).ec_level}"

    return (lambda url: _svg(_encode(url))), (lambda url: _png(_encode(url))), version


def segno_renderers() -> tuple[Render, Render, Callable[[str], str]] | None:
    try:
        # Imported here: segno is optional and measured only when installed.
        import segno
    except ImportError:
        return None

    def make(url: str) -> segno.QRCode:
        # boost_error=False: segno would otherwise raise the level when it fits for free,
        # which makes a different (larger) symbol than the level-M one being compared.
        return segno.make_qr(url, error="m", boost_error=False)

    def svg(url: str) -> bytes:
        buffer = io.BytesIO()
        make(url).save(buffer, kind="svg", border=4)
        return buffer.getvalue()

    def png(url: str) -> bytes:
        buffer = io.BytesIO()
        make(url).save(buffer, kind="png", border=4, scale=4)
        return buffer.getvalue()

    return svg, png, lambda url: make(url).designator


def scans_back(png: bytes, url: str) -> bool:
    with Image.open(io.BytesIO(png)) as image:
        found = zxingcpp.read_barcodes(image.convert("L"))
    return [barcode.text for barcode in found] == [url] and found[0].ec_level == "M"


def same_layout_zip_rate(svg: Render, png: Render, urls: Sequence[str]) -> float:
    """Labels/s of a ZIP laid out like write_qr_zip's (deflated SVG, stored PNG, manifest).

    The library is rendered twice per label here, as neither segno nor this loop shares the
    encoded symbol; compare libraries with this figure, not with write_qr_zip's.
    """
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, zipfile.ZipFile(out, "w") as archive:
        manifest = io.StringIO()
        rows = csv.writer(manifest)
        for index, url in enumerate(urls):
            code = f"{index:020d}"
            archive.writestr(f"svg/{code}.svg", svg(url), zipfile.ZIP_DEFLATED)
            archive.writestr(f"png/{code}.png", png(url), zipfile.ZIP_STORED)
            rows.writerow((code, url))
        archive.writestr("codes.csv", manifest.getvalue(), zipfile.ZIP_DEFLATED)
    return len(urls) / (time.perf_counter() - start)


def write_qr_zip_rate(urls: Sequence[str]) -> tuple[float, int]:
    labels = (Label(code=url.rsplit("/", 1)[1], url=url) for url in urls)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.zip"
        start = time.perf_counter()
        with path.open("wb") as out:
            count = write_qr_zip(out, labels)
        elapsed = time.perf_counter() - start
        size = path.stat().st_size
        assert count == len(urls)
    return count / elapsed, size


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per SVG/PNG figure")
    parser.add_argument("--zip-labels", type=int, default=2000, help="labels per ZIP figure")
    args = parser.parse_args(argv)

    urls = digital_link_urls(max(args.zip_labels, 20_000))
    libraries = {"zxing-cpp": zxing_renderers(), "segno": segno_renderers()}
    figures: dict[str, tuple[float, float, float]] = {}
    failures: list[str] = []

    print(f"{'library':<10} {'symbol':>7} {'SVG/s':>8} {'PNG/s':>8} {'ZIP labels/s':>13}")
    for name, renderers in libraries.items():
        if renderers is None:
            print(f"{name:<10} skipped: not installed (pip install segno to compare)")
            continue
        svg, png, version = renderers
        sample = urls[:20]
        failures += [
            f"{name}: {url} did not scan back" for url in sample if not scans_back(png(url), url)
        ]
        svg_rate = rate(svg, urls, args.seconds)
        png_rate = rate(png, urls, args.seconds)
        zip_rate = same_layout_zip_rate(svg, png, urls[: args.zip_labels])
        figures[name] = (svg_rate, png_rate, zip_rate)
        symbol = version(urls[0])
        print(f"{name:<10} {symbol:>7} {svg_rate:>8,.0f} {png_rate:>8,.0f} {zip_rate:>13,.0f}")

    if "segno" in figures:
        zx, sg = figures["zxing-cpp"], figures["segno"]
        print(
            f"zxing-cpp / segno: SVG x{zx[0] / sg[0]:.1f}, PNG x{zx[1] / sg[1]:.1f}, "
            f"ZIP x{zx[2] / sg[2]:.1f}"
        )

    zip_rate, size = write_qr_zip_rate(urls[: args.zip_labels])
    svg_rate, png_rate, _ = figures["zxing-cpp"]
    # Encoding twice (once per kind) is the ceiling the writer beats by sharing one symbol.
    bare = 1 / (1 / svg_rate + 1 / png_rate)
    projected = RUN_LABELS / zip_rate
    print(
        f"write_qr_zip: {zip_rate:,.0f} labels/s over {args.zip_labels:,} labels "
        f"({size / args.zip_labels:,.0f} B/label), x{zip_rate / bare:.2f} of bare "
        f"SVG+PNG rendering; {RUN_LABELS:,} labels in about {projected:,.0f} s"
    )
    if projected > HOUR:
        failures.append(f"a {RUN_LABELS:,}-label ZIP would take {projected:,.0f} s (> 1 hour)")

    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
