"""The lab's and the regulator's console pages (console/lab.py, lab_keys.py, oversight.py,
sampling.py): a lab's admin and a regulator's admin each see only their own kind's pages;
every other visitor meets 403, and nobody signed in the way to the sign-in page."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import Platform, add_product
from tests.functional.console_matrix import SIGN_IN, Orgs, row

GTIN = "06901234567892"
LAB_PAGE = row(SIGN_IN, 403, 403, 403, 403, others=403, lab=200)
LAB_FORM = row(SIGN_IN, 403, 403, 403, 403, others=403, lab=422)
REG_PAGE = row(SIGN_IN, 403, 403, 403, 403, others=403, regulator=200)

ROWS = {
    ("GET", "/console/certificates"): LAB_PAGE,
    ("GET", "/console/certificates/new"): LAB_PAGE,
    ("GET", "/console/certificates/{certificate_id}"): LAB_PAGE,
    ("GET", "/console/inspection-reports"): LAB_PAGE,
    ("GET", "/console/inspection-reports/new"): LAB_PAGE,
    ("GET", "/console/records"): LAB_PAGE,
    ("GET", "/console/signing-keys"): LAB_PAGE,
    ("POST", "/console/certificates/new"): LAB_FORM,
    ("POST", "/console/certificates/{certificate_id}/status"): LAB_FORM,
    ("POST", "/console/inspection-reports/new"): LAB_FORM,
    ("POST", "/console/signing-keys/new"): LAB_FORM,
    ("POST", "/console/signing-keys/{key_id}/revoke"): row(
        SIGN_IN, 403, 403, 403, 403, others=403, lab=303
    ),
    ("GET", "/console/sampling-results"): REG_PAGE,
    ("GET", "/console/sampling-results/new"): REG_PAGE,
    ("POST", "/console/sampling-results/new"): row(
        SIGN_IN, 403, 403, 403, 403, others=403, regulator=422
    ),
}
for _name in ("sampling", "recalls", "reports", "alerts", "ratings", "programmes"):
    ROWS[("GET", f"/console/oversight/{_name}")] = REG_PAGE
    ROWS[("GET", f"/console/oversight/{_name}/export.csv")] = REG_PAGE


def values(platform: Platform, orgs: Orgs) -> dict[str, object]:
    """A certificate the lab issued for Acme's product, and a key the lab registered."""
    add_product(platform, orgs.acme, GTIN)
    issued = platform.client.post(
        "/api/v1/certificates",
        json={
            "scheme": "CCC",
            "compulsory": True,
            "number": "MATRIX-1",
            "holder": orgs.acme.id,
            "gtins": [GTIN],
            "valid_from": "2026-01-01",
            "valid_until": "2030-12-31",
        },
        headers=orgs.lab.auth,
    )
    assert issued.status_code == 201, issued.text
    public = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    key = platform.client.post(
        "/api/v1/orgs/me/signing-keys",
        json={"public_key": base64.b64encode(public).decode()},
        headers=orgs.lab.auth,
    )
    assert key.status_code == 201, key.text
    return {"certificate_id": issued.json()["id"], "key_id": key.json()["id"]}
