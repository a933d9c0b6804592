"""init, migrate, serve."""

from __future__ import annotations

import typer

from traceseal.cli.common import JsonOption, emit, err, fail, keyring, session, settings
from traceseal.config import SettingsError
from traceseal.db import make_engine, migrate
from traceseal.keys import ensure_master_key
from traceseal.ledger.checkpoints import log_signer
from traceseal.orgs.models import Role
from traceseal.orgs.service import create_organization, operator_exists


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
        result: dict[str, object] = {
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
    human = f"operator API key (shown once): [bold]{key}[/]\nlog verifier key: {log_key}"
    if demo:
        human += f"\ndemo enterprise API key: [bold]{result['demo']['enterprise_api_key']}[/]"  # type: ignore[index]  # a dict of str or dicts
    emit(as_json, result, human)


def migrate_command() -> None:
    """Bring the database schema up to date."""
    engine = make_engine(settings().resolved_database_url)
    migrate(engine)
    engine.dispose()
    err.print("schema is up to date")


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, help="Worker processes."),
) -> None:
    """Serve the HTTP API and pages."""
    import uvicorn

    settings()  # fail early, here, on a bad setting
    uvicorn.run(
        "traceseal.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )
