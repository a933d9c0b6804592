"""Demo data for ``traceseal init --demo``: an enterprise, its products, lots and codes, and
the quality records behind them."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceseal.alerts.models import Alert
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
from traceseal.recalls import service as recalls
from traceseal.registry import service as registry
from traceseal.registry.schemas import BatchCreate, ProductCreate
from traceseal.verify.models import ScannedCode

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
    regulator = _quality_demo(session, keyring, settings, enterprise)
    # The second product's lot is recalled, so one demo code shows what a recall looks like.
    recalls.announce(
        session,
        _issuing(keyring, settings),
        regulator,
        gtin=_PRODUCTS[1][0],
        lots=["L2026-11A"],
        reason="抽检发现部分产品喷射性能不合格。/ Sampling found units that spray too briefly.",
        instructions="请停止使用并联系经销商免费更换。/ Stop using it; the dealer replaces it.",
        contact="400-000-0000",
    )
    return {"enterprise_api_key": key, "enterprise_id": enterprise.id, "runs": runs}


def _issuing(keyring: Keyring, settings: Settings) -> quality.Issuing:
    store = AttachmentStore(
        settings.data_dir / "attachments", settings.quality_attachment_max_bytes
    )
    return quality.Issuing(keyring, store, utcnow())


def _quality_demo(
    session: Session, keyring: Keyring, settings: Settings, enterprise: Organization
) -> Organization:
    """A lab's certificate and report, and a regulator's rating: the result page's dossier.
    Returns the regulator."""
    issuing = _issuing(keyring, settings)
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
    return regulator


def codes_to_try(
    session: Session, keyring: Keyring, settings: Settings, runs: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """Three demo codes a newcomer can check, each with what the answer will be: one never
    queried, one the simulated month already queried, and one in a recalled lot."""
    base = settings.public_url
    picks = [
        ("first_query", runs[0]["gtin"], runs[0]["active_sample"]),
        ("recalled", runs[1]["gtin"], runs[1]["active_sample"]),
    ]
    # A code a simulated consumer checked once, with no alert on it.
    alerted = set(session.scalars(select(Alert.code).where(Alert.code.is_not(None))))
    for slot, sequence in session.execute(
        select(ScannedCode.slot, ScannedCode.sequence)
        .where(ScannedCode.scan_count == 1)
        .order_by(ScannedCode.first_scan_at)
        .limit(50)
    ):
        cipher = keyring.cipher_for(session, slot)
        text = cipher.code(sequence) if cipher is not None else None
        if text is not None and text not in alerted:
            picks.insert(1, ("queried_before", "", text))
            break
    shows = {
        "first_query": "genuine, first query / 正品，首次查询",
        "queried_before": "genuine, queried before (with when and where) / 正品，已被查询过",
        "recalled": "genuine but recalled, with what to do / 正品，但该批次已召回",
    }
    return [
        {
            "code": code,
            "shows": shows[kind],
            "url": f"{base}/01/{gtin}/21/{code}" if gtin else f"{base}/v/{code}",
        }
        for kind, gtin, code in picks
    ]
