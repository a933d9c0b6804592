"""Webhooks and SSRF, against served instances: internal targets are refused when a webhook is
registered; a name that resolves to this machine when an alert is delivered is refused before
any connection (DNS rebinding); a redirect is a failed delivery, never followed.

Two instances: ``served`` runs with the production default (https to public addresses only),
``lenient`` with TRACESEAL_OUTBOUND_ALLOW_PRIVATE=1, so it may deliver to receivers on this
machine. Both resolve names through a hosts file of their own (``hosts/sitecustomize.py``),
where ``hooks.rebind.test`` is 127.0.0.1: the same name that ``lenient`` delivers to is the
one ``served`` refuses, which shows the refusal is the address check's, not a failed lookup.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from tests.conftest import Tenant
from tests.functional.test_webhooks import Receiver
from tests.served.conftest import ENGINES, REBINDING, Brand, Served, instance, wait_for
from traceseal.alerts.models import Delivery

SECRET = "webhook-secret-for-served-tests"


@pytest.fixture(scope="module", params=ENGINES)
def lenient(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    yield from instance(tmp_path_factory, request.param, {"TRACESEAL_OUTBOUND_ALLOW_PRIVATE": "1"})


def set_webhook(served: Served, tenant: Tenant, url: str) -> tuple[int, dict]:
    response = served.call(
        "PUT", "/api/v1/alerts/webhook", tenant.key, json={"url": url, "secret": SECRET}
    )
    return response.status_code, response.json()


def clone_alert(served: Served, brand: Brand) -> str:
    """A code queried in Shenzhen and, moments later, in Beijing by another phone: copied."""
    (code,) = served.issue(brand, 1)
    served.verify(code, device="a" * 20, region="440305")
    served.verify(code, device="b" * 20, region="110105")
    [alert] = served.alerts(brand, kind="clone")
    assert alert["code"] == code
    return code


def deliveries(served: Served, tenant: Tenant) -> list[tuple[str, int, str]]:
    """(state, attempts, last error) of the organisation's deliveries: no route shows them."""
    with served.db.connect() as connection:
        rows = connection.execute(
            select(Delivery.state, Delivery.attempts, Delivery.last_error)
            .where(Delivery.organization_id == tenant.id)
            .order_by(Delivery.id)
        )
        return [tuple(row) for row in rows]


def attempted(served: Served, tenant: Tenant) -> tuple[str, int, str]:
    """The organisation's one delivery, once the server's deliverer has tried it."""
    found = wait_for(
        lambda: [d for d in deliveries(served, tenant) if d[1] >= 1],
        "the server to attempt the webhook delivery",
    )
    [delivery] = found
    return delivery


class Listener:
    """A TCP port on 127.0.0.1 that counts the connections made to it."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return  # closed
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.socket.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "https://127.0.0.1/hook",
        "https://127.1/hook",
        "https://2130706433/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.7/hook",
        "https://100.64.0.1/hook",
        "https://[::1]/hook",
        "https://[fc00::]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://224.0.0.251/hook",
        "https://[ff02::1]/hook",
        "https://0.0.0.0/hook",
        "https://localhost/hook",
        "https://alerts.localhost:8443/hook",
    ],
)
def test_internal_targets_are_refused_when_a_webhook_is_registered(
    served: Served, url: str
) -> None:
    brand = served.org("安盾消防")
    status, problem = set_webhook(served, brand, url)
    assert status == 422, problem
    assert problem["field"] == "url"
    assert "webhook URL refused" in problem["detail"]
    assert served.call("GET", "/api/v1/alerts/webhook", brand.key).status_code == 404
    # A public name is accepted: what was refused is the target.
    status, made = set_webhook(served, brand, "https://hooks.example.org/traceseal")
    assert status == 200, made


def test_a_name_that_resolves_to_this_machine_at_delivery_is_refused_before_connecting(
    served: Served,
) -> None:
    listener = Listener()
    try:
        brand = served.brand()
        url = f"https://{REBINDING}:{listener.port}/alerts"
        # A name: nothing to check until it is called (its addresses may change).
        assert set_webhook(served, brand, url)[0] == 200
        clone_alert(served, brand)
        state, attempts, error = attempted(served, brand)
    finally:
        listener.close()
    assert (state, attempts) == ("pending", 1)  # to be tried again, and refused again
    assert error == f"refused: {REBINDING} resolves to 127.0.0.1, a loopback address: refused"
    assert listener.connections == 0


def test_the_same_name_is_delivered_to_where_private_targets_are_allowed(
    lenient: Served,
) -> None:
    receiver = Receiver(failures=0)
    try:
        brand = lenient.brand()
        port = receiver.server.server_address[1]
        assert set_webhook(lenient, brand, f"http://{REBINDING}:{port}/alerts")[0] == 200
        code = clone_alert(lenient, brand)
        wait_for(lambda: receiver.requests, "the alert at the receiver")
    finally:
        receiver.close()
    [(headers, body)] = receiver.requests
    assert headers["Host"] == f"{REBINDING}:{port}"  # the name, sent to the checked address
    assert headers["TraceSeal-Event"] == "alert.clone"
    assert json.loads(body)["alert"]["code"] == code
    assert wait_for(lambda: deliveries(lenient, brand)[0][0] == "delivered", "delivered")


def test_a_redirect_is_a_failed_delivery_and_never_followed(lenient: Served) -> None:
    target = Receiver(failures=0)
    calls: list[str] = []

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            calls.append(self.path)
            self.send_response(302)
            self.send_header("Location", target.url)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    redirect = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=redirect.serve_forever, daemon=True).start()
    try:
        brand = lenient.brand()
        url = f"http://127.0.0.1:{redirect.server_address[1]}/hook"
        assert set_webhook(lenient, brand, url)[0] == 200
        clone_alert(lenient, brand)
        state, attempts, error = attempted(lenient, brand)
    finally:
        redirect.shutdown()
        redirect.server_close()
        target.close()
    assert (state, attempts, error) == ("pending", 1, "HTTP 302")
    assert calls == ["/hook"]
    assert target.requests == []  # the redirect's target was never called
