"""``traceseal doctor``: check the set-up and say how to fix each problem."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import typer
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from traceseal.cli.common import err, settings
from traceseal.codes.models import CodeRun
from traceseal.config import Settings, is_local_host
from traceseal.db import make_engine, schema_revisions


@dataclass(frozen=True, slots=True)
class Finding:
    ok: bool
    what: str
    fix: str = ""


def register(app: typer.Typer) -> None:
    app.command()(doctor)


def doctor(
    host: str = typer.Option(
        "127.0.0.1", help="The address `traceseal serve` will listen on (as for serve)."
    ),
) -> None:
    """Check settings, keys, files and the database; print each problem with its fix."""
    findings = list(check(settings(), host))
    for finding in findings:
        mark = "[green]ok[/]     " if finding.ok else "[red]problem[/]"
        err.print(f"{mark} {finding.what}", highlight=False)
        if finding.fix:
            err.print(f"        fix: {finding.fix}", highlight=False)
    problems = sum(not f.ok for f in findings)
    err.print(f"{problems} problem(s)" if problems else "no problems found")
    raise typer.Exit(1 if problems else 0)


def check(s: Settings, host: str) -> Iterator[Finding]:
    yield from _files(s)
    runs = None
    url = s.resolved_database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        # Looking must not create it (opening a missing SQLite file makes an empty one).
        yield Finding(False, f"no database at {url.removeprefix('sqlite:///')}", "traceseal init")
        yield from _public_url(s, host, runs)
        return
    try:
        engine = make_engine(s.resolved_database_url)
        try:
            current, head = schema_revisions(engine)
            if current != head:
                yield Finding(
                    False,
                    f"the schema is at {current or 'nothing'}, the code needs {head}",
                    "traceseal migrate",
                )
            else:
                yield Finding(True, f"database reachable, schema current ({head})")
                with engine.connect() as connection:
                    runs = connection.scalar(select(func.count()).select_from(CodeRun))
        finally:
            engine.dispose()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        yield Finding(
            False,
            f"cannot reach the database {_safe(s.resolved_database_url)}: {reason}",
            "start the server or correct TRACESEAL_DATABASE_URL",
        )
    yield from _public_url(s, host, runs)


def _public_url(s: Settings, host: str, runs: int | None) -> Iterator[Finding]:
    if not s.public_url_is_local:
        yield Finding(True, f"PUBLIC_URL {s.public_url} is what labels will carry")
        return
    fix = "export TRACESEAL_PUBLIC_URL=https://<the address consumers open>"
    if _exposed(host):
        yield Finding(
            False,
            f"serving on {host} while PUBLIC_URL is {s.public_url}: phones that scan a label "
            "would open this machine's loopback address, not this server",
            fix,
        )
    elif runs:
        yield Finding(
            False,
            f"{runs} code run(s) issued while PUBLIC_URL is {s.public_url}: labels printed "
            "from them open nothing on a consumer's phone and cannot be recalled",
            fix,
        )
    else:
        yield Finding(True, f"PUBLIC_URL {s.public_url}: fine for a trial on this machine only")


def _exposed(host: str) -> bool:
    """Whether a server listening on ``host`` answers other machines (0.0.0.0 does)."""
    return not is_local_host(host) or host.strip("[]") in ("0.0.0.0", "::")  # noqa: S104


def _files(s: Settings) -> Iterator[Finding]:
    """Secrets and data readable by other users of the machine."""
    if s.master_key:
        yield Finding(True, "master key from TRACESEAL_MASTER_KEY")
    elif not s.resolved_master_key_file.exists():
        yield Finding(False, f"no master key at {s.resolved_master_key_file}", "traceseal init")
    else:
        yield _private(s.resolved_master_key_file, 0o600, "master key file")
    if s.data_dir.is_dir():
        yield _private(s.data_dir, 0o700, "data directory")
    url = s.resolved_database_url
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        database = Path(url.removeprefix("sqlite:///"))
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            if path.exists():
                yield _private(path, 0o600, "database file")


def _private(path: Path, mode: int, what: str) -> Finding:
    actual = stat.S_IMODE(path.stat().st_mode)
    if actual & 0o077:
        return Finding(
            False,
            f"{what} {path} is readable by other users (mode {actual:o})",
            f"chmod {mode:o} {path}",
        )
    return Finding(True, f"{what} {path} is private (mode {actual:o})")


def _safe(url: str) -> str:
    """A database URL without its password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        rest = f"{user}:***@{rest.split('@', 1)[1]}"
    return scheme + sep + rest
