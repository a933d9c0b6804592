"""quality import (bulk CSV import of records); programmes add / list."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import typer
from pydantic import ValidationError

from traceseal.cli.common import (
    JsonOption,
    emit,
    err,
    fail,
    fail_invalid,
    keyring,
    operator,
    progress,
    session,
    settings,
)
from traceseal.db import utcnow
from traceseal.orgs.service import find_organization
from traceseal.quality.attachments import AttachmentStore
from traceseal.quality.imports import TYPES, ImportRejected, import_csv
from traceseal.quality.programmes import create_programme, list_programmes, programme_read
from traceseal.quality.schemas import ProgrammeCreate
from traceseal.quality.service import Issuing

app = typer.Typer(help="The quality dossier: signed records.", no_args_is_help=True)


def _issuing() -> Issuing:
    s = settings()
    return Issuing(
        keyring(),
        AttachmentStore(s.data_dir / "attachments", s.quality_attachment_max_bytes),
        utcnow(),
    )


@app.command("import")
def import_(
    record_type: str = typer.Argument(..., metavar="TYPE", help=", ".join(TYPES)),
    file: Path = typer.Argument(..., help="CSV with a header row (docs/quality.md)."),
    org: str = typer.Option(..., help="The issuing organisation: id or name."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every row; store nothing."),
    as_json: bool = JsonOption,
) -> None:
    """Import records issued and signed by ORG; nothing is stored if any row is bad."""
    chosen = TYPES.get(record_type)
    if chosen is None:
        fail(f"TYPE must be one of {', '.join(TYPES)}")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")
    s = settings()
    issuing = _issuing()
    rows = sum(1 for _ in csv.reader(text.splitlines())) - 1
    with session() as db, progress() as bar:
        task = bar.add_task(f"{record_type} <- {file.name}", total=max(rows, 0))
        try:
            result = import_csv(
                db,
                issuing,
                find_organization(db, org),
                chosen,
                text,
                dry_run=dry_run,
                max_rows=s.quality_import_max_rows,
                progress=lambda n: bar.advance(task, n),
            )
        except ImportRejected as exc:
            bar.stop()
            for problem in exc.errors:
                err.print(
                    f"row {problem['row']}, {problem['field'] or 'row'}: {problem['message']}",
                    highlight=False,
                    markup=False,
                )
            raise
    data = {
        "type": result.type,
        "rows": result.rows,
        "imported": result.imported,
        "dry_run": result.dry_run,
    }
    verb = "checked (dry run, nothing stored)" if dry_run else "imported"
    emit(as_json, data, f"{verb} {result.rows:,} {record_type} rows")


programmes = typer.Typer(help="Label programmes (operator authority).", no_args_is_help=True)


@programmes.command("add")
def add_programme(
    name: str = typer.Option(..., help="The programme's name (zh-CN)."),
    rules: str = typer.Option(..., help='Eligibility rules as JSON, e.g. {"certificate": {}}.'),
    name_en: str = typer.Option("", help="English name."),
    description: str = typer.Option("", help="What the label stands for."),
    as_json: bool = JsonOption,
) -> None:
    """Define a label programme; code runs are issued under it for eligible products only."""
    try:
        body = ProgrammeCreate.model_validate(
            {
                "name": name,
                "name_en": name_en,
                "description": description,
                "rules": json.loads(rules),
            }
        )
    except ValidationError as exc:
        fail_invalid(exc, about="--rules")
    except ValueError as exc:  # json.JSONDecodeError
        fail(f"--rules is not JSON: {exc}")
    issuing = _issuing()
    with session() as db:
        programme = create_programme(db, issuing, operator(db), body)
        data = programme_read(programme, issuing.today)
    emit(as_json, data, f"programme {data['id']}: {data['name']}")


@programmes.command("list")
def list_programmes_(as_json: bool = JsonOption) -> None:
    """Every label programme and its rules."""
    issuing = _issuing()
    with session() as db:
        found = [programme_read(p, issuing.today) for p in list_programmes(db)]
    if as_json:
        emit(True, {"programmes": found}, "")
        return
    for p in found:
        emit(False, {}, f"{p['id']}: {p['name']}  {json.dumps(p['rules'], ensure_ascii=False)}")
