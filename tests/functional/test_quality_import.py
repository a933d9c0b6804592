"""CSV imports: a good file is stored whole; one bad row among thousands stores nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import func, select

from tests.functional.conftest import GTIN, LOT
from tests.functional.quality_helpers import Cast, cast
from tests.functional.test_cli import Cli, cli
from traceseal.ledger.models import LedgerLeaf
from traceseal.quality.models import QualityRecord

__all__ = ["cast", "cli"]

ROWS = 2000
BAD_ROW = 1234  # a data row's index; its line in the file is one more (the header is line 1)
COLUMNS = "scheme compulsory number holder gtins categories valid_from valid_until attachment"


def _certificates(cast: Cast, rows: int, bad: dict[int, dict[str, str]] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS.split(), lineterminator="\n")
    writer.writeheader()
    for i in range(rows):
        row = {
            "scheme": "CCC",
            "compulsory": "true",
            "number": f"2026{i:012d}",
            "holder": cast.acme.name,  # labs publish names; ids work too
            "gtins": GTIN,
            "categories": "灭火器;消防器材",
            "valid_from": "2026-01-01",
            "valid_until": "2031-12-31",
            "attachment": "",
        }
        row.update((bad or {}).get(i, {}))
        writer.writerow(row)
    return out.getvalue().encode()


def _post(cast: Cast, body: bytes, dry_run: bool = False):
    return cast.platform.client.post(
        f"/api/v1/certificates/import?dry_run={str(dry_run).lower()}",
        content=body,
        headers={**cast.lab.auth, "Content-Type": "text/csv"},
    )


def _count(cast: Cast, model: type) -> int:
    with cast.platform.session_factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_one_malformed_row_among_thousands_imports_nothing(cast: Cast) -> None:
    leaves = _count(cast, LedgerLeaf)
    body = _certificates(cast, ROWS, {BAD_ROW: {"valid_until": "2031-02-30"}})
    response = _post(cast, body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"] == [
        {"row": BAD_ROW + 2, "field": "valid_until", "message": problem["errors"][0]["message"]}
    ]
    assert f"row {BAD_ROW + 2}, valid_until" in problem["detail"]
    assert "nothing was imported" in problem["detail"]
    assert _count(cast, QualityRecord) == 0
    assert _count(cast, LedgerLeaf) == leaves


def test_every_bad_row_is_named(cast: Cast) -> None:
    bad = {
        3: {"holder": "No such company"},
        10: {"gtins": "12345"},
        20: {"number": "2026000000000000"},  # the number of row 0 again
        30: {"compulsory": "perhaps"},
        40: {"valid_from": "2032-01-01"},
    }
    problem = _post(cast, _certificates(cast, 50, bad)).json()
    found = [(e["row"], e["field"]) for e in problem["errors"]]
    assert found == [
        (5, "holder"),
        (12, "gtins"),
        (22, "number"),
        (32, "compulsory"),
        (42, "row"),  # valid_until before valid_from: the row as a whole
    ]
    assert _count(cast, QualityRecord) == 0


def test_a_good_file_dry_run_stores_nothing_then_imports_whole(cast: Cast) -> None:
    body = _certificates(cast, ROWS)
    checked = _post(cast, body, dry_run=True)
    assert checked.status_code == 200, checked.text
    assert checked.json() == {
        "type": "certificates",
        "rows": ROWS,
        "imported": 0,
        "dry_run": True,
        "errors": [],
    }
    assert _count(cast, QualityRecord) == 0
    leaves = _count(cast, LedgerLeaf)
    imported = _post(cast, body)
    assert imported.status_code == 200, imported.text
    assert imported.json()["imported"] == ROWS
    assert _count(cast, QualityRecord) == ROWS
    # One leaf per record, plus the leaf of the lab's new signing key.
    assert _count(cast, LedgerLeaf) == leaves + ROWS + 1
    listed = cast.platform.client.get(f"/api/v1/certificates?gtin={GTIN}&limit=1000").json()
    assert len(listed) == 1000
    assert listed[0]["payload"]["categories"] == ["灭火器", "消防器材"]
    assert listed[0]["payload"]["holder"] == cast.acme.id
    # Importing rows again conflicts on every number, and stores nothing.
    again = _post(cast, _certificates(cast, 100)).json()
    assert [e["field"] for e in again["errors"]] == ["number"] * 100
    assert _count(cast, QualityRecord) == ROWS


def test_a_wrong_header_names_the_column(cast: Cast) -> None:
    problem = _post(cast, b"scheme,number,colour\nCCC,1,red\n").json()
    assert problem["errors"][0]["row"] == 1
    assert problem["errors"][0]["field"] == "colour"
    # A header that is not even CSV (a bare carriage return inside it) is a bad row 1 too.
    response = _post(cast, "wb\x1c±\\\rÿ".encode())
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["row"] == 1
    assert "not valid CSV" in response.json()["errors"][0]["message"]


def test_the_cli_imports_with_a_dry_run(cli: Cli, tmp_path: Path) -> None:
    cli.json("init")
    lab = cli.json("orgs", "create", "--name", "检测中心", "--role", "lab")
    acme = cli.json("orgs", "create", "--name", "Acme", "--role", "enterprise")
    cli.run("products", "add", "--org", "Acme", "--gtin", GTIN, "--name", "Extinguisher")
    cli.run("batches", "add", "--product", GTIN, "--lot", LOT)
    good = tmp_path / "reports.csv"
    rows = [
        "number,gtin,lot,sample,enterprise,standards,items,conclusion,tested_on,attachment",
        *(
            f'R-{i},{GTIN},{LOT},,,GB 4351-2023;GB/T 9969,"[{{""name"": ""喷射时间"", '
            f'""result"": ""9 s"", ""conclusion"": ""pass""}}]",pass,2026-10-{i % 28 + 1:02d},'
            for i in range(200)
        ),
    ]
    good.write_text("\n".join(rows) + "\n", encoding="utf-8")
    checked = cli.json(
        "quality", "import", "inspection-reports", str(good), "--org", lab["name"], "--dry-run"
    )
    assert checked == {"type": "inspection-reports", "rows": 200, "imported": 0, "dry_run": True}
    done = cli.json("quality", "import", "inspection-reports", str(good), "--org", str(lab["id"]))
    assert done["imported"] == 200
    bad = tmp_path / "bad.csv"
    # New numbers, and one conclusion that is neither pass nor fail, on line 101.
    fresh = [row.replace("R-", "B-") for row in rows]
    bad.write_text("\n".join([*fresh[:100], fresh[100].replace(",pass,", ",passed,")]) + "\n")
    refused = cli.run(
        "quality", "import", "inspection-reports", str(bad), "--org", "检测中心", ok=False
    )
    assert refused.returncode == 1
    assert "row 101, conclusion" in refused.stderr
    assert acme["role"] == "enterprise"
