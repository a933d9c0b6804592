"""Operations over HTTP: /readyz, /metrics (parsed as Prometheus reads it), request ids,
and JSON log lines of a served process that carry them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from tests.conftest import Platform, serve
from tests.functional.conftest import GTIN, issue
from tests.functional.test_cli import Cli
from tests.functional.test_crash import free_port
from traceseal.app import create_app
from traceseal.codes.models import CodeRun
from traceseal.config import Settings
from traceseal.db import make_engine, migrate, schema_revisions
from traceseal.ledger.checkpoints import publish_now

TOKEN = "scrape-token-for-tests"


def scrape(platform: Platform) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """/metrics as Prometheus parses it: each sample's value by name and sorted labels."""
    response = platform.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


@pytest.fixture
def platform(migrated: Settings) -> Iterator[Platform]:
    """The shared fixture's platform, with a scrape token (this module's ``acme`` uses it)."""
    p = Platform(migrated.replace(metrics_token=TOKEN))
    yield p
    p.close()


def test_metrics_carry_verdicts_latency_queues_and_the_log(platform: Platform, acme) -> None:
    platform.client.cookies.clear()
    code = issue(platform, acme, 5)[0]
    assert platform.client.post("/api/v1/verify", json={"code": code}).json()["verdict"] == (
        "genuine"
    )
    platform.client.get(f"/01/{GTIN}/21/{code}", headers={"Accept": "text/html"})
    with platform.session_factory() as session:
        run_id = session.scalar(select(CodeRun.id))
    # No lifespan here, so no export runner: the job stays queued, as behind a busy one.
    queued = platform.client.post(
        f"/api/v1/code-runs/{run_id}/exports", json={"format": "csv"}, headers=acme.auth
    )
    assert queued.status_code == 202, queued.text
    app = platform.app
    publish_now(
        platform.session_factory, app.state.keyring, platform.settings.resolved_ledger_origin
    )

    samples = scrape(platform)
    verdicts = samples["traceseal_verifications_total"]
    assert verdicts[(("channel", "api"), ("verdict", "genuine"))] == 1
    assert verdicts[(("channel", "qr"), ("verdict", "genuine_repeat"))] == 1
    assert len(verdicts) == 2
    latency = samples["traceseal_http_request_duration_seconds_count"]
    assert latency[(("method", "POST"), ("route", "/api/v1/verify"), ("status", "200"))] == 1
    # The resolver's route by its template: never a code in a label.
    resolver = [labels for labels in latency if ("route", "/01/{gtin}/21/{serial}") in labels]
    assert resolver, sorted(latency)
    assert not any(code in value for labels in latency for _, value in labels)
    assert samples["traceseal_database_up"][()] == 1
    depth = samples["traceseal_queue_depth"]
    assert depth[(("queue", "exports"), ("state", "queued"))] == 1
    assert depth[(("queue", "exports"), ("state", "running"))] == 0
    assert depth[(("queue", "webhooks"), ("state", "pending"))] == 0
    assert depth[(("queue", "sms"), ("state", "pending"))] == 0
    assert samples["traceseal_queue_oldest_age_seconds"][(("queue", "exports"),)] >= 0
    assert samples["traceseal_queue_oldest_age_seconds"][(("queue", "webhooks"),)] == 0
    assert samples["traceseal_outbox_failed"][(("queue", "webhooks"),)] == 0
    assert samples["traceseal_outbox_retrying"][(("queue", "sms"),)] == 0
    # Issuance and activation are leaves of the log; the checkpoint just published covers all.
    size = samples["traceseal_ledger_size"][()]
    assert size >= 2
    assert samples["traceseal_ledger_checkpoint_size"][()] == size
    assert 0 <= samples["traceseal_ledger_checkpoint_age_seconds"][()] < 60

    platform.client.post("/api/v1/verify", json={"code": code})
    again = scrape(platform)["traceseal_verifications_total"]
    assert again[(("channel", "api"), ("verdict", "genuine_repeat"))] == 1


def test_metrics_are_refused_without_the_token_or_a_listed_network(platform: Platform) -> None:
    client = platform.client
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_metrics_answer_a_scraper_on_a_listed_network_without_a_token(migrated: Settings) -> None:
    with serve(migrated) as platform:  # no token set; the client is 127.0.0.1
        url = platform.settings.public_url + "/metrics"
        with urllib.request.urlopen(url) as response:
            assert response.status == 200
            assert b"traceseal_ledger_size" in response.read()
        # The same client, once loopback is no longer listed: as if there were no such page.
        platform.app.state.settings = platform.settings.replace(metrics_networks="10.0.0.0/8")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url)
        refused.value.close()
        assert refused.value.code == 404


def test_readyz_is_200_when_all_is_well(platform: Platform) -> None:
    response = platform.client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "master_key": "ok"},
    }


def test_readyz_is_503_naming_migrations_when_the_schema_is_behind(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    migrate(engine, "0016")
    current, head = schema_revisions(engine)
    engine.dispose()
    assert current == "0016"
    assert head != "0016"
    platform = Platform(settings)
    try:
        response = platform.client.get("/readyz", headers={"Accept-Language": "en"})
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["type"] == "/problems/not-ready"
        assert list(body["checks"]) == ["migrations"]
        assert "0016" in body["checks"]["migrations"]
        assert head in body["checks"]["migrations"]
        zh = platform.client.get("/readyz").json()
        assert "traceseal migrate" in zh["checks"]["migrations"]
        assert zh["title"] == "服务尚未就绪"
        assert platform.client.get("/healthz").status_code == 200  # alive all the same
    finally:
        platform.close()


def test_readyz_is_503_naming_the_master_key_of_another_installation(
    platform: Platform, settings: Settings
) -> None:
    publish_now(
        platform.session_factory, platform.app.state.keyring, settings.resolved_ledger_origin
    )
    other = create_app(settings.replace(master_key="ab" * 32))
    try:
        from fastapi.testclient import TestClient

        with TestClient(other) as client:
            response = client.get("/readyz", headers={"Accept-Language": "en"})
    finally:
        other.state.engine.dispose()
    assert response.status_code == 503
    assert list(response.json()["checks"]) == ["master_key"]


def test_readyz_is_503_naming_the_database_when_it_cannot_be_reached(tmp_path: Path) -> None:
    from traceseal.config import load_settings

    # Nothing listens on port 1: the connection is refused at once.
    nowhere = "postgresql+psycopg://postgres@127.0.0.1:1/traceseal?connect_timeout=2"
    settings = load_settings(
        {}, data_dir=tmp_path, database_url=nowhere, master_key="cd" * 32, metrics_token=TOKEN
    )
    app = create_app(settings)
    try:
        from fastapi.testclient import TestClient

        client = TestClient(app)
        response = client.get("/readyz", headers={"Accept-Language": "en"})
        insider = client.get(
            "/readyz", headers={"Accept-Language": "en", "Authorization": f"Bearer {TOKEN}"}
        )
    finally:
        app.state.engine.dispose()
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "the database cannot be reached: the server's log says why"
    }
    # Whoever may read the metrics is told the driver's reason (which names the address).
    assert insider.status_code == 503
    assert "127.0.0.1" in insider.json()["checks"]["database"]


def test_request_ids_are_kept_if_sane_made_otherwise_and_echoed(platform: Platform) -> None:
    client = platform.client
    kept = client.get("/healthz", headers={"X-Request-ID": "edge-7f3a:01.2_x"})
    assert kept.headers["x-request-id"] == "edge-7f3a:01.2_x"
    for insane in ("two words", "x" * 129, "<script>", ""):
        made = client.get("/healthz", headers={"X-Request-ID": insane})
        assert made.headers["x-request-id"] != insane
        assert len(made.headers["x-request-id"]) == 32
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert first != second
    # Errors carry it too.
    missing = client.get("/api/v1/products/1", headers={"X-Request-ID": "req-404"})
    assert missing.status_code == 401
    assert missing.headers["x-request-id"] == "req-404"


@contextlib.contextmanager
def served_with_logs(
    tmp_path: Path, database_url: str
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    cli = Cli(tmp_path / "var", database_url)
    cli.json("init")
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "traceseal.cli.main", "serve", "--port", str(port)],
            env=cli.env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        yield server, base, log
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def test_served_logs_are_json_lines_carrying_the_request_id_and_sigterm_stops_cleanly(
    tmp_path: Path, database_url: str
) -> None:
    with served_with_logs(tmp_path, database_url) as (server, base, log):
        request = urllib.request.Request(f"{base}/readyz", headers={"X-Request-ID": "drill-0001"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert response.headers["X-Request-ID"] == "drill-0001"
        server.send_signal(signal.SIGTERM)
        # uvicorn stops gracefully, then ends by the signal it was sent (exit status -15).
        assert server.wait(timeout=15) in (0, -signal.SIGTERM)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert lines, "no log lines"
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert not any("color_message" in line for line in lines)
    ours = [line for line in lines if line.get("request_id") == "drill-0001"]
    assert any(line["logger"] == "uvicorn.access" and "/readyz" in line["message"] for line in ours)
    # Background work stopped with the server: uvicorn's last words are logged after it.
    assert any("Application shutdown complete" in line["message"] for line in lines)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("TRACESEAL_METRICS_NETWORKS", "10.0.0.0/8,not-a-network", "TRACESEAL_METRICS_NETWORKS"),
        ("TRACESEAL_METRICS_NETWORKS", "10.0.0.1/8", "host bits set"),
        ("TRACESEAL_LOG_FORMAT", "yaml", "TRACESEAL_LOG_FORMAT must be json or text"),
    ],
)
def test_operations_settings_are_checked(variable: str, value: str, says: str) -> None:
    from traceseal.config import SettingsError, load_settings

    with pytest.raises(SettingsError, match=says):
        load_settings({variable: value})
    assert load_settings({"TRACESEAL_METRICS_NETWORKS": ""}).resolved_metrics_networks == ()
