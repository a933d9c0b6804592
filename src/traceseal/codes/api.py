from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, status
from fastapi import Path as InPath
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from traceseal.codes import labels, service
from traceseal.codes.deps import KeyringDep
from traceseal.codes.export import code_url_prefix, csv_chunks, iter_labels
from traceseal.codes.models import CodeRun
from traceseal.codes.schemas import RangeActivate, RangeVoid, RunCreate, RunRead, SlotKey
from traceseal.codes.views import run_read
from traceseal.config import Settings
from traceseal.errors import InvalidInput
from traceseal.orgs.deps import Caller, ReadCaller, require
from traceseal.orgs.models import Organization, Role
from traceseal.quality.programmes import get_programme
from traceseal.registry.api import owner_for
from traceseal.registry.service import get_batch, get_product
from traceseal.web.deps import AfterId, PathId, ReadSessionDep, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["codes"])


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


@router.get("/code-runs/{run_id}/codes.csv", response_class=StreamingResponse)
def download_csv(
    run_id: PathId,
    caller: ReadCaller,
    session: ReadSessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
) -> StreamingResponse:
    """The run's codes as CSV (`code,url[,pin]`), streamed: constant memory at any size."""
    require(caller, Role.ENTERPRISE, Role.OPERATOR)
    run = service.get_run(session, caller, run_id)
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
    if kind == "pdf" and run.count > settings.pdf_max_labels:
        raise InvalidInput(
            f"run {run.id} has {run.count:,} codes; PDF label sheets are for runs of up to "
            f"{settings.pdf_max_labels:,}: use codes.zip or codes.csv",
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
                labels.write_label_pdf(
                    handle, items, title=f"Run {run.id}", max_labels=settings.pdf_max_labels
                )

    await run_in_threadpool(render)
    media = "application/zip" if kind == "zip" else "application/pdf"
    name = f"run-{run.id}-qr.zip" if kind == "zip" else f"run-{run.id}-labels.pdf"
    return FileResponse(path, media_type=media, filename=name)


@router.get("/code-runs/{run_id}/codes.zip", response_class=FileResponse)
async def download_zip(
    run_id: PathId,
    caller: ReadCaller,
    session: ReadSessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> FileResponse:
    """QR images of every code (svg/ and png/) plus codes.csv, as a ZIP."""
    return await _file_download(run_id, "zip", caller, session, keyring, settings, background)


@router.get("/code-runs/{run_id}/labels.pdf", response_class=FileResponse)
async def download_pdf(
    run_id: PathId,
    caller: ReadCaller,
    session: ReadSessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> FileResponse:
    """A printable A4 label sheet, for small runs."""
    return await _file_download(run_id, "pdf", caller, session, keyring, settings, background)


#: A key slot's number (the first three digits of its codes).
SlotNumber = Annotated[int, InPath(ge=0, le=999)]


@router.get("/slots/{slot}/key", response_model=SlotKey)
def export_key(
    slot: SlotNumber, caller: Caller, session: SessionDep, keyring: KeyringDep
) -> object:
    """A slot's AES key in clear, for key escrow (operator only)."""
    return service.export_slot_key(session, keyring, caller, slot)
