"""backup, restore: one archive holds the database, the master key and the attachments."""

from __future__ import annotations

from pathlib import Path

import typer

from traceseal.cli.common import JsonOption, emit, err, fail, settings
from traceseal.errors import DomainError
from traceseal.ops.backup import Summary, backup, restore


def register(app: typer.Typer) -> None:
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)


def _emit(as_json: bool, verb: str, summary: Summary) -> None:
    emit(
        as_json,
        {
            "archive": str(summary.archive),
            "engine": summary.engine,
            "revision": summary.revision,
            "ledger_size": summary.ledger_size,
            "files": summary.files,
        },
        f"{verb} {summary.archive}: {summary.engine} database at revision {summary.revision}, "
        f"a log of {summary.ledger_size} leaves, {summary.files} files",
    )


def backup_command(
    out: Path = typer.Option(..., "--out", help="The archive to write (a tar file, mode 0600)."),
    as_json: bool = JsonOption,
) -> None:
    """Back up the database (SQLite's online backup, or pg_dump), the master key and the
    attachments into one archive, while the server runs. Keep it as secret as the key."""
    try:
        summary = backup(settings(), out, say=err.print)
    except DomainError as exc:
        fail(exc.detail)
    _emit(as_json, "wrote", summary)


def restore_command(
    archive: Path = typer.Argument(..., help="An archive written by `traceseal backup`."),
    force: bool = typer.Option(
        False, "--force", help="Replace a database (and master key file) that already exist."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Restore an archive into the configured database, master key file and data directory
    (stop the server first); then run `traceseal migrate` and `traceseal ledger verify --db`."""
    if not archive.is_file():
        fail(f"no such file: {archive}", 2)
    try:
        summary = restore(settings(), archive, force=force, say=err.print)
    except DomainError as exc:
        fail(exc.detail)
    _emit(as_json, "restored", summary)
