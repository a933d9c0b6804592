"""The real ``traceseal`` command against a real database: its commands run in this process
(Typer's runner, the same app as the installed script) or, where the process is the point, as a
subprocess."""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from fastfpe import ff1 as independent
from typer.testing import CliRunner

from traceseal.cli import common
from traceseal.cli.main import app
from traceseal.crypto import damm

GTIN = "09506000134352"


class Cli:
    """``traceseal`` with its settings in ``env``, as the installed script reads them.

    ``run`` invokes the script's own Typer app in this process: the same argument parsing,
    commands, output and exit codes, without the 2 s a new Python process spends starting
    and importing every command's modules. ``process`` runs the script as a subprocess, for
    tests whose point is the process (signals, a crash, what it leaves behind).
    """

    def __init__(self, data_dir: Path, database_url: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESEAL_")} | {
            "TRACESEAL_DATA_DIR": str(data_dir),
            "TRACESEAL_DATABASE_URL": database_url,
            "TRACESEAL_PUBLIC_URL": "https://verify.example.org",
        }

    def run(self, *args: str, ok: bool = True, stdin: str = "") -> subprocess.CompletedProcess[str]:
        # The environment is this one for the call only (the runner restores os.environ),
        # and settings, cached per process by the CLI, are read from it afresh.
        env: dict[str, str | None] = {k: None for k in os.environ if k not in self.env}
        common.settings.cache_clear()
        try:
            result = CliRunner().invoke(
                app, list(args), input=stdin, env=env | self.env, prog_name="traceseal"
            )
        finally:
            common.settings.cache_clear()
        if result.exc_info is not None and not isinstance(result.exc_info[1], SystemExit):
            # What the script would print as a traceback, raised here where it shows.
            raise result.exc_info[1].with_traceback(result.exc_info[2])
        completed = subprocess.CompletedProcess(
            ["traceseal", *args], result.exit_code, result.stdout, result.stderr
        )
        if ok:
            assert completed.returncode == 0, completed.stderr
        return completed

    def process(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "traceseal.cli.main", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    def json(self, *args: str) -> dict:
        result = self.run(*args, "--json")
        return json.loads(result.stdout)


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    return Cli(tmp_path / "var", database_url)


def test_a_whole_issuance_session(cli: Cli, tmp_path: Path) -> None:
    init = cli.json("init")
    assert init["operator_api_key"].startswith("ts_")
    key_file = tmp_path / "var" / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = cli.run("init", ok=False)
    assert again.returncode == 1
    assert "already initialised" in again.stderr

    org = cli.json("orgs", "create", "--name", "Acme", "--role", "enterprise")
    assert set(org) >= {"id", "name", "role", "api_key"}
    assert org["role"] == "enterprise"
    product = cli.json("products", "add", "--org", "Acme", "--gtin", GTIN, "--name", "灭火器")
    assert product["gtin"] == GTIN
    batch = cli.json("batches", "add", "--product", GTIN, "--lot", "L1", "--expiry", "2031-01-01")
    assert batch["lot"] == "L1"

    out = tmp_path / "codes.csv"
    run = cli.json(
        "codes",
        "issue",
        "--org",
        "Acme",
        "--product",
        GTIN,
        "--count",
        "2000",
        "--out",
        str(out),
        "--pin",
    )
    assert {"run", "slot", "first", "count"} <= set(run)
    assert run["count"] == 2000
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(rows) == 2000
    assert all(damm.is_valid(r["code"]) and len(r["pin"]) == 6 for r in rows)

    activated = cli.json(
        "codes", "activate", "--run", str(run["run"]), "--range", "1-1000", "--batch", "L1"
    )
    assert activated["segments"][0] == {
        **activated["segments"][0],
        "first": 1,
        "last": 1000,
        "state": "active",
        "lot": "L1",
    }
    by_codes = f"{rows[1000]['code']}-{rows[1099]['code']}"
    voided = cli.json(
        "codes", "void", "--run", str(run["run"]), "--range", by_codes, "--reason", "roll damaged"
    )
    assert [s["state"] for s in voided["segments"]] == ["active", "void", "issued"]

    key = json.loads(cli.run("keys", "export", "--slot", run["slot"]).stdout)
    plain = [
        int(
            independent.decrypt(
                key["key"], key["slot"].encode().hex(), "0123456789", r["code"][3:19]
            )
        )
        for r in rows
    ]
    assert plain == list(range(run["first"], run["first"] + 2000))

    zipped = tmp_path / "codes.zip"
    cli.run("codes", "export", "--run", str(run["run"]), "--out", str(zipped), "--format", "zip")
    with zipfile.ZipFile(zipped) as archive:
        assert len(archive.namelist()) == 2 * 2000 + 1
    pdf = tmp_path / "small.pdf"
    small = cli.json(
        "codes", "issue", "--org", "Acme", "--count", "8", "--out", str(pdf), "--format", "pdf"
    )
    assert pdf.read_bytes().startswith(b"%PDF")

    # The label designer's outputs, for the operator's shell.
    designed = tmp_path / "roll.pdf"
    cli.run(
        "codes", "labels", "--run", str(small["run"]), "--out", str(designed),
        "--preset", "roll-30x20", "--symbol", "datamatrix", "--product", "灭火器 4kg",
    )  # fmt: skip
    assert designed.read_bytes().startswith(b"%PDF")
    zpl = tmp_path / "roll.zpl"
    cli.run("codes", "labels", "--run", str(small["run"]), "--out", str(zpl), "--format", "zpl")
    assert zpl.read_text().count("^XA") == 8
    refused = cli.run(
        "codes", "labels", "--run", str(small["run"]), "--out", str(zpl), "--pin-box", ok=False
    )
    assert "issued without PINs" in refused.stderr + refused.stdout
    assert small["product"] is None


def test_bad_input_is_a_clear_error_and_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    cli.json("init")
    cli.json("orgs", "create", "--name", "Acme", "--role", "enterprise")
    cli.json("orgs", "create", "--name", "Rival", "--role", "enterprise")
    cli.json("products", "add", "--org", "Acme", "--gtin", GTIN, "--name", "X")
    out = tmp_path / "never.csv"
    cases = [
        (
            ("products", "add", "--org", "Acme", "--gtin", "09506000134353", "--name", "X"),
            "check digit",
        ),
        (
            ("products", "add", "--org", "Nobody", "--gtin", "09506000134369", "--name", "X"),
            "no organisation",
        ),
        (("codes", "issue", "--org", "Acme", "--count", "0", "--out", str(out)), "count must be"),
        (
            ("codes", "issue", "--org", "Acme", "--count", "100000001", "--out", str(out)),
            "count must be",
        ),
        (
            ("codes", "issue", "--org", "Nobody", "--count", "5", "--out", str(out)),
            "no organisation",
        ),
        (
            (
                "codes",
                "issue",
                "--org",
                "Rival",
                "--product",
                GTIN,
                "--count",
                "5",
                "--out",
                str(out),
            ),
            "does not belong",
        ),
        (("orgs", "create", "--name", "Acme", "--role", "lab"), "already exists"),
        (("orgs", "create", "--name", "New", "--role", "king"), "unknown role"),
    ]
    for args, message in cases:
        result = cli.run(*args, ok=False)
        assert result.returncode == 1, args
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert not out.exists()
    assert not list(tmp_path.glob("*.partial"))
    listed = cli.json("orgs", "list")
    assert [o["name"] for o in listed["organizations"]] == ["Operator", "Acme", "Rival"]
    assert cli.json("products", "list", "--org", "Acme")["products"][0]["gtin"] == GTIN


def test_help_is_there_for_every_command(cli: Cli) -> None:
    top = cli.run("--help").stdout
    for group in ("init", "serve", "orgs", "products", "batches", "codes", "keys"):
        assert group in top
    for args in (("codes", "issue"), ("codes", "activate"), ("codes", "void")):
        assert "--json" in cli.run(*args, "--help").stdout
    assert "--slot" in cli.run("keys", "export", "--help").stdout


def test_a_bad_setting_is_named(cli: Cli) -> None:
    # The installed script's own exit status, as a shell or supervisor sees it.
    cli.env["TRACESEAL_SLOT_CAPACTY"] = "5"
    result = cli.process("orgs", "list", ok=False)
    assert result.returncode == 2
    assert "TRACESEAL_SLOT_CAPACTY" in result.stderr
