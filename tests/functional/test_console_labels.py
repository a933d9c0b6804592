"""The label designer in the console, over HTTP: a brand designs labels for its own runs only,
the preview is the run's first code, and the PDF and ZPL downloads carry every code of the
run, as the API's codes.csv lists them, and are audited."""

from __future__ import annotations

import csv
import io
import re
import time

import zxingcpp
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from tests.conftest import Platform, Tenant
from tests.functional.people_helpers import Browser, add_person
from traceseal.db import unit_of_work
from traceseal.people.models import AuditEntry

GTIN = "06901234567892"
NAME = "云南普洱茶 357克"
BRAND = "七彩云南"


def product_run(platform: Platform, tenant: Tenant, count: int, *, pin: bool = False) -> int:
    response = platform.client.post(
        "/api/v1/products",
        json={"gtin": GTIN, "name": NAME, "brand": BRAND},
        headers=tenant.auth,
    )
    assert response.status_code in (201, 409), response.text
    run = platform.client.post(
        "/api/v1/code-runs", json={"product": GTIN, "count": count, "pin": pin}, headers=tenant.auth
    )
    assert run.status_code == 201, run.text
    return int(run.json()["run"])


def run_codes(platform: Platform, tenant: Tenant, run: int) -> list[dict[str, str]]:
    listing = platform.client.get(f"/api/v1/code-runs/{run}/codes.csv", headers=tenant.auth)
    assert listing.status_code == 200
    return list(csv.DictReader(io.StringIO(listing.text)))


def signed_in(platform: Platform, tenant: Tenant, login: str) -> Browser:
    add_person(platform, tenant.id, login)
    browser = Browser(platform)
    assert browser.sign_in(login).status_code == 303
    return browser


def test_the_page_offers_own_runs_with_the_registry_texts(platform: Platform) -> None:
    acme, beta = platform.org("Acme"), platform.org("Beta")
    mine = product_run(platform, acme, 5)
    theirs = product_run_other(platform, beta)
    browser = signed_in(platform, acme, "clerk@acme.cn")

    page = browser.get(f"/console/labels?run={mine}")
    assert page.status_code == 200
    assert f'value="{mine}" selected' in page.text
    assert f'value="{theirs}"' not in page.text
    assert f'value="{NAME}"' in page.text
    assert f'value="{BRAND}"' in page.text
    assert "标签设计" in page.text

    english = browser.get(f"/console/labels?run={mine}&lang=en")
    assert "Label designer" in english.text
    assert "Download labels" in english.text

    # Another brand's run is answered as one that does not exist.
    assert browser.get(f"/console/labels?run={theirs}").status_code == 404
    assert browser.get("/console/labels?run=999999").status_code == 404
    assert browser.get(f"/console/labels/preview.png?run={theirs}").status_code == 404
    refused = browser.post(
        "/console/labels/download", {"run": str(theirs)}, page=f"/console/labels?run={mine}"
    )
    assert refused.status_code == 404


def product_run_other(platform: Platform, tenant: Tenant) -> int:
    response = platform.client.post(
        "/api/v1/products", json={"gtin": "09506000134352", "name": "Other"}, headers=tenant.auth
    )
    assert response.status_code == 201, response.text
    run = platform.client.post(
        "/api/v1/code-runs", json={"product": "09506000134352", "count": 3}, headers=tenant.auth
    )
    assert run.status_code == 201
    return int(run.json()["run"])


def test_the_preview_is_the_first_code_of_the_run(platform: Platform) -> None:
    acme = platform.org("Acme")
    run = product_run(platform, acme, 4)
    first = run_codes(platform, acme, run)[0]
    browser = signed_in(platform, acme, "clerk@acme.cn")

    for symbol in ("qr", "datamatrix"):
        answer = browser.get(
            f"/console/labels/preview.png?run={run}&preset=roll-30x20&symbol={symbol}"
        )
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "image/png"
        found = zxingcpp.read_barcodes(Image.open(io.BytesIO(answer.content)))
        assert [f.text for f in found] == [first["url"]]
    # Before a run is chosen: a sample, still a label.
    sample = browser.get("/console/labels/preview.png?preset=a4-5x13")
    assert sample.status_code == 200
    assert Image.open(io.BytesIO(sample.content)).size == (459, 256)


def test_a_pdf_download_has_every_code_and_is_audited(platform: Platform) -> None:
    acme = platform.org("Acme")
    run = product_run(platform, acme, 250, pin=True)
    codes = run_codes(platform, acme, run)
    browser = signed_in(platform, acme, "clerk@acme.cn")
    form = {
        "run": str(run),
        "preset": "a4-4x10",
        "symbol": "datamatrix",
        "product": NAME,
        "brand": BRAND,
        "pin": "1",
        "format": "pdf",
    }

    answer = browser.post("/console/labels/download", form, page=f"/console/labels?run={run}")

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert "attachment" in answer.headers["content-disposition"]
    reader = PdfReader(io.BytesIO(answer.content))
    assert len(reader.pages) == 7
    urls = []
    for page in reader.pages:
        for found in page.images:
            image = found.image
            assert image is not None
            big = image.resize((image.width * 4, image.height * 4), Image.Resampling.NEAREST)
            urls.extend(r.text for r in zxingcpp.read_barcodes(big))
    assert urls == [c["url"] for c in codes]
    text = reader.pages[0].extract_text()
    assert NAME in text
    assert "扫码验真" in text
    assert f"PIN {codes[0]['pin']}" in text

    with unit_of_work(platform.session_factory) as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "labels.download")
        ).one()
        assert entry.organization_id == acme.id
        assert entry.target == f"code run {run}"
        assert entry.details["format"] == "pdf"
        assert entry.details["preset"] == "a4-4x10"
        assert entry.details["product"] == NAME


def test_a_zpl_download_has_one_format_per_code(platform: Platform) -> None:
    acme = platform.org("Acme")
    run = product_run(platform, acme, 120)
    codes = run_codes(platform, acme, run)
    browser = signed_in(platform, acme, "clerk@acme.cn")
    form = {"run": str(run), "preset": "roll-40x30", "symbol": "qr", "format": "zpl"}

    answer = browser.post("/console/labels/download", form, page=f"/console/labels?run={run}")

    assert answer.status_code == 200
    zpl = answer.content.decode()
    assert zpl.count("^XA") == zpl.count("^XZ") == len(codes)
    data = re.findall(r"\^BQN,2,\d+\^FDMA,(.*?)\^FS", zpl)
    assert data == [c["url"] for c in codes]
    # The texts default to the registry's when the form leaves them out.
    assert f"^FD{NAME}^FS" in zpl


def test_form_errors_are_shown_beside_their_fields(platform: Platform) -> None:
    acme = platform.org("Acme")
    run = product_run(platform, acme, 3)  # issued without PINs
    browser = signed_in(platform, acme, "clerk@acme.cn")
    page = f"/console/labels?run={run}"

    no_pins = browser.post(
        "/console/labels/download", {"run": str(run), "pin": "1", "format": "pdf"}, page=page
    )
    assert no_pins.status_code == 422
    assert "这个码段发码时没有生成 PIN" in no_pins.text

    odd = browser.post(
        "/console/labels/download", {"run": str(run), "product": "𠀀茶", "format": "pdf"}, page=page
    )
    assert odd.status_code == 422
    assert "标签字体无法打印：𠀀" in odd.text

    none = browser.post("/console/labels/download", {"format": "pdf"}, page=page)
    assert none.status_code == 422
    assert "请选择码段" in none.text
    with unit_of_work(platform.session_factory) as session:
        assert (
            session.scalars(select(AuditEntry).where(AuditEntry.action == "labels.download")).all()
            == []
        )


def test_a_pdf_over_the_limit_is_refused_with_the_way_out(platform: Platform) -> None:
    acme = platform.org("Acme")
    run = product_run(platform, acme, 12)
    browser = signed_in(platform, acme, "clerk@acme.cn")
    platform.app.state.settings = platform.app.state.settings.replace(pdf_max_labels=10)
    answer = browser.post(
        "/console/labels/download",
        {"run": str(run), "format": "pdf"},
        page=f"/console/labels?run={run}&lang=en",
    )
    assert answer.status_code == 422
    assert "download ZPL" in answer.text


HANG_GUARD = 300.0


def test_a_large_pdf_is_drawn_by_a_job_with_its_progress_page(platform: Platform) -> None:
    acme, beta = platform.org("Acme"), platform.org("Beta")
    run = product_run(platform, acme, 300, pin=True)
    codes = run_codes(platform, acme, run)
    # Runs over EXPORT_SYNC_MAX_LABELS are drawn by the export runner, not while one waits.
    platform.app.state.settings = platform.app.state.settings.replace(export_sync_max_labels=100)
    browser = signed_in(platform, acme, "clerk@acme.cn")
    rival = signed_in(platform, beta, "clerk@beta.cn")
    form = {"run": str(run), "preset": "a4-5x13", "symbol": "qr", "pin": "1", "format": "pdf"}

    with browser.client:  # the lifespan starts the export runner
        answer = browser.post("/console/labels/download", form, page=f"/console/labels?run={run}")
        assert answer.status_code == 303
        job_page = answer.headers["location"]
        assert re.fullmatch(r"/console/labels/jobs/\d+", job_page)
        assert rival.get(job_page).status_code == 404
        assert rival.get(job_page + "/file").status_code == 404

        deadline = time.monotonic() + HANG_GUARD
        while 'id="ready"' not in (page := browser.get(job_page)).text:
            assert 'id="failed"' not in page.text, page.text
            assert time.monotonic() < deadline, "the job did not finish"
            assert 'http-equiv="refresh"' in page.text
            time.sleep(0.2)
        assert "下载 PDF" in page.text
        pdf = browser.get(job_page + "/file")

    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.content))
    assert len(reader.pages) == 5
    urls = []
    for page_ in reader.pages:
        for found in page_.images:
            image = found.image
            assert image is not None
            big = image.resize((image.width * 4, image.height * 4), Image.Resampling.NEAREST)
            urls.extend(r.text for r in zxingcpp.read_barcodes(big))
    assert urls == [c["url"] for c in codes]
    assert f"PIN {codes[0]['pin']}" in reader.pages[0].extract_text()
    with unit_of_work(platform.session_factory) as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "labels.download")
        ).one()
        assert entry.details["job"] == int(job_page.rsplit("/", 1)[1])
