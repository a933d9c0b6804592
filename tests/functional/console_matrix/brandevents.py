"""The brand's supply-chain event pages (console/brandevents.py) and its quality
commitments (console/commitments.py): every brand's people ship and pack their own goods
and publish commitments; other kinds of organisation are refused. An empty form is
refused beside its fields (422) and records nothing."""

from __future__ import annotations

from tests.functional.console_matrix import BRAND_PAGE, SIGN_IN, row

#: An empty form sent by a brand's person: refused beside its fields.
BRAND_FORM = row(SIGN_IN, 422, 422, 403, 422, others=403)

ROWS = {
    ("GET", "/console/events"): BRAND_PAGE,
    ("GET", "/console/events/ship"): BRAND_PAGE,
    ("GET", "/console/events/pack"): BRAND_PAGE,
    ("POST", "/console/events/ship"): BRAND_FORM,
    ("POST", "/console/events/pack"): BRAND_FORM,
    ("GET", "/console/quality/commitments/new"): BRAND_PAGE,
    ("POST", "/console/quality/commitments/new"): BRAND_FORM,
}
