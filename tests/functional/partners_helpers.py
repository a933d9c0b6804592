"""Set-ups shared by the partners pages' tests (functional and browser): sites, goods
shipped by a brand and scanned in by a distributor, alerts naming a distributor."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from tests.conftest import Platform, Tenant
from tests.functional.conftest import GTIN
from tests.functional.test_epcis_capture import capture
from tests.functional.test_trace import doc, event
from traceseal.alerts.models import Severity
from traceseal.alerts.service import raise_alert
from traceseal.db import unit_of_work
from traceseal.epcis.gs1keys import check_digit
from traceseal.logistics.models import Distributor
from traceseal.people.models import AuditEntry


def gln(location: int) -> str:
    body = f"9506000{location:05d}"
    return body + check_digit(body)


def ship(platform: Platform, brand: Tenant, codes: list[str], to_gln: str) -> None:
    """The brand ships items from its factory to ``to_gln`` (an EPCIS shipping event)."""
    items = [f"https://id.gs1.org/01/{GTIN}/21/{code}" for code in codes]
    document = doc(
        event(
            "ObjectEvent",
            "02T08:00:00",
            action="OBSERVE",
            epcList=items,
            bizStep="shipping",
            readPoint={"id": f"https://id.gs1.org/414/{gln(1)}"},
            destinationList=[
                {"type": "location", "destination": f"https://id.gs1.org/414/{to_gln}"}
            ],
        )
    )
    assert capture(platform, brand, document).status_code == 202


def receive(platform: Platform, key: str, codes: list[str], site: str) -> dict[str, Any]:
    """The distributor scans the items in at ``site`` on the scanning page."""
    submission = {
        "submission_id": str(uuid.uuid4()),
        "action": "receive",
        "location": site,
        "scans": codes,
    }
    answer = platform.client.post(
        "/api/v1/scan/submissions",
        json=submission,
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def alert_about(
    platform: Platform, brand: Tenant, distributor_org: int | None, summary: str
) -> None:
    """A diversion alert of ``brand`` naming its distributor record of ``distributor_org``
    (None: naming no distributor)."""
    with unit_of_work(platform.session_factory) as session:
        record = session.scalar(
            select(Distributor.id).where(
                Distributor.enterprise_id == brand.id,
                Distributor.organization_id == distributor_org,
            )
        )
        raise_alert(
            session,
            kind="diversion",
            severity=Severity.CRITICAL,
            summary=summary,
            dedupe_key=f"test:{uuid.uuid4()}",
            organization_id=brand.id,
            distributor_id=record,
            region="110105",
        )


def audit_entries(platform: Platform, action: str) -> list[AuditEntry]:
    with unit_of_work(platform.session_factory) as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        found = list(rows)
        session.expunge_all()
        return found
