"""``traceseal ledger verify``: the auditor passes an intact log and names what was altered."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import Platform, add_product
from tests.functional.test_cli import GTIN, Cli
from traceseal.db import unit_of_work
from traceseal.ledger import checkpoints
from traceseal.ledger.audit import AuditFailure, AuditState, audit, entries_from_tiles
from traceseal.merkle.note import Verifier


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    # Tampering happens on the SQLite file, so this suite runs on SQLite only.
    return Cli(tmp_path / "var", f"sqlite:///{tmp_path / 'var' / 'traceseal.db'}")


def _grow(cli: Cli, runs: int) -> None:
    """``runs`` issuances: one log leaf each."""
    out = Path(cli.env["TRACESEAL_DATA_DIR"]) / "codes.csv"
    for _ in range(runs):
        cli.run(
            "codes", "issue", "--org", "Acme", "--product", GTIN, "--count", "5", "--out", str(out)
        )


def _setup(cli: Cli) -> dict:
    init = cli.json("init")
    cli.run("orgs", "create", "--name", "Acme", "--role", "enterprise")
    cli.run("products", "add", "--org", "Acme", "--gtin", GTIN, "--name", "Extinguisher")
    return init


def test_an_intact_log_verifies_and_stays_consistent(cli: Cli, tmp_path: Path) -> None:
    init = _setup(cli)
    state = tmp_path / "audit.json"
    _grow(cli, 3)
    assert cli.json("ledger", "publish")["size"] == 3
    first = cli.json(
        "ledger", "verify", "--db", "--state", str(state), "--vkey", init["ledger_key"]
    )
    assert first["size"] == 3
    _grow(cli, 4)
    cli.run("ledger", "publish")
    second = " ".join(cli.run("ledger", "verify", "--db", "--state", str(state)).stdout.split())
    assert "7 leaves verified" in second
    assert "consistent with size 3" in second
    assert sorted(json.loads(state.read_text())["verified"]) == ["3", "7"]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose log has 4 leaves and a checkpoint; copy it before altering."""
    root = tmp_path_factory.mktemp("published")
    cli = Cli(root / "var", f"sqlite:///{root / 'var' / 'traceseal.db'}")
    _setup(cli)
    _grow(cli, 4)
    cli.run("ledger", "publish")
    return root / "var"


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (None, ""),
        ("UPDATE ledger_leaves SET data = x'00' WHERE \"index\" = 1", "root recomputed"),
        (
            'UPDATE ledger_nodes SET hash = zeroblob(32) WHERE level = 1 AND "index" = 0',
            "stored hash of node (1, 0)",
        ),
        (
            "UPDATE ledger_checkpoints SET note = replace(note, char(10) || '4' || char(10), "
            "char(10) || '5' || char(10))",
            "does not verify",
        ),
    ],
)
def test_altering_any_stored_hash_or_leaf_is_reported(
    published: Path, tmp_path: Path, tamper: str | None, message: str
) -> None:
    copy = tmp_path / "var"
    shutil.copytree(published, copy)
    cli = Cli(copy, f"sqlite:///{copy / 'traceseal.db'}")
    if tamper is not None:
        with closing(sqlite3.connect(copy / "traceseal.db")) as db, db:
            db.execute(tamper)
    result = cli.run("ledger", "verify", "--db", "--state", str(tmp_path / "s.json"), ok=False)
    if tamper is None:  # the untouched copy passes: the failures below are the tampering
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 1
    assert message in " ".join(result.stderr.split())


def test_a_rewritten_history_is_reported_with_the_first_bad_size(
    published: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "var"
    shutil.copytree(published, copy)
    cli = Cli(copy, f"sqlite:///{copy / 'traceseal.db'}")
    state = tmp_path / "audit.json"
    # What an auditor remembered from an earlier checkpoint that this log no longer has.
    state.write_text(json.dumps({"origin": "", "verified": {"2": "00" * 32}}))
    result = cli.run("ledger", "verify", "--db", "--state", str(state), ok=False)
    assert result.returncode == 1
    said = " ".join(result.stderr.split())
    assert "history was rewritten" in said
    assert "first bad size 2" in said


def test_auditing_over_tiles_with_the_servers_answers(platform: Platform) -> None:
    acme = platform.org("Acme")
    add_product(platform, acme, GTIN)
    for _ in range(300):
        platform.client.post(
            "/api/v1/code-runs", json={"product": GTIN, "count": 1}, headers=acme.auth
        )
    with unit_of_work(platform.session_factory) as session:
        checkpoints.publish(session, platform.app.state.keyring, "verify.example.org/log")
    verifier = Verifier.parse(platform.client.get("/ledger/key").text)
    note = platform.client.get("/ledger/checkpoint").text

    def tile(t):  # type: ignore[no-untyped-def]
        return platform.client.get(f"/ledger/{t.path}").content

    state = AuditState()
    report = audit(note, verifier, entries_from_tiles(300, tile), state)
    assert report.size == 300
    state.verified[100] = "11" * 32  # a root this log never had at size 100
    with pytest.raises(AuditFailure) as failure:
        audit(note, verifier, entries_from_tiles(300, tile), state)
    assert failure.value.first_bad_size == 100
