"""init, migrate, serve."""

from __future__ import annotations

import secrets
from typing import Any

import typer

from traceseal.cli.common import JsonOption, emit, err, fail, keyring, session, settings
from traceseal.config import Settings, SettingsError
from traceseal.db import make_engine, migrate
from traceseal.keys import ensure_master_key
from traceseal.ledger.checkpoints import log_signer
from traceseal.orgs.models import Role
from traceseal.orgs.service import (
    create_organization,
    issue_api_key,
    list_organizations,
    operator_exists,
)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command("migrate")(migrate_command)
    app.command()(serve)


def init(
    operator_name: str = typer.Option("Operator", help="Name of the operator organisation."),
    demo: bool = typer.Option(False, "--demo", help="Also load demo data."),
    as_json: bool = JsonOption,
) -> None:
    """Create the database, the master key and the operator organisation (prints its key once)."""
    s = settings()
    try:
        created = ensure_master_key(s)
    except SettingsError as exc:
        fail(str(exc), 2)
    if created:
        err.print(f"created master key file {created} (mode 0600) - back it up")
    engine = make_engine(s.resolved_database_url)
    migrate(engine)
    engine.dispose()
    with session() as db:
        if operator_exists(db):
            fail(f"already initialised: {s.resolved_database_url} has an operator organisation")
        _, key = create_organization(db, operator_name, Role.OPERATOR)
        log_key = log_signer(db, keyring(), s.resolved_ledger_origin).verifier.encode()
        result: dict[str, Any] = {
            "operator_api_key": key,
            "database": s.resolved_database_url,
            "ledger_key": log_key,
        }
        if demo:
            from traceseal.demo import load_demo

            result["demo"] = load_demo(db, keyring(), s)
    if demo:
        # A month of shipping and scans for the demo enterprise, with diversions and clones
        # planted, so alerts, maps and summaries have something to show.
        from datetime import date

        from traceseal.cli.simulate import run_simulation

        result["simulation"] = run_simulation(
            "安盾消防科技有限公司", 2000, 10, 10, 7, date(2026, 10, 1)
        )
        result.update(_demo_guide(s, result["demo"]))
    emit(as_json, result, _human(key, log_key, result))


def _demo_guide(s: Settings, demo: dict[str, Any]) -> dict[str, Any]:
    """A key for every demo organisation and codes to try: what a newcomer needs first."""
    from traceseal.demo import codes_to_try
    from traceseal.people.service import create_person

    with session() as db:
        everyone = list_organizations(db)
        organizations = [
            {"name": org.name, "role": org.role, "api_key": issue_api_key(db, org, "demo")}
            for org in everyone
            if org.role != Role.OPERATOR.value
        ]
        # A console admin for each organisation, the operator's too: the people's way in.
        people = []
        for number, org in enumerate(everyone, start=1):
            password = secrets.token_urlsafe(12)
            email = f"admin{number}@demo.example"
            create_person(db, org, email=email, name="演示管理员", role="admin", password=password)
            people.append({"name": org.name, "email": email, "password": password})
        codes = codes_to_try(db, keyring(), s, demo["runs"])
    first_run = demo["runs"][0]["run"]
    return {
        "url": s.public_url,
        "organizations": organizations,
        "console": people,
        "codes_to_try": codes,
        "label_pdf": (
            f".venv/bin/traceseal codes export --run {first_run} --format pdf "
            "--out labels.pdf --allow-local-url"
        ),
    }


def _human(key: str, log_key: str, result: dict[str, Any]) -> str:
    lines = [f"operator API key (shown once): [bold]{key}[/]", f"log verifier key: {log_key}"]
    if "codes_to_try" not in result:
        return "\n".join(lines)
    lines += ["", "Demo organisations and their API keys (shown once; `traceseal orgs list`"]
    lines += ["names them, and a new key is one `POST /api/v1/orgs/me/keys` away):"]
    lines += [f"  {o['role']:<12} {o['name']}: {o['api_key']}" for o in result["organizations"]]
    lines += ["", f"Console ({result['url']}/console), one admin per organisation (shown once):"]
    lines += [f"  {p['name']}: {p['email']}  {p['password']}" for p in result["console"]]
    lines += ["", "Codes to try (open the link, or type the code at /verify):"]
    for code in result["codes_to_try"]:
        lines += [f"  {code['code']}  {code['shows']}", f"      {code['url']}"]
    lines += [
        "",
        f"Label sheet (PDF) of the first demo run: {result['label_pdf']}",
        f"Serving on {result['url']} - consumers check codes at {result['url']}/verify",
    ]
    return "\n".join(lines)


def migrate_command() -> None:
    """Bring the database schema up to date."""
    engine = make_engine(settings().resolved_database_url)
    migrate(engine)
    engine.dispose()
    err.print("schema is up to date")


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int | None = typer.Option(
        None,
        min=1,
        help="Worker processes. Default: one per CPU core in production (PostgreSQL and a "
        "PUBLIC_URL that is not this machine), else 1.",
    ),
) -> None:
    """Serve the HTTP API and pages."""
    import uvicorn

    from traceseal.web.logs import log_config

    s = settings()  # fail early, here, on a bad setting
    workers = default_workers(s) if workers is None else workers
    if workers > 1 and s.resolved_database_url.startswith("sqlite"):
        err.print(
            f"serving SQLite with {workers} processes: correct, but slower than one (SQLite "
            "admits one writer at a time and processes cannot queue for it the way one "
            "process's threads do; docs/architecture.md)"
        )
    uvicorn.run(
        "traceseal.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
        log_config=log_config(s.log_format),
        # On SIGTERM, requests in flight get this long to finish (a download, a stream of
        # codes.csv) before their connections are closed; then the app shuts down, which
        # stops a running export within GRACE + a chunk. uvicorn's default waits forever,
        # and one slow download would keep a stopped server alive.
        timeout_graceful_shutdown=SHUTDOWN_WAIT,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK,
    )


def default_workers(s: Settings) -> int:
    """One process per core in production, where production means PostgreSQL behind a
    PUBLIC_URL that is not this machine (what ``traceseal doctor`` checks labels against).

    SQLite stays at one process whatever the machine: every verification writes, SQLite
    admits one writer at a time, and within one process the writers queue on a lock and
    take turns as soon as the holder is done (db.writer_turn), while between processes
    they poll SQLite's lock with growing sleeps: more processes add waiting, not speed.
    """
    import os

    if s.resolved_database_url.startswith("sqlite") or s.public_url_is_local:
        return 1
    return len(os.sched_getaffinity(0)) or 1


#: Seconds a worker process may take to answer its supervisor's health check (which it
#: does from start-up on) before it is killed and replaced. uvicorn's 5 s default kills
#: workers still importing the application on a busy machine, over and over.
WORKER_HEALTHCHECK = 60

#: Seconds ``serve`` waits for requests in flight on SIGTERM. With the export runner's stop
#: (codes/runner.py: at most GRACE twice plus a database write) the process is gone in under
#: ten seconds whatever it was doing.
SHUTDOWN_WAIT = 3
