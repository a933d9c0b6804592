"""PDF attachments: who may upload them, what counts as a PDF, how they are served, and that
another organisation's upload answers exactly as one that does not exist."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from httpx2 import Response

from tests.conftest import Tenant
from tests.functional.quality_helpers import PDF, Cast, cast, certificate, inspection, make_pdf
from traceseal.orgs.models import Role

__all__ = ["cast"]

UPLOAD = "/api/v1/attachments"


def upload(cast: Cast, tenant: Tenant, data: bytes, **headers: str) -> Response:
    return cast.platform.client.post(
        UPLOAD,
        content=data,
        headers={**tenant.auth, "Content-Type": "application/pdf", **headers},
    )


def stored_files(cast: Cast) -> list[Path]:
    root = cast.platform.settings.data_dir / "attachments"
    return sorted(root.rglob("*")) if root.exists() else []


def test_only_the_roles_that_issue_attached_records_may_upload(cast: Cast) -> None:
    # Certificates and inspection reports carry attachments, and labs write both; a role
    # that may write neither could never cite what it uploaded.
    for tenant in (cast.distributor, cast.acme, cast.regulator, cast.operator):
        refused = upload(cast, tenant, PDF)
        assert refused.status_code == 403, (tenant.name, refused.text)
        assert refused.json()["type"] == "/problems/forbidden"
    assert stored_files(cast) == []
    accepted = upload(cast, cast.lab, PDF)
    assert accepted.status_code == 201, accepted.text


@pytest.mark.parametrize(
    ("data", "english"),
    [
        # A PDF's magic followed by a web page: what a browser might be talked into running.
        (b"%PDF-1.7\n<html><script>alert(document.cookie)</script></html>\n%%EOF\n", "parsed"),
        (PDF[: len(PDF) // 2], "parsed"),  # cut short
        (make_pdf(pages=0), "no pages"),
        (make_pdf(password="secret"), "encrypted"),
    ],
    ids=["html-behind-magic", "truncated", "no-pages", "encrypted"],
)
def test_a_file_that_is_not_a_readable_pdf_is_refused(
    cast: Cast, data: bytes, english: str
) -> None:
    assert data.startswith(b"%PDF-")
    zh = upload(cast, cast.lab, data)
    assert zh.status_code == 422, zh.text
    assert zh.headers["content-type"] == "application/problem+json"
    problem = zh.json()
    assert problem["field"] == "attachment"
    assert "PDF" in problem["detail"]
    assert any("\u4e00" <= c <= "\u9fff" for c in problem["detail"])  # zh-CN by default
    en = upload(cast, cast.lab, data, **{"Accept-Language": "en"})
    assert en.status_code == 422
    assert english in en.json()["detail"]
    assert stored_files(cast) == []


def test_a_real_pdf_is_accepted_and_downloads_as_a_sandboxed_attachment(cast: Cast) -> None:
    data = make_pdf(pages=2)
    uploaded = upload(cast, cast.lab, data)
    assert uploaded.status_code == 201, uploaded.text
    digest = uploaded.json()["sha256"]
    assert digest == hashlib.sha256(data).hexdigest()
    cast.certificate(attachment=digest)

    served = cast.platform.client.get(f"/api/v1/attachments/{digest}")
    assert served.status_code == 200
    assert served.content == data
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"] == f'attachment; filename="{digest}.pdf"'
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "sandbox; default-src 'none'"


def test_another_labs_upload_answers_exactly_as_one_that_does_not_exist(cast: Cast) -> None:
    rival = cast.platform.org("另一家检测机构", Role.LAB)
    theirs = upload(cast, rival, make_pdf(pages=3)).json()["sha256"]  # not cited yet
    nobodys = hashlib.sha256(b"never uploaded").hexdigest()

    def seen(response: Response, digest: str) -> tuple[int, str, str]:
        """What a caller learns: status, media type and body, with the hash it sent masked."""
        masked = response.text.replace(digest, "<sha256>")
        return response.status_code, response.headers["content-type"], masked

    client = cast.platform.client
    # Citing it in one's own record...
    body = certificate(cast.acme)
    for_theirs = client.post(
        "/api/v1/certificates", json={**body, "attachment": theirs}, headers=cast.lab.auth
    )
    for_nobodys = client.post(
        "/api/v1/certificates", json={**body, "attachment": nobodys}, headers=cast.lab.auth
    )
    assert for_theirs.status_code == 404
    assert seen(for_theirs, theirs) == seen(for_nobodys, nobodys)
    # ...and fetching it before any record cites it.
    fetch_theirs = client.get(f"{UPLOAD}/{theirs}")
    assert fetch_theirs.status_code == 404
    assert seen(fetch_theirs, theirs) == seen(client.get(f"{UPLOAD}/{nobodys}"), nobodys)
    # Its uploader cites it; from then on it is as public as the record.
    own = cast.post("/api/v1/inspection-reports", rival, inspection(attachment=theirs))
    assert own["attachment"] == f"{UPLOAD}/{theirs}"
    assert client.get(f"{UPLOAD}/{theirs}").status_code == 200
