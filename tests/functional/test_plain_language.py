"""What consumers meet is in their language and their keyboard's characters: full-width
digits verify, a browser gets HTML error pages in zh-CN or en, the CLI names fields plainly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Platform, Tenant
from tests.functional.conftest import GTIN, issue
from tests.functional.test_cli import Cli

_FULL_WIDTH = str.maketrans("0123456789 -", "０１２３４５６７８９\u3000－")


def _typed_on_a_chinese_keyboard(code: str) -> str:
    grouped = " ".join(code[i : i + 4] for i in range(0, 20, 4))
    return grouped.translate(_FULL_WIDTH)


def test_full_width_digits_verify_everywhere(platform: Platform, acme: Tenant) -> None:
    first, second = issue(platform, acme, 2)
    typed = _typed_on_a_chinese_keyboard(first)
    api = platform.client.post("/api/v1/verify", json={"code": typed})
    assert api.status_code == 200
    assert api.json()["verdict"] == "genuine"
    page = platform.client.get("/verify", params={"code": _typed_on_a_chinese_keyboard(second)})
    assert page.status_code == 200
    assert 'data-verdict="genuine"' in page.text


@pytest.mark.parametrize(
    ("language", "unknown", "bad_link"),
    [
        ("zh-CN,zh;q=0.9", "找不到这个页面", "不是有效的产品二维码链接"),
        ("en-GB,en;q=0.8", "This page was not found", "not a valid product label link"),
    ],
)
def test_a_browser_gets_an_html_page_for_a_bad_link(
    platform: Platform, language: str, unknown: str, bad_link: str
) -> None:
    browser = {"Accept": "text/html,application/xhtml+xml", "Accept-Language": language}
    for path, status, words in (
        ("/no/such/page", 404, unknown),
        ("/01/09506000134353/21/10000000000000000003", 400, bad_link),
    ):
        response = platform.client.get(path, headers=browser)
        assert response.status_code == status, path
        assert response.headers["content-type"].startswith("text/html")
        assert words in response.text, path
        assert 'action="/verify"' in response.text
    # An API client keeps its problem details.
    api = platform.client.get("/no/such/page", headers={"Accept": "application/json"})
    assert api.headers["content-type"] == "application/problem+json"


def test_malformed_links_are_explained_in_chinese(platform: Platform) -> None:
    response = platform.client.get(
        f"/01/{GTIN[:-1]}9/21/12", headers={"Accept": "text/html", "Accept-Language": "zh-CN"}
    )
    assert response.status_code == 400
    assert "invalid Digital Link" not in response.text


def test_the_cli_names_each_bad_field_on_a_line_of_its_own(
    tmp_path: Path, database_url: str
) -> None:
    cli = Cli(tmp_path / "var", database_url)
    cli.run("init")
    cli.run("orgs", "create", "--name", "Acme", "--role", "enterprise")
    bad = cli.run(
        "products", "add", "--org", "Acme", "--gtin", GTIN, "--name", "", "--scan-limit", "0",
        ok=False,
    )  # fmt: skip
    assert bad.returncode == 1
    lines = bad.stderr.strip().splitlines()
    assert lines[0] == "error: the input is not valid:"
    assert lines[1].strip() == "name: String should have at least 1 character"
    assert lines[2].strip().startswith("scan_limit: ")
    assert "pydantic" not in bad.stderr
    assert "Traceback" not in bad.stderr
