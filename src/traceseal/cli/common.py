"""What every command shares: settings, the unit of work, output and error handling."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import cache
from typing import Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from traceseal.codes.service import Keyring
from traceseal.config import Settings, SettingsError, load_settings
from traceseal.db import make_engine, make_session_factory, read_only_factory, unit_of_work
from traceseal.errors import DomainError
from traceseal.keys import load_master_key
from traceseal.orgs.models import Organization, Role

err = Console(stderr=True, soft_wrap=True)
JsonOption = typer.Option(False, "--json", help="Print exactly one JSON object on stdout.")


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def fail_invalid(exc: ValidationError, about: str = "the input") -> NoReturn:
    """Invalid input, one readable line per field (``rules.certificate: Field required``)."""
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        lines.append(f"{field}: {error['msg']}" if field else error["msg"])
    fail("\n  ".join([f"{about} is not valid:", *lines]))


@cache
def settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc), 2)


def keyring() -> Keyring:
    try:
        return Keyring(load_master_key(settings()))
    except SettingsError as exc:
        fail(str(exc), 2)


@contextmanager
def session() -> Iterator[Session]:
    """One transaction per command; a domain error, or the database's refusal (a constraint
    checked at commit, a lost connection), rolls it back and exits 1 with one line."""
    engine = make_engine(settings().resolved_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as s:
            yield s
    except DomainError as exc:
        fail(exc.detail)
    except DBAPIError as exc:
        # The driver's own words, first line only (PostgreSQL adds CONTEXT lines).
        reason = (str(exc.orig).strip() or type(exc.orig).__name__).splitlines()[0]
        fail(f"the database refused the command, and nothing of it was saved: {reason}")
    finally:
        engine.dispose()


@contextmanager
def read_session() -> Iterator[Session]:
    """A read-only transaction (db.read_only_factory): on SQLite it neither takes nor waits
    for the write lock, so a long command that only reads (an export) never stalls a
    server's writes; a domain error exits 1."""
    engine = make_engine(settings().resolved_database_url)
    try:
        with read_only_factory(engine)() as s, s.begin():
            yield s
    except DomainError as exc:
        fail(exc.detail)
    finally:
        engine.dispose()


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def emit(as_json: bool, data: dict[str, Any], human: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, default=_default, ensure_ascii=False) + "\n")
    else:
        # soft_wrap: keys, codes and URLs stay whole lines, to copy and click.
        Console(soft_wrap=True).print(human, highlight=False)


def progress() -> Progress:
    """A progress bar on stderr for long jobs."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        # Progress is for people; a script or CI log gets the final line only.
        disable=not err.is_terminal,
    )


def operator(db: Session) -> Organization:
    """The CLI runs on the platform's own machine with the operator's authority."""
    from traceseal.orgs.service import list_organizations

    operators = list_organizations(db, Role.OPERATOR)
    if not operators:
        fail("not initialised: run `traceseal init` first")
    return operators[0]
