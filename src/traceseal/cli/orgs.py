"""orgs create / list."""

from __future__ import annotations

import typer

from traceseal.cli.common import JsonOption, emit, session
from traceseal.orgs.schemas import OrganizationRead
from traceseal.orgs.service import create_organization, list_organizations, parse_role

app = typer.Typer(help="Organisations and their API keys.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Option(..., help="Organisation name (unique)."),
    role: str = typer.Option(..., help="operator, enterprise, distributor, lab or regulator."),
    as_json: bool = JsonOption,
) -> None:
    """Create an organisation and print its API key (shown once)."""
    with session() as db:
        org, key = create_organization(db, name, role)
        data = {**OrganizationRead.model_validate(org).model_dump(mode="json"), "api_key": key}
    emit(as_json, data, f"created {org.role} {org.name!r} (id {org.id}); API key: [bold]{key}[/]")


@app.command("list")
def list_(
    role: str | None = typer.Option(None, help="Only this role."), as_json: bool = JsonOption
) -> None:
    """List organisations."""
    with session() as db:
        orgs = list_organizations(db, parse_role(role) if role else None)
        rows = [OrganizationRead.model_validate(o).model_dump(mode="json") for o in orgs]
    emit(
        as_json,
        {"organizations": rows},
        "\n".join(f"{r['id']:>5}  {r['role']:<12} {r['name']}" for r in rows),
    )
