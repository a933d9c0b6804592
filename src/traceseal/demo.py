"""Demo data for ``traceseal init --demo``: an enterprise, its products, lots and codes."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from traceseal.codes import service as codes
from traceseal.codes.service import Keyring
from traceseal.config import Settings
from traceseal.orgs.models import Role
from traceseal.orgs.service import create_organization
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
    return {"enterprise_api_key": key, "enterprise_id": enterprise.id, "runs": runs}
