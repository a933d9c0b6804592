"""Label programmes: the operator defines them, code runs are issued under them for eligible
products only, and the verification page names the programme of a code's run."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from traceseal.errors import Conflict, InvalidInput, NotFound
from traceseal.orgs.models import Organization
from traceseal.quality.models import Kind, Programme, QualityRecord, QualityScope
from traceseal.quality.rules import (
    RULE,
    CertificateFact,
    Dossier,
    RatingFact,
    ReportFact,
    Rule,
    unmet,
)
from traceseal.quality.schemas import ProgrammeCreate
from traceseal.quality.service import Issuing, effective_status, record_read, require_writer, store
from traceseal.registry.models import Product


def create_programme(
    session: Session, issuing: Issuing, caller: Organization, body: ProgrammeCreate
) -> Programme:
    require_writer(caller, Kind.PROGRAMME)
    if session.scalar(select(Programme.id).where(Programme.name == body.name)) is not None:
        raise Conflict(f"a programme named {body.name!r} exists", field="name")
    rules = body.rules.model_dump(mode="json", exclude_unset=True)
    payload = {
        "v": 1,
        "type": Kind.PROGRAMME.value,
        "issuer": caller.id,
        "name": body.name,
        "name_en": body.name_en,
        "description": body.description,
        "rules": rules,
    }
    record = store(
        session,
        issuing,
        caller,
        Kind.PROGRAMME,
        payload,
        body.signature,
        number=body.name[:100],
        issued_on=issuing.today,
    )
    programme = Programme(
        name=body.name,
        name_en=body.name_en,
        description=body.description,
        rules=json.dumps(rules, ensure_ascii=False),
        record_id=record.id,
        created_at=issuing.now,
    )
    session.add(programme)
    session.flush()
    return programme


def get_programme(session: Session, programme_id: int) -> Programme:
    programme = session.get(Programme, programme_id)
    if programme is None:
        raise NotFound(f"no programme {programme_id}", field="programme")
    return programme


def list_programmes(session: Session) -> list[Programme]:
    return list(session.scalars(select(Programme).order_by(Programme.id)))


def programme_rule(programme: Programme) -> Rule:
    return RULE.validate_python(json.loads(programme.rules))


def programme_read(programme: Programme, today: date) -> dict[str, Any]:
    return {
        "id": programme.id,
        "name": programme.name,
        "name_en": programme.name_en,
        "description": programme.description,
        "rules": json.loads(programme.rules),
        "record": record_read(programme.record, today),
    }


def dossier(session: Session, product: Product, today: date) -> Dossier:
    """Everything the eligibility rules look at for ``product``."""
    covering = select(QualityScope.record_id).where(
        or_(
            QualityScope.product_id == product.id,
            (QualityScope.enterprise_id == product.organization_id)
            & (QualityScope.category == (product.category or None)),
        )
    )
    certificates = session.scalars(
        select(QualityRecord).where(
            QualityRecord.kind == Kind.CERTIFICATE.value, QualityRecord.id.in_(covering)
        )
    )
    by_product = session.scalars(
        select(QualityRecord).where(
            QualityRecord.product_id == product.id,
            QualityRecord.kind.in_([Kind.INSPECTION.value, Kind.SAMPLING.value]),
        )
    ).all()
    ratings = session.scalars(
        select(QualityRecord).where(
            QualityRecord.enterprise_id == product.organization_id,
            QualityRecord.kind == Kind.CREDIT.value,
        )
    )
    return Dossier(
        certificates=tuple(
            CertificateFact(
                c.scheme, bool(json.loads(c.payload)["compulsory"]), effective_status(c, today)
            )
            for c in certificates
        ),
        inspections=tuple(
            ReportFact(r.outcome, r.issued_on, tuple(json.loads(r.payload)["standards"]))
            for r in by_product
            if r.kind == Kind.INSPECTION.value
        ),
        samplings=tuple(
            ReportFact(r.outcome, r.issued_on) for r in by_product if r.kind == Kind.SAMPLING.value
        ),
        ratings=tuple(
            RatingFact(r.outcome, r.issued_on, r.valid_until)
            for r in ratings
            if r.valid_until is not None
        ),
    )


def check_eligible(session: Session, programme: Programme, product: Product, today: date) -> None:
    """Raises InvalidInput naming every unmet rule unless ``product`` is eligible."""
    missing = unmet(programme_rule(programme), dossier(session, product, today), today)
    if missing:
        raise InvalidInput(
            f"GTIN {product.gtin} is not eligible for programme {programme.name!r}: it lacks "
            + "; ".join(missing),
            field="programme",
        )
