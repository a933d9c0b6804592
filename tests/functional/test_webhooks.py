"""Alerts delivered to an enterprise's webhook: a real HTTP server on a local port that fails
the first attempts, checks every signature and sees one idempotency key throughout."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from tests.conftest import Platform, Tenant, serve
from tests.functional.conftest import issue
from tests.functional.test_diversion import scan
from traceseal.alerts.models import Delivery, Severity
from traceseal.alerts.service import raise_alert
from traceseal.alerts.webhooks import Deliverer
from traceseal.config import Settings
from traceseal.db import unit_of_work, utcnow

SECRET = "webhook-secret-for-tests-0123456789"


class Receiver:
    """Answers 500 to the first ``failures`` requests, then 200; keeps what it was sent."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[tuple[Message, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.headers, body))  # case-insensitive
                failing = len(receiver.requests) <= receiver.failures
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/traceseal"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The receiver listens on 127.0.0.1: these tests allow tenants' loopback URLs."""
    return settings.replace(outbound_allow_private=1)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(failures=2)
    yield r
    r.close()


def configure(platform: Platform, tenant: Tenant, url: str) -> None:
    response = platform.client.put(
        "/api/v1/alerts/webhook", json={"url": url, "secret": SECRET}, headers=tenant.auth
    )
    assert response.status_code == 200, response.text
    assert response.json()["secret"] == SECRET
    # The secret is shown when set, never again.
    assert platform.client.get("/api/v1/alerts/webhook", headers=tenant.auth).json() == {
        "url": url,
        "updated_at": response.json()["updated_at"],
        "secret": None,
    }


def clone_alert(platform: Platform, tenant: Tenant) -> str:
    code = issue(platform, tenant, 1)[0]
    scan(platform, code, "440305", device="a" * 20)
    scan(platform, code, "110105", device="b" * 20)
    return code


def deliveries(platform: Platform) -> list[Delivery]:
    with unit_of_work(platform.session_factory) as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def test_an_alert_is_delivered_signed_and_retried_with_back_off_under_one_key(
    platform: Platform, acme: Tenant, receiver: Receiver
) -> None:
    configure(platform, acme, receiver.url)
    code = clone_alert(platform, acme)
    [queued] = deliveries(platform)  # written with the alert, in its transaction
    assert queued.state == "pending"
    deliverer: Deliverer = platform.app.state.deliverer
    t0 = utcnow() + timedelta(seconds=1)

    assert deliverer.run(t0) == 1  # first attempt: 500
    [after_one] = deliveries(platform)
    assert (after_one.state, after_one.attempts, after_one.last_error) == ("pending", 1, "HTTP 500")
    assert after_one.next_attempt_at == t0 + timedelta(seconds=30)
    assert deliverer.run(t0 + timedelta(seconds=29)) == 0  # not due yet
    assert deliverer.run(t0 + timedelta(seconds=30)) == 1  # second: 500, then wait 60 s
    assert deliveries(platform)[0].next_attempt_at == t0 + timedelta(seconds=90)
    assert deliverer.run(t0 + timedelta(seconds=89)) == 0
    assert deliverer.run(t0 + timedelta(seconds=90)) == 1  # third: 200
    [done] = deliveries(platform)
    assert (done.state, done.attempts) == ("delivered", 3)
    assert deliverer.run(t0 + timedelta(days=1)) == 0  # delivered once is done

    assert len(receiver.requests) == 3
    keys = {headers["Idempotency-Key"] for headers, _ in receiver.requests}
    assert keys == {done.idempotency_key}
    for attempt, (headers, body) in enumerate(receiver.requests, start=1):
        stamp = headers["TraceSeal-Timestamp"]
        expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        assert headers["TraceSeal-Signature"] == "v1=" + expected.hexdigest()
        assert headers["TraceSeal-Event"] == "alert.clone"
        payload = json.loads(body)
        assert payload["attempt"] == attempt
        assert payload["alert"]["kind"] == "clone"
        assert payload["alert"]["code"] == code
    # A body altered in transit no longer matches its signature.
    headers, body = receiver.requests[0]
    forged = hmac.new(
        SECRET.encode(), headers["TraceSeal-Timestamp"].encode() + b"." + body + b" ", "sha256"
    )
    assert headers["TraceSeal-Signature"] != "v1=" + forged.hexdigest()


def test_a_delivery_gives_up_after_its_attempts_and_others_get_nothing(
    platform: Platform, acme: Tenant, receiver: Receiver
) -> None:
    configure(platform, acme, receiver.url)
    clone_alert(platform, acme)
    # A brand without a webhook: its alerts queue nothing.
    other = platform.org("Another brand")
    with unit_of_work(platform.session_factory) as session:
        raise_alert(
            session,
            kind="clone",
            severity=Severity.CRITICAL,
            summary="another brand's alert",
            dedupe_key="test:other",
            organization_id=other.id,
        )
    assert len(deliveries(platform)) == 1
    stubborn = Deliverer(
        platform.session_factory,
        platform.app.state.keyring,
        max_attempts=2,
        policy=platform.settings.outbound_policy,
    )
    t0 = utcnow() + timedelta(seconds=1)
    stubborn.run(t0)
    stubborn.run(t0 + timedelta(hours=1))
    [failed] = deliveries(platform)
    assert (failed.state, failed.attempts) == ("failed", 2)
    assert len(receiver.requests) == 2


def test_webhook_urls_are_checked(platform: Platform, acme: Tenant) -> None:
    response = platform.client.put(
        "/api/v1/alerts/webhook",
        json={"url": "ftp://example.org/x", "secret": SECRET},
        headers=acme.auth,
    )
    assert response.status_code == 422
    assert platform.client.get("/api/v1/alerts/webhook", headers=acme.auth).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "http://hooks.example.org/hook",  # not https
    ],
)
def test_internal_and_plain_http_targets_are_refused_when_set(migrated: Settings, url: str) -> None:
    # Through a served instance with the production default (no private targets).
    with serve(migrated.replace(outbound_allow_private=0)) as platform:
        tenant = platform.org("Rival brand")
        request = urllib.request.Request(
            f"{platform.settings.public_url}/api/v1/alerts/webhook",
            data=json.dumps({"url": url}).encode(),
            headers={**tenant.auth, "Content-Type": "application/json"},
            method="PUT",
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 422
    assert json.loads(refused.value.read())["field"] == "url"


def test_a_redirect_is_a_failed_delivery_never_followed(
    platform: Platform, acme: Tenant, receiver: Receiver
) -> None:
    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(302)
            self.send_header("Location", receiver.url)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        configure(platform, acme, f"http://127.0.0.1:{server.server_address[1]}/hook")
        clone_alert(platform, acme)
        platform.app.state.deliverer.run(utcnow() + timedelta(seconds=1))
    finally:
        server.shutdown()
        server.server_close()
    [delivery] = deliveries(platform)
    assert delivery.last_error == "HTTP 302"
    assert receiver.requests == []  # the redirect's target got nothing
