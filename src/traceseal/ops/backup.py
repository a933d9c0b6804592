"""Backups of one installation into one archive, and their restore (docs/operations.md).

What makes an installation is three things, and a backup holds all of them:

- the database: every tenant's data, the transparency log (leaves, stored subtree hashes,
  signed checkpoints and cosignatures: the log's tiles are computed from these, there are
  no tile files) and every code's scan counts. SQLite is copied with its online backup API
  (a consistent copy while the server keeps writing: in WAL mode the copy's read never blocks
  a writer); PostgreSQL is dumped by ``pg_dump`` in its custom format and restored by
  ``pg_restore``, whose major version must be at least the server's;
- the master key: it wraps every slot key, so a database without it verifies no code;
- the files under DATA_DIR/attachments (quality reports' PDFs). DATA_DIR/exports is not
  kept: export jobs' files are rebuilt on request and expire anyway.

The archive is a tar file, mode 0600 since it holds the master key, with ``manifest.json``
first: the format version, the schema revision, the log's size and each member's SHA-256,
checked before anything is restored.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine, make_url, select, text

from traceseal.config import Settings
from traceseal.db import make_engine, schema_revisions, utcnow
from traceseal.errors import Conflict, InvalidInput
from traceseal.keys import load_master_key
from traceseal.ledger.models import LedgerHead

__all__ = ["FORMAT", "BackupError", "Summary", "backup", "restore"]

#: The archive's format; restore refuses any other.
FORMAT = "traceseal-backup/1"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite"
PG_MEMBER = "database.pgdump"
KEY_MEMBER = "master.key"
ATTACHMENTS = "attachments"
_CHUNK = 1 << 20


class BackupError(InvalidInput):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Summary:
    archive: Path
    engine: str
    revision: str | None
    ledger_size: int
    files: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# PostgreSQL ---------------------------------------------------------------------------------

_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True, slots=True)
class _Postgres:
    """How the client tools reach the database: a libpq URI without the password (which
    goes in PGPASSWORD, out of the process list), and the schema when the URL confines the
    installation to one (``options=-csearch_path=NAME``)."""

    uri: str
    env: dict[str, str]
    schema: str | None

    @classmethod
    def of(cls, url: str) -> _Postgres:
        parsed = make_url(url)
        env = dict(os.environ)
        if parsed.password:
            env["PGPASSWORD"] = str(parsed.password)
        plain = parsed.set(drivername="postgresql", password=None)
        found = _SEARCH_PATH.search(unquote(str(parsed.query.get("options", ""))))
        return cls(plain.render_as_string(hide_password=False), env, found[1] if found else None)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed: `make pg-tools` installs PostgreSQL's client tools "
            "(Debian: apt-get install postgresql-client)"
        )
    return path


def _check_versions(tool: str, engine: Engine) -> None:
    """pg_dump refuses a server newer than itself, and pg_restore may not read a dump of a
    newer pg_dump: say so first, with the versions, rather than after a partial run."""
    out = subprocess.run(  # noqa: S603 - a fixed tool path and argument
        [tool, "--version"], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"(\d+)(?:\.\d+)?", out)
    if found is None:
        raise BackupError(f"cannot read the version of {tool}: {out.strip()!r}")
    with engine.connect() as connection:
        server = int(connection.execute(text("SHOW server_version_num")).scalar_one())
    if int(found[1]) < server // 10000:
        raise BackupError(
            f"{tool} is version {found[1]} but the server is {server // 10000}: install "
            f"the client tools of version {server // 10000} or later (make pg-tools)"
        )


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{Path(command[0]).name} failed: {lines[0] if lines else result}")


# Backup -------------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    return Path(url.split("///", 1)[-1])


def _dump_database(settings: Settings, engine: Engine, work: Path) -> str:
    url = settings.resolved_database_url
    if engine.dialect.name == "sqlite":
        target = work / SQLITE_MEMBER
        source = sqlite3.connect(_sqlite_path(url))
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)
        finally:
            copy.close()
            source.close()
        return SQLITE_MEMBER
    pg = _Postgres.of(url)
    tool = _tool("pg_dump")
    _check_versions(tool, engine)
    command = [tool, "--format=custom", "--no-owner", f"--file={work / PG_MEMBER}"]
    if pg.schema:
        command.append(f"--schema={pg.schema}")
    _run([*command, f"--dbname={pg.uri}"], pg.env)
    return PG_MEMBER


def _ledger_size(engine: Engine) -> int:
    with engine.connect() as connection:
        size = connection.execute(select(LedgerHead.size).where(LedgerHead.id == 1)).scalar()
    return int(size or 0)


def _members(settings: Settings, work: Path, database: str) -> Iterator[tuple[str, Path]]:
    yield database, work / database
    key = work / KEY_MEMBER
    key.write_text(load_master_key(settings).hex() + "\n")
    yield KEY_MEMBER, key
    attachments = settings.data_dir / ATTACHMENTS
    if attachments.is_dir():
        for path in sorted(p for p in attachments.rglob("*") if p.is_file()):
            yield f"{ATTACHMENTS}/{path.relative_to(attachments).as_posix()}", path


def _quiet(_: str) -> None:
    return None


def backup(settings: Settings, out: Path, say: Callable[[str], None] = _quiet) -> Summary:
    """Write the installation to the archive ``out`` (through ``out.partial``, renamed when
    complete, so a failed backup never leaves a file that looks whole)."""
    url = settings.resolved_database_url
    if url.startswith("sqlite") and not _sqlite_path(url).is_file():
        # make_engine would create an empty database there (a mistyped DATA_DIR).
        raise BackupError(f"no database at {_sqlite_path(url)}: check TRACESEAL_DATA_DIR")
    if not out.parent.is_dir():
        raise BackupError(f"no directory {out.parent} to write the backup in")
    engine = make_engine(url)
    partial = out.with_name(out.name + ".partial")
    try:
        revision, _ = schema_revisions(engine)
        if revision is None:
            raise BackupError(f"{settings.resolved_database_url} has no TraceSeal schema")
        with tempfile.TemporaryDirectory(prefix=".backup-", dir=out.parent) as scratch:
            work = Path(scratch)  # mode 0700, as mkdtemp makes it: it holds the key
            say(f"copying the {engine.dialect.name} database")
            database = _dump_database(settings, engine, work)
            members = list(_members(settings, work, database))
            say(f"writing {len(members)} files to {out}")
            manifest: dict[str, Any] = {
                "format": FORMAT,
                "created_at": utcnow().isoformat(),
                "engine": engine.dialect.name,
                "revision": revision,
                "ledger_size": _ledger_size(engine),
                "files": {name: _sha256(path) for name, path in members},
            }
            fd = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as stream, tarfile.open(fileobj=stream, mode="w") as tar:
                data = json.dumps(manifest, indent=2).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode = len(data), 0o600
                tar.addfile(info, io.BytesIO(data))
                for name, path in members:
                    tar.add(path, arcname=name, recursive=False)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
        engine.dispose()
    return Summary(out, manifest["engine"], revision, manifest["ledger_size"], len(members))


# Restore ------------------------------------------------------------------------------------


def _manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    member = tar.next()
    if member is None or member.name != MANIFEST:
        raise BackupError("not a TraceSeal backup: it does not start with manifest.json")
    stream = tar.extractfile(member)
    assert stream is not None
    manifest: dict[str, Any] = json.loads(stream.read())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r} (this reads {FORMAT})")
    return manifest


@contextmanager
def _unpacked(archive: Path, scratch: Path) -> Iterator[dict[str, Any]]:
    """The archive's members in ``scratch``, each checked against the manifest's digest."""
    with tarfile.open(archive, mode="r:") as tar:
        manifest = _manifest(tar)
        # The "data" filter refuses links, absolute paths and names leaving the directory.
        tar.extractall(scratch, filter="data")
    expected: dict[str, str] = manifest["files"]
    for name, digest in expected.items():
        path = scratch / name
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"the backup is damaged: {name} is missing or does not match")
    yield manifest


def _has_schema(engine: Engine) -> bool:
    current, _ = schema_revisions(engine)
    return current is not None


def _restore_key(settings: Settings, unpacked: Path, force: bool) -> Path | None:
    key = (unpacked / KEY_MEMBER).read_text().strip()
    if settings.master_key:
        if settings.master_key.strip().lower() != key:
            raise BackupError(
                "TRACESEAL_MASTER_KEY is not the backup's master key: unset it (the key is "
                "then restored to MASTER_KEY_FILE) or set it to the backed-up key"
            )
        return None
    path = settings.resolved_master_key_file
    if path.exists() and path.read_text().strip() != key and not force:
        raise Conflict(f"{path} holds another master key; --force replaces it")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as stream:
        stream.write(key + "\n")
    partial.replace(path)
    return path


def _restore_database(settings: Settings, engine: Engine, unpacked: Path, kind: str) -> None:
    url = settings.resolved_database_url
    if kind == "sqlite":
        if engine.dialect.name != "sqlite":
            raise BackupError("this backup is of SQLite; TRACESEAL_DATABASE_URL is PostgreSQL")
        engine.dispose()
        target = _sqlite_path(url)
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        source = sqlite3.connect(unpacked / SQLITE_MEMBER)
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)
        finally:
            copy.close()
            source.close()
        target.chmod(0o600)
        return
    if engine.dialect.name != "postgresql":
        raise BackupError("this backup is of PostgreSQL; TRACESEAL_DATABASE_URL is not")
    pg = _Postgres.of(url)
    tool = _tool("pg_restore")
    _check_versions(tool, engine)
    command = [tool, "--clean", "--if-exists", "--no-owner", "--single-transaction"]
    _run([*command, f"--dbname={pg.uri}", str(unpacked / PG_MEMBER)], pg.env)


def _restore_files(settings: Settings, unpacked: Path) -> int:
    source = unpacked / ATTACHMENTS
    if not source.is_dir():
        return 0
    target = settings.data_dir / ATTACHMENTS
    count = 0
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        count += 1
    return count


def restore(
    settings: Settings, archive: Path, *, force: bool = False, say: Callable[[str], None] = _quiet
) -> Summary:
    """Restore ``archive`` into the configured database, master key file and DATA_DIR.

    Refuses a database that already holds a TraceSeal schema unless ``force`` (then its
    contents are replaced). The server must be stopped meanwhile; afterwards run
    ``traceseal migrate`` if the backup's revision is older than the program's.
    """
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    try:
        with tempfile.TemporaryDirectory(prefix=".restore-", dir=settings.data_dir) as scratch:
            unpacked = Path(scratch)
            say(f"reading and checking {archive}")
            with _unpacked(archive, unpacked) as manifest:
                if _has_schema(engine) and not force:
                    raise Conflict(
                        f"{settings.resolved_database_url} already holds a TraceSeal "
                        "database; --force replaces it with the backup"
                    )
                _restore_key(settings, unpacked, force)
                say(f"restoring the {manifest['engine']} database")
                _restore_database(settings, engine, unpacked, manifest["engine"])
                files = _restore_files(settings, unpacked)
    finally:
        engine.dispose()
    engine = make_engine(settings.resolved_database_url)
    try:
        revision, _ = schema_revisions(engine)
        size = _ledger_size(engine)
    finally:
        engine.dispose()
    if size != manifest["ledger_size"]:
        raise BackupError(
            f"restored a log of {size} leaves; the backup says {manifest['ledger_size']}"
        )
    return Summary(archive, manifest["engine"], revision, size, files)
