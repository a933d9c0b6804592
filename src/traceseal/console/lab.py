"""A lab's or certification body's console: the certificates and inspection reports it
issues, their status, and the records it has published, each signed and in the log.

The same services as the API (quality/service.py) write every record, with the same
rules: only labs issue these, a lab changes only its own certificates, and another lab's
certificate answers 404 exactly like one that does not exist. Signing keys: lab_keys.py.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from traceseal.bounds import MAX_ID
from traceseal.config import Settings
from traceseal.console import qualityforms as forms
from traceseal.console.deps import ConsoleError, LabDep, Viewer, check_csrf, console_language
from traceseal.console.menu import only
from traceseal.console.render import page, see_other
from traceseal.db import utcnow
from traceseal.errors import DomainError
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.service import list_organizations
from traceseal.people import audit
from traceseal.quality import listing, service
from traceseal.quality.deps import IssuingDep
from traceseal.quality.models import Kind, QualityRecord
from traceseal.quality.schemas import (
    CertificateCreate,
    CertificateStatusChange,
    InspectionReportCreate,
    ItemResult,
)
from traceseal.web.bodylimit import body_limit
from traceseal.web.deps import PathId, SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Short = Annotated[str, Form(max_length=200)]
Long = Annotated[str, Form(max_length=20000)]
Upload = Annotated[UploadFile | None, File()]

MENU = (
    only(Role.LAB, "/console/certificates", "证书", "Certificates", order=10),
    only(Role.LAB, "/console/inspection-reports", "检验报告", "Inspection reports", order=11),
    only(Role.LAB, "/console/records", "已发布记录", "Published records", order=12),
    only(Role.LAB, "/console/signing-keys", "签名密钥", "Signing keys", order=13),
)

#: Room for the form's other fields beside the PDF in a multipart body.
_FORM_ROOM = 64 * 1024


def _upload_limit(settings: Settings) -> int:
    return settings.quality_attachment_max_bytes + _FORM_ROOM


def home_cards(db: Session, viewer: Viewer) -> dict[str, Any]:
    """The lab's home: its latest records and the state of its signing keys."""
    from traceseal.quality.signing import list_keys

    keys = list_keys(db, viewer.org.id)
    return {
        "recent": listing.records(db, tuple(_PUBLISHED), issuer=viewer.org.id, limit=5).items,
        "counts": listing.counts_by_kind(db, viewer.org.id),
        "keys_active": sum(1 for k in keys if k.revoked_at is None),
        "keys_own": sum(1 for k in keys if not k.managed and k.revoked_at is None),
        "keys_revoked": sum(1 for k in keys if k.revoked_at is not None),
    }


#: What a lab publishes: its certificates, their status changes, its inspection reports.
_PUBLISHED = (Kind.CERTIFICATE, Kind.STATUS, Kind.INSPECTION)


def _pages(request: Request, rows: Any, before: int | None) -> dict[str, Any]:
    path = request.url.path
    return {
        "rows": rows.items,
        "older": f"{path}?before={rows.older}" if rows.older else None,
        "first": path if before else None,
        "done": request.query_params.get("done", ""),
    }


def _mine(db: Session, viewer: Viewer, record_id: int, kind: Kind) -> QualityRecord:
    record = listing.issued_record(db, viewer.org.id, record_id, kind)
    if record is None:
        raise ConsoleError(404, "no such record")
    return record


def _enterprises(db: Session) -> list[Organization]:
    return list_organizations(db, Role.ENTERPRISE)


def _form_context(db: Session, viewer: Viewer, **extra: Any) -> dict[str, Any]:
    return {
        "errors": {},
        "form": {},
        "to_sign": "",
        "enterprises": _enterprises(db),
        "keys": forms.active_keys(db, viewer.org),
        **extra,
    }


@router.get("/console/certificates")
def certificates(
    request: Request, viewer: LabDep, db: SessionDep, before: Before = None
) -> Response:
    rows = listing.records(db, (Kind.CERTIFICATE,), issuer=viewer.org.id, before=before)
    today = utcnow().date()
    context = _pages(request, rows, before) | {
        "effective": lambda record: service.effective_status(record, today)
    }
    return page(request, "lab/certificates.html", context, viewer=viewer)


@router.get("/console/certificates/new")
def new_certificate_form(request: Request, viewer: LabDep, db: SessionDep) -> Response:
    return page(request, "lab/certificate_new.html", _form_context(db, viewer), viewer=viewer)


async def _attachment(
    db: Session,
    issuing: service.Issuing,
    viewer: Viewer,
    upload: UploadFile | None,
    kept: str,
    lang: str,
) -> tuple[str | None, dict[str, str]]:
    """The PDF to cite: a new upload, else the one uploaded with an earlier try of the form."""
    data = await forms.read_upload(upload, issuing.attachments.max_bytes)
    if data is None:
        return (kept or None), {}
    try:
        return forms.store_upload(db, issuing, viewer.org, data, lang), {}
    except DomainError as exc:
        return None, forms.form_error(exc, lang == "zh-CN", "attachment")


@router.post("/console/certificates/new")
@body_limit(_upload_limit)
async def new_certificate(
    request: Request,
    viewer: LabDep,
    db: SessionDep,
    issuing: IssuingDep,
    holder: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
    scheme: Short = "",
    compulsory: Annotated[str, Form(max_length=5)] = "",
    number: Short = "",
    gtins: Long = "",
    categories: Long = "",
    valid_from: Annotated[str, Form(max_length=10)] = "",
    valid_until: Annotated[str, Form(max_length=10)] = "",
    attachment: Upload = None,
    attachment_sha256: Annotated[str, Form(max_length=64)] = "",
    signing_key: Annotated[str, Form(max_length=20)] = "",
    signature: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    lang = console_language(request)
    zh = lang == "zh-CN"
    form = {
        "holder": holder,
        "scheme": scheme,
        "compulsory": compulsory == "on",
        "number": number,
        "gtins": gtins,
        "categories": categories,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "signing_key": signing_key,
        "signature": signature,
    }
    sha, errors = await _attachment(db, issuing, viewer, attachment, attachment_sha256, lang)
    form["attachment_sha256"] = sha or ""
    to_sign = ""
    if not errors:
        try:
            body = CertificateCreate(
                scheme=scheme,
                compulsory=compulsory == "on",
                number=number,
                holder=holder or 0,
                gtins=forms.lines(gtins),
                categories=forms.lines(categories),
                valid_from=valid_from,
                valid_until=valid_until,
                attachment=sha,
                signature=forms.detached(signing_key, signature),
            )
        except ValidationError as exc:
            errors = forms.schema_errors(exc, zh, "gtins")
        else:
            record, errors, to_sign = forms.attempt(
                db,
                lambda: service.create_certificate(db, issuing, viewer.org, body),
                zh,
                "number",
            )
            if record is not None:
                audit.record(
                    db,
                    viewer.actor,
                    "certificate.issue",
                    organization_id=viewer.org.id,
                    target=f"certificate {record.number}",
                    details={"record": record.id, "holder": body.holder},
                )
                return see_other(request, "/console/certificates?done=issued")
    context = _form_context(db, viewer, errors=errors, form=form, to_sign=to_sign)
    return page(request, "lab/certificate_new.html", context, viewer=viewer, status=422)


@router.get("/console/certificates/{certificate_id}")
def certificate(
    request: Request, viewer: LabDep, db: SessionDep, certificate_id: PathId
) -> Response:
    record = _mine(db, viewer, certificate_id, Kind.CERTIFICATE)
    context = _form_context(
        db, viewer, record=record, status=service.effective_status(record, utcnow().date())
    )
    context["done"] = request.query_params.get("done", "")
    return page(request, "lab/certificate.html", context, viewer=viewer)


@router.post("/console/certificates/{certificate_id}/status")
def certificate_status(
    request: Request,
    viewer: LabDep,
    db: SessionDep,
    issuing: IssuingDep,
    certificate_id: PathId,
    status: Annotated[str, Form(max_length=12)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    effective: Annotated[str, Form(max_length=10)] = "",
    signing_key: Annotated[str, Form(max_length=20)] = "",
    signature: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    record = _mine(db, viewer, certificate_id, Kind.CERTIFICATE)
    zh = console_language(request) == "zh-CN"
    to_sign = ""
    try:
        body = CertificateStatusChange(
            status=status,
            reason=reason,
            effective=effective,
            signature=forms.detached(signing_key, signature),
        )
    except ValidationError as exc:
        errors = forms.schema_errors(exc, zh, "status")
    else:
        change, errors, to_sign = forms.attempt(
            db,
            lambda: service.change_certificate_status(db, issuing, viewer.org, record.id, body),
            zh,
            "status",
        )
        if change is not None:
            audit.record(
                db,
                viewer.actor,
                "certificate.status",
                organization_id=viewer.org.id,
                target=f"certificate {record.number}",
                details={"record": change.id, "status": body.status},
            )
            return see_other(request, f"/console/certificates/{record.id}?done=status")
    form = {
        "status": status,
        "reason": reason,
        "effective": effective,
        "signing_key": signing_key,
        "signature": signature,
    }
    context = _form_context(
        db,
        viewer,
        record=record,
        status=service.effective_status(record, utcnow().date()),
        errors=errors,
        form=form,
        to_sign=to_sign,
        done="",
    )
    return page(request, "lab/certificate.html", context, viewer=viewer, status=422)


@router.get("/console/inspection-reports")
def inspection_reports(
    request: Request, viewer: LabDep, db: SessionDep, before: Before = None
) -> Response:
    rows = listing.records(db, (Kind.INSPECTION,), issuer=viewer.org.id, before=before)
    return page(request, "lab/reports.html", _pages(request, rows, before), viewer=viewer)


@router.get("/console/inspection-reports/new")
def new_report_form(request: Request, viewer: LabDep, db: SessionDep) -> Response:
    return page(request, "lab/report_new.html", _form_context(db, viewer), viewer=viewer)


def _items(text: str) -> list[ItemResult]:
    """Items typed one per line: name | requirement | result | pass or fail."""
    items = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace("｜", "|").split("|")]
        name, requirement, result, conclusion = [*parts, "", "", "", ""][:4]
        conclusion = {"合格": "pass", "不合格": "fail"}.get(conclusion, conclusion.lower())
        items.append(
            ItemResult(
                name=name,
                requirement=requirement,
                result=result,
                conclusion=conclusion,
            )
        )
    return items


@router.post("/console/inspection-reports/new")
@body_limit(_upload_limit)
async def new_report(
    request: Request,
    viewer: LabDep,
    db: SessionDep,
    issuing: IssuingDep,
    number: Short = "",
    gtin: Annotated[str, Form(max_length=32)] = "",
    lot: Annotated[str, Form(max_length=20)] = "",
    sample: Annotated[str, Form(max_length=1000)] = "",
    enterprise: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
    standards: Long = "",
    items: Long = "",
    conclusion: Annotated[str, Form(max_length=10)] = "",
    tested_on: Annotated[str, Form(max_length=10)] = "",
    attachment: Upload = None,
    attachment_sha256: Annotated[str, Form(max_length=64)] = "",
    signing_key: Annotated[str, Form(max_length=20)] = "",
    signature: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    lang = console_language(request)
    zh = lang == "zh-CN"
    form: dict[str, Any] = {
        "number": number,
        "gtin": gtin,
        "lot": lot,
        "sample": sample,
        "enterprise": enterprise,
        "standards": standards,
        "items": items,
        "conclusion": conclusion,
        "tested_on": tested_on,
        "signing_key": signing_key,
        "signature": signature,
    }
    sha, errors = await _attachment(db, issuing, viewer, attachment, attachment_sha256, lang)
    form["attachment_sha256"] = sha or ""
    to_sign = ""
    try:
        tested = _items(items)
    except ValidationError as exc:
        errors |= {"items": next(iter(forms.schema_errors(exc, zh, "items").values()))}
    if not errors:
        try:
            body = InspectionReportCreate(
                number=number,
                gtin=gtin.strip() or None,
                lot=lot.strip() or None,
                sample=sample,
                enterprise=enterprise,
                standards=forms.lines(standards),
                items=tested,
                conclusion=conclusion,
                tested_on=tested_on,
                attachment=sha,
                signature=forms.detached(signing_key, signature),
            )
        except ValidationError as exc:
            errors = forms.schema_errors(exc, zh, "gtin")
        else:
            record, errors, to_sign = forms.attempt(
                db,
                lambda: service.create_inspection_report(db, issuing, viewer.org, body),
                zh,
                "number",
            )
            if record is not None:
                audit.record(
                    db,
                    viewer.actor,
                    "inspection_report.issue",
                    organization_id=viewer.org.id,
                    target=f"inspection report {record.number}",
                    details={"record": record.id},
                )
                return see_other(request, "/console/inspection-reports?done=issued")
    context = _form_context(db, viewer, errors=errors, form=form, to_sign=to_sign)
    return page(request, "lab/report_new.html", context, viewer=viewer, status=422)


@router.get("/console/records")
def records(request: Request, viewer: LabDep, db: SessionDep, before: Before = None) -> Response:
    rows = listing.records(db, _PUBLISHED, issuer=viewer.org.id, before=before)
    context = _pages(request, rows, before) | {"today": utcnow().date()}
    return page(request, "lab/records.html", context, viewer=viewer)
