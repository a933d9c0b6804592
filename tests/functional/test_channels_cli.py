"""``traceseal channels urls`` and ``channels try``, the real command against a real database."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.functional.test_cli import GTIN, Cli


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    return Cli(tmp_path / "var", database_url)


def _tried(cli: Cli, *args: str) -> dict:
    """``channels try`` answers on an event loop of its own (asyncio.run), so it runs as the
    user runs it, in a process of its own. In the test process it cannot: once a browser test
    has run there, the session's Playwright (its sync API) keeps an event loop marked running
    in the main thread, and asyncio.run refuses to start."""
    return json.loads(cli.process("channels", "try", *args, "--json").stdout)


def test_urls_carry_the_secret_and_try_records_a_scan(cli: Cli, tmp_path: Path) -> None:
    cli.json("init")
    urls = cli.json("channels", "urls")
    secret = urls["sms"]["aliyun"].rsplit("/", 1)[1]
    assert len(secret) == 32
    assert urls == {
        "sms": {
            name: f"https://verify.example.org/channels/sms/{name}/{secret}"
            for name in ("aliyun", "tencent", "generic")
        },
        "wechat": "https://verify.example.org/channels/wechat",
    }

    cli.json("orgs", "create", "--name", "Acme", "--role", "enterprise")
    cli.json("products", "add", "--org", "Acme", "--gtin", GTIN, "--name", "灭火器")
    cli.json("batches", "add", "--product", GTIN, "--lot", "L1")
    out = tmp_path / "codes.csv"
    run = cli.json(
        "codes", "issue", "--org", "Acme", "--product", GTIN, "--count", "3", "--out", str(out)
    )
    cli.json("codes", "activate", "--run", str(run["run"]), "--range", "1-3", "--batch", "L1")
    code = next(csv.DictReader(out.read_text().splitlines()))["code"]
    spaced = " ".join(code[i : i + 4] for i in range(0, 20, 4))

    first = _tried(cli, "sms", f"查询 {spaced}", "--from", "13800000000")
    assert first["verdict"] == "genuine"
    assert first["reply"] == "【灭火器】正品，本次为首次查询。"
    printed = cli.process("channels", "try", "wechat", code, "--from", "oOpenId123").stdout
    assert "已被查询2次" in printed
    typo = code[:7] + str((int(code[7]) + 1) % 10) + code[8:]
    assert _tried(cli, "sms", typo)["verdict"] == "mistyped"
    assert "20位防伪码" in _tried(cli, "wechat", "你好")["reply"]
    refused = cli.run("channels", "try", "fax", code, ok=False)
    assert refused.returncode == 2
