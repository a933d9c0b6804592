"""A brand's code runs: list, issue, activate and void ranges, and the codes' files.

Issuing a run is one row whatever its size (codes/service.py), so it is done while the
person waits. What takes time is writing the run's codes out: the page queues the codes
file as an export job (codes/jobs.py, run by the server's export runner, codes/runner.py)
and shows its progress, which the page polls from a small JSON status. The same services
as ``/api/v1/code-runs`` are called; another brand's run answers 404 like a missing one.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from traceseal.bounds import MAX_ID
from traceseal.codes import jobs
from traceseal.codes import service as codes
from traceseal.codes.deps import ExportsDep, KeyringDep
from traceseal.codes.export import code_url_prefix, csv_chunks
from traceseal.codes.models import CodeRun, CodeState, ExportJob, ExportState
from traceseal.console.catalogue_words import (
    CONFIRM_VOID,
    PICK_BATCH,
    PICK_PRODUCT,
    TOO_MANY_FILES,
    say,
)
from traceseal.console.deps import (
    BrandAdminDep,
    BrandDep,
    ConsoleError,
    Viewer,
    check_csrf,
    settings_of,
)
from traceseal.console.menu import brand
from traceseal.console.products import own_product, worded, zh_of
from traceseal.console.render import finish, page, see_other
from traceseal.errors import DomainError, NotFound, TooManyRequests
from traceseal.people import audit
from traceseal.registry import service as registry
from traceseal.registry.models import Batch, Product
from traceseal.web.deps import PathId, SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

# One entry: issuing is a button of the codes page (and of the home's quick links), and a
# second entry under /console/codes would be marked current together with this one.
MENU = (brand("/console/codes", "防伪码", "Codes", order=20),)

Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]
GtinFilter = Annotated[str, Query(max_length=20)]
Line = Annotated[str, Form(max_length=100)]
#: Products offered in the issue form's list (newest first).
PRODUCT_CHOICES = 500


def _run(db: Session, viewer: Viewer, run_id: int) -> CodeRun:
    try:
        return codes.get_run(db, viewer.org, run_id)
    except NotFound:
        raise ConsoleError(404, "not found") from None


def _job(db: Session, viewer: Viewer, run: CodeRun, job_id: int) -> ExportJob:
    try:
        job = jobs.get_job(db, viewer.org, job_id)
    except NotFound:
        raise ConsoleError(404, "not found") from None
    if job.run_id != run.id:
        raise ConsoleError(404, "not found")
    return job


def summary(run: CodeRun) -> dict[str, Any]:
    """Codes per state and the lots they are active for: what the run's row shows."""
    counts: Counter[str] = Counter()
    lots: list[str] = []
    for segment in run.segments:
        counts[segment.state] += segment.stop - segment.start
        if segment.batch is not None and segment.batch.lot not in lots:
            lots.append(segment.batch.lot)
    return {"counts": {s.value: counts.get(s.value, 0) for s in CodeState}, "lots": lots}


@router.get("/console/codes")
def runs(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    before: Before = None,
    product: GtinFilter = "",
) -> Response:
    chosen = own_product(db, viewer, product) if product else None
    rows, older = codes.find_runs(
        db, viewer.org, before=before, product_id=chosen.id if chosen else None
    )

    def link(**changes: object) -> str:
        params = {"product": product} if product else {}
        params |= {k: str(v) for k, v in changes.items() if v}
        return "/console/codes" + (f"?{urlencode(params)}" if params else "")

    context = {
        "rows": [(run, summary(run)) for run in rows],
        "product": chosen,
        "older": link(before=older) if older else None,
        "first": link() if before else None,
    }
    return page(request, "catalogue/runs.html", context, viewer=viewer)


def _issue_form(
    request: Request,
    viewer: Viewer,
    db: Session,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    choices, _ = registry.find_products(db, viewer.org, limit=PRODUCT_CHOICES)
    context = {"products": choices, "form": form, "errors": worded(errors, zh_of(request))}
    return page(request, "catalogue/run_new.html", context, viewer=viewer, status=status)


@router.get("/console/codes/new")
def new_run_form(
    request: Request, viewer: BrandDep, db: SessionDep, product: GtinFilter = ""
) -> Response:
    return _issue_form(request, viewer, db, {"product": product, "count": ""}, {})


def _count(value: str, limit: int, errors: dict[str, str]) -> int:
    text = value.replace(",", "").replace(" ", "")
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= limit:
        errors["count"] = f"give a whole number from 1 to {limit:,}"
        return 0
    return int(text)


def _batch(db: Session, product: Product, lot: str, errors: dict[str, str]) -> Batch | None:
    try:
        return registry.get_batch(db, product, lot.strip())
    except NotFound as exc:
        errors["lot"] = exc.detail
        return None


@router.post("/console/codes/new")
def new_run(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    keyring: KeyringDep,
    runner: ExportsDep,
    product: Line = "",
    count: Line = "",
    lot: Line = "",
) -> Response:
    settings = settings_of(request)
    form = {"product": product, "count": count, "lot": lot}
    errors: dict[str, str] = {}
    limit = min(settings.slot_capacity, settings.max_run_size)
    number = _count(count, limit, errors)
    chosen = None
    if not product:
        errors["product"] = PICK_PRODUCT
    else:
        try:
            chosen = registry.get_product(db, viewer.org, product)
        except NotFound as exc:
            errors["product"] = exc.detail
    batch = _batch(db, chosen, lot, errors) if chosen is not None and lot.strip() else None
    if errors or chosen is None:
        return _issue_form(request, viewer, db, form, errors, status=422)
    try:
        # A savepoint: nothing of a refused run is kept, and the form can still be shown.
        with db.begin_nested():
            run = codes.issue_run(db, keyring, settings, viewer.org, number, product=chosen)
            if batch is not None:
                codes.activate(db, run, run.first, run.first + run.count, batch)
    except DomainError as exc:
        return _issue_form(request, viewer, db, form, {exc.field or "count": exc.detail}, 422)
    audit.record(
        db,
        viewer.actor,
        "code_run.issue",
        organization_id=viewer.org.id,
        target=f"run {run.id} of product {chosen.gtin} ({chosen.name})",
        details={"count": run.count, "activated_for": batch.lot if batch else None},
    )
    job = _queue_file(db, viewer, run, settings)
    if job is None:
        large = run.count > settings.export_max_codes
        return see_other(
            request, f"/console/codes/{run.id}?done={'no_file' if large else 'issued'}"
        )
    runner.wake()
    return see_other(request, f"/console/codes/{run.id}/file/{job.id}")


def _queue_file(db: Session, viewer: Viewer, run: CodeRun, settings: Any) -> ExportJob | None:
    """The run's codes file as an export job, or None when one may not start now (too
    many unfinished, or too large: the run page says which)."""
    try:
        jobs.check_export(run, "csv", settings)
        with db.begin_nested():
            return jobs.create_job(db, viewer.org, run, "csv")
    except (TooManyRequests, jobs.ExportTooLarge):
        return None


@router.get("/console/codes/{run_id}")
def run_detail(request: Request, viewer: BrandDep, db: SessionDep, run_id: PathId) -> Response:
    run = _run(db, viewer, run_id)
    return _run_page(request, viewer, db, run, {}, {})


def _run_page(
    request: Request,
    viewer: Viewer,
    db: Session,
    run: CodeRun,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    settings = settings_of(request)
    batches = registry.list_batches(db, run.product) if run.product else []
    params = request.query_params
    context = {
        "run": run,
        "summary": summary(run),
        "segments": [(s.start - run.first + 1, s.stop - run.first, s) for s in run.segments],
        "batches": sorted(batches, key=lambda b: b.id, reverse=True),
        "form": form,
        "errors": worded(errors, zh_of(request)),
        "done": params.get("done", ""),
        "result": {k: params.get(k, "") for k in ("first", "last", "lot", "count")},
        "csv_ok": run.count <= settings.export_max_codes,
        "issued_note": say(TOO_MANY_FILES, zh_of(request)),
    }
    return page(request, "catalogue/run.html", context, viewer=viewer, status=status)


def _positions(result: dict[str, object]) -> str:
    return urlencode({k: str(v) for k, v in result.items()})


@router.post("/console/codes/{run_id}/activate")
def activate(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    keyring: KeyringDep,
    run_id: PathId,
    lot: Line = "",
    range: Line = "",
) -> Response:
    run = _run(db, viewer, run_id)
    form = {"lot": lot, "range": range, "form": "activate"}
    errors: dict[str, str] = {}
    if run.product is None:
        errors["lot"] = "this run is not bound to a product: give the lot's product GTIN"
    elif not lot.strip():
        errors["lot"] = PICK_BATCH
    batch = _batch(db, run.product, lot, errors) if run.product and not errors else None
    if batch is None or errors:
        return _run_page(request, viewer, db, run, form, errors, status=422)
    try:
        with db.begin_nested():
            start, stop = codes.parse_range(db, keyring, run, range or None)
            codes.activate(db, run, start, stop, batch)
    except DomainError as exc:
        run = _run(db, viewer, run_id)
        errors = {exc.field if exc.field in ("lot", "range") else "range": exc.detail}
        return _run_page(request, viewer, db, run, form, errors, status=422)
    first, last = start - run.first + 1, stop - run.first
    audit.record(
        db,
        viewer.actor,
        "code_run.activate",
        organization_id=viewer.org.id,
        target=f"run {run.id}",
        details={"first": first, "last": last, "lot": batch.lot},
    )
    result = {"done": "activated", "first": first, "last": last, "lot": batch.lot}
    return see_other(request, f"/console/codes/{run.id}?{_positions(result)}#result")


@router.post("/console/codes/{run_id}/void")
def void(
    request: Request,
    viewer: BrandAdminDep,
    db: SessionDep,
    keyring: KeyringDep,
    run_id: PathId,
    void_range: Line = "",
    reason: Annotated[str, Form(max_length=600)] = "",
    confirm: Line = "",
) -> Response:
    run = _run(db, viewer, run_id)
    form = {"range": void_range, "reason": reason, "form": "void"}
    errors: dict[str, str] = {}
    if not void_range.strip():
        # Voiding is for good: the whole run is voided only when asked for by its range.
        errors["void_range"] = "fill this in"
    if confirm != "yes":
        errors["confirm"] = CONFIRM_VOID
    if not errors:
        try:
            with db.begin_nested():
                start, stop = codes.parse_range(db, keyring, run, void_range)
                codes.void(db, run, start, stop, reason)
        except DomainError as exc:
            run = _run(db, viewer, run_id)
            errors = {"reason" if exc.field == "reason" else "void_range": exc.detail}
    if errors:
        return _run_page(request, viewer, db, run, form, errors, status=422)
    first, last = start - run.first + 1, stop - run.first
    audit.record(
        db,
        viewer.actor,
        "code_run.void",
        organization_id=viewer.org.id,
        target=f"run {run.id}",
        details={"first": first, "last": last, "reason": reason.strip()},
    )
    result = {"done": "voided", "first": first, "last": last}
    return see_other(request, f"/console/codes/{run.id}?{_positions(result)}#result")


@router.get("/console/codes/{run_id}/codes.csv")
def download_csv(
    request: Request, viewer: BrandDep, db: SessionDep, keyring: KeyringDep, run_id: PathId
) -> Response:
    """The run's codes streamed as CSV (the API's codes.csv), for runs of up to
    EXPORT_MAX_CODES; each download is audited, as the codes are what a forger wants."""
    run = _run(db, viewer, run_id)
    settings = settings_of(request)
    try:
        jobs.check_export(run, "csv", settings)
        codes.check_label_url(settings)
    except DomainError:
        return see_other(request, f"/console/codes/{run.id}?done=no_file")
    cipher = codes.run_cipher(db, keyring, run)
    pieces = csv_chunks(
        cipher,
        run.first,
        run.count,
        code_url_prefix(settings.public_url, run.product.gtin if run.product else None),
        pin_digits=settings.pin_digits if run.pin else None,
    )
    audit.record(
        db,
        viewer.actor,
        "code_run.download",
        organization_id=viewer.org.id,
        target=f"run {run.id}",
        details={"count": run.count},
    )
    response = StreamingResponse(
        (bytes(p) for p in pieces),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="run-{run.id}.csv"'},
    )
    return finish(request, response)


@router.post("/console/codes/{run_id}/file")
def prepare_file(
    request: Request, viewer: BrandDep, db: SessionDep, runner: ExportsDep, run_id: PathId
) -> Response:
    run = _run(db, viewer, run_id)
    job = _queue_file(db, viewer, run, settings_of(request))
    if job is None:
        return see_other(request, f"/console/codes/{run.id}?done=no_file")
    audit.record(
        db,
        viewer.actor,
        "code_run.file",
        organization_id=viewer.org.id,
        target=f"run {run.id}",
        details={"job": job.id},
    )
    runner.wake()
    return see_other(request, f"/console/codes/{run.id}/file/{job.id}")


def status_of(job: ExportJob, zh: bool) -> dict[str, Any]:
    """What the progress page shows, and what its script reads from the status."""
    percent = 100 if job.state == ExportState.DONE.value else job.done * 100 // max(job.total, 1)
    words = {
        ExportState.QUEUED.value: ("排队中", "Waiting to start"),
        ExportState.RUNNING.value: ("正在生成", "Writing the codes"),
        ExportState.DONE.value: ("已完成", "Done"),
        ExportState.FAILED.value: ("失败", "Failed"),
    }[job.state]
    base = f"/console/codes/{job.run_id}/file/{job.id}"
    return {
        "state": job.state,
        "done": job.total if job.state == ExportState.DONE.value else job.done,
        "total": job.total,
        "percent": percent,
        "words": words[0] if zh else words[1],
        "download": f"{base}/download" if job.state == ExportState.DONE.value else None,
        "error": job.error,
    }


@router.get("/console/codes/{run_id}/file/{job_id}")
def file_progress(
    request: Request, viewer: BrandDep, db: SessionDep, run_id: PathId, job_id: PathId
) -> Response:
    run = _run(db, viewer, run_id)
    job = _job(db, viewer, run, job_id)
    context = {"run": run, "job": job, "status": status_of(job, zh_of(request))}
    return page(request, "catalogue/run_file.html", context, viewer=viewer)


@router.get("/console/codes/{run_id}/file/{job_id}/status")
def file_status(
    request: Request, viewer: BrandDep, db: SessionDep, run_id: PathId, job_id: PathId
) -> Response:
    run = _run(db, viewer, run_id)
    job = _job(db, viewer, run, job_id)
    return finish(request, JSONResponse(status_of(job, zh_of(request))))


@router.get("/console/codes/{run_id}/file/{job_id}/download")
def file_download(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    runner: ExportsDep,
    run_id: PathId,
    job_id: PathId,
) -> Response:
    run = _run(db, viewer, run_id)
    job = _job(db, viewer, run, job_id)
    path = jobs.file_path(runner.directory, job.id, job.format)
    if job.state != ExportState.DONE.value or not path.is_file():
        return see_other(request, f"/console/codes/{run.id}/file/{job.id}")
    audit.record(
        db,
        viewer.actor,
        "code_run.download",
        organization_id=viewer.org.id,
        target=f"run {run.id}",
        details={"count": run.count, "job": job.id},
    )
    handle = path.open("rb")

    def chunks() -> Any:
        with handle:
            while block := handle.read(1 << 20):
                yield block

    response = StreamingResponse(
        chunks(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="run-{run.id}.csv"'},
    )
    return finish(request, response)
