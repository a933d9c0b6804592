"""Issuing, downloading, activating and voiding seal codes over HTTP."""

from __future__ import annotations

import csv
import io
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastfpe import ff1 as independent
from sqlalchemy import func, select

from tests.conftest import PUBLIC_URL, Platform, Tenant, add_batch, add_product
from traceseal.codes.models import CodeRun, CodeSegment, KeySlot
from traceseal.codes.sealcode import parse_code
from traceseal.codes.service import resolve_code
from traceseal.crypto import damm

GTIN = "09506000134352"


def _issue(platform: Platform, tenant: Tenant, **body: object) -> dict:
    response = platform.client.post("/api/v1/code-runs", json=body, headers=tenant.auth)
    assert response.status_code == 201, response.text
    return response.json()


def _csv(platform: Platform, tenant: Tenant, run: int) -> list[dict[str, str]]:
    response = platform.client.get(f"/api/v1/code-runs/{run}/codes.csv", headers=tenant.auth)
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def _counts(platform: Platform) -> tuple[int, int, int, int]:
    with platform.session_factory() as s:
        return (
            s.scalar(select(func.count()).select_from(CodeRun)) or 0,
            s.scalar(select(func.count()).select_from(CodeSegment)) or 0,
            s.scalar(select(func.count()).select_from(KeySlot)) or 0,
            s.scalar(select(func.coalesce(func.sum(KeySlot.issued), 0))) or 0,
        )


def test_an_independent_ff1_decrypts_a_run_to_contiguous_sequence_numbers(
    platform: Platform,
) -> None:
    acme = platform.org("Acme")
    add_product(platform, acme)
    first = _issue(platform, acme, product=GTIN, count=1000)
    run = _issue(platform, acme, product=GTIN, count=5000)
    assert run["slot"] == first["slot"]
    assert run["first"] == 1000
    rows = _csv(platform, acme, run["run"])
    assert len(rows) == 5000
    key = platform.client.get(
        f"/api/v1/slots/{int(run['slot'])}/key", headers=platform.operator.auth
    )
    assert key.status_code == 200
    slot, aes_key = key.json()["slot"], key.json()["key"]
    assert slot == run["slot"]
    assert len(aes_key) == 64
    sequences = []
    for row in rows:
        code = row["code"]
        assert len(code) == 20
        assert code.startswith(slot)
        assert damm.is_valid(code)
        assert row["url"] == f"{PUBLIC_URL}/01/{GTIN}/21/{code}"
        plain = independent.decrypt(aes_key, slot.encode().hex(), "0123456789", code[3:19])
        sequences.append(int(plain))
    assert sequences == list(range(1000, 6000))


def test_unbound_runs_use_short_urls_and_pins_are_stable(platform: Platform) -> None:
    acme = platform.org("Acme")
    run = _issue(platform, acme, count=50, pin=True)
    assert run["product"] is None
    rows = _csv(platform, acme, run["run"])
    assert rows[0]["url"] == f"{PUBLIC_URL}/v/{rows[0]['code']}"
    assert all(len(r["pin"]) == 6 and r["pin"].isdigit() for r in rows)
    assert rows == _csv(platform, acme, run["run"])  # a reprint is identical
    assert len({r["pin"] for r in rows}) > 40


def test_bad_issuance_requests_change_nothing(platform: Platform) -> None:
    acme, rival = platform.org("Acme"), platform.org("Rival")
    add_product(platform, acme)
    _issue(platform, acme, count=10)
    before = _counts(platform)
    cases = [
        ({"count": 0}, 422),
        ({"count": -5}, 422),
        ({"count": 100_000_001}, 422),
        ({"count": "many"}, 422),
        ({"count": 10, "product": "09506000134353"}, 404),  # invalid GTIN: no such product
        ({"count": 10, "product": "09506000134369"}, 404),  # valid, unregistered
    ]
    for body, status in cases:
        response = platform.client.post("/api/v1/code-runs", json=body, headers=acme.auth)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    other = platform.client.post(
        "/api/v1/code-runs", json={"count": 10, "product": GTIN}, headers=rival.auth
    )
    assert other.status_code == 404  # another enterprise's product
    assert _counts(platform) == before


def test_runs_are_tenant_scoped(platform: Platform) -> None:
    acme, rival = platform.org("Acme"), platform.org("Rival")
    run = _issue(platform, acme, count=10)["run"]
    for method, url, body in (
        ("GET", f"/api/v1/code-runs/{run}", None),
        ("GET", f"/api/v1/code-runs/{run}/codes.csv", None),
        ("POST", f"/api/v1/code-runs/{run}/void", {"reason": "mine"}),
        ("POST", f"/api/v1/code-runs/{run}/activate", {"lot": "L1", "product": GTIN}),
    ):
        assert (
            platform.client.request(method, url, json=body, headers=rival.auth).status_code == 404
        )
    assert platform.client.get("/api/v1/code-runs", headers=rival.auth).json() == []
    key = platform.client.get("/api/v1/slots/100/key", headers=acme.auth)
    assert key.status_code == 403


def test_activate_and_void_split_and_merge_segments(platform: Platform) -> None:
    acme = platform.org("Acme")
    add_product(platform, acme)
    add_batch(platform, acme, GTIN, "L1")
    add_batch(platform, acme, GTIN, "L2")
    run = _issue(platform, acme, product=GTIN, count=100)
    url = f"/api/v1/code-runs/{run['run']}"
    codes = [r["code"] for r in _csv(platform, acme, run["run"])]

    body = platform.client.post(
        f"{url}/activate", json={"lot": "L1", "range": "11-20"}, headers=acme.auth
    ).json()
    assert [(s["first"], s["last"], s["state"], s["lot"]) for s in body["segments"]] == [
        (1, 10, "issued", None),
        (11, 20, "active", "L1"),
        (21, 100, "issued", None),
    ]
    # The first and last labels of a roll, as scanned, name a range too.
    by_codes = platform.client.post(
        f"{url}/activate",
        json={"lot": "L1", "range": f"{codes[20]}-{codes[29]}"},
        headers=acme.auth,
    ).json()
    assert [(s["first"], s["last"], s["state"]) for s in by_codes["segments"]] == [
        (1, 10, "issued"),
        (11, 30, "active"),
        (31, 100, "issued"),
    ]
    conflict = platform.client.post(
        f"{url}/activate", json={"lot": "L2", "range": "25-35"}, headers=acme.auth
    )
    assert conflict.status_code == 409
    assert "25-30" in conflict.json()["detail"]
    voided = platform.client.post(
        f"{url}/void", json={"reason": "roll lost", "range": "28-40"}, headers=acme.auth
    ).json()
    assert [(s["first"], s["last"], s["state"]) for s in voided["segments"]] == [
        (1, 10, "issued"),
        (11, 27, "active"),
        (28, 40, "void"),
        (41, 100, "issued"),
    ]
    again = platform.client.post(
        f"{url}/activate", json={"lot": "L1", "range": "40-41"}, headers=acme.auth
    )
    assert again.status_code == 409
    for bad in ("0-5", "5-101", "7", "x-y", "20-10"):
        response = platform.client.post(
            f"{url}/activate", json={"lot": "L1", "range": bad}, headers=acme.auth
        )
        assert response.status_code == 422, bad
    with platform.session_factory() as session:
        ring = platform.app.state.keyring
        states = [resolve_code(session, ring, parse_code(c)).segment.state for c in codes]  # type: ignore[union-attr]
    assert states[:10] == ["issued"] * 10
    assert states[10:27] == ["active"] * 17
    assert states[27:40] == ["void"] * 13
    assert states[40:] == ["issued"] * 60


def test_unbound_run_needs_the_lots_product(platform: Platform) -> None:
    acme = platform.org("Acme")
    add_product(platform, acme)
    add_batch(platform, acme, GTIN, "L1")
    run = _issue(platform, acme, count=10)["run"]
    url = f"/api/v1/code-runs/{run}/activate"
    assert platform.client.post(url, json={"lot": "L1"}, headers=acme.auth).status_code == 422
    done = platform.client.post(url, json={"lot": "L1", "product": GTIN}, headers=acme.auth)
    assert done.status_code == 200
    assert done.json()["segments"][0]["gtin"] == GTIN


def test_full_slot_rolls_over_to_a_new_slot(platform: Platform) -> None:
    platform.settings = platform.settings.replace(slot_capacity=1000)
    platform.app.state.settings = platform.settings
    acme = platform.org("Acme")
    a = _issue(platform, acme, count=600)
    b = _issue(platform, acme, count=600)
    c = _issue(platform, acme, count=400)
    assert (a["slot"], b["slot"], c["slot"]) == ("100", "101", "100")
    assert (a["first"], b["first"], c["first"]) == (0, 0, 600)
    too_big = platform.client.post("/api/v1/code-runs", json={"count": 1001}, headers=acme.auth)
    assert too_big.status_code == 422
    rival = platform.org("Rival")
    assert _issue(platform, rival, count=10)["slot"] == "102"  # slots are never shared


def test_concurrent_issuance_never_overlaps(platform: Platform) -> None:
    acme = platform.org("Acme")

    def issue(_: int) -> tuple[str, int, int]:
        response = platform.client.post("/api/v1/code-runs", json={"count": 100}, headers=acme.auth)
        assert response.status_code == 201, response.text
        body = response.json()
        return body["slot"], body["first"], body["count"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        runs = list(pool.map(issue, range(24)))
    ranges = sorted((slot, first) for slot, first, _ in runs)
    assert len({slot for slot, _ in ranges}) == 1
    assert [first for _, first in ranges] == [100 * k for k in range(24)]


def test_zip_and_pdf_downloads(platform: Platform) -> None:
    acme = platform.org("Acme")
    add_product(platform, acme)
    run = _issue(platform, acme, product=GTIN, count=5)
    codes = [r["code"] for r in _csv(platform, acme, run["run"])]
    archive = platform.client.get(f"/api/v1/code-runs/{run['run']}/codes.zip", headers=acme.auth)
    assert archive.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert {f"svg/{c}.svg" for c in codes} <= set(names)
    assert {f"png/{c}.png" for c in codes} <= set(names)
    pdf = platform.client.get(f"/api/v1/code-runs/{run['run']}/labels.pdf", headers=acme.auth)
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize("count", [10_001])
def test_pdf_is_refused_for_large_runs(platform: Platform, count: int) -> None:
    acme = platform.org("Acme")
    run = _issue(platform, acme, count=count)
    response = platform.client.get(f"/api/v1/code-runs/{run['run']}/labels.pdf", headers=acme.auth)
    assert response.status_code == 422
    assert "10,000" in response.json()["detail"]
