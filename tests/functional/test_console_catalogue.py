"""The brand's catalogue pages through real HTTP: products, batches, code runs, their
files and the home cards. Errors beside their fields in zh-CN and English, another
brand's objects answering exactly as missing ones, and every write in the audit log."""

from __future__ import annotations

import csv
import io
import re

from tests.conftest import Platform
from tests.functional.catalogue_helpers import (
    GTIN,
    LOT,
    Brand,
    add_batch,
    add_product,
    audit_rows,
    brand,
    field_error,
    issue,
    runner,
    wait_done,
)

__all__ = ["brand", "runner"]  # fixtures


def test_a_product_with_a_wrong_check_digit_is_refused_beside_the_field(
    platform: Platform, brand: Brand
) -> None:
    admin = brand.admin
    wrong = GTIN[:-1] + "3"
    answer = admin.post("/console/products/new", {"gtin": wrong, "name": "灭火器"})
    assert answer.status_code == 422
    assert field_error(answer, "gtin") == (
        f"“{wrong}”的校验位不正确：最后一位应为 2，而不是 3。请核对条码上的数字。"
    )
    assert f'value="{wrong}"' in answer.text  # what was typed is kept
    answer = admin.post("/console/products/new?lang=en", {"gtin": "12345", "name": ""})
    assert answer.status_code == 422
    assert "expected 8, 12, 13 or 14 ASCII digits" in field_error(answer, "gtin")
    answer = admin.post("/console/products/new?lang=en", {"gtin": wrong, "name": "x"})
    assert "Expected 2, got 3" in field_error(answer, "gtin")
    # An empty name is refused beside the name, in zh-CN.
    answer = admin.post("/console/products/new?lang=zh-CN", {"gtin": GTIN, "name": " "})
    assert field_error(answer, "name") == "请填写此项"
    assert "找不到" not in admin.get("/console/products").text
    assert admin.get("/console/products").text.count('id="empty"') == 1


def test_adding_finding_and_editing_products_is_audited(platform: Platform, brand: Brand) -> None:
    admin = brand.admin
    assert add_product(brand.member, GTIN[1:]) == f"/console/products/{GTIN}?done=created"
    page = admin.get(f"/console/products/{GTIN}")
    assert page.status_code == 200
    assert "4kg 干粉灭火器" in page.text
    # The same GTIN again: refused beside the field.
    answer = admin.post("/console/products/new", {"gtin": GTIN, "name": "again"})
    assert field_error(answer, "gtin") == f"GTIN {GTIN} 已被登记"
    add_product(admin, "96385074", "Hose reel")
    listing = admin.get("/console/products")
    assert "Hose reel" in listing.text
    assert "4kg 干粉灭火器" in listing.text
    found = admin.get("/console/products?q=hose")
    assert "Hose reel" in found.text
    assert "干粉" not in found.text
    assert 'id="empty"' in admin.get("/console/products?q=nothing-like-it").text

    answer = admin.post(f"/console/products/{GTIN}", {"name": "灭火器 4kg", "scan_limit": "0"})
    assert answer.status_code == 422
    assert field_error(answer, "scan_limit") == "请填写 1 到 1,000 之间的整数"
    answer = admin.post(f"/console/products/{GTIN}", {"name": "灭火器 4kg", "scan_limit": "8"})
    assert answer.status_code == 303
    assert "灭火器 4kg" in admin.get(f"/console/products/{GTIN}").text

    log = audit_rows(admin, "product")
    assert log.count("product.create") == 2
    assert "product.update" in log
    assert "scan_limit" in log
    assert "member@acme.cn" in log


def test_products_are_paged(platform: Platform, brand: Brand) -> None:
    # 26 GTIN-8s with their check digits: one more than a page.
    for n in range(26):
        body = f"9638{n:03d}"
        total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
        add_product(brand.admin, body + str((10 - total % 10) % 10), f"Item {n:02d}")
    first = brand.admin.get("/console/products")
    assert "Item 25" in first.text
    assert "Item 00" not in first.text
    older = re.search(r'href="([^"]+)" id="older"', first.text)
    assert older
    second = brand.admin.get(older.group(1).replace("&amp;", "&"))
    assert "Item 00" in second.text
    assert "Item 25" not in second.text


def test_batches_are_added_with_their_errors_beside_the_fields(
    platform: Platform, brand: Brand
) -> None:
    add_product(brand.admin)
    path = f"/console/products/{GTIN}/batches/new"
    answer = brand.member.post(path, {"lot": "批 1"})
    assert answer.status_code == 422
    assert "GS1" in field_error(answer, "lot")
    dates = {"lot": "L1", "production_date": "2026-11-02", "expiry_date": "2026-11-01"}
    answer = brand.member.post(path + "?lang=en", dates)
    assert field_error(answer, "expiry_date") == "expiry_date is before production_date"
    add_batch(brand.member)
    page = brand.member.get(f"/console/products/{GTIN}?lang=zh-CN")
    assert LOT in page.text
    assert "2026-11-01" in page.text
    answer = brand.member.post(path, {"lot": LOT})
    assert field_error(answer, "lot") == f"该产品已有批号“{LOT}”"
    assert f"batch {LOT} of product {GTIN}" in audit_rows(brand.admin, "batch.create")


def test_another_brands_objects_answer_exactly_as_missing_ones(
    platform: Platform, brand: Brand
) -> None:
    add_product(brand.admin)
    add_batch(brand.admin)
    run_id, job_id = issue(brand.admin, 50)
    assert job_id is not None
    missing_run = run_id + 1000
    pairs = [
        (f"/console/products/{GTIN}", "/console/products/96385074"),
        (f"/console/products/{GTIN}/batches/new", "/console/products/96385074/batches/new"),
        (f"/console/codes/{run_id}", f"/console/codes/{missing_run}"),
        (f"/console/codes/{run_id}/codes.csv", f"/console/codes/{missing_run}/codes.csv"),
        (
            f"/console/codes/{run_id}/file/{job_id}/status",
            f"/console/codes/{missing_run}/file/{job_id}/status",
        ),
        (f"/console/codes?product={GTIN}", "/console/codes?product=96385074"),
    ]
    beta = brand.beta_admin
    for theirs, missing in pairs:
        a, b = beta.get(theirs), beta.get(missing)
        assert (a.status_code, b.status_code) == (404, 404), theirs
        assert a.text.replace(theirs, "") == b.text.replace(missing, ""), theirs
    # Writes too, and nothing changes.
    answer = beta.post(f"/console/codes/{run_id}/activate", {"lot": LOT}, page="/console")
    assert answer.status_code == 404
    answer = beta.post(f"/console/products/{GTIN}", {"name": "mine now"}, page="/console")
    assert answer.status_code == 404
    assert "mine now" not in brand.admin.get(f"/console/products/{GTIN}").text
    assert "已激活" not in brand.admin.get(f"/console/codes/{run_id}").text.split("各段状态")[1]
    # Nor do Beta's lists show Acme's things.
    assert GTIN not in beta.get("/console/products").text
    assert f"/console/codes/{run_id}" not in beta.get("/console/codes").text


def test_issuing_shows_the_codes_file_to_done_and_the_file_is_the_runs_codes(
    platform: Platform, brand: Brand, runner: None
) -> None:
    add_product(brand.admin)
    answer = brand.member.post("/console/codes/new", {"product": GTIN, "count": "0"})
    assert answer.status_code == 422
    assert field_error(answer, "count") == "请填写 1 到 100,000,000 之间的整数"
    answer = brand.member.post("/console/codes/new?lang=en", {"product": "", "count": "10"})
    assert field_error(answer, "product") == "choose a product"
    answer = brand.member.post(
        "/console/codes/new?lang=zh-CN", {"product": GTIN, "count": "10", "lot": "NO"}
    )
    assert field_error(answer, "lot") == "找不到批号“NO”"
    assert 'id="empty"' in brand.member.get("/console/codes").text  # nothing was kept

    run_id, job_id = issue(brand.member, 2_000)
    assert job_id is not None
    progress = brand.member.get(f"/console/codes/{run_id}/file/{job_id}")
    assert progress.status_code == 200
    assert 'id="progress"' in progress.text
    assert "/static/console-catalogue.js" in progress.text
    seen = wait_done(brand.member, run_id, job_id)
    assert seen[-1]["state"] == "done", seen[-1]
    assert seen[-1]["percent"] == 100
    assert seen[-1]["done"] == seen[-1]["total"] == 2_000
    assert all(0 <= s["percent"] <= 100 for s in seen)  # type: ignore[operator]
    prepared = brand.member.get(str(seen[-1]["download"]))
    direct = brand.member.get(f"/console/codes/{run_id}/codes.csv")
    assert prepared.status_code == direct.status_code == 200
    assert prepared.content == direct.content
    rows = list(csv.DictReader(io.StringIO(direct.text)))
    assert len(rows) == 2_000
    assert len({r["code"] for r in rows}) == 2_000
    assert rows[0]["url"].endswith(f"/01/{GTIN}/21/{rows[0]['code']}")
    log = audit_rows(brand.admin, "code_run")
    assert "code_run.issue" in log
    assert log.count("code_run.download") == 2
    run_page = brand.member.get(f"/console/codes/{run_id}")
    assert "/console/labels?run=" + str(run_id) in run_page.text
    assert "设计标签 / Design labels" in run_page.text


def test_activating_and_voiding_ranges_with_their_results_and_refusals(
    platform: Platform, brand: Brand
) -> None:
    add_product(brand.admin)
    add_batch(brand.admin)
    run_id, _ = issue(brand.admin, 1_000)
    path = f"/console/codes/{run_id}"
    answer = brand.member.post(f"{path}/activate", {"lot": LOT, "range": "900-1200"}, page=path)
    assert answer.status_code == 422
    assert field_error(answer, "range") == "范围 900-1200 超出本批，本批序号为 1-1000"
    answer = brand.member.post(f"{path}/activate", {"lot": "", "range": "1-10"}, page=path)
    assert field_error(answer, "lot") == "请选择批次"
    answer = brand.member.post(f"{path}/activate", {"lot": LOT, "range": "1-100"}, page=path)
    assert answer.status_code == 303
    shown = brand.member.get(answer.headers["location"])
    assert "已激活序号 1–100（批次 L2026-11A）" in shown.text
    assert shown.text.count('data-state="active"') == 1

    # Voiding: admins only, a range and a reason, and a ticked confirmation.
    data = {"void_range": "901-1000", "reason": "标签丢失", "confirm": "yes"}
    assert brand.member.post(f"{path}/void", data, page=path).status_code == 403
    answer = brand.admin.post(f"{path}/void", {**data, "confirm": ""}, page=path)
    assert field_error(answer, "confirm") == "请勾选确认：作废的防伪码再也不能验证为正品"
    answer = brand.admin.post(f"{path}/void?lang=en", {**data, "reason": " "}, page=path)
    assert field_error(answer, "reason") == (
        "say why the codes are voided (lost, stolen, misprinted...)"
    )
    answer = brand.admin.post(f"{path}/void?lang=zh-CN", data, page=path)
    assert answer.status_code == 303
    shown = brand.admin.get(answer.headers["location"])
    assert "已作废序号 901–1000" in shown.text
    # Void codes cannot be activated.
    answer = brand.admin.post(f"{path}/activate", {"lot": LOT, "range": "950-960"}, page=path)
    assert field_error(answer, "range") == "序号 950-960 的防伪码已作废，不能激活"
    listing = brand.admin.get("/console/codes")
    assert "已激活 100 · 未激活 800 · 已作废 100" in listing.text
    assert LOT in listing.text
    log = audit_rows(brand.admin, "code_run")
    assert "code_run.activate" in log
    assert "code_run.void" in log
    assert "标签丢失" in log


def test_issuing_with_a_lot_activates_the_whole_run(platform: Platform, brand: Brand) -> None:
    add_product(brand.admin)
    add_batch(brand.admin)
    run_id, _ = issue(brand.admin, 30, lot=LOT)
    page = brand.admin.get(f"/console/codes/{run_id}")
    assert page.text.count('data-state="active"') == 1
    assert 'data-state="issued"' not in page.text


def test_the_brand_home_shows_todays_verifications_alerts_and_reports(
    platform: Platform, brand: Brand
) -> None:
    home = brand.admin.get("/console")
    assert 'id="no-scans"' in home.text
    assert 'id="no-reports"' in home.text
    assert 'href="/console/alerts"' in home.text
    assert 'href="/console/reports"' in home.text
    add_product(brand.admin)
    add_batch(brand.admin)
    run_id, _ = issue(brand.admin, 10, lot=LOT)
    code = brand.admin.get(f"/console/codes/{run_id}/codes.csv").text.splitlines()[1].split(",")[0]
    for _ in range(2):
        assert platform.client.post("/api/v1/verify", json={"code": code}).status_code == 200
    report = {"code": code, "where_bought": "某网店", "description": "包装印刷模糊"}
    assert platform.client.post("/report", data=report).status_code in (200, 303)
    home = brand.member.get("/console")
    assert re.search(r'id="scans-today">2<', home.text), home.text
    mix = re.search(r'<ul class="mix" id="verdict-mix">(.*?)</ul>', home.text, re.S)
    assert mix
    assert "正品" in mix.group(1)
    assert "正品（已被查询过）" in mix.group(1)
    assert "某网店" in home.text
    english = brand.member.get("/console?lang=en")
    assert "Genuine, checked before" in english.text
    assert "Today&#39;s checks" in english.text
    # Beta's home counts none of Acme's.
    assert 'id="no-scans"' in brand.beta_admin.get("/console").text
    assert "某网店" not in brand.beta_admin.get("/console").text


def test_every_message_the_catalogue_pages_meet_has_zh_words() -> None:
    from pydantic import ValidationError

    from traceseal.console import catalogue_words
    from traceseal.errors import DomainError
    from traceseal.registry.gtin import check_lot, normalize_gtin
    from traceseal.registry.schemas import BatchCreate

    messages = [
        "GTIN 09506000134352 is already registered",
        "lot 'L1' already exists for GTIN 09506000134352",
        "no lot 'L1' for GTIN 09506000134352",
        "no product with GTIN 09506000134352",
        "count must be between 1 and 100,000,000 (one key slot)",
        "give a whole number from 1 to 1,000",
        "range must be A-B (1-based positions in the run) or CODE-CODE",
        "range 5-2000 is outside run 3, which has positions 1-1000",
        "codes at positions 1-10 are void and cannot be activated",
        "codes at positions 1-10 are already active for another lot",
        "lot 'L1' is of another product than run 3",
        "say why the codes are voided (lost, stolen, misprinted...)",
        "reason is longer than 500 characters",
        "this run is not bound to a product: give the lot's product GTIN",
        catalogue_words.FILL_IN,
        catalogue_words.PICK_PRODUCT,
        catalogue_words.PICK_BATCH,
        catalogue_words.CONFIRM_VOID,
        catalogue_words.TOO_MANY_FILES,
    ]
    for bad, check in (
        ("12345", normalize_gtin),
        ("9506000134353", normalize_gtin),
        ("批 1", check_lot),
    ):
        try:
            check(bad)
        except DomainError as exc:
            messages.append(exc.detail)
    try:
        BatchCreate(lot="L1", production_date="2026-11-02", expiry_date="2026-11-01")  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.extend(catalogue_words.field_errors(exc).values())
    missing = [m for m in messages if catalogue_words.say(m, zh=True) == m]
    assert missing == []
    assert all(catalogue_words.known(m) for m in messages)
    assert catalogue_words.say(messages[0], zh=False) == messages[0]


def test_a_run_is_issued_even_when_its_file_must_wait(platform: Platform, brand: Brand) -> None:
    # No runner here: every codes file stays queued, and four is as many as may wait.
    add_product(brand.admin)
    queued = [issue(brand.admin, 10)[1] for _ in range(4)]
    assert None not in queued
    run_id, job_id = issue(brand.admin, 10)
    assert job_id is None
    page = brand.admin.get(f"/console/codes/{run_id}?done=issued&lang=zh-CN")
    assert "防伪码已发放。" in page.text
    assert "前面的文件生成完后，可再生成本批的文件" in page.text
    assert page.text.count("<tr data-state") == 1
