"""What the console's home page shows each kind of organisation, beside the account card.

Each kind's page module gives a function of (database session, viewer) returning the
context of its template ``console/home/<kind>.html``; a kind without one shows only the
account card. The home page is what a person sees first: today's figures, what waits for
them, and the ways to their work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from traceseal.console.deps import Viewer
from traceseal.orgs.models import Role

HomeCards = Callable[[Session, Viewer], dict[str, Any]]


def _providers() -> dict[Role, HomeCards]:
    # Imported here: the page modules import the console's shared modules, this one too.
    from traceseal.console import brand_home, distributor, lab, operator, oversight

    return {
        Role.ENTERPRISE: brand_home.cards,
        Role.DISTRIBUTOR: distributor.home,
        Role.LAB: lab.home_cards,
        Role.REGULATOR: oversight.home_cards,
        Role.OPERATOR: operator.home,
    }


def home_cards(db: Session, viewer: Viewer) -> tuple[str | None, dict[str, Any]]:
    """The kind's home template and its context, or (None, {}) for a kind with none."""
    provider = _providers().get(viewer.kind)
    if provider is None:
        return None, {}
    return f"console/home/{viewer.kind.value}.html", provider(db, viewer)
