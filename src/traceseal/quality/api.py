"""REST for the quality dossier: ``/api/v1/certificates``, ``/inspection-reports``,
``/sampling-results``, ``/credit-ratings``, ``/commitments``, ``/programmes``, attachments
and issuers' signing keys. Reading is public; writing follows docs/quality.md."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, status
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from traceseal.errors import InvalidInput, NotFound
from traceseal.ledger import checkpoints
from traceseal.ledger import service as ledger
from traceseal.orgs.deps import Caller
from traceseal.quality import imports, programmes, service
from traceseal.quality.attachments import NotAPdf
from traceseal.quality.deps import IssuingDep
from traceseal.quality.models import Kind, SigningKey
from traceseal.quality.schemas import (
    AttachmentRead,
    CertificateCreate,
    CertificateStatusChange,
    CommitmentCreate,
    CreditRatingCreate,
    ImportResult,
    InspectionReportCreate,
    KeyCreate,
    KeyRead,
    ProgrammeCreate,
    ProgrammeRead,
    RecordRead,
    SamplingResultCreate,
)
from traceseal.quality.signing import list_keys, revoke_key
from traceseal.web.bodylimit import body_limit
from traceseal.web.deps import (
    AfterId,
    PathId,
    QueryId,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
)
from traceseal.web.negotiation import language

router = APIRouter(prefix="/api/v1", tags=["quality"])
_CREATED: dict[str, Any] = {"status_code": status.HTTP_201_CREATED, "response_model": RecordRead}


def _read(issuing: service.Issuing, record: Any) -> dict[str, Any]:
    return service.record_read(record, issuing.today)


@router.post("/certificates", **_CREATED)
def create_certificate(
    body: CertificateCreate, session: SessionDep, caller: Caller, issuing: IssuingDep
) -> object:
    """A lab or certification body issues a certificate to an enterprise."""
    return _read(issuing, service.create_certificate(session, issuing, caller, body))


@router.post("/certificates/{certificate_id}/status", **_CREATED)
def change_status(
    certificate_id: PathId,
    body: CertificateStatusChange,
    session: SessionDep,
    caller: Caller,
    issuing: IssuingDep,
) -> object:
    """Its issuer suspends, reinstates or withdraws a certificate (a signed record too)."""
    change = service.change_certificate_status(session, issuing, caller, certificate_id, body)
    return _read(issuing, change)


@router.post("/inspection-reports", **_CREATED)
def create_inspection_report(
    body: InspectionReportCreate, session: SessionDep, caller: Caller, issuing: IssuingDep
) -> object:
    return _read(issuing, service.create_inspection_report(session, issuing, caller, body))


@router.post("/sampling-results", **_CREATED)
def create_sampling_result(
    body: SamplingResultCreate, session: SessionDep, caller: Caller, issuing: IssuingDep
) -> object:
    return _read(issuing, service.create_sampling_result(session, issuing, caller, body))


@router.post("/credit-ratings", **_CREATED)
def create_credit_rating(
    body: CreditRatingCreate, session: SessionDep, caller: Caller, issuing: IssuingDep
) -> object:
    return _read(issuing, service.create_credit_rating(session, issuing, caller, body))


@router.post("/commitments", **_CREATED)
def create_commitment(
    body: CommitmentCreate, session: SessionDep, caller: Caller, issuing: IssuingDep
) -> object:
    """An enterprise's quality commitment or standard self-declaration."""
    return _read(issuing, service.create_commitment(session, issuing, caller, body))


def _lister(kind: Kind) -> Callable[..., object]:
    def listing(
        session: SessionDep,
        issuing: IssuingDep,
        gtin: Annotated[str | None, Query(max_length=32)] = None,
        enterprise: QueryId = None,
        issuer: QueryId = None,
        after_id: AfterId = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> object:
        found = service.list_records(
            session,
            kind,
            gtin=gtin,
            enterprise=enterprise,
            issuer=issuer,
            after_id=after_id,
            limit=limit,
        )
        return [_read(issuing, r) for r in found]

    return listing


def _getter(kind: Kind) -> Callable[..., object]:
    def get(record_id: PathId, session: SessionDep, issuing: IssuingDep) -> object:
        return _read(issuing, service.get_record(session, record_id, kind))

    return get


def _importer(record_type: imports.RecordType) -> Callable[..., object]:
    def run(
        body: Annotated[bytes, Body(media_type="text/csv")],
        session: SessionDep,
        caller: Caller,
        issuing: IssuingDep,
        settings: SettingsDep,
        dry_run: bool = False,
    ) -> object:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("the CSV file must be UTF-8", field="body") from None
        return imports.import_csv(
            session,
            issuing,
            caller,
            record_type,
            text,
            dry_run=dry_run,
            max_rows=settings.quality_import_max_rows,
        )

    return run


for _path, _type in imports.TYPES.items():
    _noun = _type.kind.value.replace("_", " ")
    router.add_api_route(
        f"/{_path}",
        _lister(_type.kind),
        methods=["GET"],
        response_model=list[RecordRead],
        summary=f"List {_noun}s (public)",
        name=f"list_{_type.kind.value}s",
    )
    router.add_api_route(
        f"/{_path}/{{record_id}}",
        _getter(_type.kind),
        methods=["GET"],
        response_model=RecordRead,
        summary=f"One {_noun} (public)",
        name=f"read_{_type.kind.value}",
    )
    router.add_api_route(
        f"/{_path}/import",
        _importer(_type),
        methods=["POST"],
        response_model=ImportResult,
        summary=f"Import {_noun}s from CSV; nothing is stored if any row is bad",
        name=f"import_{_type.kind.value}s",
        responses={422: {"description": "Bad rows: every one in `errors` (row, field)."}},
    )


@router.get("/quality/records/{record_id}", response_model=RecordRead)
def read_record(record_id: PathId, session: SessionDep, issuing: IssuingDep) -> object:
    """Any signed quality record (recalls, status changes and programmes too)."""
    return _read(issuing, service.get_record(session, record_id))


@router.get("/quality/records/{record_id}/proof")
def record_proof(record_id: PathId, session: SessionDep) -> dict[str, Any]:
    """The record's leaf and its inclusion proof in the latest published checkpoint."""
    record = service.get_record(session, record_id)
    latest = checkpoints.latest(session)
    if record.leaf_index is None or latest is None or record.leaf_index >= latest.size:
        raise NotFound("the record's leaf is not in a published checkpoint yet; retry shortly")
    leaf = ledger.get_leaf(session, record.leaf_index)
    proof = ledger.prove_inclusion(session, record.leaf_index, latest.size)
    return {
        "record": record.id,
        "leaf_index": record.leaf_index,
        "leaf": base64.b64encode(leaf.data).decode(),
        "tree_size": latest.size,
        "proof": [p.hex() for p in proof],
        "checkpoint": checkpoints.cosigned_note(session, latest),
    }


@router.post("/programmes", status_code=status.HTTP_201_CREATED, response_model=ProgrammeRead)
def create_programme(
    body: ProgrammeCreate, session: SessionDep, caller: Caller, issuing: IssuingDep
) -> object:
    """The operator defines a label programme and its eligibility rules."""
    programme = programmes.create_programme(session, issuing, caller, body)
    return programmes.programme_read(programme, issuing.today)


@router.get("/programmes", response_model=list[ProgrammeRead])
def list_programmes(session: SessionDep, issuing: IssuingDep) -> object:
    return [
        programmes.programme_read(p, issuing.today) for p in programmes.list_programmes(session)
    ]


@router.get("/programmes/{programme_id}", response_model=ProgrammeRead)
def read_programme(programme_id: PathId, session: SessionDep, issuing: IssuingDep) -> object:
    return programmes.programme_read(programmes.get_programme(session, programme_id), issuing.today)


@router.get("/programmes/{programme_id}/eligibility")
def eligibility(
    programme_id: PathId,
    gtin: Annotated[str, Query(max_length=32)],
    session: SessionDep,
    issuing: IssuingDep,
) -> dict[str, Any]:
    """Whether a product may carry the programme's label today, and what it lacks."""
    from traceseal.quality.rules import unmet

    programme = programmes.get_programme(session, programme_id)
    product = service.find_product(session, gtin)
    missing = unmet(
        programmes.programme_rule(programme),
        programmes.dossier(session, product, issuing.today),
        issuing.today,
    )
    return {
        "programme": programme.id,
        "gtin": product.gtin,
        "eligible": not missing,
        "unmet": missing,
    }


@router.post(
    "/attachments",
    status_code=status.HTTP_201_CREATED,
    response_model=AttachmentRead,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
# One byte over, so the store answers an oversized PDF with its own message.
@body_limit(lambda settings: settings.quality_attachment_max_bytes + 1)
async def upload_attachment(
    request: Request, session: SessionDep, caller: Caller, issuing: IssuingDep
) -> object:
    """A lab stores a PDF (``Content-Type: application/pdf``) by its SHA-256, to cite in the
    certificates and inspection reports it issues. It must open as a PDF with at least one
    page and no password; until a record cites it, nobody else can fetch or cite it."""
    service.require_uploader(caller)  # before reading megabytes it would refuse anyway
    data = await request.body()
    try:
        # Parsing a PDF of many megabytes is CPU work: not on the event loop.
        digest = await run_in_threadpool(service.upload_attachment, session, issuing, caller, data)
    except NotAPdf as exc:
        raise exc.said_in(language(request)) from None
    return {"sha256": digest, "size": len(data), "url": f"/api/v1/attachments/{digest}"}


#: A PDF is served to be saved, never shown as a page of this site: no sniffing it into
#: something else, and if a browser renders it anyway, a sandbox with no scripts, no
#: same-origin access and nothing loaded.
_ATTACHMENT_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
}


@router.get("/attachments/{sha256}", response_class=FileResponse)
def attachment(sha256: str, request: Request, session: ReadSessionDep) -> FileResponse:
    """A PDF that some quality record cites (public, like the records)."""
    path = request.app.state.attachments.published(session, sha256)
    return FileResponse(
        path,
        media_type="application/pdf",
        filename=f"{sha256}.pdf",
        content_disposition_type="attachment",
        headers={**_ATTACHMENT_HEADERS, "ETag": f'"{sha256}"'},
    )


def _key_read(key: SigningKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "organization_id": key.organization_id,
        "public_key": base64.b64encode(key.public_key).decode(),
        "managed": key.managed,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }


@router.get("/orgs/{organization_id}/signing-keys", response_model=list[KeyRead])
def signing_keys(organization_id: PathId, session: SessionDep) -> object:
    """An organisation's public keys (public): what its quality records are signed with."""
    return [_key_read(k) for k in list_keys(session, organization_id)]


@router.post("/orgs/me/signing-keys", status_code=status.HTTP_201_CREATED, response_model=KeyRead)
def register_signing_key(body: KeyCreate, session: SessionDep, caller: Caller) -> object:
    """Register your own Ed25519 public key, to submit records with detached signatures."""
    return _key_read(service.register_key(session, caller, body.public_key))


@router.post("/orgs/me/signing-keys/{key_id}/revoke", response_model=KeyRead)
def revoke_signing_key(
    key_id: PathId, session: SessionDep, caller: Caller, issuing: IssuingDep
) -> object:
    """Stop signing with a key; what it signed before stays verifiable."""
    return _key_read(revoke_key(session, caller, key_id, issuing.now))
