"""The lab's and the regulator's consoles over HTTP, with the real services and database:
a lab writes only its own records (another lab's answers 404 like a missing one), PDF
uploads keep the API's limits, a lab's own key signs through the page, and a regulator's
pages are read-only, carry no consumer's personal data, and download as the CSV the page
shows, safe to open in a spreadsheet."""

from __future__ import annotations

import base64
import csv
import html
import io
import re
from collections.abc import Iterator

import httpx2 as httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from tests.conftest import Platform, Tenant
from tests.functional.conftest import GTIN, LOT
from tests.functional.people_helpers import Browser, add_person
from tests.functional.quality_helpers import PDF, make_pdf
from traceseal.alerts.models import Severity
from traceseal.alerts.service import raise_alert
from traceseal.config import Settings
from traceseal.db import unit_of_work, utcnow
from traceseal.orgs.models import Role
from traceseal.people.models import AuditEntry
from traceseal.quality.models import QualityRecord
from traceseal.verify.reports.models import CounterfeitReport

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CERTIFICATE = {
    "scheme": "CCC",
    "compulsory": "on",
    "number": "2026081801000009",
    "gtins": GTIN,
    "valid_from": "2026-01-01",
    "valid_until": "2031-12-31",
}


class Person(Browser):
    """A signed-in person whose forms may carry a file, as a browser sends them."""

    def send(
        self,
        path: str,
        data: dict[str, str],
        *,
        page: str,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        found = _CSRF.search(self.get(page).text)
        assert found, page
        return self.client.post(path, data={"csrf": found.group(1), **data}, files=files)


def _person(platform: Platform, tenant: Tenant, login: str) -> Person:
    add_person(platform, tenant.id, login, "admin")
    person = Person(platform)
    assert person.sign_in(login).status_code == 303
    return person


@pytest.fixture
def lab(platform: Platform) -> Tenant:
    return platform.org("国家消防装备质量检验检测中心", Role.LAB)


@pytest.fixture
def lab_person(platform: Platform, lab: Tenant) -> Iterator[Person]:
    person = _person(platform, lab, "admin@lab.cn")
    yield person
    person.close()


def _issue(person: Person, holder: int, **changes: str) -> httpx.Response:
    data = {**CERTIFICATE, "holder": str(holder), **changes}
    return person.send("/console/certificates/new", data, page="/console/certificates/new")


def _records(platform: Platform, issuer: int) -> list[QualityRecord]:
    with unit_of_work(platform.session_factory) as session:
        found = list(
            session.scalars(select(QualityRecord).where(QualityRecord.issuer_id == issuer))
        )
        session.expunge_all()
        return found


def test_a_lab_issues_a_certificate_and_changes_its_status(
    platform: Platform, acme: Tenant, lab: Tenant, lab_person: Person
) -> None:
    answer = _issue(lab_person, acme.id)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console/certificates?done=issued"
    listing = lab_person.get("/console/certificates?done=issued")
    assert "证书已签名发布" in listing.text
    assert "2026081801000009" in listing.text
    assert "安盾消防科技有限公司" in listing.text
    (record,) = _records(platform, lab.id)
    # The same record the API serves, signed by the lab and in the log.
    served = platform.client.get(f"/api/v1/certificates/{record.id}").json()
    assert served["issuer"]["id"] == lab.id
    assert served["status"] == "valid"
    assert served["payload"]["gtins"] == [GTIN]
    assert served["leaf_index"] is not None

    change = {"status": "suspended", "reason": "年度监督检查未通过", "effective": "2026-11-20"}
    path = f"/console/certificates/{record.id}"
    answer = lab_person.send(f"{path}/status", change, page=path)
    assert answer.status_code == 303
    assert platform.client.get(f"/api/v1/certificates/{record.id}").json()["status"] == "suspended"
    again = lab_person.send(f"{path}/status", change, page=path)
    assert again.status_code == 422
    assert "已经是该状态" in again.text
    with unit_of_work(platform.session_factory) as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"certificate.issue", "certificate.status"} <= actions


def test_form_errors_are_shown_beside_their_field_in_the_pages_language(
    platform: Platform, acme: Tenant, lab_person: Person
) -> None:
    answer = _issue(lab_person, acme.id, gtins="06901234567892", valid_until="2025-01-01")
    assert answer.status_code == 422
    assert 'id="gtins-error"' in answer.text
    assert "有效期截止日期早于起始日期" in answer.text
    answer = _issue(lab_person, acme.id, gtins="06901234567892")
    assert "找不到条码为 06901234567892 的产品" in answer.text
    lab_person.get("/console?lang=en")
    answer = _issue(lab_person, acme.id, gtins="06901234567892")
    assert "no product with GTIN 06901234567892" in answer.text


def test_another_labs_certificate_answers_as_a_missing_one(
    platform: Platform, acme: Tenant, lab: Tenant, lab_person: Person
) -> None:
    other = platform.org("另一家检测机构", Role.LAB)
    issued = platform.client.post(
        "/api/v1/certificates",
        json={**CERTIFICATE, "compulsory": True, "holder": acme.id, "gtins": [GTIN]},
        headers=other.auth,
    )
    assert issued.status_code == 201
    theirs = issued.json()["id"]
    missing = theirs + 1000
    for record_id in (theirs, missing):
        page = lab_person.get(f"/console/certificates/{record_id}")
        assert page.status_code == 404
        change = {"status": "withdrawn", "reason": "x", "effective": "2026-11-20"}
        answer = lab_person.send(
            f"/console/certificates/{record_id}/status", change, page="/console"
        )
        assert answer.status_code == 404
    # Same words for both: nothing tells the other lab's record from none.
    one = lab_person.get(f"/console/certificates/{theirs}").text
    two = lab_person.get(f"/console/certificates/{missing}").text
    assert one.replace(f"/{theirs}?", "/N?") == two.replace(f"/{missing}?", "/N?")
    assert platform.client.get(f"/api/v1/certificates/{theirs}").json()["status"] == "valid"
    assert _records(platform, lab.id) == []
    # A lab's list holds its own certificates only.
    assert "2026081801000009" not in lab_person.get("/console/certificates").text
    # Nor may it revoke the other lab's key, or cite the PDF the other lab uploaded.
    public = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    key = platform.client.post(
        "/api/v1/orgs/me/signing-keys",
        json={"public_key": base64.b64encode(public).decode()},
        headers=other.auth,
    ).json()
    revoke = lab_person.send(
        f"/console/signing-keys/{key['id']}/revoke", {}, page="/console/signing-keys"
    )
    assert revoke.status_code == 404
    assert (
        platform.client.get(f"/api/v1/orgs/{other.id}/signing-keys").json()[-1]["revoked_at"]
        is None
    )
    upload = platform.client.post(
        "/api/v1/attachments",
        content=PDF,
        headers={**other.auth, "Content-Type": "application/pdf"},
    )
    assert upload.status_code == 201, upload.text
    answer = _report(lab_person, None, attachment_sha256=upload.json()["sha256"])
    assert answer.status_code == 422
    assert "找不到本机构上传的该附件" in answer.text
    assert _records(platform, lab.id) == []


def _report(person: Person, pdf: bytes | None, **changes: str) -> httpx.Response:
    data = {
        "number": "XF-2026-0815",
        "gtin": GTIN,
        "lot": LOT,
        "standards": "GB 4351-2023",
        "items": "喷射时间 | >= 8 s | 9.2 s | 合格",
        "conclusion": "pass",
        "tested_on": "2026-10-20",
        **changes,
    }
    files = None if pdf is None else {"attachment": ("report.pdf", pdf, "application/pdf")}
    return person.send(
        "/console/inspection-reports/new",
        data,
        page="/console/inspection-reports/new",
        files=files,
    )


def test_an_inspection_report_with_its_pdf(
    platform: Platform, acme: Tenant, lab: Tenant, lab_person: Person
) -> None:
    answer = _report(lab_person, PDF)
    assert answer.status_code == 303, answer.text
    (record,) = _records(platform, lab.id)
    served = platform.client.get(f"/api/v1/inspection-reports/{record.id}").json()
    assert served["payload"]["items"][0]["conclusion"] == "pass"
    pdf = platform.client.get(served["attachment"])
    assert pdf.status_code == 200
    assert pdf.content == PDF
    assert "下载" in lab_person.get("/console/inspection-reports").text


def test_uploads_keep_the_apis_limits(
    migrated: Settings, acme_small: tuple[Platform, Tenant, Person]
) -> None:
    platform, lab, person = acme_small
    # Not a PDF: refused beside the field, in the page's language.
    answer = _report(person, b"<html>%PDF-1.7</html>")
    assert answer.status_code == 422
    assert 'id="attachment-error"' in answer.text
    assert "附件必须是可以打开的 PDF 文件" in answer.text
    # Encrypted.
    answer = _report(person, make_pdf(password="secret"))
    assert "不能是加密的 PDF" in answer.text
    # Over the size limit (set to 4,000 bytes here), by a little: the store's own words.
    big = make_pdf(pages=40)
    assert 4_000 < len(big) < 4_000 + 60_000
    answer = _report(person, big)
    assert answer.status_code == 422
    assert "附件最大 4,000 字节" in answer.text
    # By a lot: the request is refused before its body is read.
    answer = _report(person, b"%PDF-" + bytes(200_000))
    assert answer.status_code == 413
    assert _records(platform, lab.id) == []


@pytest.fixture
def acme_small(migrated: Settings) -> Iterator[tuple[Platform, Tenant, Person]]:
    from tests.conftest import add_batch, add_product

    platform = Platform(migrated.replace(quality_attachment_max_bytes=4_000))
    tenant = platform.org("安盾消防科技有限公司")
    add_product(platform, tenant, GTIN)
    add_batch(platform, tenant, GTIN, LOT)
    lab = platform.org("检测中心", Role.LAB)
    person = _person(platform, lab, "admin@lab.cn")
    yield platform, lab, person
    person.close()
    platform.close()


def test_a_lab_signs_with_its_own_key_through_the_page(
    platform: Platform, acme: Tenant, lab: Tenant, lab_person: Person
) -> None:
    private = Ed25519PrivateKey.generate()
    public = base64.b64encode(private.public_key().public_bytes_raw()).decode()
    page = "/console/signing-keys"
    assert lab_person.send(f"{page}/new", {"public_key": "not a key"}, page=page).status_code == 422
    assert lab_person.send(f"{page}/new", {"public_key": public}, page=page).status_code == 303
    keys = platform.client.get(f"/api/v1/orgs/{lab.id}/signing-keys").json()
    (key,) = [k for k in keys if not k["managed"]]
    assert key["public_key"] == public
    # Chosen, not signed yet: the page shows the exact text to sign and keeps the form.
    answer = _issue(lab_person, acme.id, signing_key=str(key["id"]))
    assert answer.status_code == 422
    shown = re.search(r'<pre class="to-sign" id="to-sign">(.*?)</pre>', answer.text, re.S)
    assert shown is not None
    message = html.unescape(shown.group(1))
    assert message.startswith("traceseal/quality-record/v1\n{")
    assert 'value="2026081801000009"' in answer.text
    signature = base64.b64encode(private.sign(message.encode())).decode()
    answer = _issue(lab_person, acme.id, signing_key=str(key["id"]), signature=signature)
    assert answer.status_code == 303, answer.text
    (record,) = _records(platform, lab.id)
    assert record.key_id == key["id"]
    # Revoked, it signs nothing new; what it signed stays.
    revoke = lab_person.send(f"{page}/{key['id']}/revoke", {}, page=page)
    assert revoke.status_code == 303
    listing = lab_person.get(page).text
    assert "已停用" in listing
    answer = _issue(
        lab_person, acme.id, number="N-2", signing_key=str(key["id"]), signature=signature
    )
    assert answer.status_code == 422
    records = lab_person.get("/console/records").text
    assert f"/api/v1/quality/records/{record.id}/proof" in records


# --- the regulator ---------------------------------------------------------------------

CONSUMER = {
    "contact": "13800138000",
    "description": "店员说是正品但包装很旧",
    "where": "浙江省杭州市西湖区某五金店",
}


@pytest.fixture
def market(platform: Platform, acme: Tenant) -> Tenant:
    """A regulator, a sampling result, a rating, a recall and a consumer's report."""
    regulator = platform.org("市场监督管理局", Role.REGULATOR)
    client = platform.client
    for path, body in (
        (
            "/api/v1/sampling-results",
            {
                "campaign": '=HYPERLINK("http://x")',
                "gtin": GTIN,
                "lot": LOT,
                "result": "fail",
                "published_on": "2026-11-01",
            },
        ),
        (
            "/api/v1/credit-ratings",
            {
                "enterprise": acme.id,
                "grade": "AA",
                "valid_from": "2026-01-01",
                "valid_until": "2028-12-31",
            },
        ),
    ):
        answer = client.post(path, json=body, headers=regulator.auth)
        assert answer.status_code == 201, answer.text
    recall = client.post(
        "/api/v1/recalls",
        json={"gtin": GTIN, "lots": [LOT], "reason": "+压力不足", "instructions": "停止使用"},
        headers=acme.auth,
    )
    assert recall.status_code == 201, recall.text
    with unit_of_work(platform.session_factory) as session:
        raise_alert(
            session,
            kind="scan_spike",
            severity=Severity.WARNING,
            summary="-1 扫码异常：同一防伪码 30 分钟内被扫 40 次",
            dedupe_key="labreg-test",
            organization_id=acme.id,
            region="440305",
        )
        product_id = session.scalar(
            select(QualityRecord.product_id).where(QualityRecord.product_id.is_not(None))
        )
        session.add(
            CounterfeitReport(
                reported_at=utcnow(),
                code="ABCDEFGH",
                organization_id=acme.id,
                product_id=product_id,
                code_status="active",
                where_bought=CONSUMER["where"],
                description=CONSUMER["description"],
                contact=CONSUMER["contact"],
                ip_hash="0123456789abcdef",
            )
        )
    return regulator


@pytest.fixture
def regulator_person(platform: Platform, market: Tenant) -> Iterator[Person]:
    person = _person(platform, market, "admin@reg.cn")
    yield person
    person.close()


PAGES = ("sampling", "recalls", "reports", "alerts", "ratings", "programmes")


def _cells(page: str) -> list[list[str]]:
    # Body rows only: the header row has <th> cells.
    rows = [r for r in re.findall(r"<tr>(.*?)</tr>", page, re.S) if "<td" in r]
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in rows
    ]


def test_the_regulators_pages_are_read_only_and_carry_no_consumer_data(
    regulator_person: Person,
) -> None:
    for name in PAGES:
        page = regulator_person.get(f"/console/oversight/{name}")
        assert page.status_code == 200, name
        # The only form: signing out (in the page's header).
        actions = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', page.text)
        assert actions == ["/console/sign-out"], (name, actions)
        for value in (*CONSUMER.values(), "0123456789abcdef", "ABCDEFGH"):
            if value != CONSUMER["where"]:
                assert value not in page.text, (name, value)
    reports = regulator_person.get("/console/oversight/reports").text
    assert _cells(reports) == [
        ["安盾消防科技有限公司", f"Extinguisher 4kg ({GTIN})", "浙江省", "已激活", "1"]
    ]
    assert "西湖区某五金店" not in reports
    home = regulator_person.get("/console").text
    assert 'id="recalls-in-force"' in home
    assert "假冒举报总数" in home


def test_each_csv_download_is_the_page_in_a_spreadsheet_safe_form(
    regulator_person: Person,
) -> None:
    for name in PAGES:
        shown = _cells(regulator_person.get(f"/console/oversight/{name}").text)
        download = regulator_person.get(f"/console/oversight/{name}/export.csv")
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("text/csv")
        assert "attachment" in download.headers["content-disposition"]
        assert download.content.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
        body = rows[1:]
        assert len(body) == len(shown), name
        for got, seen in zip(body, shown, strict=True):
            assert [c[1:] if c[:2] in ("'=", "'+", "'-", "'@") else c for c in got] == seen
            assert not any(c.startswith(("=", "+", "-", "@")) for c in got), got
    sampling = regulator_person.get("/console/oversight/sampling/export.csv").content.decode(
        "utf-8-sig"
    )
    assert "'=HYPERLINK" in sampling
    alerts = regulator_person.get("/console/oversight/alerts/export.csv").content.decode(
        "utf-8-sig"
    )
    assert "'-1 扫码异常" in alerts
    assert "广东省深圳市南山区 440305" in alerts
    recalls = regulator_person.get("/console/oversight/recalls/export.csv").content.decode(
        "utf-8-sig"
    )
    assert "'+压力不足" in recalls
    header = sampling.splitlines()[0]
    assert header.startswith("发布日期,抽检活动,企业")
    english = regulator_person.get("/console/oversight/sampling/export.csv?lang=en")
    assert english.content.decode("utf-8-sig").startswith("Published,Campaign,Enterprise")


def test_a_regulator_publishes_a_sampling_result(
    platform: Platform, market: Tenant, regulator_person: Person
) -> None:
    page = "/console/sampling-results/new"
    data = {
        "campaign": "2026年消防产品监督抽查",
        "gtin": GTIN,
        "lot": LOT,
        "result": "pass",
        "published_on": "2026-11-02",
    }
    answer = regulator_person.send(page, {**data, "gtin": "123"}, page=page)
    assert answer.status_code == 422
    assert 'id="gtin-error"' in answer.text
    answer = regulator_person.send(page, data, page=page)
    assert answer.status_code == 303
    mine = regulator_person.get("/console/sampling-results").text
    assert "2026年消防产品监督抽查" in mine
    assert "合格" in mine
    # A lab may not: its console has no such page, and the service refuses labs anyway.
    lab = _person(platform, platform.org("某检测机构", Role.LAB), "admin@lab2.cn")
    assert lab.get(page).status_code == 403


def test_a_regulator_and_the_operator_publish_credit_ratings(
    platform: Platform, acme: Tenant, market: Tenant, regulator_person: Person
) -> None:
    page = "/console/credit-ratings/new"
    data = {
        "enterprise": str(acme.id),
        "grade": "AA",
        "valid_from": "2026-01-01",
        "valid_until": "2027-12-31",
    }
    # Dates the wrong way round, or no grade: refused beside the field, nothing stored.
    before = _ratings(platform)
    answer = regulator_person.send(page, {**data, "valid_until": "2025-01-01"}, page=page)
    assert answer.status_code == 422
    assert 'id="valid_until-error"' in answer.text
    answer = regulator_person.send(page, {**data, "grade": ""}, page=page)
    assert answer.status_code == 422
    assert 'id="grade-error"' in answer.text
    assert _ratings(platform) == before
    answer = regulator_person.send(page, data, page=page)
    assert answer.status_code == 303
    mine = regulator_person.get("/console/credit-ratings").text
    assert "安盾消防科技有限公司" in mine
    assert ">AA<" in mine
    assert _ratings(platform) == before + 1
    with unit_of_work(platform.session_factory) as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "credit_rating.publish")
        ).one()
    assert entry.organization_id == market.id
    # The operator's admin rates too; a brand and a lab may not even open the page.
    operator = _person(platform, platform.operator, "staff@platform.cn")
    assert operator.send(page, {**data, "grade": "A"}, page=page).status_code == 303
    assert _ratings(platform) == before + 2
    for kind, login in ((Role.ENTERPRISE, "admin@b.cn"), (Role.LAB, "admin@lab3.cn")):
        other = _person(platform, platform.org(f"Other {login}", kind), login)
        assert other.get(page).status_code == 403


def _ratings(platform: Platform) -> int:
    from traceseal.quality.models import Kind

    with unit_of_work(platform.session_factory) as session:
        found = session.scalars(select(QualityRecord).where(QualityRecord.kind == Kind.CREDIT))
        return len(list(found))
