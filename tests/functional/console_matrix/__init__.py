"""The route x visitor matrix of the consoles (test_console_routes.py), one module per
area of pages. Each module gives ``ROWS``, the expected answer of each of its routes per
visitor, and may give ``values(platform, orgs)``: objects it creates (owned by Acme, the
admin's organisation, unless it says otherwise) to fill its paths' placeholders.

The visitors: nobody signed in; Acme's member and admin; Beta's admin (another brand);
the operator's admin; and the admins of a distributor Acme works with, a lab and a
regulator. Writes are sent with the form's token and no fields, so a visitor allowed to
act meets the form's own refusal (422) and nothing changes; Acme's admin acts last.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.conftest import Platform, Tenant

ROLES = (
    "anonymous",
    "member",
    "other_admin",
    "operator",
    "distributor",
    "lab",
    "regulator",
    "admin",
)
SIGN_IN = "sign-in"  # a redirect to the sign-in page
Answer = int | str


@dataclass(frozen=True)
class Orgs:
    acme: Tenant
    beta: Tenant
    operator: Tenant
    distributor: Tenant
    lab: Tenant
    regulator: Tenant


def row(
    anonymous: Answer,
    member: Answer,
    other_admin: Answer,
    operator: Answer,
    admin: Answer,
    *,
    others: Answer | None = None,
    distributor: Answer | None = None,
    lab: Answer | None = None,
    regulator: Answer | None = None,
) -> dict[str, Answer]:
    """Expected answers. ``others`` (default: Beta's admin's answer) is the answer of the
    distributor's, lab's and regulator's admins unless each is given on its own."""
    rest = other_admin if others is None else others
    return {
        "anonymous": anonymous,
        "member": member,
        "other_admin": other_admin,
        "operator": operator,
        "distributor": rest if distributor is None else distributor,
        "lab": rest if lab is None else lab,
        "regulator": rest if regulator is None else regulator,
        "admin": admin,
    }


#: A page of a brand's console: every brand's people see their own; other kinds, 403.
BRAND_PAGE = row(SIGN_IN, 200, 200, 403, 200, others=403)


def acme_distributor(platform: Platform, orgs: Orgs) -> int:
    """The distributor record of "Dist" for Acme (several areas' rows need it): registered
    by the first area that asks, found by the others."""
    from sqlalchemy import select

    from traceseal.db import unit_of_work
    from traceseal.logistics.models import Distributor
    from traceseal.logistics.service import register_distributor
    from traceseal.orgs.models import Organization

    with unit_of_work(platform.session_factory) as session:
        found = session.scalar(
            select(Distributor.id).where(
                Distributor.enterprise_id == orgs.acme.id,
                Distributor.organization_id == orgs.distributor.id,
            )
        )
        if found is not None:
            return int(found)
        acme = session.get(Organization, orgs.acme.id)
        assert acme is not None
        made, _ = register_distributor(
            session, acme, orgs.distributor.name, glns=["9506000000022"], territory=["440000"]
        )
        return made.id
