"""keys list / create / revoke: organisations' API keys, with the operator's authority."""

from __future__ import annotations

from datetime import datetime

import typer

from traceseal.cli.codes import keys as app
from traceseal.cli.common import JsonOption, emit, fail, session
from traceseal.orgs.models import KeyScope
from traceseal.orgs.schemas import KeyRead
from traceseal.orgs.service import create_key, find_organization, list_keys, revoke_key


@app.command("list")
def list_(
    org: str = typer.Option(..., help="Organisation: id or name."), as_json: bool = JsonOption
) -> None:
    """An organisation's API keys: prefix, name, scope, expiry, last use, revocation."""
    with session() as db:
        rows = [
            KeyRead.model_validate(key).model_dump(mode="json")
            for key in list_keys(db, find_organization(db, org))
        ]
    lines = [
        f"{r['id']:>5}  {r['prefix']}…  {r['scope']:<6} {r['name'] or '-'}"
        f"  used {r['last_used_at'] or 'never'}"
        + (f"  REVOKED {r['revoked_at']}" if r["revoked_at"] else "")
        + (f"  expires {r['expires_at']}" if r["expires_at"] else "")
        for r in rows
    ]
    emit(as_json, {"keys": rows}, "\n".join(lines) or "no keys")


@app.command("create")
def create(
    org: str = typer.Option(..., help="Organisation: id or name."),
    name: str = typer.Option("", help="What the key is for."),
    scope: KeyScope = typer.Option(KeyScope.MEMBER, help="admin (also manages keys) or member."),
    expires: datetime | None = typer.Option(None, help="Expiry, e.g. 2027-06-30T00:00:00+08:00."),
    as_json: bool = JsonOption,
) -> None:
    """Create an API key (printed once)."""
    if expires is not None and expires.tzinfo is None:
        fail("--expires needs a time zone, e.g. 2027-06-30T00:00:00+08:00")
    with session() as db:
        token, key = create_key(
            db, find_organization(db, org), name, scope=scope, expires_at=expires
        )
        read = KeyRead.model_validate(key).model_dump(mode="json")
    emit(
        as_json,
        {"api_key": token, "key": read},
        f"{scope.value} key {read['id']}: [bold]{token}[/] (shown once)",
    )


@app.command("revoke")
def revoke(
    org: str = typer.Option(..., help="Organisation: id or name."),
    key_id: int = typer.Option(..., "--id", help="Key id (from `keys list`)."),
    as_json: bool = JsonOption,
) -> None:
    """Revoke an API key: refused from the next request on."""
    with session() as db:
        key = revoke_key(db, find_organization(db, org), key_id)
        data = KeyRead.model_validate(key).model_dump(mode="json")
    emit(as_json, data, f"revoked key {key_id} ({data['prefix']}…)")
