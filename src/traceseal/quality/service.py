"""Writing and reading signed quality records. Services take a session and never commit.

Each write checks who may write it (docs/quality.md), resolves what it names, builds the
payload the issuer signs, signs it with the issuer's managed key or checks the issuer's own
signature, stores the record and appends its log leaf, all in the caller's transaction.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceseal.errors import Conflict, Forbidden, InvalidInput, NotFound
from traceseal.keys import MasterKey
from traceseal.ledger import service as ledger
from traceseal.orgs.models import Organization, Role
from traceseal.quality import signing
from traceseal.quality.attachments import AttachmentStore
from traceseal.quality.models import (
    CertificateStatus,
    Kind,
    QualityRecord,
    QualityScope,
    SigningKey,
)
from traceseal.quality.schemas import (
    CertificateCreate,
    CertificateStatusChange,
    CommitmentCreate,
    CreditRatingCreate,
    DetachedSignature,
    InspectionReportCreate,
    SamplingResultCreate,
)
from traceseal.registry.gtin import normalize_gtin
from traceseal.registry.models import Batch, Product

#: Who writes each record type. Credit ratings come from the public credit systems that
#: regulators run, or from the association itself: there is no rating-agency role.
WRITERS: dict[Kind, frozenset[str]] = {
    Kind.CERTIFICATE: frozenset({Role.LAB.value}),
    Kind.INSPECTION: frozenset({Role.LAB.value}),
    Kind.SAMPLING: frozenset({Role.REGULATOR.value}),
    Kind.CREDIT: frozenset({Role.REGULATOR.value, Role.OPERATOR.value}),
    Kind.COMMITMENT: frozenset({Role.ENTERPRISE.value}),
    Kind.PROGRAMME: frozenset({Role.OPERATOR.value}),
}
#: The record types that cite a PDF attachment. Whoever writes them may upload one; other
#: roles could never cite it, so they may not store files on the platform either.
ATTACHING = (Kind.CERTIFICATE, Kind.INSPECTION)
UPLOADERS: frozenset[str] = frozenset(role for kind in ATTACHING for role in WRITERS[kind])


@dataclass
class Issuing:
    """What writing records needs besides the session: keys, attachments, the time."""

    keyring: MasterKey
    attachments: AttachmentStore
    now: datetime
    #: Leaves waiting to be appended in one go (bulk imports); None appends each at once.
    pending: list[QualityRecord] | None = field(default=None)
    #: Managed keys already looked up in this unit of work, by organisation.
    keys: dict[int, SigningKey] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return self.now.date()


def require_writer(caller: Organization, kind: Kind) -> None:
    allowed = WRITERS[kind]
    if caller.role not in allowed:
        who = " or ".join(sorted(allowed))
        raise Forbidden(f"{kind.value.replace('_', ' ')}s are written by {who}, not {caller.role}")


def require_uploader(caller: Organization) -> None:
    if caller.role not in UPLOADERS:
        who = " or ".join(sorted(UPLOADERS))
        raise Forbidden(
            f"attachments are uploaded by {who}, for the records they issue; not by {caller.role}"
        )


def upload_attachment(session: Session, issuing: Issuing, caller: Organization, data: bytes) -> str:
    """Store a PDF the caller may cite in its records; returns its SHA-256."""
    require_uploader(caller)
    return issuing.attachments.upload(session, caller, data)


def _enterprise(session: Session, org_id: int, field_name: str) -> Organization:
    org = session.get(Organization, org_id)
    if org is None or org.role != Role.ENTERPRISE.value:
        raise NotFound(f"no enterprise {org_id}", field=field_name)
    return org


def find_product(session: Session, gtin: str, field_name: str = "gtin") -> Product:
    try:
        normalized = normalize_gtin(gtin)
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, field=field_name) from None
    product = session.scalar(select(Product).where(Product.gtin == normalized))
    if product is None:
        raise NotFound(f"no product with GTIN {normalized}", field=field_name)
    return product


def _batch(session: Session, product: Product, lot: str | None) -> Batch | None:
    if lot is None:
        return None
    batch = session.scalar(select(Batch).where(Batch.product_id == product.id, Batch.lot == lot))
    if batch is None:
        raise NotFound(f"GTIN {product.gtin} has no lot {lot!r}", field="lot")
    return batch


def _unique_number(session: Session, issuer: Organization, kind: Kind, number: str) -> None:
    taken = session.scalar(
        select(QualityRecord.id).where(
            QualityRecord.issuer_id == issuer.id,
            QualityRecord.kind == kind.value,
            QualityRecord.number == number,
        )
    )
    if taken is not None:
        raise Conflict(
            f"you already issued {kind.value} {number!r} (record {taken})", field="number"
        )


def _payload(kind: Kind, issuer: Organization, fields: dict[str, Any]) -> dict[str, Any]:
    return {"v": signing.PAYLOAD_VERSION, "type": kind.value, "issuer": issuer.id, **fields}


def leaf_content(record: QualityRecord) -> dict[str, Any]:
    """The content hashed into a record's leaf (docs/ledger.md, ``quality.*`` kinds)."""
    return {
        "payload": json.loads(record.payload),
        "key": record.key_id,
        "signature": base64.b64encode(record.signature).decode(),
    }


def store(
    session: Session,
    issuing: Issuing,
    issuer: Organization,
    kind: Kind,
    payload: dict[str, Any],
    detached: DetachedSignature | None,
    **columns: Any,
) -> QualityRecord:
    """Sign (or check the issuer's signature on) ``payload``; store it and its log leaf."""
    if detached is not None:
        raw = signing.decode_signature(detached.value)
        key = signing.check_detached(session, issuer, detached.key, raw, payload)
    else:
        key = managed_key(session, issuing, issuer)
        raw = signing.sign(issuing.keyring, key, payload)
    record = QualityRecord(
        kind=kind.value,
        issuer_id=issuer.id,
        payload=ledger.canonical_json(payload).decode(),
        signature=raw,
        key_id=key.id,
        created_at=issuing.now,
        **columns,
    )
    session.add(record)
    session.flush()
    if issuing.pending is None:
        append_leaves(session, [record])
    else:
        issuing.pending.append(record)
    return record


def append_leaves(session: Session, records: list[QualityRecord]) -> None:
    leaves = [
        (
            f"quality.{r.kind}",
            ledger.leaf_record(f"quality.{r.kind}", f"quality:{r.id}", leaf_content(r)),
        )
        for r in records
    ]
    for record, index in zip(records, ledger.append(session, leaves), strict=True):
        record.leaf_index = index
    session.flush()


def managed_key(session: Session, issuing: Issuing, org: Organization) -> SigningKey:
    """The issuer's managed key; a new key is itself logged, so keys cannot be swapped."""
    key = issuing.keys.get(org.id)
    if key is None:
        key, created = signing.managed_key(session, issuing.keyring, org)
        if created:
            log_key(session, key)
        issuing.keys[org.id] = key
    return key


def log_key(session: Session, key: SigningKey) -> int:
    """Append the leaf binding a key id to its public key and organisation."""
    content = {
        "key": key.id,
        "organization": key.organization_id,
        "public_key": base64.b64encode(key.public_key).decode(),
    }
    kind = "quality.key"
    return ledger.append(
        session, [(kind, ledger.leaf_record(kind, f"signing_key:{key.id}", content))]
    )[0]


def effective_status(record: QualityRecord, today: date) -> str:
    """A record's status on ``today``: certificates and ratings expire on their own."""
    if record.kind == Kind.CERTIFICATE.value:
        if record.status == CertificateStatus.VALID.value and _past(record.valid_until, today):
            return CertificateStatus.EXPIRED.value
        return record.status
    if record.kind == Kind.CREDIT.value:
        return "expired" if _past(record.valid_until, today) else "valid"
    return record.status


def _past(until: date | None, today: date) -> bool:
    return until is not None and until < today


def create_certificate(
    session: Session, issuing: Issuing, caller: Organization, body: CertificateCreate
) -> QualityRecord:
    require_writer(caller, Kind.CERTIFICATE)
    holder = _enterprise(session, body.holder, "holder")
    products = []
    for gtin in body.gtins:
        product = find_product(session, gtin, "gtins")
        if product.organization_id != holder.id:
            raise InvalidInput(
                f"GTIN {product.gtin} is not a product of {holder.name}", field="gtins"
            )
        products.append(product)
    _unique_number(session, caller, Kind.CERTIFICATE, body.number)
    issuing.attachments.require(session, caller, body.attachment)
    payload = _payload(
        Kind.CERTIFICATE,
        caller,
        {
            "scheme": body.scheme,
            "compulsory": body.compulsory,
            "number": body.number,
            "holder": holder.id,
            "gtins": [p.gtin for p in products],
            "categories": body.categories,
            "valid_from": body.valid_from.isoformat(),
            "valid_until": body.valid_until.isoformat(),
            "attachment": body.attachment,
        },
    )
    record = store(
        session,
        issuing,
        caller,
        Kind.CERTIFICATE,
        payload,
        body.signature,
        enterprise_id=holder.id,
        number=body.number,
        scheme=body.scheme,
        status=CertificateStatus.VALID.value,
        issued_on=body.valid_from,
        valid_until=body.valid_until,
        attachment=body.attachment,
    )
    session.add_all(
        [
            QualityScope(record_id=record.id, enterprise_id=holder.id, product_id=p.id)
            for p in products
        ]
        + [
            QualityScope(record_id=record.id, enterprise_id=holder.id, category=c)
            for c in dict.fromkeys(body.categories)
        ]
    )
    return record


def change_certificate_status(
    session: Session,
    issuing: Issuing,
    caller: Organization,
    certificate_id: int,
    body: CertificateStatusChange,
) -> QualityRecord:
    """Suspend, reinstate or withdraw a certificate; only its issuer may."""
    require_writer(caller, Kind.CERTIFICATE)
    certificate = session.get(QualityRecord, certificate_id)
    if (
        certificate is None
        or certificate.kind != Kind.CERTIFICATE.value
        or certificate.issuer_id != caller.id
    ):
        raise NotFound(f"you issued no certificate {certificate_id}")
    if certificate.status == CertificateStatus.WITHDRAWN.value:
        raise Conflict(f"certificate {certificate.number} is withdrawn for good")
    if certificate.status == body.status:
        raise Conflict(f"certificate {certificate.number} is already {body.status}", field="status")
    payload = _payload(
        Kind.STATUS,
        caller,
        {
            "certificate": certificate.id,
            "number": certificate.number,
            "status": body.status,
            "reason": body.reason,
            "effective": body.effective.isoformat(),
        },
    )
    change = store(
        session,
        issuing,
        caller,
        Kind.STATUS,
        payload,
        body.signature,
        enterprise_id=certificate.enterprise_id,
        subject_id=certificate.id,
        number=certificate.number,
        status=body.status,
        issued_on=body.effective,
    )
    certificate.status = body.status
    return change


def create_inspection_report(
    session: Session, issuing: Issuing, caller: Organization, body: InspectionReportCreate
) -> QualityRecord:
    require_writer(caller, Kind.INSPECTION)
    product = None if body.gtin is None else find_product(session, body.gtin)
    batch = None if product is None else _batch(session, product, body.lot)
    enterprise_id = body.enterprise
    if product is not None:
        if enterprise_id is not None and enterprise_id != product.organization_id:
            raise InvalidInput(
                f"GTIN {product.gtin} is not a product of enterprise {enterprise_id}",
                field="enterprise",
            )
        enterprise_id = product.organization_id
    elif enterprise_id is not None:
        _enterprise(session, enterprise_id, "enterprise")
    _unique_number(session, caller, Kind.INSPECTION, body.number)
    issuing.attachments.require(session, caller, body.attachment)
    payload = _payload(
        Kind.INSPECTION,
        caller,
        {
            "number": body.number,
            "gtin": None if product is None else product.gtin,
            "lot": body.lot,
            "sample": body.sample,
            "enterprise": enterprise_id,
            "standards": body.standards,
            "items": [item.model_dump() for item in body.items],
            "conclusion": body.conclusion,
            "tested_on": body.tested_on.isoformat(),
            "attachment": body.attachment,
        },
    )
    return store(
        session,
        issuing,
        caller,
        Kind.INSPECTION,
        payload,
        body.signature,
        enterprise_id=enterprise_id,
        product_id=None if product is None else product.id,
        batch_id=None if batch is None else batch.id,
        number=body.number,
        outcome=body.conclusion,
        issued_on=body.tested_on,
        attachment=body.attachment,
    )


def create_sampling_result(
    session: Session, issuing: Issuing, caller: Organization, body: SamplingResultCreate
) -> QualityRecord:
    require_writer(caller, Kind.SAMPLING)
    product = find_product(session, body.gtin)
    batch = _batch(session, product, body.lot)
    payload = _payload(
        Kind.SAMPLING,
        caller,
        {
            "campaign": body.campaign,
            "enterprise": product.organization_id,
            "gtin": product.gtin,
            "lot": body.lot,
            "result": body.result,
            "details": body.details,
            "published_on": body.published_on.isoformat(),
        },
    )
    return store(
        session,
        issuing,
        caller,
        Kind.SAMPLING,
        payload,
        body.signature,
        enterprise_id=product.organization_id,
        product_id=product.id,
        batch_id=None if batch is None else batch.id,
        number=body.campaign,
        outcome=body.result,
        issued_on=body.published_on,
    )


def create_credit_rating(
    session: Session, issuing: Issuing, caller: Organization, body: CreditRatingCreate
) -> QualityRecord:
    require_writer(caller, Kind.CREDIT)
    enterprise = _enterprise(session, body.enterprise, "enterprise")
    payload = _payload(
        Kind.CREDIT,
        caller,
        {
            "enterprise": enterprise.id,
            "grade": body.grade,
            "valid_from": body.valid_from.isoformat(),
            "valid_until": body.valid_until.isoformat(),
        },
    )
    return store(
        session,
        issuing,
        caller,
        Kind.CREDIT,
        payload,
        body.signature,
        enterprise_id=enterprise.id,
        scheme=body.grade,
        outcome=body.grade,
        issued_on=body.valid_from,
        valid_until=body.valid_until,
    )


def create_commitment(
    session: Session, issuing: Issuing, caller: Organization, body: CommitmentCreate
) -> QualityRecord:
    require_writer(caller, Kind.COMMITMENT)
    payload = _payload(
        Kind.COMMITMENT,
        caller,
        {
            "title": body.title,
            "text": body.text,
            "standards": body.standards,
            "made_on": body.made_on.isoformat(),
        },
    )
    return store(
        session,
        issuing,
        caller,
        Kind.COMMITMENT,
        payload,
        body.signature,
        enterprise_id=caller.id,
        number=body.title[:100],
        issued_on=body.made_on,
    )


def get_record(session: Session, record_id: int, kind: Kind | None = None) -> QualityRecord:
    record = session.get(QualityRecord, record_id)
    if record is None or (kind is not None and record.kind != kind.value):
        what = "record" if kind is None else kind.value.replace("_", " ")
        raise NotFound(f"no {what} {record_id}")
    return record


def list_records(
    session: Session,
    kind: Kind,
    *,
    gtin: str | None = None,
    enterprise: int | None = None,
    issuer: int | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> list[QualityRecord]:
    """Records of one type, oldest first (quality records are public)."""
    query = select(QualityRecord).where(
        QualityRecord.kind == kind.value, QualityRecord.id > after_id
    )
    if gtin is not None:
        product = find_product(session, gtin)
        if kind == Kind.CERTIFICATE:
            covering = select(QualityScope.record_id).where(
                (QualityScope.product_id == product.id)
                | (
                    (QualityScope.enterprise_id == product.organization_id)
                    & (QualityScope.category == product.category)
                )
            )
            query = query.where(QualityRecord.id.in_(covering))
        else:
            query = query.where(QualityRecord.product_id == product.id)
    if enterprise is not None:
        query = query.where(QualityRecord.enterprise_id == enterprise)
    if issuer is not None:
        query = query.where(QualityRecord.issuer_id == issuer)
    return list(session.scalars(query.order_by(QualityRecord.id).limit(limit)))


def record_read(record: QualityRecord, today: date) -> dict[str, Any]:
    return {
        "id": record.id,
        "type": record.kind,
        "issuer": {"id": record.issuer.id, "name": record.issuer.name},
        "status": effective_status(record, today),
        "payload": json.loads(record.payload),
        "signature": base64.b64encode(record.signature).decode(),
        "key": record.key_id,
        "leaf_index": record.leaf_index,
        "proof": f"/api/v1/quality/records/{record.id}/proof",
        "attachment": None
        if record.attachment is None
        else f"/api/v1/attachments/{record.attachment}",
        "created_at": record.created_at,
    }


def register_key(session: Session, org: Organization, public_key_b64: str) -> SigningKey:
    """Register an organisation's own public key; like managed keys, it is logged."""
    key = signing.register_key(session, org, public_key_b64)
    log_key(session, key)
    return key
