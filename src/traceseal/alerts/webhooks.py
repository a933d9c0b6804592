"""Delivering alerts to the webhook an enterprise configured: signed, retried, at least once.

The outbox (``traceseal.outbox``, shared with the SMS replies of ``channels/``):
:func:`traceseal.alerts.service.raise_alert` writes a ``webhook_deliveries`` row in the
alert's own transaction, so an alert is never lost between "stored" and "queued". A
background thread (:class:`Deliverer`, started by the server) sends due rows, each in three
short steps: claim it (push its next attempt past the request timeout, so another process
does not send it meanwhile), POST outside any transaction, record the outcome. A crash
between POST and record sends the alert again: receivers deduplicate on the
``Idempotency-Key`` header.

Each request carries (docs/logistics.md, "Webhooks"):

- ``TraceSeal-Timestamp``: Unix seconds when this attempt was signed;
- ``TraceSeal-Signature``: ``v1=`` and the hex HMAC-SHA256, keyed with the webhook secret,
  of ``{timestamp}.{body}`` (the body's exact bytes);
- ``Idempotency-Key``: the same on every attempt of one alert's delivery;
- ``TraceSeal-Event``: ``alert.<kind>``.

They go through ``traceseal.outbound``: https to public addresses only (checked when the
URL is set and again at each delivery, after DNS), no redirects followed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from traceseal import outbound
from traceseal.alerts.models import Alert, Delivery, DeliveryState, Webhook
from traceseal.db import utcnow
from traceseal.errors import InvalidInput, NotFound
from traceseal.keys import MasterKey
from traceseal.orgs.models import Organization
from traceseal.outbound import Policy
from traceseal.outbox import MAX_BACKOFF, Outbox, Outcome

__all__ = ["MAX_BACKOFF", "Deliverer", "delete_webhook", "get_webhook", "set_webhook", "sign"]

_PURPOSE = "webhook-secret"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``TraceSeal-Signature`` value of a request.

    >>> sign(b"s3cret", 1700000000, b'{"a":1}')[:11]
    'v1=1698a50b'
    """
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def _check_url(url: str, policy: Policy) -> str:
    try:
        return outbound.check_url(url, policy)
    except outbound.Refused as exc:
        raise InvalidInput(f"webhook URL refused: {exc}", field="url") from None


def set_webhook(
    session: Session,
    keyring: MasterKey,
    org: Organization,
    url: str,
    secret: str | None,
    policy: Policy = Policy(),
) -> tuple[Webhook, str]:
    """Configure (or replace) the organisation's webhook; returns it and its secret.

    Without ``secret`` a random one is made; either way it is returned once and stored
    only wrapped by the master key (it must be readable to sign, so it cannot be hashed).
    """
    secret = secret or secrets.token_urlsafe(32)
    if len(secret) < 16:
        raise InvalidInput("a webhook secret has at least 16 characters", field="secret")
    hook = session.get(Webhook, org.id)
    wrapped = keyring.wrap_secret(_PURPOSE, secret.encode())
    if hook is None:
        hook = Webhook(organization_id=org.id, url=_check_url(url, policy), wrapped_secret=wrapped)
        session.add(hook)
    hook.url = _check_url(url, policy)
    hook.wrapped_secret = wrapped
    hook.updated_at = utcnow()
    session.flush()
    return hook, secret


def get_webhook(session: Session, org: Organization) -> Webhook:
    hook = session.get(Webhook, org.id)
    if hook is None:
        raise NotFound("no webhook is configured")
    return hook


def delete_webhook(session: Session, org: Organization) -> None:
    session.delete(get_webhook(session, org))
    # Queued deliveries go nowhere now; they stay as a record, marked failed.
    for delivery in session.scalars(
        select(Delivery).where(
            Delivery.organization_id == org.id, Delivery.state == DeliveryState.PENDING.value
        )
    ):
        delivery.state = DeliveryState.FAILED.value
        delivery.last_error = "webhook removed"


def alert_payload(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "severity": alert.severity,
        "organization_id": alert.organization_id,
        "summary": alert.summary,
        "details": alert.details,
        "region": alert.region,
        "distributor_id": alert.distributor_id,
        "code": alert.code,
        "raised_at": alert.raised_at.isoformat(),
    }


class Deliverer(Outbox[tuple[str, bytes, str, bytes, str]]):
    """Sends due deliveries; :meth:`run` is the background task (safe to call repeatedly)."""

    model = Delivery

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        keyring: MasterKey,
        *,
        max_attempts: int = 8,
        retry_base: int = 30,
        timeout: float = 10.0,
        policy: Policy = Policy(),
        resolver: outbound.Resolver | None = None,
    ) -> None:
        super().__init__(
            session_factory, max_attempts=max_attempts, retry_base=retry_base, timeout=timeout
        )
        self._keyring = keyring
        self.policy = policy
        #: How host names become addresses (the system's resolver; tests pass their own).
        self.resolver = resolver

    def prepare(self, session: Session, row: Any) -> tuple[str, bytes, str, bytes, str] | None:
        delivery: Delivery = row
        hook = session.get(Webhook, delivery.organization_id)
        alert = session.get(Alert, delivery.alert_id)
        if hook is None or alert is None:
            delivery.last_error = "webhook removed"
            return None
        body = json.dumps(
            {"alert": alert_payload(alert), "attempt": delivery.attempts + 1},
            ensure_ascii=False,
            sort_keys=True,
        ).encode()
        secret = self._keyring.unwrap_secret(_PURPOSE, hook.wrapped_secret)
        return hook.url, secret, delivery.idempotency_key, body, alert.kind

    def send(self, job: tuple[str, bytes, str, bytes, str], now: datetime) -> Outcome:
        url, secret, key, body, kind = job
        return Outcome(self._post(url, secret, key, body, kind, now))

    def _post(
        self, url: str, secret: bytes, key: str, body: bytes, kind: str, now: datetime
    ) -> str | None:
        """POST one delivery; None on a 2xx answer, else what went wrong."""
        stamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            "TraceSeal-Timestamp": str(stamp),
            "TraceSeal-Signature": sign(secret, stamp, body),
            "Idempotency-Key": key,
            "TraceSeal-Event": f"alert.{kind}",
            "User-Agent": "TraceSeal-Webhook/1",
        }
        extra = {} if self.resolver is None else {"resolver": self.resolver}
        try:
            status = outbound.post(
                url, body, headers, timeout=self.timeout, policy=self.policy, **extra
            )
        except outbound.Refused as exc:
            return f"refused: {exc}"[:500]
        except (OSError, http.client.HTTPException) as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
        return None if 200 <= status < 300 else f"HTTP {status}"
