"""Brand: the label designer. Pick a run of codes, a label size, QR or Data Matrix, the
texts and the scratch-off box; see one label drawn; download the run's labels as a PDF
(A4 sheets or roll labels) or as ZPL for a thermal printer.

The page reads a run through the same service as the API (codes/service.py ``get_run``):
another brand's run answers 404 like one that does not exist. A download is a POST (it is
audited, ``labels.download``, with the design in the entry); the preview is a GET of a PNG.
docs/consoles.md, "Brand: label designer"; docs/codes.md, "Labels".
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from traceseal.bounds import MAX_ID
from traceseal.codes import jobs, service
from traceseal.codes.deps import ExportsDep, KeyringDep
from traceseal.codes.design import PRESETS, Design, Symbol, missing_characters
from traceseal.codes.export import code_url_prefix, iter_labels
from traceseal.codes.labels import Label
from traceseal.codes.models import CodeRun, ExportState
from traceseal.codes.render import preview_png, write_design_pdf, zpl_labels
from traceseal.codes.sealcode import CODE_DIGITS
from traceseal.config import Settings
from traceseal.console.deps import BrandDep, check_csrf, settings_of
from traceseal.console.menu import brand
from traceseal.console.render import finish, page, see_other
from traceseal.errors import DomainError
from traceseal.people import audit
from traceseal.web.deps import PathId, SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

MENU = (brand("/console/labels", "标签设计", "Labels", order=25),)

#: Runs offered in the chooser, newest first.
RUNS_SHOWN = 200
TEXT_MAX = 60
FORMATS = ("pdf", "zpl")
#: A code that is never issued (its check digit is wrong), for a preview before any run.
SAMPLE_CODE = "1004577589544749192" + "0"


@dataclass
class Choice:
    """The designer's fields as a person sent them, and what is wrong with them."""

    run: int | None = None
    preset: str = "a4-3x8"
    symbol: str = Symbol.QR.value
    product: str = ""
    brand: str = ""
    pin: bool = False
    fmt: str = "pdf"
    dpmm: int = 8
    errors: dict[str, str] = field(default_factory=dict)

    def query(self) -> str:
        params = {
            "run": "" if self.run is None else str(self.run),
            "preset": self.preset,
            "symbol": self.symbol,
            "product": self.product,
            "brand": self.brand,
        }
        if self.pin:
            params["pin"] = "1"
        return urlencode({k: v for k, v in params.items() if v})


def _parse(values: Mapping[str, str]) -> Choice:
    choice = Choice()
    raw_run = values.get("run", "").strip()
    if raw_run:
        if raw_run.isascii() and raw_run.isdigit() and 0 < int(raw_run) <= MAX_ID:
            choice.run = int(raw_run)
        else:
            choice.errors["run"] = "choose a run of codes"
    choice.preset = values.get("preset", choice.preset)
    if choice.preset not in PRESETS:
        choice.errors["preset"] = "choose a label size"
        choice.preset = "a4-3x8"
    choice.symbol = values.get("symbol", choice.symbol)
    if choice.symbol not in {s.value for s in Symbol}:
        choice.errors["symbol"] = "choose QR or Data Matrix"
        choice.symbol = Symbol.QR.value
    for name in ("product", "brand"):
        text = " ".join(values.get(name, "").split())
        setattr(choice, name, text)
        if len(text) > TEXT_MAX:
            choice.errors[name] = f"at most {TEXT_MAX} characters"
        elif missing := missing_characters(text):
            choice.errors[name] = f"the label font cannot print: {missing}"
    choice.pin = values.get("pin", "") in ("1", "on", "true")
    choice.fmt = values.get("format", "pdf")
    if choice.fmt not in FORMATS:
        choice.errors["format"] = "choose PDF or ZPL"
        choice.fmt = "pdf"
    choice.dpmm = 12 if values.get("dpmm") == "12" else 8
    return choice


def _design(choice: Choice) -> Design:
    return Design(
        preset=PRESETS[choice.preset],
        symbol=Symbol(choice.symbol),
        product=choice.product,
        brand=choice.brand,
        pin_box=choice.pin,
    )


def _run(db: SessionDep, viewer: BrandDep, choice: Choice) -> CodeRun | None:
    """The chosen run, the brand's own only: another brand's answers 404 (NotFound)."""
    if choice.run is None:
        return None
    return service.get_run(db, viewer.org, choice.run)


def _defaults(choice: Choice, run: CodeRun | None, values: Mapping[str, str]) -> None:
    """Texts left empty come from the registry: the run's product and its brand. (So a
    label always names its product: an empty field is not a way to print none.)"""
    if run is None or run.product is None:
        return
    if not values.get("product", "").strip():
        choice.product = run.product.name[:TEXT_MAX]
    if not values.get("brand", "").strip():
        choice.brand = (run.product.brand or run.organization.name)[:TEXT_MAX]


def _prefix(run: CodeRun | None, settings: Settings) -> str:
    gtin = run.product.gtin if run is not None and run.product is not None else None
    return code_url_prefix(settings.public_url, gtin)


def _check_pin(choice: Choice, run: CodeRun | None) -> None:
    if choice.pin and run is not None and not run.pin:
        choice.errors["pin"] = "this run was issued without PINs"


@router.get("/console/labels")
def designer(request: Request, viewer: BrandDep, db: SessionDep) -> Response:
    values = dict(request.query_params)
    choice = _parse(values)
    run = _run(db, viewer, choice)
    _defaults(choice, run, values)
    _check_pin(choice, run)
    return _page(request, viewer, db, choice, run)


def _page(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    choice: Choice,
    run: CodeRun | None,
    *,
    status: int = 200,
) -> Response:
    runs = service.list_recent_runs(db, viewer.org, limit=RUNS_SHOWN)
    settings = settings_of(request)
    context = {
        "choice": choice,
        "run": run,
        "runs": runs,
        "presets": list(PRESETS.values()),
        "preview": "/console/labels/preview.png?" + choice.query(),
        "pdf_max": settings.pdf_max_labels,
        "sync_max": settings.export_sync_max_labels,
        "errors": choice.errors,
    }
    return page(request, "labels.html", context, viewer=viewer, status=status)


@router.get("/console/labels/preview.png")
def preview(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    keyring: KeyringDep,
    run_id: Annotated[int | None, Query(alias="run", ge=1, le=MAX_ID)] = None,
) -> Response:
    """One label of the design: the run's first code, or a sample before a run is chosen."""
    values = dict(request.query_params)
    choice = _parse(values)
    choice.errors.pop("run", None)
    choice.run = run_id
    run = _run(db, viewer, choice)
    _defaults(choice, run, values)
    settings = settings_of(request)
    if run is not None:
        cipher = service.run_cipher(db, keyring, run)
        pin_digits = settings.pin_digits if run.pin else None
        label = next(
            iter_labels(cipher, run.first, 1, _prefix(run, settings), pin_digits=pin_digits)
        )
    else:
        label = Label(SAMPLE_CODE, _prefix(None, settings) + SAMPLE_CODE, "0" * settings.pin_digits)
    if choice.errors:
        # A field the page shows as wrong draws as if left empty.
        for name in ("product", "brand"):
            if name in choice.errors:
                setattr(choice, name, "")
    png = preview_png(_design(choice), label, pin_digits=settings.pin_digits)
    return finish(request, Response(png, media_type="image/png"))


@router.post("/console/labels/download")
async def download(
    request: Request, viewer: BrandDep, db: SessionDep, keyring: KeyringDep, runner: ExportsDep
) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    choice = _parse(values)
    if choice.run is None and "run" not in choice.errors:
        choice.errors["run"] = "choose a run of codes"
    run = _run(db, viewer, choice)
    _defaults(choice, run, values)
    _check_pin(choice, run)
    settings = settings_of(request)
    if run is not None and choice.fmt == "pdf" and run.count > settings.pdf_max_labels:
        choice.errors["format"] = (
            f"a PDF holds at most {settings.pdf_max_labels:,} labels; download ZPL"
        )
    if run is not None and run.count > settings.export_max_codes:
        choice.errors["format"] = (
            f"a download holds at most {settings.export_max_codes:,} labels; issue smaller runs"
        )
    if run is not None and not choice.errors:
        try:
            service.check_label_url(settings)
        except DomainError as exc:
            choice.errors["run"] = exc.detail
    if choice.errors or run is None:
        return _page(request, viewer, db, choice, run, status=422)

    design = _design(choice)
    job = None
    if choice.fmt == "pdf" and run.count > settings.export_sync_max_labels:
        # Over a second or so of drawing: a job in a worker process (codes/runner.py), with
        # its progress on a page of its own, rather than a request held for many seconds.
        try:
            job = jobs.create_job(db, viewer.org, run, "pdf", design=design.to_dict())
        except DomainError as exc:
            choice.errors["format"] = exc.detail
            return _page(request, viewer, db, choice, run, status=422)
    audit.record(
        db,
        viewer.actor,
        "labels.download",
        organization_id=viewer.org.id,
        target=f"code run {run.id}",
        details={
            "format": choice.fmt,
            "preset": choice.preset,
            "symbol": choice.symbol,
            "product": choice.product,
            "brand": choice.brand,
            "pin_box": choice.pin,
            "labels": run.count,
            **({"job": job.id} if job is not None else {}),
        },
    )
    if job is not None:
        answer = see_other(request, f"/console/labels/jobs/{job.id}")
        # After the response, so after the commit: the runner finds the job when it looks.
        answer.background = BackgroundTask(runner.wake)
        return answer
    cipher = service.run_cipher(db, keyring, run)
    pin_digits = settings.pin_digits if run.pin else None
    items = iter_labels(cipher, run.first, run.count, _prefix(run, settings), pin_digits=pin_digits)
    name = f"run-{run.id}-{choice.preset}-{choice.symbol}"
    if choice.fmt == "zpl":
        chunks = _zpl_bytes(
            zpl_labels(items, design, dpmm=choice.dpmm, pin_digits=settings.pin_digits)
        )
        response: Response = StreamingResponse(
            chunks,
            media_type="application/zpl; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.zpl"'},
        )
        return finish(request, response)

    def render() -> bytes:
        buffer = io.BytesIO()
        write_design_pdf(
            buffer,
            items,
            design,
            title=f"{choice.product or 'Labels'} · run {run.id}",
            pin_digits=settings.pin_digits,
            max_labels=settings.pdf_max_labels,
        )
        return buffer.getvalue()

    # 10,000 labels take a few seconds of one core (docs/benchmarks.md): off the event loop.
    pdf = await run_in_threadpool(render)
    return finish(
        request,
        Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
        ),
    )


@router.get("/console/labels/jobs/{label_job_id}")
def job_page(request: Request, viewer: BrandDep, db: SessionDep, label_job_id: PathId) -> Response:
    """A PDF being drawn: its progress (the page reloads itself), then its download."""
    job = jobs.get_job(db, viewer.org, label_job_id)
    context = {
        "job": job,
        "finished": job.state in (ExportState.DONE.value, ExportState.FAILED.value),
        "percent": (job.done * 100 // job.total) if job.total else 100,
        "design": Design.from_dict(job.design) if job.design else None,
        "back": f"/console/labels?run={job.run_id}",
    }
    return page(request, "labels_job.html", context, viewer=viewer)


@router.get("/console/labels/jobs/{label_job_id}/file")
def job_file(
    request: Request, viewer: BrandDep, db: SessionDep, runner: ExportsDep, label_job_id: PathId
) -> Response:
    job = jobs.get_job(db, viewer.org, label_job_id)
    if job.state != ExportState.DONE.value:
        return see_other(request, f"/console/labels/jobs/{job.id}")
    try:
        handle = jobs.file_path(runner.directory, job.id, job.format).open("rb")
    except FileNotFoundError:
        return see_other(request, f"/console/labels/jobs/{job.id}")
    size = os.fstat(handle.fileno()).st_size
    name = f"run-{job.run_id}-labels.pdf"
    if job.design:
        name = f"run-{job.run_id}-{job.design['preset']}-{job.design['symbol']}.pdf"

    def chunks() -> Iterator[bytes]:
        with handle:
            while block := handle.read(1 << 20):
                yield block

    response = StreamingResponse(
        chunks(),
        media_type="application/pdf",
        headers={
            "Content-Length": str(size),
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )
    return finish(request, response)


def _zpl_bytes(formats: Iterator[str], per_chunk: int = 200) -> Iterator[bytes]:
    """Streamed in chunks of a few hundred labels: one write per label would cost more
    than the label."""
    batch: list[str] = []
    for text in formats:
        batch.append(text)
        if len(batch) == per_chunk:
            yield "".join(batch).encode()
            batch.clear()
    if batch:
        yield "".join(batch).encode()


assert len(SAMPLE_CODE) == CODE_DIGITS
