"""Delivering alerts to the webhook an enterprise configured: signed, retried, at least once.

The outbox: :func:`traceseal.alerts.service.raise_alert` writes a ``webhook_deliveries``
row in the alert's own transaction, so an alert is never lost between "stored" and
"queued". A background thread (:class:`Deliverer`, started by the server) sends due rows,
each in three short steps: claim it (push its next attempt past the request timeout, so
another process does not send it meanwhile), POST outside any transaction, record the
outcome. A crash between POST and record sends the alert again: receivers deduplicate on
the ``Idempotency-Key`` header.

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
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from traceseal import outbound
from traceseal.alerts.models import Alert, Delivery, DeliveryState, Webhook
from traceseal.db import read_only_factory, unit_of_work, utcnow
from traceseal.errors import InvalidInput, NotFound
from traceseal.keys import MasterKey
from traceseal.orgs.models import Organization
from traceseal.outbound import Policy

__all__ = ["Deliverer", "delete_webhook", "get_webhook", "set_webhook", "sign"]

log = logging.getLogger("traceseal.webhooks")
_PURPOSE = "webhook-secret"
#: The longest wait between two attempts.
MAX_BACKOFF = timedelta(hours=6)
#: Deliveries one pass of the worker sends at most.
BATCH = 50


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


_DUE = select(Delivery.id).where(Delivery.state == DeliveryState.PENDING.value)


class Deliverer:
    """Sends due deliveries; :meth:`run` is the background task (safe to call repeatedly)."""

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
        self._factory = session_factory
        # The look for due deliveries, every second, only reads: on SQLite it must neither
        # take the writer's turn nor the write lock, which verifications are waiting for.
        self._reader = read_only_factory(session_factory.kw["bind"])
        self._keyring = keyring
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.timeout = timeout
        self.policy = policy
        #: How host names become addresses (the system's resolver; tests pass their own).
        self.resolver = resolver

    def backoff(self, attempts: int) -> timedelta:
        """Wait after the ``attempts``-th failure: base, 2 x base, 4 x base, ... capped."""
        return min(timedelta(seconds=self.retry_base * 2 ** (attempts - 1)), MAX_BACKOFF)

    def run(self, now: datetime | None = None) -> int:
        """Send every delivery due at ``now``; returns how many were attempted."""
        now = now or utcnow()
        with self._reader() as session:
            if session.scalar(_DUE.limit(1).where(Delivery.next_attempt_at <= now)) is None:
                return 0
        claimed: list[tuple[int, str, bytes, str, bytes, str]] = []
        with unit_of_work(self._factory) as session:
            due = session.scalars(
                select(Delivery)
                .where(
                    Delivery.state == DeliveryState.PENDING.value,
                    Delivery.next_attempt_at <= now,
                )
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(BATCH)
            ).all()
            for delivery in due:
                hook = session.get(Webhook, delivery.organization_id)
                alert = session.get(Alert, delivery.alert_id)
                if hook is None or alert is None:
                    delivery.state = DeliveryState.FAILED.value
                    delivery.last_error = "webhook removed"
                    continue
                # The lease: nobody else sends it until this attempt had time to finish.
                delivery.next_attempt_at = now + timedelta(seconds=self.timeout * 3)
                body = json.dumps(
                    {"alert": alert_payload(alert), "attempt": delivery.attempts + 1},
                    ensure_ascii=False,
                    sort_keys=True,
                ).encode()
                secret = self._keyring.unwrap_secret(_PURPOSE, hook.wrapped_secret)
                claimed.append(
                    (delivery.id, hook.url, secret, delivery.idempotency_key, body, alert.kind)
                )
        for delivery_id, url, secret, key, body, kind in claimed:
            error = self._post(url, secret, key, body, kind, now)
            self._record(delivery_id, error, now)
        return len(claimed)

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

    def _record(self, delivery_id: int, error: str | None, now: datetime) -> None:
        with unit_of_work(self._factory) as session:
            delivery = session.get(Delivery, delivery_id)
            if delivery is None:
                return
            delivery.attempts += 1
            if error is None:
                delivery.state = DeliveryState.DELIVERED.value
                delivery.delivered_at = now
                delivery.last_error = ""
                return
            delivery.last_error = error
            if delivery.attempts >= self.max_attempts:
                delivery.state = DeliveryState.FAILED.value
                log.warning("webhook delivery %s failed for good: %s", delivery_id, error)
            else:
                delivery.next_attempt_at = now + self.backoff(delivery.attempts)
