"""ledger verify: audit the transparency log, from a server or from a database."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import typer
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from traceseal.cli.common import JsonOption, emit, fail, keyring, session, settings
from traceseal.db import make_engine, schema_revisions
from traceseal.ledger import checkpoints, service
from traceseal.ledger.audit import (
    AuditFailure,
    AuditReport,
    AuditState,
    audit,
    entries_from_tiles,
    rebuild,
)
from traceseal.ledger.models import LedgerLeaf, LedgerNode
from traceseal.merkle.note import ALG_COSIGNATURE_V1, NoteError, Verifier
from traceseal.merkle.tiles import Tile

app = typer.Typer(help="The transparency log.", no_args_is_help=True)


def _default_state(origin_hint: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", origin_hint).strip("_") or "log"
    return Path.home() / ".traceseal" / f"ledger-audit-{safe}.json"


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - http(s) only
        data: bytes = response.read()
        return data


@app.command()
def publish(as_json: bool = JsonOption) -> None:
    """Sign a checkpoint of the log now (the server does it by itself within a second)."""
    s = settings()
    with session() as db:
        published = checkpoints.publish(db, keyring(), s.resolved_ledger_origin)
        size = service.size(db)
    emit(
        as_json,
        {"published": published is not None, "size": size},
        f"checkpoint of size {size} " + ("published" if published else "was already published"),
    )


@app.command()
def verify(
    url: str = typer.Option("", help="Base URL of a TraceSeal server to audit over HTTP."),
    db: bool = typer.Option(False, "--db", help="Audit the local database instead."),
    vkey: str = typer.Option("", help="The log's verifier key; default: the log's own."),
    state: Path | None = typer.Option(
        None, help="Where the last verified checkpoints are kept (default: ~/.traceseal)."
    ),
    witness: list[str] = typer.Option(
        [], "--witness", help="A witness's verifier key whose cosignature counts (repeatable)."
    ),
    min_witnesses: int | None = typer.Option(
        None, help="How many of the --witness keys must have cosigned (default: all of them)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Rebuild the log from its leaves; check its checkpoint's signature and root, that
    every checkpoint verified before is still part of it (exit 1 and the first bad size if
    not), and that enough of the given witnesses cosigned it."""
    if bool(url) == db:
        fail("give either --url URL or --db", 2)
    try:
        verifier = Verifier.parse(vkey) if vkey else None
    except NoteError as exc:
        fail(f"--vkey: {exc}", 2)
    policy = _witness_policy(witness, min_witnesses)
    report = (
        _verify_url(url.rstrip("/"), verifier, state, policy)
        if url
        else _verify_db(verifier, state, policy)
    )
    cosigned = f", cosigned by {', '.join(report.cosigned_by)}" if report.cosigned_by else ""
    emit(
        as_json,
        {
            "ok": True,
            "origin": report.origin,
            "size": report.size,
            "root": report.root.hex(),
            "cosigned_by": list(report.cosigned_by),
        },
        f"log {report.origin}: {report.size} leaves verified, root {report.root.hex()}"
        + (f", consistent with size {report.previous_size}" if report.previous_size else "")
        + cosigned,
    )


@dataclass(frozen=True)
class _Policy:
    witnesses: tuple[Verifier, ...]
    minimum: int


def _witness_policy(keys: list[str], minimum: int | None) -> _Policy:
    witnesses: list[Verifier] = []
    for key in keys:
        try:
            found = Verifier.parse(key)
        except NoteError as exc:
            fail(f"--witness: {exc}", 2)
        if found.algorithm != ALG_COSIGNATURE_V1:
            fail(f"--witness: {found.name} is not a witness's cosignature key (type 0x04)", 2)
        if found not in witnesses:
            witnesses.append(found)
    required = len(witnesses) if minimum is None else minimum
    if not 0 <= required <= len(witnesses):
        fail(f"--min-witnesses must be between 0 and the {len(witnesses)} --witness keys", 2)
    return _Policy(tuple(witnesses), required)


def _run(report_of: Callable[[AuditState], AuditReport], state_path: Path) -> AuditReport:
    audit_state = AuditState.load(state_path)
    try:
        report: AuditReport = report_of(audit_state)
    except AuditFailure as exc:
        where = f" (first bad size {exc.first_bad_size})" if exc.first_bad_size is not None else ""
        fail(f"{exc}{where}")
    state_path.parent.mkdir(parents=True, exist_ok=True)
    audit_state.save(state_path)
    return report


def _verify_url(
    base: str, verifier: Verifier | None, state: Path | None, policy: _Policy
) -> AuditReport:
    if verifier is None:
        # Trust on first use: say so, since a key fetched from the log proves nothing.
        verifier = Verifier.parse(_get(f"{base}/ledger/key").decode())
        typer.echo(f"warning: using the key the log serves: {verifier.encode()}", err=True)
    note = _get(f"{base}/ledger/checkpoint").decode()
    size = int(note.split("\n")[1])

    def tile(t: Tile) -> bytes:
        return _get(f"{base}/ledger/{t.path}")

    def consistency(old: int, new: int) -> list[bytes]:
        body = json.loads(_get(f"{base}/ledger/proof/consistency?old={old}&new={new}"))
        return [bytes.fromhex(h) for h in body["proof"]]

    path = state or _default_state(verifier.name)
    return _run(
        lambda s: audit(
            note,
            verifier,
            entries_from_tiles(size, tile),
            s,
            consistency,
            witnesses=policy.witnesses,
            min_witnesses=policy.minimum,
        ),
        path,
    )


def _verify_db(verifier: Verifier | None, state: Path | None, policy: _Policy) -> AuditReport:
    _require_database()
    with session() as db:
        latest = checkpoints.latest(db)
        if latest is None:
            fail("the log has no checkpoint yet")
        verifier = verifier or checkpoints.log_verifier(db, keyring())
        if verifier is None:
            fail("the log has no key")
        leaves = [
            bytes(data) for data in db.scalars(select(LedgerLeaf.data).order_by(LedgerLeaf.index))
        ]
        note, key = checkpoints.cosigned_note(db, latest), verifier

        def consistency(old: int, new: int) -> list[bytes]:
            return service.prove_consistency(db, old, new)

        path = state or _default_state(verifier.name)
        report = _run(
            lambda st: audit(
                note,
                key,
                leaves[: latest.size],
                st,
                consistency,
                witnesses=policy.witnesses,
                min_witnesses=policy.minimum,
            ),
            path,
        )
        # Proofs are built from the stored hashes: each must be the one the leaves imply.
        _, implied = rebuild(leaves)
        for level, index, digest in db.execute(
            select(LedgerNode.level, LedgerNode.index, LedgerNode.hash)
        ):
            if implied.get((level, index)) != bytes(digest):
                fail(f"the stored hash of node ({level}, {index}) is not the one its leaves imply")
        if len(leaves) != service.size(db):
            fail(f"the log's head says {service.size(db)} leaves, {len(leaves)} are stored")
    return report


def _require_database() -> None:
    """An audit reads an existing TraceSeal database; it never creates one (SQLite would
    create an empty file for a mistyped path)."""
    url = settings().resolved_database_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            fail(f"no database at {path}: check TRACESEAL_DATA_DIR or TRACESEAL_DATABASE_URL")
    engine = make_engine(url)
    try:
        current, _ = schema_revisions(engine)
    except SQLAlchemyError as exc:
        fail(f"cannot read {url}: {str(getattr(exc, 'orig', None) or exc).splitlines()[0]}")
    finally:
        engine.dispose()
    if current is None:
        fail(f"{url} is not a TraceSeal database (it has no TraceSeal schema)")
