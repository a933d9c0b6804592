"""Named queries (EPCIS 2.0 REST binding, ``/queries``): a SimpleEventQuery kept under a
name by the organisation that made it, evaluated by ``query.py`` like ``/events``.

The ``query`` object is checked twice: against GS1's ``query-schema.json`` (the binding
says it SHALL validate against it), then by ``query.filters``, which refuses any parameter
this repository does not evaluate. A query that would be accepted and then half-ignored
would deliver events nobody asked for.

Each organisation has its own names: another tenant's ``myQuery`` is not found (404), and
creating one of the same name is not a conflict, so names reveal nothing across tenants.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import jsonschema_rs
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from traceseal.db import utcnow
from traceseal.epcis import query as querying
from traceseal.epcis.errors import EPCISException, QueryParameterException
from traceseal.epcis.models import Event
from traceseal.epcis.standing_models import NamedQuery, Subscription, SubscriptionDelivery
from traceseal.errors import Conflict, NotFound
from traceseal.orgs.models import Organization

__all__ = [
    "ResourceAlreadyExistsException",
    "SubscriptionControlsException",
    "create",
    "delete_query",
    "find",
    "listing",
    "matching_ids",
    "params_of",
    "read",
]

#: A name fits in one path segment unescaped.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.~-]{0,99}")
#: The query members that are not query parameters: JSON-LD prefixes for extensions.
_NOT_PARAMETERS = frozenset({"@context"})


class ResourceAlreadyExistsException(EPCISException):
    """The caller already has a named query of this name (409)."""

    kind = "conflict"
    title = "Resource already exists"
    epcis_type = "epcisException:ResourceAlreadyExistsException"


class SubscriptionControlsException(EPCISException):
    """A subscription's controls (dest, stream, schedule, ...) are missing or wrong (400)."""

    title = "Invalid subscription"
    epcis_type = "epcisException:SubscriptionControlsException"


@functools.cache
def _validator() -> jsonschema_rs.Validator:
    text = resources.files("traceseal.epcis").joinpath("data/query-schema.json")
    schema = json.loads(text.read_text(encoding="utf-8"))
    return jsonschema_rs.validator_for(schema, validate_formats=True)


def _parameter_value(value: Any) -> str:
    if isinstance(value, list):
        return "|".join(_parameter_value(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def params_of(definition: Any) -> dict[str, str]:
    """The query-string form ``query.py`` takes (lists joined with ``|``) of a ``query``
    object; raises QueryParameterException for one the schema or this repository refuses.

    >>> params_of({"eventType": ["ObjectEvent"], "EQ_bizStep": ["shipping", "receiving"]})
    {'eventType': 'ObjectEvent', 'EQ_bizStep': 'shipping|receiving'}
    """
    if not isinstance(definition, dict):
        raise QueryParameterException("query must be a JSON object", field="query")
    error = next(iter(_validator().iter_errors(definition)), None)
    if error is not None:
        where = "/".join(str(part) for part in error.instance_path)
        raise QueryParameterException(
            f"query{'.' + where if where else ''}: {error.message}", field=f"query/{where}"
        )
    params = {
        name: _parameter_value(value)
        for name, value in definition.items()
        if name not in _NOT_PARAMETERS
    }
    for name, value in params.items():
        if "|" in value and not isinstance(definition[name], list):
            raise QueryParameterException(f"{name} must not contain '|'", field=f"query/{name}")
    try:
        querying.filters(params)  # refuses what is not evaluated here
    except QueryParameterException as exc:
        raise QueryParameterException(exc.detail, field=f"query/{exc.field}") from None
    return params


def create(
    session: Session, org: Organization, name: Any, definition: Any, *, limit: int
) -> NamedQuery:
    if not isinstance(name, str) or NAME.fullmatch(name) is None:
        raise QueryParameterException(
            "name must be 1 to 100 letters, digits, '_', '.', '~' or '-', starting with a "
            "letter or digit",
            field="name",
        )
    params_of(definition)
    if session.scalar(
        select(NamedQuery.id).where(NamedQuery.organization_id == org.id, NamedQuery.name == name)
    ):
        raise ResourceAlreadyExistsException(f"you already have a query named {name!r}")
    count = session.scalar(
        select(func.count()).select_from(NamedQuery).where(NamedQuery.organization_id == org.id)
    )
    if (count or 0) >= limit:
        raise Conflict(f"you have {limit} named queries, the most one organisation may keep")
    named = NamedQuery(
        organization_id=org.id,
        name=name,
        definition=json.dumps(definition, ensure_ascii=False, sort_keys=True),
        created_at=utcnow(),
    )
    session.add(named)
    session.flush()
    return named


def find(session: Session, org: Organization, name: str) -> NamedQuery:
    """The caller's query of this name; another tenant's answers exactly like none."""
    named = session.scalar(
        select(NamedQuery).where(NamedQuery.organization_id == org.id, NamedQuery.name == name)
    )
    if named is None:
        raise NotFound(f"no query named {name!r}")
    return named


def listing(session: Session, org: Organization) -> list[NamedQuery]:
    return list(
        session.scalars(
            select(NamedQuery).where(NamedQuery.organization_id == org.id).order_by(NamedQuery.name)
        )
    )


def delete_query(session: Session, org: Organization, name: str) -> None:
    """Remove the query and, as the binding says, every subscription to it. Open WebSocket
    subscriptions notice on their next look and close (standing_api.py)."""
    named = find(session, org, name)
    subscriptions = select(Subscription.id).where(Subscription.query_id == named.id)
    session.execute(
        delete(SubscriptionDelivery).where(SubscriptionDelivery.subscription_id.in_(subscriptions))
    )
    session.execute(delete(Subscription).where(Subscription.query_id == named.id))
    session.delete(named)
    session.flush()


def read(named: NamedQuery) -> dict[str, Any]:
    return {"name": named.name, "query": json.loads(named.definition)}


def stored_params(named: NamedQuery) -> dict[str, str]:
    """The parameters of a stored query (checked when it was created)."""
    return params_of(json.loads(named.definition))


def matching_ids(
    session: Session,
    viewer: Organization,
    params: Mapping[str, str],
    extra: Sequence[ColumnElement[bool]] = (),
    *,
    limit: int | None = None,
) -> list[int]:
    """Ids of the events matching ``params`` that ``viewer`` may read, in capture order.

    Ordering and paging parameters of the query are not filters and do not apply here.
    """
    where = [*querying.filters(params), *extra]
    scope = querying.visible_to(viewer)
    if scope is not None:
        where.append(scope)
    statement = select(Event.id).where(*where).order_by(Event.id)
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.scalars(statement))
