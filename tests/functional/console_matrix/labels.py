"""The label designer's routes (console/labels.py): a brand's pages, for its members too.

The download is sent without fields, so every brand's person meets the form's refusal
(422: no run chosen); other kinds of organisation are refused the page (403)."""

from __future__ import annotations

from tests.functional.console_matrix import BRAND_PAGE, SIGN_IN, row

ROWS = {
    ("GET", "/console/labels"): BRAND_PAGE,
    ("GET", "/console/labels/preview.png"): BRAND_PAGE,
    ("POST", "/console/labels/download"): row(SIGN_IN, 422, 422, 403, 422, others=403),
}
