"""codes issue / activate / void / export, keys export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from traceseal.cli.common import (
    JsonOption,
    emit,
    fail,
    keyring,
    operator,
    progress,
    read_session,
    session,
    settings,
)
from traceseal.codes import service
from traceseal.codes.design import PRESETS, Design, Symbol, missing_characters, standard
from traceseal.codes.export import code_url_prefix, iter_labels, write_csv
from traceseal.codes.models import CodeRun
from traceseal.codes.sealcode import SlotCipher
from traceseal.codes.views import run_read
from traceseal.errors import Conflict
from traceseal.orgs.service import find_organization
from traceseal.quality.programmes import get_programme
from traceseal.registry.service import get_batch, get_product

app = typer.Typer(help="Seal codes: issue, activate, void, export.", no_args_is_help=True)
keys = typer.Typer(help="Organisations' API keys, and slot keys for escrow.", no_args_is_help=True)
FORMATS = ("csv", "zip", "pdf")


def _write(out: Path, fmt: str, run: CodeRun, cipher: SlotCipher) -> None:
    """Write the run's codes to ``out``'s ``.partial`` file; the caller publishes it
    (:func:`_publish`) once the database has committed what the file shows."""
    s = settings()
    prefix = code_url_prefix(s.public_url, run.product.gtin if run.product else None)
    pin_digits = s.pin_digits if run.pin else None
    if fmt == "pdf" and run.count > s.pdf_max_labels:
        fail(f"PDF label sheets are for runs of up to {s.pdf_max_labels:,} codes; use csv or zip")
    # Imported here: the label and PDF libraries (QR, fpdf, fontTools) cost every other
    # command 0.3 s or more at start.
    from traceseal.codes import labels, render

    partial = out.with_name(out.name + ".partial")
    with progress() as bar, partial.open("wb") as handle:
        task = bar.add_task(f"run {run.id} -> {out.name}", total=run.count)

        def step(n: int) -> None:
            bar.advance(task, n)

        if fmt == "csv":
            write_csv(
                handle, cipher, run.first, run.count, prefix, pin_digits=pin_digits, progress=step
            )
        else:
            items = iter_labels(cipher, run.first, run.count, prefix, pin_digits=pin_digits)
            if fmt == "zip":
                labels.write_qr_zip(handle, items, progress=step)
            else:
                product = run.product
                names = (product.name, product.brand) if product is not None else ("", "")
                render.write_design_pdf(
                    handle,
                    items,
                    standard(*names, pins=bool(run.pin)),
                    title=f"Run {run.id}",
                    pin_digits=s.pin_digits,
                    progress=step,
                    max_labels=s.pdf_max_labels,
                )


def _publish(out: Path) -> None:
    out.with_name(out.name + ".partial").replace(out)


def _check_out(out: Path, fmt: str) -> None:
    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}")
    if not out.parent.exists():
        fail(f"directory {out.parent} does not exist")


AllowLocalUrl = typer.Option(
    False,
    "--allow-local-url",
    help="Write codes whose URLs use a loopback PUBLIC_URL (tests and demos only).",
)


def _check_url(allow_local_url: bool) -> None:
    try:
        service.check_label_url(settings(), allow_local=allow_local_url)
    except Conflict as exc:
        fail(exc.detail)


@app.command("issue")
def issue(
    org: str = typer.Option(..., help="Enterprise: id or name."),
    count: int = typer.Option(..., help="Number of codes."),
    out: Path = typer.Option(..., help="Output file."),
    product: str | None = typer.Option(
        None, help="GTIN to bind the codes to (else /v/{code} URLs)."
    ),
    fmt: str = typer.Option("csv", "--format", help="csv, zip (QR SVG+PNG) or pdf (label sheet)."),
    pin: bool = typer.Option(False, "--pin", help="Add a scratch-off PIN column."),
    programme: int | None = typer.Option(
        None, help="Label programme id (the product must be eligible)."
    ),
    allow_local_url: bool = AllowLocalUrl,
    as_json: bool = JsonOption,
) -> None:
    """Issue a run of codes and write them for the printer."""
    _check_out(out, fmt)
    _check_url(allow_local_url)
    ring = keyring()
    # The run is committed only after its file is complete: an interrupted write leaves
    # neither a run nor a half file (the .partial file is removed).
    try:
        with session() as db:
            owner = find_organization(db, org)
            item = get_product(db, operator(db), product) if product else None
            if item is not None and item.organization_id != owner.id:
                fail(f"GTIN {item.gtin} does not belong to {owner.name!r}")
            label = None if programme is None else get_programme(db, programme)
            run = service.issue_run(
                db, ring, settings(), owner, count, product=item, pin=pin, programme=label
            )
            _write(out, fmt, run, service.run_cipher(db, ring, run))
            data: dict[str, Any] = run_read(run)
        # Only now, the run committed: a crash before this leaves no file of unissued codes.
        _publish(out)
    finally:
        out.with_name(out.name + ".partial").unlink(missing_ok=True)
    data["out"] = str(out)
    emit(as_json, data, f"run {data['run']}: {count:,} codes in slot {data['slot']} -> {out}")


@app.command("export")
def export(
    run_id: int = typer.Option(..., "--run", help="Run id."),
    out: Path = typer.Option(..., help="Output file."),
    fmt: str = typer.Option("csv", "--format", help="csv, zip or pdf."),
    allow_local_url: bool = AllowLocalUrl,
) -> None:
    """Write an existing run's codes again (reprint)."""
    _check_out(out, fmt)
    _check_url(allow_local_url)
    ring = keyring()
    try:
        # Read-only: a reprint of a million labels takes a quarter of an hour, and must not
        # hold SQLite's write lock against a running server all that time.
        with read_session() as db:
            run = service.get_run(db, operator(db), run_id)
            _write(out, fmt, run, service.run_cipher(db, ring, run))
        _publish(out)
    finally:
        out.with_name(out.name + ".partial").unlink(missing_ok=True)


@app.command("labels")
def design_labels(
    run_id: int = typer.Option(..., "--run", help="Run id."),
    out: Path = typer.Option(..., help="Output file."),
    preset: str = typer.Option("a4-3x8", help=f"Label size: {', '.join(PRESETS)}."),
    symbol: str = typer.Option("qr", help="qr or datamatrix."),
    fmt: str = typer.Option("pdf", "--format", help="pdf (sheets or roll labels) or zpl."),
    product: str | None = typer.Option(None, help="Product name (default: the registry's)."),
    brand: str | None = typer.Option(None, help="Brand name (default: the registry's)."),
    pin_box: bool = typer.Option(False, "--pin-box", help="Print the scratch-off box."),
    dpmm: int = typer.Option(8, help="ZPL printer dots per mm: 8 (203 dpi) or 12 (300 dpi)."),
    allow_local_url: bool = AllowLocalUrl,
) -> None:
    """Write a run's labels as designed in the console's label designer (docs/codes.md)."""
    if preset not in PRESETS or symbol not in {s.value for s in Symbol}:
        fail(f"--preset must be one of {', '.join(PRESETS)}; --symbol qr or datamatrix")
    if fmt not in ("pdf", "zpl") or dpmm not in (8, 12):
        fail("--format must be pdf or zpl, --dpmm 8 or 12")
    if not out.parent.exists():
        fail(f"directory {out.parent} does not exist")
    _check_url(allow_local_url)
    from traceseal.codes import render  # as in _write: only the commands that draw load it

    s = settings()
    ring = keyring()
    partial = out.with_name(out.name + ".partial")
    try:
        with read_session() as db:
            run = service.get_run(db, operator(db), run_id)
            if pin_box and not run.pin:
                fail(f"run {run.id} was issued without PINs: leave out --pin-box")
            if fmt == "pdf" and run.count > s.pdf_max_labels:
                fail(f"a PDF holds at most {s.pdf_max_labels:,} labels; use --format zpl")
            item = run.product
            texts = [product, brand]
            for text in texts:
                if text and (missing := missing_characters(text)):
                    fail(f"the label font cannot print: {missing}")
            design = Design(
                PRESETS[preset],
                Symbol(symbol),
                product if product is not None else (item.name if item else ""),
                brand if brand is not None else (item.brand if item else ""),
                pin_box,
            )
            cipher = service.run_cipher(db, ring, run)
            prefix = code_url_prefix(s.public_url, item.gtin if item else None)
            pins = s.pin_digits if run.pin else None
            items = iter_labels(cipher, run.first, run.count, prefix, pin_digits=pins)
            with progress() as bar, partial.open("wb") as handle:
                task = bar.add_task(f"run {run.id} -> {out.name}", total=run.count)
                if fmt == "pdf":
                    render.write_design_pdf(
                        handle,
                        items,
                        design,
                        title=f"Run {run.id}",
                        pin_digits=s.pin_digits,
                        progress=lambda n: bar.advance(task, n),
                        max_labels=s.pdf_max_labels,
                    )
                else:
                    for index, text in enumerate(
                        render.zpl_labels(items, design, dpmm=dpmm, pin_digits=s.pin_digits)
                    ):
                        handle.write(text.encode())
                        if index % 100 == 99:
                            bar.advance(task, 100)
        _publish(out)
    finally:
        partial.unlink(missing_ok=True)


@app.command("activate")
def activate(
    run_id: int = typer.Option(..., "--run", help="Run id."),
    batch: str = typer.Option(..., help="Lot the codes are applied to."),
    product: str | None = typer.Option(None, help="GTIN of the lot (needed for unbound runs)."),
    range_: str | None = typer.Option(
        None, "--range", help="A-B positions (1-based) or FIRSTCODE-LASTCODE."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Bind codes to a batch: from now on they verify as genuine."""
    ring = keyring()
    with session() as db:
        run = service.get_run(db, operator(db), run_id)
        gtin = product or (run.product.gtin if run.product else None)
        if gtin is None:
            fail(f"run {run.id} is not bound to a product: give --product GTIN")
        item = get_product(db, operator(db), gtin)
        start, stop = service.parse_range(db, ring, run, range_)
        service.activate(db, run, start, stop, get_batch(db, item, batch))
        data = run_read(run)
    emit(as_json, data, f"activated {stop - start:,} codes of run {run_id} for lot {batch}")


@app.command("void")
def void(
    run_id: int = typer.Option(..., "--run", help="Run id."),
    reason: str = typer.Option(..., help="Why (lost roll, theft, misprint...)."),
    range_: str | None = typer.Option(
        None, "--range", help="A-B positions (1-based) or FIRSTCODE-LASTCODE."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Void codes for good."""
    ring = keyring()
    with session() as db:
        run = service.get_run(db, operator(db), run_id)
        start, stop = service.parse_range(db, ring, run, range_)
        service.void(db, run, start, stop, reason)
        data = run_read(run)
    emit(as_json, data, f"voided {stop - start:,} codes of run {run_id}")


@keys.command("export")
def export_key(slot: int = typer.Option(..., help="Slot number, e.g. 100.")) -> None:
    """Print a slot key as JSON for key escrow (operator authority)."""
    ring = keyring()
    with session() as db:
        data = service.export_slot_key(db, ring, operator(db), slot)
    emit(True, data, "")
