"""Entry point: ``traceseal --help``."""

from __future__ import annotations

import typer

from traceseal.cli import (
    analytics,
    backup,
    channels,
    codes,
    docs,
    doctor,
    epcis,
    ivr,
    ledger,
    orgs,
    quality,
    registry,
    scans,
    simulate,
    system,
    users,
    witness,
)

# Imported for what it adds to codes.keys (list, create, revoke).
from traceseal.cli import keys as _api_keys  # noqa: F401

app = typer.Typer(
    help="TraceSeal: product verification and supply-chain traceability.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
system.register(app)
backup.register(app)
simulate.register(app)
docs.register(app)
doctor.register(app)
app.add_typer(orgs.app, name="orgs")
app.add_typer(registry.products, name="products")
app.add_typer(registry.batches, name="batches")
app.add_typer(codes.app, name="codes")
app.add_typer(codes.keys, name="keys")  # slot key export, and keys.py's API keys
app.add_typer(ledger.app, name="ledger")
app.add_typer(quality.app, name="quality")
app.add_typer(quality.programmes, name="programmes")
app.add_typer(witness.app, name="witness")
app.add_typer(channels.app, name="channels")
app.add_typer(analytics.app, name="analytics")
app.add_typer(ivr.app, name="ivr")
app.add_typer(epcis.app, name="epcis")
app.add_typer(scans.app, name="scans")
app.add_typer(users.app, name="users")

if __name__ == "__main__":  # pragma: no cover
    app()
