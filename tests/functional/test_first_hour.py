"""What a newcomer meets first: the demo's guide, the doctor, and labels that refuse a
loopback address."""

from __future__ import annotations

import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Platform, add_product
from tests.functional.people_helpers import Browser
from tests.functional.test_cli import GTIN, Cli
from traceseal.app import create_app
from traceseal.config import Settings


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite: these are about files and first runs (functional tests cover PostgreSQL)."""
    return f"sqlite:///{tmp_path / 'var' / 'traceseal.db'}"


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    return Cli(tmp_path / "var", database_url)


def test_the_demo_prints_keys_for_every_organisation_and_codes_that_show_what_they_say(
    cli: Cli, migrated: Settings, tmp_path: Path
) -> None:
    guide = cli.json("init", "--demo")
    # The server reads the master key file the demo made.
    migrated = migrated.replace(master_key="", data_dir=tmp_path / "var")
    roles = {o["role"] for o in guide["organizations"]}
    assert roles == {"enterprise", "lab", "regulator", "distributor"}
    kinds = [code["shows"].split(",")[0].split(" ")[0] for code in guide["codes_to_try"]]
    assert len(kinds) == 3
    app = create_app(migrated)
    with TestClient(app) as client:
        answers = []
        for code in guide["codes_to_try"]:
            response = client.post("/api/v1/verify", json={"code": code["code"]})
            assert response.status_code == 200, response.text
            answers.append(response.json())
        # Every printed key works.
        for org in guide["organizations"]:
            me = client.get(
                "/api/v1/orgs/me", headers={"Authorization": f"Bearer {org['api_key']}"}
            )
            assert me.json()["name"] == org["name"]
    # And every printed console admin signs in, the operator's too.
    assert len(guide["console"]) == len(guide["organizations"]) + 1
    for person in guide["console"]:
        browser = Browser(SimpleNamespace(app=app))  # type: ignore[arg-type]
        signed = browser.sign_in(person["email"], person["password"])
        assert signed.status_code == 303, signed.text
        assert signed.headers["location"] == "/console"
        assert person["name"] in browser.get("/console").text
        browser.close()
    app.state.engine.dispose()
    first, before, recalled = answers
    assert (first["verdict"], first["scan_count"]) == ("genuine", 1)
    assert before["verdict"] == "genuine_repeat"
    assert before["scan_count"] == 2
    assert recalled["recall"] is not None


def test_the_doctor_names_each_problem_with_its_fix(cli: Cli, tmp_path: Path) -> None:
    cli.run("init")
    data = tmp_path / "var"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "traceseal.db").stat().st_mode) == 0o600
    healthy = cli.run("doctor")
    assert "no problems found" in healthy.stderr
    (data / "traceseal.db").chmod(0o644)
    cli.env["TRACESEAL_PUBLIC_URL"] = "http://127.0.0.1:8000"
    sick = cli.run("doctor", "--host", "0.0.0.0", ok=False)  # noqa: S104 - what is checked
    assert sick.returncode == 1
    assert f"fix: chmod 600 {data / 'traceseal.db'}" in sick.stderr
    assert "serving on 0.0.0.0 while PUBLIC_URL is http://127.0.0.1:8000" in sick.stderr
    assert "fix: export TRACESEAL_PUBLIC_URL=" in sick.stderr
    cli.env["TRACESEAL_DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:9/none"
    unreachable = cli.run("doctor", ok=False)
    assert "cannot reach the database" in unreachable.stderr


def test_labels_refuse_a_loopback_public_url(cli: Cli, tmp_path: Path) -> None:
    cli.run("init")
    cli.run("orgs", "create", "--name", "Acme", "--role", "enterprise")
    cli.env["TRACESEAL_PUBLIC_URL"] = "http://127.0.0.1:8000"
    out = tmp_path / "codes.csv"
    refused = cli.run(
        "codes", "issue", "--org", "Acme", "--count", "5", "--out", str(out), ok=False
    )
    assert refused.returncode == 1
    assert "cannot be recalled" in refused.stderr
    assert not out.exists()
    cli.run(
        "codes", "issue", "--org", "Acme", "--count", "5", "--out", str(out), "--allow-local-url"
    )
    assert out.read_text().splitlines()[1].split(",")[1].startswith("http://127.0.0.1:8000/v/")


def test_label_downloads_refuse_a_loopback_public_url(migrated: Settings) -> None:
    platform = Platform(migrated.replace(public_url="http://localhost:8000"))
    try:
        acme = platform.org("Acme")
        add_product(platform, acme, GTIN)
        run = platform.client.post(
            "/api/v1/code-runs", json={"product": GTIN, "count": 3}, headers=acme.auth
        ).json()["run"]
        for name in ("codes.csv", "codes.zip", "labels.pdf"):
            response = platform.client.get(f"/api/v1/code-runs/{run}/{name}", headers=acme.auth)
            assert response.status_code == 409, name
            assert "TRACESEAL_PUBLIC_URL" in response.json()["detail"]
    finally:
        platform.close()


def test_the_home_page_sends_consumers_to_verify(platform: Platform) -> None:
    page = platform.client.get("/", headers={"Accept-Language": "en"}).text
    assert 'href="/verify?lang=en"' in page
    assert "Check a code" in page


def test_auditing_a_missing_or_foreign_database_says_so_and_creates_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    missing = cli.run("ledger", "verify", "--db", ok=False)
    assert missing.returncode == 1
    assert missing.stderr.strip().startswith("error: no database at")
    assert len(missing.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "var").exists()  # nothing was created
    stranger = tmp_path / "notes.db"
    stranger.write_text("not a database\n")
    cli.env["TRACESEAL_DATABASE_URL"] = f"sqlite:///{stranger}"
    foreign = cli.run("ledger", "verify", "--db", ok=False)
    assert foreign.returncode == 1
    assert "Traceback" not in foreign.stderr
    assert stranger.read_text() == "not a database\n"
