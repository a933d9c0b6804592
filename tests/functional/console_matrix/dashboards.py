"""The analytics dashboards: brands, distributors, regulators and the operator read them
(each its own scope, the analytics API's); labs have none. The scans behind a figure and
the weekly PDF are a brand's own."""

from __future__ import annotations

from tests.functional.console_matrix import BRAND_PAGE, SIGN_IN, row

#: Every kind the analytics API answers; a lab is refused.
ANALYTICS_PAGE = row(SIGN_IN, 200, 200, 200, 200, distributor=200, lab=403, regulator=200)

ROWS = {
    ("GET", "/console/analytics"): ANALYTICS_PAGE,
    ("GET", "/console/analytics/export.csv"): ANALYTICS_PAGE,
    ("GET", "/console/analytics/scans"): BRAND_PAGE,
    ("GET", "/console/analytics/weekly.pdf"): BRAND_PAGE,
}
