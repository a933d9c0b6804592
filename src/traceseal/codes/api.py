from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status
from fastapi import Path as InPath
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from traceseal.codes import jobs, labels, service
from traceseal.codes.deps import ExportsDep, KeyringDep
from traceseal.codes.design import standard
from traceseal.codes.export import code_url_prefix, csv_chunks, iter_labels
from traceseal.codes.models import CodeRun, ExportState
from traceseal.codes.render import write_design_pdf
from traceseal.codes.schemas import (
    ExportCreate,
    ExportRead,
    RangeActivate,
    RangeVoid,
    RunCreate,
    RunRead,
    SlotKey,
)
from traceseal.codes.views import export_path, export_read, run_read
from traceseal.config import Settings
from traceseal.errors import Conflict, InvalidInput
from traceseal.orgs.deps import Caller, ReadCaller, require
from traceseal.orgs.models import Organization, Role
from traceseal.quality.programmes import get_programme
from traceseal.registry.api import owner_for
from traceseal.registry.service import get_batch, get_product
from traceseal.web.deps import AfterId, PathId, ReadSessionDep, SessionDep, SettingsDep
from traceseal.web.negotiation import language
from traceseal.web.problems import problem

router = APIRouter(prefix="/api/v1", tags=["codes"])

_TOO_LARGE = {
    "zh-CN": (
        "导出过大",
        "发码批次 {run} 共有 {count:,} 个防伪码，超过单次导出的上限 {limit:,} 个"
        "（TRACESEAL_EXPORT_MAX_CODES）。请分成较小的批次发码，或请平台运营方用 "
        "traceseal codes export 命令导出。",
    ),
    "en": ("Export too large", ""),
}


def export_too_large(request: Request, exc: Exception) -> Response:
    """413 for a run over EXPORT_MAX_CODES, worded in the caller's language (zh-CN or en, by
    ``?lang=`` or Accept-Language, as verification answers), before any work was done."""
    assert isinstance(exc, jobs.ExportTooLarge)
    lang = language(request)
    title, template = _TOO_LARGE[lang]
    detail = template.format(run=exc.run, count=exc.count, limit=exc.limit) or exc.detail
    response = problem(
        413,
        title,
        detail,
        type_="/problems/export-too-large",
        field=exc.field,
        count=exc.count,
        limit=exc.limit,
    )
    response.headers["Content-Language"] = lang
    return response


#: What ``traceseal.app`` registers for this feature.
EXCEPTION_HANDLERS = {jobs.ExportTooLarge: export_too_large}
_TOO_LARGE_ANSWER: dict[int | str, dict[str, Any]] = {
    413: {"description": "The run has more codes than one export may hold (EXPORT_MAX_CODES)."}
}


@router.post("/code-runs", status_code=status.HTTP_201_CREATED, response_model=RunRead)
def issue(
    body: RunCreate, caller: Caller, session: SessionDep, keyring: KeyringDep, settings: SettingsDep
) -> object:
    """Issue a run of codes: one row, however many codes. Download them from `downloads`."""
    owner = owner_for(session, caller, body.organization_id)
    product = get_product(session, owner, body.product) if body.product else None
    programme = None if body.programme is None else get_programme(session, body.programme)
    run = service.issue_run(
        session,
        keyring,
        settings,
        owner,
        body.count,
        product=product,
        pin=body.pin,
        programme=programme,
    )
    return run_read(run)


@router.get("/code-runs", response_model=list[RunRead])
def list_runs(
    caller: Caller,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after_id: AfterId = 0,
) -> object:
    require(caller, Role.ENTERPRISE, Role.OPERATOR)
    return [run_read(r) for r in service.list_runs(session, caller, limit=limit, after_id=after_id)]


@router.get("/code-runs/{run_id}", response_model=RunRead)
def read_run(run_id: PathId, caller: Caller, session: SessionDep) -> object:
    require(caller, Role.ENTERPRISE, Role.OPERATOR)
    return run_read(service.get_run(session, caller, run_id))


@router.post("/code-runs/{run_id}/activate", response_model=RunRead)
def activate(
    run_id: PathId, body: RangeActivate, caller: Caller, session: SessionDep, keyring: KeyringDep
) -> object:
    """Bind codes to a lot. Only active codes verify as genuine."""
    require(caller, Role.ENTERPRISE, Role.OPERATOR)
    run = service.get_run(session, caller, run_id)
    gtin = body.product or (run.product.gtin if run.product else None)
    if gtin is None:
        raise InvalidInput(
            "this run is not bound to a product: give the lot's product GTIN", field="product"
        )
    product = get_product(session, run.organization, gtin)
    start, stop = service.parse_range(session, keyring, run, body.range)
    service.activate(session, run, start, stop, get_batch(session, product, body.lot))
    return run_read(run)


@router.post("/code-runs/{run_id}/void", response_model=RunRead)
def void(
    run_id: PathId, body: RangeVoid, caller: Caller, session: SessionDep, keyring: KeyringDep
) -> object:
    """Void codes for good: lost or stolen label rolls."""
    require(caller, Role.ENTERPRISE, Role.OPERATOR)
    run = service.get_run(session, caller, run_id)
    start, stop = service.parse_range(session, keyring, run, body.range)
    service.void(session, run, start, stop, body.reason)
    return run_read(run)


def _prefix(run: CodeRun, settings: Settings) -> str:
    service.check_label_url(settings)
    return code_url_prefix(settings.public_url, run.product.gtin if run.product else None)


@router.get(
    "/code-runs/{run_id}/codes.csv", response_class=StreamingResponse, responses=_TOO_LARGE_ANSWER
)
def download_csv(
    run_id: PathId,
    caller: ReadCaller,
    session: ReadSessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
) -> StreamingResponse:
    """The run's codes as CSV (`code,url[,pin]`), streamed in constant memory (2-3 million
    codes a second), for runs of up to EXPORT_MAX_CODES."""
    require(caller, Role.ENTERPRISE, Role.OPERATOR)
    run = service.get_run(session, caller, run_id)
    jobs.check_export(run, "csv", settings)
    cipher = service.run_cipher(session, keyring, run)
    pieces = csv_chunks(
        cipher,
        run.first,
        run.count,
        _prefix(run, settings),
        pin_digits=settings.pin_digits if run.pin else None,
    )
    return StreamingResponse(
        (bytes(p) for p in pieces),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="run-{run.id}.csv"'},
    )


async def _file_download(
    run_id: PathId,
    kind: str,
    caller: Organization,
    session: Session,
    keyring: KeyringDep,
    settings: Settings,
    background: BackgroundTasks,
) -> FileResponse:
    require(caller, Role.ENTERPRISE, Role.OPERATOR)
    run = service.get_run(session, caller, run_id)
    jobs.check_export(run, kind, settings)
    if run.count > settings.export_sync_max_labels:
        raise InvalidInput(
            f"run {run.id} has {run.count:,} codes; {kind} files are built while you wait "
            f"for runs of up to {settings.export_sync_max_labels:,} codes (EXPORT_SYNC_MAX_"
            f"LABELS): start an export job with POST /api/v1/code-runs/{run.id}/exports "
            f'{{"format": "{kind}"}}, poll its Location and download its result',
            field="format",
        )
    cipher = service.run_cipher(session, keyring, run)
    items = iter_labels(
        cipher,
        run.first,
        run.count,
        _prefix(run, settings),
        pin_digits=settings.pin_digits if run.pin else None,
    )
    handle = tempfile.NamedTemporaryFile(suffix="." + kind, delete=False)  # noqa: SIM115
    path = Path(handle.name)
    background.add_task(path.unlink, missing_ok=True)

    def render() -> None:
        with handle:
            if kind == "zip":
                labels.write_qr_zip(handle, items)
            else:
                product = run.product
                names = (product.name, product.brand) if product is not None else ("", "")
                write_design_pdf(
                    handle,
                    items,
                    standard(*names, pins=bool(run.pin)),
                    title=f"Run {run.id}",
                    pin_digits=settings.pin_digits,
                    max_labels=settings.pdf_max_labels,
                )

    await run_in_threadpool(render)
    media = "application/zip" if kind == "zip" else "application/pdf"
    name = f"run-{run.id}-qr.zip" if kind == "zip" else f"run-{run.id}-labels.pdf"
    return FileResponse(path, media_type=media, filename=name)


@router.get(
    "/code-runs/{run_id}/codes.zip", response_class=FileResponse, responses=_TOO_LARGE_ANSWER
)
async def download_zip(
    run_id: PathId,
    caller: ReadCaller,
    session: ReadSessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> FileResponse:
    """QR images of every code (svg/ and png/) plus codes.csv, as a ZIP, built while you wait
    for runs of up to EXPORT_SYNC_MAX_LABELS codes (larger runs: POST .../exports)."""
    return await _file_download(run_id, "zip", caller, session, keyring, settings, background)


@router.get(
    "/code-runs/{run_id}/labels.pdf", response_class=FileResponse, responses=_TOO_LARGE_ANSWER
)
async def download_pdf(
    run_id: PathId,
    caller: ReadCaller,
    session: ReadSessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> FileResponse:
    """A printable A4 label sheet, built while you wait for runs of up to
    EXPORT_SYNC_MAX_LABELS codes (larger runs, up to PDF_MAX_LABELS: POST .../exports)."""
    return await _file_download(run_id, "pdf", caller, session, keyring, settings, background)


#: A key slot's number (the first three digits of its codes).
SlotNumber = Annotated[int, InPath(ge=0, le=999)]


@router.get("/slots/{slot}/key", response_model=SlotKey)
def export_key(
    slot: SlotNumber, caller: Caller, session: SessionDep, keyring: KeyringDep
) -> object:
    """A slot's AES key in clear, for key escrow (operator only)."""
    return service.export_slot_key(session, keyring, caller, slot)


# --- export jobs (docs/codes.md, "Exports") -------------------------------------------------

_MEDIA = {"csv": "text/csv", "zip": "application/zip", "pdf": "application/pdf"}
_NAMES = {"csv": "run-{run}.csv", "zip": "run-{run}-qr.zip", "pdf": "run-{run}-labels.pdf"}


@router.post(
    "/code-runs/{run_id}/exports",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExportRead,
    responses={
        202: {"description": "Queued; poll the job at Location."},
        **_TOO_LARGE_ANSWER,
    },
)
def start_export(
    run_id: PathId,
    body: ExportCreate,
    caller: Caller,
    session: SessionDep,
    settings: SettingsDep,
    runner: ExportsDep,
    response: Response,
    background: BackgroundTasks,
) -> object:
    """Start writing the run's codes to a file: answers 202 with the job at once.

    Poll the job (`Location`) for its state and progress; when `state` is `done`, download
    `result`. Runs over EXPORT_MAX_CODES answer 413 and start nothing.
    """
    require(caller, Role.ENTERPRISE, Role.OPERATOR)
    run = service.get_run(session, caller, run_id)
    jobs.check_export(run, body.format, settings)
    service.check_label_url(settings)
    job = jobs.create_job(session, caller, run, body.format)
    response.headers["Location"] = export_path(job.id)
    # After the response, so after the commit: the runner finds the job when it looks.
    background.add_task(runner.wake)
    return export_read(job)


@router.get("/exports", response_model=list[ExportRead])
def list_exports(
    caller: ReadCaller,
    session: ReadSessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after_id: AfterId = 0,
) -> object:
    """The caller's export jobs, newest first (`after_id`: those older than that job)."""
    found = jobs.list_jobs(session, caller, limit=limit, after_id=after_id)
    return [export_read(job) for job in found]


@router.get("/exports/{job_id}", response_model=ExportRead)
def read_export(job_id: PathId, caller: ReadCaller, session: ReadSessionDep) -> object:
    """One export job: `state` (queued, running, done, failed), `progress`, `result`, `error`."""
    return export_read(jobs.get_job(session, caller, job_id))


@router.get(
    "/exports/{job_id}/result",
    response_class=StreamingResponse,
    responses={
        200: {"content": {media: {} for media in _MEDIA.values()}},
        409: {"description": "The job is not done (or failed), or its file is gone."},
    },
)
def export_result(
    job_id: PathId, caller: ReadCaller, session: ReadSessionDep, runner: ExportsDep
) -> StreamingResponse:
    """The finished file, as an attachment; 409 while the job is not done."""
    job = jobs.get_job(session, caller, job_id)
    if job.state != ExportState.DONE.value:
        raise Conflict(
            f"export job {job.id} is {job.state}"
            + (f" ({job.error})" if job.error else ": poll it until it is done"),
            field="job",
        )
    # Opened here, so that a file deleted from now on is still sent whole, and one already
    # gone is a problem answer rather than an error halfway through the response.
    try:
        handle = jobs.file_path(runner.directory, job.id, job.format).open("rb")
    except FileNotFoundError:
        raise Conflict(f"the file of export job {job.id} is gone", field="job") from None
    size = os.fstat(handle.fileno()).st_size
    name = _NAMES[job.format].format(run=job.run_id)

    def chunks() -> Iterator[bytes]:
        with handle:
            while block := handle.read(1 << 20):
                yield block

    return StreamingResponse(
        chunks(),
        media_type=_MEDIA[job.format],
        headers={
            "Content-Length": str(size),
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )


@router.delete("/exports/{job_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_export(
    job_id: PathId,
    caller: Caller,
    session: SessionDep,
    runner: ExportsDep,
    background: BackgroundTasks,
) -> Response:
    """Cancel a queued or running job, or delete a finished one, with its file.

    A running job stops at its worker's next chunk and leaves no partial file. The job then
    answers 404, as one that never existed.
    """
    job = jobs.delete_job(session, caller, job_id)
    if job.state == ExportState.DONE.value:
        # After the commit: if it failed, the job would still be there, and its file too.
        background.add_task(
            jobs.file_path(runner.directory, job.id, job.format).unlink, missing_ok=True
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
