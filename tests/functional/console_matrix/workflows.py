"""The brand's alerts, counterfeit reports and recalls (console/alerts.py, reports.py,
recalls.py). Another brand meets 404 for Acme's objects; other kinds of organisation, 403.

Writes without fields: taking an alert up needs nothing, so Acme's member does it and its
admin then meets the workflow's refusal (409); closing needs an outcome (422); a reply
needs words (422); ending a recall needs nothing, so the member ends it and the admin meets
409."""

from __future__ import annotations

from tests.conftest import Platform
from tests.functional.console_matrix import BRAND_PAGE, SIGN_IN, Orgs, acme_distributor, row
from tests.functional.workflow_helpers import (
    brand_with_codes,
    diversion_alert,
    file_report,
    recall,
)

#: One of Acme's objects: Acme's people see it, Beta 404, other kinds 403.
ACME_OBJECT = row(SIGN_IN, 200, 404, 403, 200, others=403)

ROWS = {
    ("GET", "/console/alerts"): BRAND_PAGE,
    ("GET", "/console/alerts/{alert_id}"): ACME_OBJECT,
    ("GET", "/console/reports"): BRAND_PAGE,
    ("GET", "/console/reports/{report_id}"): ACME_OBJECT,
    ("GET", "/console/reports/{report_id}/photo"): ACME_OBJECT,
    ("GET", "/console/recalls"): BRAND_PAGE,
    ("GET", "/console/recalls/new"): BRAND_PAGE,
    ("GET", "/console/recalls/{recall_id}"): ACME_OBJECT,
    ("GET", "/console/recalls/{recall_id}/reach.csv"): ACME_OBJECT,
    ("POST", "/console/alerts/{alert_id}/investigate"): row(
        SIGN_IN, 303, 404, 403, 409, others=403
    ),
    ("POST", "/console/alerts/{alert_id}/close"): row(SIGN_IN, 422, 404, 403, 422, others=403),
    ("POST", "/console/reports/{report_id}"): row(SIGN_IN, 422, 404, 403, 422, others=403),
    ("POST", "/console/recalls/new"): row(SIGN_IN, 422, 422, 403, 422, others=403),
    ("POST", "/console/recalls/{recall_id}/end"): row(SIGN_IN, 303, 404, 403, 409, others=403),
}


def values(platform: Platform, orgs: Orgs) -> dict[str, object]:
    codes = brand_with_codes(platform, orgs.acme, 2)
    subject = acme_distributor(platform, orgs)
    alert_id = diversion_alert(platform, orgs.acme, distributor_id=subject, key="matrix")
    report = file_report(platform, codes[0])
    return {
        "alert_id": alert_id,
        "report_id": report["id"],
        "recall_id": recall(platform, orgs.acme),
    }
