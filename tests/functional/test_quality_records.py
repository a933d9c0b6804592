"""Each quality record type through HTTP, and what verification shows of them."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from tests.functional.conftest import GTIN, LOT, issue
from tests.functional.quality_helpers import (
    HTML,
    PDF,
    Cast,
    cast,
    commitment,
    credit,
    sampling,
)
from traceseal.ledger.models import LedgerLeaf
from traceseal.orgs.models import Role
from traceseal.quality.models import QualityRecord

__all__ = ["cast"]


def verify(cast: Cast, code: str, lang: str = "en") -> dict:
    response = cast.platform.client.post(f"/api/v1/verify?lang={lang}", json={"code": code})
    assert response.status_code == 200, response.text
    return response.json()


def test_certificate_with_attachment_is_signed_logged_listed_and_shown(cast: Cast) -> None:
    client = cast.platform.client
    uploaded = client.post(
        "/api/v1/attachments",
        content=PDF,
        headers={**cast.lab.auth, "Content-Type": "application/pdf"},
    )
    assert uploaded.status_code == 201, uploaded.text
    digest = hashlib.sha256(PDF).hexdigest()
    assert uploaded.json()["sha256"] == digest
    # The same bytes again are the same attachment.
    again = client.post("/api/v1/attachments", content=PDF, headers=cast.lab.auth)
    assert again.json()["sha256"] == digest
    # Nobody fetches it before a record cites it...
    assert client.get(f"/api/v1/attachments/{digest}").status_code == 404

    created = cast.certificate(attachment=digest)
    # ...and everybody after, like the record.
    served = client.get(f"/api/v1/attachments/{digest}")
    assert served.content == PDF
    assert served.headers["content-type"] == "application/pdf"
    assert created["type"] == "certificate"
    assert created["status"] == "valid"
    assert created["issuer"]["name"] == cast.lab.name
    assert created["payload"]["attachment"] == digest
    assert created["payload"]["gtins"] == [GTIN]
    assert created["attachment"] == f"/api/v1/attachments/{digest}"
    assert isinstance(created["leaf_index"], int)
    leaf = client.get(f"/ledger/leaves/{created['leaf_index']}")
    assert leaf.status_code == 200

    listed = client.get(f"/api/v1/certificates?gtin={GTIN}").json()
    assert [c["id"] for c in listed] == [created["id"]]
    assert client.get(f"/api/v1/certificates/{created['id']}").json() == created
    # The same number twice from one issuer is a conflict.
    cast.certificate(status=409)

    code = issue(cast.platform, cast.acme, 2)[0]
    quality = verify(cast, code)["quality"]
    (shown,) = quality["certificates"]
    assert shown["label"] == "Certificate CCC No. 2026081801000001"
    assert shown["status"] == "valid"
    assert shown["attestation"] == f"signed by {cast.lab.name}, recorded in the public log"
    assert shown["leaf_index"] == created["leaf_index"]  # for the expert, not in the sentence
    assert shown["proof"] == f"/api/v1/quality/records/{created['id']}/proof"
    assert quality["warnings"] == []
    zh = verify(cast, code, "zh-CN")["quality"]["certificates"][0]
    assert zh["label"] == "认证证书 CCC No. 2026081801000001"
    assert zh["status_label"] == "有效"


def test_certificate_by_category_covers_every_product_of_the_holder_in_it(cast: Cast) -> None:
    client = cast.platform.client
    patched = client.patch(
        f"/api/v1/products/{GTIN}", json={"category": "灭火器"}, headers=cast.acme.auth
    )
    assert patched.status_code == 200, patched.text
    cast.certificate(gtins=[], categories=["灭火器"])
    code = issue(cast.platform, cast.acme, 1)[0]
    assert len(verify(cast, code)["quality"]["certificates"]) == 1
    assert len(client.get(f"/api/v1/certificates?gtin={GTIN}").json()) == 1


def test_certificates_expire_on_their_own(cast: Cast) -> None:
    created = cast.certificate(valid_from="2020-01-01", valid_until="2021-12-31")
    assert created["status"] == "expired"
    listed = cast.platform.client.get(f"/api/v1/certificates?gtin={GTIN}").json()
    assert listed[0]["status"] == "expired"
    code = issue(cast.platform, cast.acme, 1)[0]
    quality = verify(cast, code)["quality"]
    assert quality["certificates"][0]["status"] == "expired"
    assert quality["certificates"][0]["warning"] is True
    assert quality["warnings"] == [
        "The certificate CCC No. 2026081801000001 has expired (valid until 2021-12-31)."
    ]
    page = cast.platform.client.get(f"/v/{code}?lang=zh-CN", headers=HTML)
    assert 'id="quality-warnings"' in page.text
    assert "已过期" in page.text


def test_suspension_and_withdrawal_are_signed_records_of_the_issuer(cast: Cast) -> None:
    created = cast.certificate()
    path = f"/api/v1/certificates/{created['id']}/status"
    change = {
        "status": "suspended",
        "reason": "factory inspection failed",
        "effective": "2026-11-01",
    }
    # Another lab cannot touch it; an enterprise may not at all.
    other_lab = cast.platform.org("Other lab", Role.LAB)
    cast.post(path, other_lab, change, 404)
    cast.post(path, cast.acme, change, 403)
    suspended = cast.post(path, cast.lab, change)
    assert suspended["type"] == "certificate_status"
    assert suspended["payload"]["certificate"] == created["id"]
    assert suspended["leaf_index"] == created["leaf_index"] + 1
    assert (
        cast.platform.client.get(f"/api/v1/certificates/{created['id']}").json()["status"]
        == "suspended"
    )
    code = issue(cast.platform, cast.acme, 1)[0]
    assert verify(cast, code)["quality"]["warnings"] == [
        "The certificate CCC No. 2026081801000001 has been suspended by its issuer."
    ]
    cast.post(path, cast.lab, change, 409)  # already suspended
    cast.post(path, cast.lab, {**change, "status": "withdrawn"})
    cast.post(path, cast.lab, {**change, "status": "valid"}, 409)  # withdrawn for good


def test_reports_results_ratings_and_commitments_show_on_verification(cast: Cast) -> None:
    report = cast.inspection()
    assert report["payload"]["items"][0]["conclusion"] == "pass"
    result = cast.post("/api/v1/sampling-results", cast.regulator, sampling())
    rating = cast.post("/api/v1/credit-ratings", cast.regulator, credit(cast.acme))
    promise = cast.post("/api/v1/commitments", cast.acme, commitment())
    for path, record in (
        ("inspection-reports", report),
        ("sampling-results", result),
        ("credit-ratings", rating),
        ("commitments", promise),
    ):
        listed = cast.platform.client.get(f"/api/v1/{path}").json()
        assert [r["id"] for r in listed] == [record["id"]]
        assert cast.platform.client.get(f"/api/v1/quality/records/{record['id']}").json() == record
    code = issue(cast.platform, cast.acme, 1)[0]
    quality = verify(cast, code)["quality"]
    assert quality["inspection"]["record"] == report["id"]
    assert quality["inspection"]["status"] == "pass"
    assert [s["record"] for s in quality["sampling"]] == [result["id"]]
    assert quality["credit"]["status"] == "AAA"
    assert quality["credit"]["label"] == "Credit rating"
    assert quality["commitments"][0]["label"] == "Quality commitment 产品质量承诺书"
    assert quality["warnings"] == []
    # A newer failing report is the latest conclusion, and a warning.
    cast.inspection(number="XF-2026-0901", conclusion="fail", tested_on="2026-11-05")
    quality = verify(cast, code)["quality"]
    assert quality["inspection"]["status"] == "fail"
    assert quality["warnings"] == [
        "The inspection report No. XF-2026-0901 found the product non-conforming."
    ]
    page = cast.platform.client.get(f"/v/{code}?lang=en", headers=HTML)
    assert 'id="quality"' in page.text
    assert "recorded in the public log" in page.text
    # The consumer page names no log index: that is in the expert view the page links to.
    assert f"index {rating['leaf_index']}" not in page.text


def test_records_of_another_lot_are_not_shown(cast: Cast) -> None:
    from tests.conftest import add_batch

    add_batch(cast.platform, cast.acme, GTIN, "OTHER-LOT")
    cast.inspection(lot="OTHER-LOT", conclusion="fail")
    code = issue(cast.platform, cast.acme, 1)[0]
    assert verify(cast, code)["quality"]["inspection"] is None
    assert LOT != "OTHER-LOT"


def test_recall_is_signed_logged_and_answers_recalled(cast: Cast) -> None:
    code = issue(cast.platform, cast.acme, 1)[0]
    announced = cast.post(
        "/api/v1/recalls",
        cast.regulator,
        {"gtin": GTIN, "lots": [LOT], "reason": "阀门缺陷", "instructions": "请停止使用并退回。"},
    )
    (recall,) = announced
    assert isinstance(recall["leaf_index"], int)
    record = cast.platform.client.get(f"/api/v1/quality/records/{recall['record']}").json()
    assert record["type"] == "recall"
    assert record["payload"]["lot"] == LOT
    assert record["issuer"]["id"] == cast.regulator.id
    body = verify(cast, code)
    assert body["verdict"] == "recalled"
    assert body["recall"]["instructions"] == "请停止使用并退回。"
    assert body["quality"]["recalls"][0]["leaf_index"] == recall["leaf_index"]
    assert body["quality"]["warnings"][0] == "This batch has been recalled."
    # One recall in force per lot.
    cast.post(
        "/api/v1/recalls",
        cast.acme,
        {"gtin": GTIN, "lots": [LOT], "reason": "again", "instructions": "again"},
        409,
    )
    ended = cast.platform.client.post(
        f"/api/v1/recalls/{recall['id']}/end", headers=cast.regulator.auth
    )
    assert ended.status_code == 200
    with cast.platform.session_factory() as session:
        kinds = session.scalars(select(QualityRecord.kind).order_by(QualityRecord.id)).all()
        assert kinds == ["recall", "recall_end"]
        leaves = session.scalar(select(func.count()).select_from(LedgerLeaf))
        assert leaves is not None
    assert verify(cast, code)["verdict"] == "genuine"


def test_codes_without_quality_records_have_an_empty_section(cast: Cast) -> None:
    code = issue(cast.platform, cast.acme, 1)[0]
    quality = verify(cast, code)["quality"]
    assert quality == {
        "certificates": [],
        "inspection": None,
        "sampling": [],
        "credit": None,
        "commitments": [],
        "programme": None,
        "recalls": [],
        "warnings": [],
    }
    page = cast.platform.client.get(f"/v/{code}", headers=HTML)
    assert 'id="quality"' not in page.text


def test_attachments_are_pdfs_within_the_size_limit(cast: Cast) -> None:
    client = cast.platform.client
    not_pdf = client.post("/api/v1/attachments", content=b"GIF89a", headers=cast.lab.auth)
    assert not_pdf.status_code == 422
    assert not_pdf.json()["field"] == "attachment"
    limit = cast.platform.settings.quality_attachment_max_bytes
    big = client.post("/api/v1/attachments", content=PDF + b"0" * limit, headers=cast.lab.auth)
    assert big.status_code in (413, 422)
    anonymous = client.post("/api/v1/attachments", content=PDF)
    assert anonymous.status_code == 401
    missing = cast.certificate(status=404, attachment="0" * 64)
    assert missing["field"] == "attachment"


def test_the_linkset_offers_certification_info_and_recall_status(cast: Cast) -> None:
    code = issue(cast.platform, cast.acme, 1)[0]
    linkset = cast.platform.client.get(f"/v/{code}?linkType=linkset").json()["linkset"][0]
    info = linkset["https://gs1.org/voc/certificationInfo"]
    assert info[0]["href"].endswith(f"/v/{code}#quality")
    assert info[1]["href"].endswith(f"/api/v1/certificates?gtin={GTIN}")
    status = linkset["https://gs1.org/voc/recallStatus"]
    assert status[0]["href"].endswith(f"/api/v1/recalls?gtin={GTIN}")


def test_references_are_checked(cast: Cast) -> None:
    other = cast.platform.org("Another brand")
    wrong_owner = cast.inspection(status=422, enterprise=other.id)
    assert wrong_owner["field"] == "enterprise"
    assert cast.inspection(status=404, lot="NO-SUCH-LOT")["field"] == "lot"
    assert cast.inspection(status=404, gtin="09506000134369")["field"] == "gtin"
    sample_only = cast.inspection(gtin=None, lot=None, sample="样品 A", enterprise=other.id)
    assert sample_only["payload"]["gtin"] is None
    assert sample_only["payload"]["enterprise"] == other.id
    # A certificate's GTINs must be the holder's products; its holder an enterprise.
    assert cast.certificate(status=422, holder=other.id)["field"] == "gtins"
    assert cast.certificate(status=404, holder=cast.lab.id)["field"] == "holder"
    rating = {**credit(cast.acme), "enterprise": cast.lab.id}
    assert cast.post("/api/v1/credit-ratings", cast.regulator, rating, 404)["field"] == "enterprise"
