"""Label programmes: eligibility rules decide which products' code runs may carry the label."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from tests.functional.conftest import GTIN, issue
from tests.functional.quality_helpers import Cast, cast
from tests.functional.test_cli import Cli, cli
from traceseal.codes.models import CodeRun
from traceseal.ledger.models import LedgerLeaf

__all__ = ["cast", "cli"]

RULES = {
    "all": [
        {"certificate": {"scheme": "CCC"}},
        {"inspection": {"conclusion": "pass", "max_age_days": 365}},
    ]
}


def _count(cast: Cast, model: type) -> int:
    with cast.platform.session_factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _programme(cast: Cast) -> dict:
    return cast.post(
        "/api/v1/programmes",
        cast.operator,
        {"name": "质量月标识", "name_en": "Quality Month label", "rules": RULES},
    )


def test_only_the_operator_runs_programmes_and_rules_are_validated(cast: Cast) -> None:
    body = {"name": "3.15标识", "rules": RULES}
    cast.post("/api/v1/programmes", cast.acme, body, 403)
    cast.post("/api/v1/programmes", cast.lab, body, 403)
    bad = cast.post("/api/v1/programmes", cast.operator, {**body, "rules": {"most": []}}, 422)
    assert bad["field"].startswith("rules")
    created = cast.post("/api/v1/programmes", cast.operator, body)
    assert created["rules"] == RULES
    assert created["record"]["payload"]["rules"] == RULES
    assert created["record"]["issuer"]["id"] == cast.operator.id
    cast.post("/api/v1/programmes", cast.operator, body, 409)
    listed = cast.platform.client.get("/api/v1/programmes").json()
    assert [p["name"] for p in listed] == ["3.15标识"]


def test_runs_under_a_programme_only_for_eligible_products(cast: Cast) -> None:
    programme = _programme(cast)
    client = cast.platform.client
    runs, leaves = _count(cast, CodeRun), _count(cast, LedgerLeaf)
    request = {"product": GTIN, "count": 10, "programme": programme["id"]}
    refused = client.post("/api/v1/code-runs", json=request, headers=cast.acme.auth)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["field"] == "programme"
    assert "a valid certificate of scheme CCC" in problem["detail"]
    assert "a passing inspection report at most 365 days old" in problem["detail"]
    # Nothing was stored: no run, no leaf.
    assert (_count(cast, CodeRun), _count(cast, LedgerLeaf)) == (runs, leaves)
    eligibility = client.get(f"/api/v1/programmes/{programme['id']}/eligibility?gtin={GTIN}")
    assert eligibility.json()["eligible"] is False

    cast.certificate()
    still = client.post("/api/v1/code-runs", json=request, headers=cast.acme.auth)
    assert still.status_code == 422
    assert "scheme CCC" not in still.json()["detail"]
    assert "inspection report" in still.json()["detail"]

    # A report dated within the last year, whatever day the test runs.
    from datetime import UTC, datetime

    today = datetime.now(UTC).date().isoformat()
    cast.inspection(tested_on=today)
    issued = client.post("/api/v1/code-runs", json=request, headers=cast.acme.auth)
    assert issued.status_code == 201, issued.text
    assert issued.json()["programme"] == programme["id"]
    # A run under a programme must name its product.
    unbound = client.post(
        "/api/v1/code-runs",
        json={"count": 1, "programme": programme["id"]},
        headers=cast.acme.auth,
    )
    assert unbound.status_code == 422
    assert unbound.json()["field"] == "product"

    codes_csv = client.get(
        f"/api/v1/code-runs/{issued.json()['run']}/codes.csv", headers=cast.acme.auth
    )
    code = codes_csv.text.splitlines()[1].split(",")[0]
    activate = client.post(
        f"/api/v1/code-runs/{issued.json()['run']}/activate",
        json={"lot": "L2026-11A"},
        headers=cast.acme.auth,
    )
    assert activate.status_code == 200
    body = client.post("/api/v1/verify?lang=en", json={"code": code}).json()
    assert body["quality"]["programme"] == {"id": programme["id"], "name": "Quality Month label"}
    zh = client.get(f"/v/{code}?lang=zh-CN", headers={"Accept": "text/html"})
    assert "质量月标识" in zh.text
    # Runs without a programme are unaffected.
    other = issue(cast.platform, cast.acme, 1)[0]
    plain = client.post("/api/v1/verify", json={"code": other}).json()
    assert plain["quality"]["programme"] is None


def test_a_programme_id_that_does_not_exist_is_404(cast: Cast) -> None:
    response = cast.platform.client.post(
        "/api/v1/code-runs",
        json={"product": GTIN, "count": 1, "programme": 999},
        headers=cast.acme.auth,
    )
    assert response.status_code == 404
    assert response.json()["field"] == "programme"


def test_the_cli_defines_programmes_and_refuses_ineligible_runs(cli: Cli, tmp_path: Path) -> None:
    cli.json("init")
    cli.json("orgs", "create", "--name", "Acme", "--role", "enterprise")
    cli.run("products", "add", "--org", "Acme", "--gtin", GTIN, "--name", "Extinguisher")
    bad = cli.run("programmes", "add", "--name", "X", "--rules", '{"most": []}', ok=False)
    assert bad.returncode == 1
    assert "--rules" in bad.stderr
    made = cli.json(
        "programmes", "add", "--name", "质量月标识", "--rules", '{"certificate": {"scheme": "CCC"}}'
    )
    assert made["rules"] == {"certificate": {"scheme": "CCC"}}
    assert [p["id"] for p in cli.json("programmes", "list")["programmes"]] == [made["id"]]
    out = tmp_path / "codes.csv"
    refused = cli.run(
        "codes", "issue", "--org", "Acme", "--count", "5", "--out", str(out),
        "--product", GTIN, "--programme", str(made["id"]),
        ok=False,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "a valid certificate of scheme CCC" in refused.stderr
    assert not out.exists()
