"""The consoles at /console: server-rendered pages for people (an edge, like cli/).

Pages parse, authorise (console/deps.py) and call the same services as the API; every
write records an audit entry (people/audit.py). docs/consoles.md.
"""

from __future__ import annotations

from fastapi import APIRouter

from traceseal.console import account, admin, auth
from traceseal.console.render import EXCEPTION_HANDLERS

router = APIRouter(include_in_schema=False)
for _part in (auth.router, account.router, admin.router):
    router.include_router(_part)

__all__ = ["EXCEPTION_HANDLERS", "router"]
