"""Credit ratings (console/ratings.py): regulators and the operator publish them."""

from __future__ import annotations

from tests.functional.console_matrix import SIGN_IN, row

RATER_PAGE = row(SIGN_IN, 403, 403, 200, 403, others=403, regulator=200)

ROWS = {
    ("GET", "/console/credit-ratings"): RATER_PAGE,
    ("GET", "/console/credit-ratings/new"): RATER_PAGE,
    ("POST", "/console/credit-ratings/new"): row(
        SIGN_IN, 403, 403, 422, 403, others=403, regulator=422
    ),
}
