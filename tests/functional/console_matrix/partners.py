"""Distributors, shipments, API keys and webhooks (console/partners.py, console/keys.py),
and the distributor's own console (console/distributor.py).

The matrix's distributor ("Dist") is registered with Acme here, so Acme's pages about it
exist and Dist's own pages have a brand to show. Keys and webhooks belong to each admin's
own organisation: every kind's admins have the keys page; the webhook page is for the kinds
whose alerts it carries (brands, regulators, the operator)."""

from __future__ import annotations

from tests.conftest import Platform
from tests.functional.console_matrix import BRAND_PAGE, SIGN_IN, Orgs, acme_distributor, row
from traceseal.db import unit_of_work
from traceseal.orgs.models import Organization
from traceseal.orgs.service import create_key

#: Only a distributor's people.
DISTRIBUTOR_PAGE = row(SIGN_IN, 403, 403, 403, 403, others=403, distributor=200)
#: Any organisation's admins.
KEYS_PAGE = row(SIGN_IN, 403, 200, 200, 200, others=200)
#: Admins of a brand, a regulator or the operator.
HOOK_PAGE = row(SIGN_IN, 403, 200, 200, 200, distributor=403, lab=403, regulator=200)

ROWS = {
    ("GET", "/console/distributors"): BRAND_PAGE,
    ("GET", "/console/distributors/new"): BRAND_PAGE,
    ("GET", "/console/distributors/{distributor_id}"): row(SIGN_IN, 200, 404, 403, 200, others=403),
    ("GET", "/console/shipments"): BRAND_PAGE,
    ("GET", "/console/keys"): KEYS_PAGE,
    ("GET", "/console/keys/{key_id}/revoke"): row(SIGN_IN, 403, 404, 404, 200, others=404),
    ("GET", "/console/webhooks"): HOOK_PAGE,
    ("GET", "/console/goods"): DISTRIBUTOR_PAGE,
    ("GET", "/console/territory"): DISTRIBUTOR_PAGE,
    ("GET", "/console/concerning-alerts"): DISTRIBUTOR_PAGE,
    ("GET", "/console/receipt-checks"): DISTRIBUTOR_PAGE,
    ("POST", "/console/distributors/new"): row(SIGN_IN, 422, 422, 403, 422, others=403),
    ("POST", "/console/distributors/{distributor_id}/territory"): row(
        SIGN_IN, 422, 404, 403, 422, others=403
    ),
    ("POST", "/console/distributors/{distributor_id}/locations"): row(
        SIGN_IN, 303, 404, 403, 303, others=403
    ),
    ("POST", "/console/keys/new"): row(SIGN_IN, 403, 422, 422, 422, others=422),
    ("POST", "/console/keys/{key_id}/revoke"): row(SIGN_IN, 403, 404, 404, 303, others=404),
    ("POST", "/console/webhooks"): row(
        SIGN_IN, 403, 422, 422, 422, distributor=403, lab=403, regulator=422
    ),
    ("POST", "/console/webhooks/delete"): row(
        SIGN_IN, 403, 303, 303, 303, distributor=403, lab=403, regulator=303
    ),
}


def values(platform: Platform, orgs: Orgs) -> dict[str, object]:
    with unit_of_work(platform.session_factory) as session:
        acme = session.get(Organization, orgs.acme.id)
        assert acme is not None
        _, key = create_key(session, acme, "matrix")
    return {"distributor_id": acme_distributor(platform, orgs), "key_id": key.id}
