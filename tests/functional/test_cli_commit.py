"""``traceseal codes issue`` publishes its file only once the database has committed the run:
here the commit itself fails, for real, on the database (a check deferred to COMMIT), after
the whole file was written. No file of codes that were never issued may be left for the
printer, not even the ``.partial`` one, and the person is told in one line."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from tests.functional.test_cli import GTIN, Cli
from traceseal.codes.models import CodeRun
from traceseal.ledger.models import LedgerLeaf

#: Every new run makes the commit fail: SQLite checks a DEFERRABLE INITIALLY DEFERRED foreign
#: key at COMMIT; PostgreSQL runs a deferred constraint trigger at COMMIT.
REFUSE_AT_COMMIT = {
    "sqlite": [
        "CREATE TABLE commit_guard_parent (id INTEGER PRIMARY KEY)",
        "CREATE TABLE commit_guard (parent INTEGER REFERENCES commit_guard_parent (id) "
        "DEFERRABLE INITIALLY DEFERRED)",
        "CREATE TRIGGER code_runs_refused AFTER INSERT ON code_runs "
        "BEGIN INSERT INTO commit_guard VALUES (1); END",
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_run() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'runs are frozen for the audit'; END $$",
        "CREATE CONSTRAINT TRIGGER code_runs_refused AFTER INSERT ON code_runs "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_run()",
    ],
}
DROP = {
    "sqlite": "DROP TRIGGER code_runs_refused",
    "postgresql": "DROP TRIGGER code_runs_refused ON code_runs",
}
SAID = {"sqlite": "FOREIGN KEY constraint failed", "postgresql": "runs are frozen for the audit"}


def _stored(database_url: str) -> tuple[int, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return tuple(  # type: ignore[return-value]
                connection.execute(select(func.count()).select_from(model)).scalar_one()
                for model in (CodeRun, LedgerLeaf)
            )
    finally:
        engine.dispose()


def test_a_failed_commit_leaves_no_file_of_codes(tmp_path: Path, database_url: str) -> None:
    cli = Cli(tmp_path / "var", database_url)
    cli.json("init")
    cli.json("orgs", "create", "--name", "Acme", "--role", "enterprise")
    cli.json("products", "add", "--org", "Acme", "--gtin", GTIN, "--name", "灭火器")
    out = tmp_path / "labels" / "codes.csv"
    out.parent.mkdir()
    issue = ("codes", "issue", "--org", "Acme", "--product", GTIN, "--count", "5000")
    # The same command works before the database refuses runs: the file is the run's.
    first = cli.json(*issue, "--out", str(tmp_path / "labels" / "first.csv"))
    assert len((tmp_path / "labels" / "first.csv").read_text().splitlines()) == 5001
    before = _stored(database_url)

    engine = create_engine(database_url)
    with engine.begin() as connection:
        for statement in REFUSE_AT_COMMIT[engine.dialect.name]:
            connection.execute(text(statement))
    said = SAID[engine.dialect.name]
    engine.dispose()
    result = cli.run(*issue, "--out", str(out), ok=False)

    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: the database refused the command")
    assert said in lines[0]
    assert sorted(p.name for p in out.parent.iterdir()) == ["first.csv"]  # no codes.csv*
    assert _stored(database_url) == before

    # The refused run took no codes either: once runs are allowed again, the next run
    # follows the first in the slot.
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(DROP[engine.dialect.name]))
    engine.dispose()
    again = cli.json(*issue, "--out", str(out))
    assert (again["slot"], again["first"]) == (first["slot"], first["first"] + 5000)
    assert len(out.read_text().splitlines()) == 5001
