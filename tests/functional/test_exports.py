"""Exports over HTTP: the size cap, export jobs from 202 to download, cancellation, tenancy,
and the sweeper that cleans up after a runner that died.

Jobs are run by the real runner: the app's lifespan starts it (``TestClient`` as a context
manager), and it builds each file in a real worker process.
"""

from __future__ import annotations

import csv
import io
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import create_engine, text, update

from tests.conftest import Platform, Tenant, add_product
from tests.functional.test_cli import Cli
from traceseal.codes import jobs
from traceseal.codes.models import ExportJob
from traceseal.config import Settings
from traceseal.db import unit_of_work, utcnow

GTIN = "09506000134352"
#: A guard against a hung job, not a speed requirement: polls give up after this long.
HANG_GUARD = 300.0


@pytest.fixture
def running(platform: Platform) -> Iterator[TestClient]:
    """A client of the platform with its lifespan run: the export runner is working."""
    with TestClient(platform.app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def acme(platform: Platform) -> Tenant:
    tenant = platform.org("Acme")
    add_product(platform, tenant, GTIN)
    return tenant


def issue(client: TestClient, tenant: Tenant, count: int, **extra: Any) -> int:
    body = {"product": GTIN, "count": count, **extra}
    response = client.post("/api/v1/code-runs", json=body, headers=tenant.auth)
    assert response.status_code == 201, response.text
    return int(response.json()["run"])


def start(client: TestClient, tenant: Tenant, run: int, fmt: str) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/code-runs/{run}/exports", json={"format": fmt}, headers=tenant.auth
    )
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/api/v1/exports/{job['id']}"
    assert job["state"] == "queued"
    return job


def poll(
    client: TestClient, tenant: Tenant, job_id: int, until: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """Every state of the job seen until ``until`` holds for one."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        response = client.get(f"/api/v1/exports/{job_id}", headers=tenant.auth)
        assert response.status_code == 200, response.text
        seen.append(response.json())
        if until(seen[-1]):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"export job {job_id} never got there; last seen {seen[-1]}")


def finished(job: dict[str, Any]) -> bool:
    return job["state"] in ("done", "failed")


def exports_dir(platform: Platform) -> Path:
    return platform.settings.data_dir / "exports"


def files_of(platform: Platform, job_id: int) -> list[str]:
    directory = exports_dir(platform)
    return sorted(p.name for p in directory.glob(f"job-{job_id}.*")) if directory.is_dir() else []


def test_a_run_over_the_cap_is_refused_in_the_callers_language_before_any_work(
    migrated: Settings,
) -> None:
    platform = Platform(migrated.replace(export_max_codes=50))
    try:
        acme = platform.org("Acme")
        add_product(platform, acme, GTIN)
        client = platform.client
        over, at = issue(client, acme, 51), issue(client, acme, 50)

        chinese = client.post(
            f"/api/v1/code-runs/{over}/exports", json={"format": "zip"}, headers=acme.auth
        )
        assert chinese.status_code == 413
        assert chinese.headers["content-type"] == "application/problem+json"
        assert chinese.headers["content-language"] == "zh-CN"
        problem = chinese.json()
        assert problem["type"] == "/problems/export-too-large"
        assert problem["title"] == "导出过大"
        assert "51" in problem["detail"]
        assert "上限 50 个" in problem["detail"]
        assert (problem["count"], problem["limit"]) == (51, 50)

        english = {**acme.auth, "Accept-Language": "en-GB,en;q=0.9"}
        for path in ("codes.csv", "codes.zip", "labels.pdf"):
            refused = client.get(f"/api/v1/code-runs/{over}/{path}", headers=english)
            assert refused.status_code == 413, path
            assert refused.headers["content-language"] == "en"
            assert refused.json()["title"] == "Export too large"
            assert "limit of 50 codes" in refused.json()["detail"]
        # Nothing was queued, and a run at the cap is accepted.
        assert client.get("/api/v1/exports", headers=acme.auth).json() == []
        start(client, acme, at, "csv")
        assert client.get(f"/api/v1/code-runs/{at}/codes.csv", headers=acme.auth).is_success
    finally:
        platform.close()


def test_an_export_job_runs_to_a_download_equal_to_the_direct_one(
    platform: Platform, acme: Tenant, running: TestClient
) -> None:
    run = issue(running, acme, 1_200, pin=True)
    direct = running.get(f"/api/v1/code-runs/{run}/codes.csv", headers=acme.auth)
    assert direct.status_code == 200
    rows = list(csv.DictReader(io.StringIO(direct.text)))

    job = start(running, acme, run, "zip")
    seen = poll(running, acme, job["id"], finished)
    assert [s["state"] for s in seen][-1] == "done", seen[-1]
    # Each state comes after the ones before it, and progress only grows.
    order = ["queued", "running", "done"]
    ranks = [order.index(s["state"]) for s in seen]
    assert ranks == sorted(ranks)
    dones = [s["progress"]["done"] for s in seen]
    assert dones == sorted(dones)
    last = seen[-1]
    assert last["progress"] == {"done": 1_200, "total": 1_200}
    assert last["result"] == f"/api/v1/exports/{job['id']}/result"
    assert last["error"] is None

    result = running.get(last["result"], headers=acme.auth)
    assert result.status_code == 200
    assert result.headers["content-type"] == "application/zip"
    assert result.headers["content-disposition"] == f'attachment; filename="run-{run}-qr.zip"'
    assert int(result.headers["content-length"]) == last["size"] == len(result.content)
    archive = zipfile.ZipFile(io.BytesIO(result.content))
    assert archive.testzip() is None
    manifest = list(csv.DictReader(io.StringIO(archive.read("codes.csv").decode())))
    assert manifest == rows
    names = set(archive.namelist())
    assert {f"png/{r['code']}.png" for r in rows} | {f"svg/{r['code']}.svg" for r in rows} < names

    # The CSV job writes exactly the bytes the streamed download sends.
    csv_job = start(running, acme, run, "csv")
    assert poll(running, acme, csv_job["id"], finished)[-1]["state"] == "done"
    again = running.get(f"/api/v1/exports/{csv_job['id']}/result", headers=acme.auth)
    assert again.headers["content-type"].startswith("text/csv")
    assert again.content == direct.content


def test_a_pdf_job_draws_every_label(platform: Platform, acme: Tenant, running: TestClient) -> None:
    run = issue(running, acme, 45)
    job = start(running, acme, run, "pdf")
    assert poll(running, acme, job["id"], finished)[-1]["state"] == "done"
    result = running.get(f"/api/v1/exports/{job['id']}/result", headers=acme.auth)
    assert result.headers["content-disposition"].endswith(f'filename="run-{run}-labels.pdf"')
    # The standard sheet: A4, 3 x 8 labels a page, each code's digits on its label.
    pages = PdfReader(io.BytesIO(result.content)).pages
    assert len(pages) == 2
    text = "".join("".join(page.extract_text().split()) for page in pages)
    codes = running.get(f"/api/v1/code-runs/{run}/codes.csv", headers=acme.auth).text
    assert all(line.split(",")[0] in text for line in codes.splitlines()[1:])


def test_a_running_job_shows_progress_and_deleting_it_stops_it_and_leaves_nothing(
    platform: Platform, acme: Tenant, running: TestClient
) -> None:
    # Far more labels than are written before the job is deleted.
    run = issue(running, acme, 200_000)
    job = start(running, acme, run, "zip")
    seen = poll(running, acme, job["id"], lambda s: s["progress"]["done"] > 0)
    assert seen[-1]["state"] == "running"
    assert 0 < seen[-1]["progress"]["done"] < seen[-1]["progress"]["total"] == 200_000
    assert files_of(platform, job["id"]) == [f"job-{job['id']}.zip.partial"]
    early = running.get(f"/api/v1/exports/{job['id']}/result", headers=acme.auth)
    assert early.status_code == 409
    assert "running" in early.json()["detail"]

    deleted = running.delete(f"/api/v1/exports/{job['id']}", headers=acme.auth)
    assert deleted.status_code == 204
    gone = running.get(f"/api/v1/exports/{job['id']}", headers=acme.auth)
    assert gone.status_code == 404
    # The runner notices at its next heartbeat, stops the worker and removes its file, and
    # only then takes the next job: once that is done, nothing of the first may be left.
    small = start(running, acme, issue(running, acme, 10), "csv")
    assert small["id"] > job["id"]  # a deleted job's id is never given again
    assert poll(running, acme, small["id"], finished)[-1]["state"] == "done"
    assert files_of(platform, job["id"]) == []


def test_another_tenants_job_answers_exactly_as_a_missing_one(
    platform: Platform, acme: Tenant, running: TestClient
) -> None:
    rival = platform.org("Rival")
    job = start(running, acme, issue(running, acme, 10), "csv")
    poll(running, acme, job["id"], finished)
    paths = [("GET", ""), ("GET", "/result"), ("DELETE", "")]

    def answers(tenant: Tenant) -> list[tuple[int, Any]]:
        found = []
        for method, tail in paths:
            response = running.request(
                method, f"/api/v1/exports/{job['id']}{tail}", headers=tenant.auth
            )
            found.append((response.status_code, response.json()))
        return found

    while_it_exists = answers(rival)
    assert {status for status, _ in while_it_exists} == {404}
    # The operator too: a job belongs to the organisation that asked for it.
    assert {status for status, _ in answers(platform.operator)} == {404}
    assert running.get("/api/v1/exports", headers=rival.auth).json() == []
    # The owner still has it: the stranger's DELETE changed nothing.
    assert running.get(f"/api/v1/exports/{job['id']}", headers=acme.auth).status_code == 200
    assert running.delete(f"/api/v1/exports/{job['id']}", headers=acme.auth).status_code == 204
    assert answers(rival) == while_it_exists


def test_large_runs_are_not_built_while_the_client_waits(platform: Platform, acme: Tenant) -> None:
    small = platform.settings.export_sync_max_labels
    run = issue(platform.client, acme, small + 1)
    for path in ("codes.zip", "labels.pdf"):
        refused = platform.client.get(f"/api/v1/code-runs/{run}/{path}", headers=acme.auth)
        assert refused.status_code == 422
        assert f"POST /api/v1/code-runs/{run}/exports" in refused.json()["detail"]
    assert platform.client.get(f"/api/v1/code-runs/{run}/codes.csv", headers=acme.auth).is_success


def test_one_organisation_may_have_only_a_few_unfinished_jobs(
    platform: Platform, acme: Tenant
) -> None:
    # No lifespan here: no runner, so every job stays queued.
    run = issue(platform.client, acme, 10)
    for _ in range(jobs.MAX_PENDING):
        start(platform.client, acme, run, "csv")
    refused = platform.client.post(
        f"/api/v1/code-runs/{run}/exports", json={"format": "csv"}, headers=acme.auth
    )
    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    rival = platform.org("Rival")
    add_product(platform, rival, "09506000134376")
    other = platform.client.post(
        "/api/v1/code-runs", json={"product": "09506000134376", "count": 5}, headers=rival.auth
    ).json()["run"]
    start(platform.client, rival, other, "csv")


def test_the_sweeper_fails_abandoned_jobs_and_removes_old_and_orphan_files(
    platform: Platform, acme: Tenant
) -> None:
    runner = platform.app.state.exports
    run = issue(platform.client, acme, 10)
    abandoned, old, fresh = (start(platform.client, acme, run, "csv")["id"] for _ in range(3))
    directory = exports_dir(platform)
    directory.mkdir()
    long_ago = utcnow() - timedelta(seconds=platform.settings.export_retention) - jobs.STALE_AFTER
    with unit_of_work(platform.session_factory) as session:
        # A runner that died mid-job; a job finished long ago; one finished just now.
        session.execute(
            update(ExportJob)
            .where(ExportJob.id == abandoned)
            .values(state="running", started_at=long_ago, heartbeat_at=long_ago)
        )
        for job_id, when in ((old, long_ago), (fresh, utcnow())):
            session.execute(
                update(ExportJob)
                .where(ExportJob.id == job_id)
                .values(state="done", done=10, size=1, finished_at=when)
            )
    for name in (
        f"job-{abandoned}.csv.partial",
        f"job-{old}.csv",
        f"job-{fresh}.csv",
        "job-999.zip",
    ):
        (directory / name).write_bytes(b"x")

    runner.sweep()

    states = {
        job["id"]: job for job in platform.client.get("/api/v1/exports", headers=acme.auth).json()
    }
    assert set(states) == {abandoned, fresh}
    assert states[abandoned]["state"] == "failed"
    assert "stopped" in states[abandoned]["error"]
    assert sorted(p.name for p in directory.iterdir()) == [f"job-{fresh}.csv"]


def test_a_reprint_with_the_cli_leaves_the_database_writable(
    tmp_path: Path, database_url: str
) -> None:
    cli = Cli(tmp_path / "var", database_url)
    cli.json("init")
    cli.json("orgs", "create", "--name", "Acme", "--role", "enterprise")
    issued = tmp_path / "codes.csv"
    run = cli.json("codes", "issue", "--org", "Acme", "--count", "50000", "--out", str(issued))
    out = tmp_path / "labels.zip"
    command = ["codes", "export", "--run", str(run["run"]), "--out", str(out), "--format", "zip"]
    reprint = subprocess.Popen(
        [sys.executable, "-m", "traceseal.cli.main", *command],
        env=cli.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    partial = out.with_name(out.name + ".partial")
    try:
        deadline = time.monotonic() + HANG_GUARD
        while not partial.exists():
            assert reprint.poll() is None, "the reprint ended before writing"
            assert time.monotonic() < deadline, "the reprint never started writing"
            time.sleep(0.05)
        # While it writes, another process writes too, without waiting for it: a writer that
        # finds the lock taken fails at once here instead of queueing.
        sqlite = database_url.startswith("sqlite")
        engine = create_engine(database_url, connect_args={"timeout": 0} if sqlite else {})
        try:
            with engine.begin() as connection:
                connection.execute(text("UPDATE organizations SET name = 'Acme Ltd' WHERE id = 2"))
        finally:
            engine.dispose()
        assert reprint.poll() is None, "the reprint was not running during the write"
    finally:
        reprint.send_signal(signal.SIGINT)
        reprint.wait()
    assert not partial.exists()
