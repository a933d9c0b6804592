"""Demo data for ``traceseal init --demo``: an enterprise, its products, lots and codes, and
the quality records behind them."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from traceseal.codes import service as codes
from traceseal.codes.service import Keyring
from traceseal.config import Settings
from traceseal.db import utcnow
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.service import create_organization
from traceseal.quality import service as quality
from traceseal.quality.attachments import AttachmentStore
from traceseal.quality.schemas import (
    CertificateCreate,
    CreditRatingCreate,
    InspectionReportCreate,
    ItemResult,
)
from traceseal.registry import service as registry
from traceseal.registry.schemas import BatchCreate, ProductCreate

# GTINs under GS1's documentation prefix 950 (never assigned to a real company).
_PRODUCTS = (
    ("09506000134352", "ABC干粉灭火器 4kg", "安盾", "消防产品", "MFZ/ABC4"),
    ("09506000134369", "水基型灭火器 3L", "安盾", "消防产品", "MSWZ/3"),
)


def load_demo(session: Session, keyring: Keyring, settings: Settings) -> dict[str, Any]:
    enterprise, key = create_organization(session, "安盾消防科技有限公司", Role.ENTERPRISE)
    runs = []
    for gtin, name, brand, category, spec in _PRODUCTS:
        product = registry.add_product(
            session,
            enterprise,
            ProductCreate(gtin=gtin, name=name, brand=brand, category=category, specification=spec),
        )
        batch = registry.add_batch(
            session,
            product,
            BatchCreate(
                lot="L2026-11A",
                production_date=date(2026, 11, 2),
                expiry_date=date(2031, 11, 1),
                quantity=500,
            ),
        )
        run = codes.issue_run(session, keyring, settings, enterprise, 1000, product=product)
        codes.activate(session, run, run.first, run.first + 500, batch)
        cipher = codes.run_cipher(session, keyring, run)
        runs.append(
            {
                "run": run.id,
                "gtin": gtin,
                "active_sample": cipher.code(run.first),
                "inactive_sample": cipher.code(run.first + 999),
            }
        )
    _quality_demo(session, keyring, settings, enterprise)
    return {"enterprise_api_key": key, "enterprise_id": enterprise.id, "runs": runs}


def _quality_demo(
    session: Session, keyring: Keyring, settings: Settings, enterprise: Organization
) -> None:
    """A lab's certificate and report, and a regulator's rating: the result page's dossier."""
    issuing = quality.Issuing(
        keyring,
        AttachmentStore(settings.data_dir / "attachments", settings.quality_attachment_max_bytes),
        utcnow(),
    )
    lab, _ = create_organization(session, "国家消防装备质量检验检测中心", Role.LAB)
    regulator, _ = create_organization(session, "市场监督管理局", Role.REGULATOR)
    quality.create_certificate(
        session,
        issuing,
        lab,
        CertificateCreate(
            scheme="CCC",
            compulsory=True,
            number="2026081801000001",
            holder=enterprise.id,
            categories=["消防产品"],
            valid_from=date(2026, 1, 1),
            valid_until=date(2031, 12, 31),
        ),
    )
    quality.create_inspection_report(
        session,
        issuing,
        lab,
        InspectionReportCreate(
            number="XF-2026-0815",
            gtin=_PRODUCTS[0][0],
            lot="L2026-11A",
            standards=["GB 4351-2023"],
            items=[
                ItemResult(name="喷射时间", requirement=">= 8 s", result="9.2 s", conclusion="pass")
            ],
            conclusion="pass",
            tested_on=date(2026, 11, 5),
        ),
    )
    quality.create_credit_rating(
        session,
        issuing,
        regulator,
        CreditRatingCreate(
            enterprise=enterprise.id,
            grade="AA",
            valid_from=date(2026, 1, 1),
            valid_until=date(2028, 12, 31),
        ),
    )
