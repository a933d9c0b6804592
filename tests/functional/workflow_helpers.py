"""Objects for the brand's workflow pages' tests: a brand with codes, alerts raised by the
alert service (as the risk checks raise them), reports filed by consumers through the API,
and recalls announced through the API."""

from __future__ import annotations

import csv
import io

from PIL import Image

from tests.conftest import Platform, Tenant, add_batch, add_product
from traceseal.alerts.models import Severity
from traceseal.alerts.service import raise_alert
from traceseal.db import unit_of_work
from traceseal.logistics.service import register_distributor
from traceseal.orgs.models import Organization

#: Not the GTIN of the other tests' fixtures: the route matrix builds every area's objects
#: for the same brand.
GTIN = "09506000990019"
LOT = "W2026-12A"


def brand_with_codes(platform: Platform, tenant: Tenant, count: int = 3) -> list[str]:
    """Register GTIN and LOT for ``tenant``, and issue and activate ``count`` codes."""
    add_product(platform, tenant, GTIN)
    add_batch(platform, tenant, GTIN, LOT)
    run = platform.client.post(
        "/api/v1/code-runs", json={"product": GTIN, "count": count}, headers=tenant.auth
    )
    assert run.status_code == 201, run.text
    run_id = run.json()["run"]
    activated = platform.client.post(
        f"/api/v1/code-runs/{run_id}/activate", json={"lot": LOT}, headers=tenant.auth
    )
    assert activated.status_code == 200, activated.text
    listing = platform.client.get(f"/api/v1/code-runs/{run_id}/codes.csv", headers=tenant.auth)
    return [row["code"] for row in csv.DictReader(io.StringIO(listing.text))]


def distributor(platform: Platform, brand: Tenant, name: str) -> int:
    """``name`` (an organisation of that name, if any) as a distributor of ``brand``."""
    with unit_of_work(platform.session_factory) as session:
        enterprise = session.get(Organization, brand.id)
        assert enterprise is not None
        found, _key = register_distributor(session, enterprise, name, territory=["440000"])
        return found.id


def diversion_alert(
    platform: Platform, brand: Tenant, *, distributor_id: int | None, key: str, code: str = ""
) -> int:
    """A diversion alert about ``distributor_id``'s goods, as the risk checks raise it."""
    details = {
        "code": code or "0" * 20,
        "lot": LOT,
        "distributor_id": distributor_id,
        "distributor": "华南经销商",
        "expected_regions": ["440000"],
        "actual_region": "110105",
        "trade_scan": False,
    }
    with unit_of_work(platform.session_factory) as session:
        alert_id = raise_alert(
            session,
            kind="diversion",
            severity=Severity.WARNING,
            summary=f"code {details['code']} was scanned in Beijing, outside its territory",
            dedupe_key=key,
            details=details,
            organization_id=brand.id,
            region="110105",
            distributor_id=distributor_id,
            code=code or None,
        )
    assert alert_id is not None
    return alert_id


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def file_report(platform: Platform, code: str, *, photo: bool = True) -> dict[str, object]:
    """A consumer's report through the public API: its id and status link."""
    filed = platform.client.post(
        "/api/v1/reports",
        data={
            "code": code,
            "where_bought": "北京 某小店",
            "description": "包装印刷模糊",
            "contact": "13800138000",
        },
        files={"photo": ("fake.png", png(), "image/png")} if photo else None,
    )
    assert filed.status_code == 201, filed.text
    body: dict[str, object] = filed.json()
    return body


def recall(platform: Platform, brand: Tenant) -> int:
    announced = platform.client.post(
        "/api/v1/recalls",
        json={"gtin": GTIN, "lots": [LOT], "reason": "阀门漏气", "instructions": "停止使用"},
        headers=brand.auth,
    )
    assert announced.status_code == 201, announced.text
    recall_id: int = announced.json()[0]["id"]
    return recall_id
