"""`traceseal users`: the real command against a real database, then the console over it."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.functional.test_cli import Cli
from traceseal.app import create_app
from traceseal.config import load_settings
from traceseal.db import make_session_factory
from traceseal.people.models import AuditEntry

PASSWORD = "a long enough secret"


def _run(cli: Cli, *args: str, stdin: str = "", ok: bool = True) -> str:
    result = cli.run(*args, stdin=stdin, ok=ok)
    if not ok:
        assert result.returncode != 0, result.stdout
        return result.stderr
    return result.stdout


def test_users_create_list_reset_link_and_disable(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "var"
    cli = Cli(data_dir, database_url)
    _run(cli, "init")
    _run(cli, "orgs", "create", "--name", "Acme", "--role", "enterprise")
    created = json.loads(
        _run(
            cli,
            *("users", "create", "--org", "Acme", "--email", "Li@Acme.cn", "--role", "admin"),
            *("--password-stdin", "--json"),
            stdin=PASSWORD + "\n",
        )
    )
    assert (created["email"], created["role"], created["organization"]) == (
        "li@acme.cn",
        "admin",
        "Acme",
    )
    assert "link" not in created
    # Without a password: a one-time link to set one.
    invited = json.loads(
        _run(cli, "users", "create", "--org", "Acme", "--mobile", "138 0013 8000", "--json")
    )
    assert invited["mobile"] == "8613800138000"
    assert invited["link"].startswith("https://verify.example.org/console/reset/")
    # The same email twice, a short password, an unknown organisation: refused, one line.
    assert "already" in _run(
        cli, "users", "create", "--org", "Acme", "--email", "li@acme.cn", ok=False
    )
    assert "at least 10" in _run(
        cli,
        *("users", "create", "--org", "Acme", "--email", "x@acme.cn", "--password-stdin"),
        stdin="short\n",
        ok=False,
    )
    assert "no organisation" in _run(
        cli, "users", "create", "--org", "Nope", "--email", "y@acme.cn", ok=False
    )
    listed = json.loads(_run(cli, "users", "list", "--org", "Acme", "--json"))["people"]
    assert [p["email"] or p["mobile"] for p in listed] == ["8613800138000", "li@acme.cn"]

    link = json.loads(_run(cli, "users", "reset-link", "li@acme.cn", "--json"))["link"]
    path = link.removeprefix("https://verify.example.org")
    settings = load_settings(
        {},
        data_dir=data_dir,
        database_url=database_url,
        public_url="https://verify.example.org",
    )
    app = create_app(settings)
    try:
        with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
            page = client.get(path)
            assert page.status_code == 200
            assert "li@acme.cn" in page.text
            token = page.text.split('name="csrf" value="')[1].split('"')[0]
            new = "a brand new secret"
            answer = client.post(path, data={"csrf": token, "password": new, "again": new})
            assert answer.status_code == 303
            assert client.get(path).status_code == 404  # once only
            token = client.get("/console/sign-in").text.split('name="csrf" value="')[1]
            token = token.split('"')[0]
            signed = client.post(
                "/console/sign-in",
                data={"csrf": token, "login": "li@acme.cn", "password": new},
            )
            assert signed.status_code == 303
            assert client.get("/console").status_code == 200

            _run(cli, "users", "disable", "li@acme.cn")
            # Disabling ends the session at once.
            assert client.get("/console").status_code == 303
        with make_session_factory(app.state.engine)() as session:
            actions = [
                (e.action, e.actor.startswith("cli:"))
                for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            ]
        assert actions == [
            ("person.create", True),
            ("person.create", True),
            ("reset_link.issue", True),
            ("reset_link.issue", True),
            ("password.reset", False),
            ("session.sign_in", False),
            ("person.disable", True),
        ]
    finally:
        app.state.engine.dispose()
    assert "no person" in _run(cli, "users", "disable", "nobody@acme.cn", ok=False)
