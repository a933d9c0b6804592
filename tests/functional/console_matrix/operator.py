"""The operator's console: organisations and onboarding (console/operator.py), programmes,
guessing alerts and platform health (console/platform.py). The operator's staff read;
its admins write; every other kind of organisation meets 403."""

from __future__ import annotations

from tests.conftest import Platform
from tests.functional.console_matrix import SIGN_IN, Orgs, row
from traceseal.alerts.models import Severity
from traceseal.alerts.service import raise_alert
from traceseal.db import unit_of_work

#: Only the operator's people: everyone else is refused for the kind of their organisation.
OPERATOR_PAGE = row(SIGN_IN, 403, 403, 200, 403)

ROWS = {
    ("GET", "/console/organisations"): OPERATOR_PAGE,
    ("GET", "/console/organisations/new"): OPERATOR_PAGE,
    ("GET", "/console/organisations/{organization_id}"): OPERATOR_PAGE,
    ("GET", "/console/programmes"): OPERATOR_PAGE,
    ("GET", "/console/programmes/new"): OPERATOR_PAGE,
    ("GET", "/console/programmes/{programme_id}"): OPERATOR_PAGE,
    ("GET", "/console/enumeration"): OPERATOR_PAGE,
    ("GET", "/console/health"): OPERATOR_PAGE,
    ("POST", "/console/organisations/new"): row(SIGN_IN, 403, 403, 422, 403),
    ("POST", "/console/programmes/new"): row(SIGN_IN, 403, 403, 422, 403),
    ("POST", "/console/enumeration/{alert_id}/acknowledge"): row(SIGN_IN, 403, 403, 303, 403),
}


def values(platform: Platform, orgs: Orgs) -> dict[str, object]:
    programme = platform.client.post(
        "/api/v1/programmes",
        json={"name": "3·15 标识", "rules": {"certificate": {"scheme": "CCC"}}},
        headers=orgs.operator.auth,
    )
    assert programme.status_code == 201, programme.text
    with unit_of_work(platform.session_factory) as session:
        alert_id = raise_alert(
            session,
            kind="enumeration_burst",
            severity=Severity.WARNING,
            summary="many unknown codes asked for",
            dedupe_key="matrix:enumeration",
        )
    return {
        "organization_id": orgs.acme.id,
        "programme_id": programme.json()["id"],
        "alert_id": alert_id,
    }
