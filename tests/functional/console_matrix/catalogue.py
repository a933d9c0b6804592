"""The brand's catalogue pages: products, batches, code runs and their files. Acme's
product, batch, run and a queued codes file fill the paths; Beta's admin meets 404 on
each, as on a missing one; other kinds of organisation meet 403 (not their console)."""

from __future__ import annotations

from tests.conftest import Platform, add_batch, add_product
from tests.functional.console_matrix import BRAND_PAGE, SIGN_IN, Orgs, row

GTIN = "09506000134352"
LOT = "L2026-11A"

#: An Acme object's page: Acme's people see it, Beta's admin 404, other kinds 403.
ACME_OBJECT = row(SIGN_IN, 200, 404, 403, 200, others=403)
#: A write to an Acme object sent without fields: the form's own refusal.
ACME_FORM = row(SIGN_IN, 422, 404, 403, 422, others=403)
NEW_FORM = row(SIGN_IN, 422, 422, 403, 422, others=403)

ROWS = {
    ("GET", "/console/products"): BRAND_PAGE,
    ("GET", "/console/products/new"): BRAND_PAGE,
    ("POST", "/console/products/new"): NEW_FORM,
    ("GET", "/console/products/{gtin}"): ACME_OBJECT,
    ("POST", "/console/products/{gtin}"): ACME_FORM,
    ("GET", "/console/products/{gtin}/batches/new"): ACME_OBJECT,
    ("POST", "/console/products/{gtin}/batches/new"): ACME_FORM,
    ("GET", "/console/codes"): BRAND_PAGE,
    ("GET", "/console/codes/new"): BRAND_PAGE,
    ("POST", "/console/codes/new"): NEW_FORM,
    ("GET", "/console/codes/{run_id}"): ACME_OBJECT,
    ("POST", "/console/codes/{run_id}/activate"): ACME_FORM,
    # Voiding is for good: the brand's admins only.
    ("POST", "/console/codes/{run_id}/void"): row(SIGN_IN, 403, 404, 403, 422, others=403),
    ("GET", "/console/codes/{run_id}/codes.csv"): ACME_OBJECT,
    # Writing the codes file needs no fields: it is queued (and the page shown).
    ("POST", "/console/codes/{run_id}/file"): row(SIGN_IN, 303, 404, 403, 303, others=403),
    ("GET", "/console/codes/{run_id}/file/{job_id}"): ACME_OBJECT,
    ("GET", "/console/codes/{run_id}/file/{job_id}/status"): ACME_OBJECT,
    # The file is not written yet (no runner here): back to its progress page.
    ("GET", "/console/codes/{run_id}/file/{job_id}/download"): row(
        SIGN_IN, 303, 404, 403, 303, others=403
    ),
}


def values(platform: Platform, orgs: Orgs) -> dict[str, object]:
    add_product(platform, orgs.acme, GTIN)
    add_batch(platform, orgs.acme, GTIN, LOT)
    auth = orgs.acme.auth
    issued = platform.client.post(
        "/api/v1/code-runs", json={"product": GTIN, "count": 100}, headers=auth
    )
    assert issued.status_code == 201, issued.text
    run_id = issued.json()["run"]
    queued = platform.client.post(
        f"/api/v1/code-runs/{run_id}/exports", json={"format": "csv"}, headers=auth
    )
    assert queued.status_code == 202, queued.text
    return {"gtin": GTIN, "run_id": run_id, "job_id": queued.json()["id"]}
