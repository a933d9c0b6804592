"""The restore drill: back up a working installation, destroy it, restore it from the
archive alone; the log verifies and every code keeps its count of earlier queries."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.conftest import POSTGRES_URL, Platform
from tests.functional.conftest import issue
from tests.functional.test_cli import Cli
from traceseal.app import create_app
from traceseal.config import Settings
from traceseal.ledger.checkpoints import publish_now


def traceseal(
    settings: Settings, *args: str, key_in_env: bool = True
) -> subprocess.CompletedProcess[str]:
    """The command with ``settings`` as its environment; the caller checks its exit status."""
    cli = Cli(settings.data_dir, settings.resolved_database_url)
    cli.env["TRACESEAL_PUBLIC_URL"] = settings.public_url
    if key_in_env:
        cli.env["TRACESEAL_MASTER_KEY"] = settings.master_key
    return cli.run(*args, ok=False)


def destroy(settings: Settings) -> None:
    """Everything the installation had: its database, its master key, its files."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        database = Path(url.split("///", 1)[-1])
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            path.unlink(missing_ok=True)
    else:
        schema = url.rsplit("search_path%3D", 1)[1]
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as connection:
            # Every table gone; the empty schema stays for the fixture to drop.
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
    for path in sorted((settings.data_dir / "attachments").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()


@pytest.fixture(autouse=True)
def _client_tools(database_url: str) -> None:
    if database_url.startswith("postgresql") and not (
        shutil.which("pg_dump") and shutil.which("pg_restore")
    ):
        pytest.skip("pg_dump and pg_restore are not installed: make pg-tools")


def test_restore_drill(platform: Platform, acme, tmp_path: Path) -> None:
    settings = platform.settings
    codes = issue(platform, acme, 5)
    counts = {}
    for code, times in zip(codes[:3], (1, 3, 2), strict=True):
        for _ in range(times):
            answer = platform.client.post("/api/v1/verify", json={"code": code}).json()
        counts[code] = answer["scan_count"]
    assert counts == {codes[0]: 1, codes[1]: 3, codes[2]: 2}
    publish_now(
        platform.session_factory, platform.app.state.keyring, settings.resolved_ledger_origin
    )
    attachment = settings.data_dir / "attachments" / "ab" / "report.pdf"
    attachment.parent.mkdir(parents=True)
    attachment.write_bytes(b"%PDF-1.7 a stored inspection report")
    audit_state = tmp_path / "audit.json"
    before = traceseal(settings, "ledger", "verify", "--db", "--state", str(audit_state), "--json")
    assert before.returncode == 0, before.stderr
    log_before = json.loads(before.stdout)

    archive = tmp_path / "backups" / "traceseal.tar"
    archive.parent.mkdir()
    made = traceseal(settings, "backup", "--out", str(archive), "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["ledger_size"] == log_before["size"]
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names[0] == "manifest.json"
    assert {"master.key", "attachments/ab/report.pdf"} <= set(names)
    platform.close()

    destroy(settings)
    # The key lives only in the backup now: restore writes it to DATA_DIR/master.key.
    restored = traceseal(settings, "restore", str(archive), "--json", key_in_env=False)
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["ledger_size"] == log_before["size"]
    key_file = settings.data_dir / "master.key"
    assert key_file.read_text().strip() == settings.master_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert attachment.read_bytes() == b"%PDF-1.7 a stored inspection report"
    # Once restored, a second restore over it is refused unless forced.
    again = traceseal(settings, "restore", str(archive), key_in_env=False)
    assert again.returncode == 1
    assert "--force" in again.stderr

    after = traceseal(
        settings,
        "ledger",
        "verify",
        "--db",
        "--state",
        str(audit_state),
        "--json",
        key_in_env=False,
    )
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["root"] == log_before["root"]

    app = create_app(settings.replace(master_key=""))  # the key from the restored file
    try:
        client = TestClient(app)
        assert client.get("/readyz").status_code == 200
        for code, seen in counts.items():
            answer = client.post("/api/v1/verify", json={"code": code}).json()
            assert answer["verdict"] == "genuine_repeat"
            assert answer["scan_count"] == seen + 1
        fresh = client.post("/api/v1/verify", json={"code": codes[4]}).json()
        assert (fresh["verdict"], fresh["scan_count"]) == ("genuine", 1)
    finally:
        app.state.engine.dispose()


def test_a_damaged_archive_restores_nothing(platform: Platform, tmp_path: Path) -> None:
    settings = platform.settings
    archive = tmp_path / "traceseal.tar"
    assert traceseal(settings, "backup", "--out", str(archive)).returncode == 0
    data = bytearray(archive.read_bytes())
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith("database."))
    data[member.offset_data + 100] ^= 0xFF
    damaged = tmp_path / "damaged.tar"
    damaged.write_bytes(bytes(data))
    platform.close()
    destroy(settings)
    result = traceseal(settings, "restore", str(damaged), key_in_env=False)
    assert result.returncode == 1
    assert "damaged" in result.stderr
    assert not (settings.data_dir / "master.key").exists()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_restore_refuses_a_master_key_that_is_not_the_backups(
    platform: Platform, tmp_path: Path
) -> None:
    settings = platform.settings
    archive = tmp_path / "traceseal.tar"
    assert traceseal(settings, "backup", "--out", str(archive)).returncode == 0
    platform.close()
    destroy(settings)
    other = settings.replace(master_key="ef" * 32)
    result = traceseal(other, "restore", str(archive))
    assert result.returncode == 1
    assert "TRACESEAL_MASTER_KEY is not the backup's master key" in result.stderr


def test_backup_says_what_is_missing(tmp_path: Path) -> None:
    from traceseal.config import load_settings

    nowhere = load_settings({}, data_dir=tmp_path / "var", master_key="12" * 32)
    result = traceseal(nowhere, "backup", "--out", str(tmp_path / "b.tar"))
    assert result.returncode == 1
    assert "no database at" in result.stderr
    assert not (tmp_path / "var" / "traceseal.db").exists()
