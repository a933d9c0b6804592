"""The consoles at /console: server-rendered pages for people (an edge, like cli/).

Pages parse, authorise (console/deps.py) and call the same services as the API; every
write records an audit entry (people/audit.py). docs/consoles.md.
"""

from __future__ import annotations

from fastapi import APIRouter

from traceseal.console import (
    account,
    admin,
    alerts,
    auth,
    brandevents,
    codes,
    commitments,
    dashboards,
    distributor,
    keys,
    lab,
    lab_keys,
    labels,
    operator,
    oversight,
    partners,
    platform,
    products,
    ratings,
    recalls,
    reports,
    sampling,
)
from traceseal.console.menu import MenuItem
from traceseal.console.render import EXCEPTION_HANDLERS

#: The console's page modules: each has a ``router`` and may declare ``MENU`` entries.
PARTS = (
    *(auth, account, admin, products, codes, partners, keys, distributor),
    *(brandevents, commitments),
    *(alerts, reports, recalls),
    *(lab, lab_keys, oversight, sampling, ratings, labels, dashboards, operator, platform),
)

router = APIRouter(include_in_schema=False)
MENU: list[MenuItem] = []
for _part in PARTS:
    router.include_router(_part.router)
    MENU.extend(getattr(_part, "MENU", ()))

__all__ = ["EXCEPTION_HANDLERS", "MENU", "router"]
