"""Sending subscriptions' results to their ``dest`` (EPCIS 2.0 REST binding, the
``querySubscriptionResults`` callback): an EPCISQueryDocument POSTed as
``application/json``, through the durable outbox (``traceseal.outbox``) and the safe client
(``traceseal.outbound``: https to public addresses only unless
``TRACESEAL_OUTBOUND_ALLOW_PRIVATE``, checked again after DNS at every attempt, no
redirects).

Each request carries:

- ``GS1-Signature`` when the subscriber gave a ``signatureToken``: the binding leaves the
  algorithm to the implementation and names "HMAC with SHA-256 directly" as an example;
  this one is the standard Base64 (RFC 4648 section 4, with padding) of
  HMAC-SHA256(key = the token's UTF-8 bytes, message = the request body's exact bytes);
- ``Idempotency-Key``: the same on every attempt of one delivery (delivery is at least
  once);
- ``GS1-EPCIS-Version`` and ``GS1-CBV-Version``.

The document's ``queryResults`` name the subscription (``subscriptionID``); its
``creationDate`` is when the delivery was queued, so every attempt sends the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, object_session, sessionmaker

from traceseal import outbound
from traceseal.epcis import query as querying
from traceseal.epcis.models import Event
from traceseal.epcis.standing_models import NamedQuery, Subscription, SubscriptionDelivery
from traceseal.epcis.subscriptions import TOKEN_PURPOSE
from traceseal.keys import MasterKey
from traceseal.orgs.models import Organization
from traceseal.outbox import Outbox, Outcome

__all__ = ["Deliverer", "document", "signature"]

_VERSIONS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}


def signature(token: bytes, body: bytes) -> str:
    """The ``GS1-Signature`` value of a request body.

    >>> signature(b"13df38d8275b13f05704629e5f1cf3d45d6132d5", b"{}")
    'wUh6v6WEx64k86tLS3OGXnwfZyxGkLIj2VgS3S9XnQY='
    """
    return base64.b64encode(hmac.new(token, body, hashlib.sha256).digest()).decode("ascii")


def document(
    session: Session,
    viewer: Organization,
    ids: list[int],
    *,
    now: datetime,
    namespace: str,
    subscription_id: str | None,
) -> dict[str, Any]:
    """The EPCISQueryDocument of the events ``ids`` that ``viewer`` may read, in id order."""
    # The query machinery of /events, narrowed to these events: the same visibility rule,
    # capture order, and the capture documents' JSON-LD prefixes.
    size = max(1, len(ids))
    page = querying.run(
        session, viewer, {"perPage": str(size)}, max_per_page=size, extra=[Event.id.in_(ids)]
    )
    body = querying.query_document(page, now=now, namespace=namespace)
    if subscription_id is not None:
        body["epcisBody"]["queryResults"]["subscriptionID"] = subscription_id
    return body


@dataclass(frozen=True, slots=True)
class _Job:
    url: str
    token: bytes | None
    key: str
    body: bytes


class Deliverer(Outbox[_Job]):
    """Sends due subscription deliveries; :meth:`run` is the background task."""

    model = SubscriptionDelivery

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        keyring: MasterKey,
        *,
        namespace: str,
        max_attempts: int = 8,
        retry_base: int = 30,
        timeout: float = 10.0,
        policy: outbound.Policy = outbound.Policy(),
    ) -> None:
        super().__init__(
            session_factory, max_attempts=max_attempts, retry_base=retry_base, timeout=timeout
        )
        self._keyring = keyring
        self.namespace = namespace
        self.policy = policy

    def prepare(self, session: Session, row: Any) -> _Job | None:
        delivery: SubscriptionDelivery = row
        subscription = session.get(Subscription, delivery.subscription_id)
        named = None if subscription is None else session.get(NamedQuery, subscription.query_id)
        viewer = None if named is None else session.get(Organization, named.organization_id)
        if subscription is None or named is None or viewer is None:
            delivery.last_error = "unsubscribed"
            return None
        body = document(
            session,
            viewer,
            json.loads(delivery.event_ids),
            now=delivery.created_at,
            namespace=self.namespace,
            subscription_id=subscription.subscription_id,
        )
        token = (
            None
            if subscription.wrapped_token is None
            else self._keyring.unwrap_secret(TOKEN_PURPOSE, subscription.wrapped_token)
        )
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        return _Job(subscription.dest, token, delivery.idempotency_key, data)

    def send(self, job: _Job, now: datetime) -> Outcome:  # noqa: ARG002 - Outbox's signature
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": job.key,
            "User-Agent": "TraceSeal-EPCIS-Subscription/1",
            **_VERSIONS,
        }
        if job.token is not None:
            headers["GS1-Signature"] = signature(job.token, job.body)
        try:
            status = outbound.post(
                job.url, job.body, headers, timeout=self.timeout, policy=self.policy
            )
        except outbound.Refused as exc:
            return Outcome(f"refused: {exc}"[:500])
        except (OSError, http.client.HTTPException) as exc:
            return Outcome(f"{type(exc).__name__}: {exc}"[:500])
        return Outcome(None if 200 <= status < 300 else f"HTTP {status}")

    def finished(self, row: Any) -> None:
        """lastNotifiedAt: the last time the subscriber answered 2xx."""
        delivery: SubscriptionDelivery = row
        session = object_session(delivery)
        if delivery.state == "delivered" and session is not None:
            found = session.get(Subscription, delivery.subscription_id)
            if found is not None:
                found.last_notified_at = delivery.delivered_at
