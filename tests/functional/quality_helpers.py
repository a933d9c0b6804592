"""Factories for the quality-dossier tests: a lab, a regulator, and records made over HTTP."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pytest
from pypdf import PdfWriter

from tests.conftest import Platform, Tenant
from tests.functional.conftest import GTIN, LOT
from traceseal.orgs.models import Role


def make_pdf(pages: int = 1, password: str | None = None) -> bytes:
    """A real PDF of ``pages`` blank A4 pages, written by pypdf (encrypted if asked)."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    if password is not None:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


#: A one-page PDF: the smallest file the attachment store takes.
PDF = make_pdf()
HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}


@dataclass
class Cast:
    """Everyone a quality record involves."""

    platform: Platform
    acme: Tenant
    lab: Tenant
    regulator: Tenant
    distributor: Tenant

    @property
    def operator(self) -> Tenant:
        return self.platform.operator

    def post(self, path: str, tenant: Tenant, body: dict[str, Any], status: int = 201) -> Any:
        response = self.platform.client.post(path, json=body, headers=tenant.auth)
        assert response.status_code == status, response.text
        return response.json()

    def certificate(self, status: int = 201, **changes: Any) -> Any:
        return self.post(
            "/api/v1/certificates", self.lab, certificate(self.acme, **changes), status
        )

    def inspection(self, status: int = 201, **changes: Any) -> Any:
        return self.post("/api/v1/inspection-reports", self.lab, inspection(**changes), status)


@pytest.fixture
def cast(platform: Platform, acme: Tenant) -> Cast:
    return Cast(
        platform,
        acme,
        platform.org("国家消防装备质量检验检测中心", Role.LAB),
        platform.org("市场监督管理局", Role.REGULATOR),
        platform.org("顺达物流", Role.DISTRIBUTOR),
    )


def certificate(owner: Tenant, **changes: Any) -> dict[str, Any]:
    return {
        "scheme": "CCC",
        "compulsory": True,
        "number": "2026081801000001",
        "holder": owner.id,
        "gtins": [GTIN],
        "valid_from": "2026-01-01",
        "valid_until": "2031-12-31",
        **changes,
    }


def inspection(**changes: Any) -> dict[str, Any]:
    return {
        "number": "XF-2026-0815",
        "gtin": GTIN,
        "lot": LOT,
        "standards": ["GB 4351-2023"],
        "items": [
            {"name": "喷射时间", "requirement": ">= 8 s", "result": "9.2 s", "conclusion": "pass"}
        ],
        "conclusion": "pass",
        "tested_on": "2026-10-20",
        **changes,
    }


def sampling(**changes: Any) -> dict[str, Any]:
    return {
        "campaign": "2026年消防产品监督抽查",
        "gtin": GTIN,
        "lot": LOT,
        "result": "pass",
        "published_on": "2026-11-01",
        **changes,
    }


def credit(enterprise: Tenant, **changes: Any) -> dict[str, Any]:
    return {
        "enterprise": enterprise.id,
        "grade": "AAA",
        "valid_from": "2026-01-01",
        "valid_until": "2028-12-31",
        **changes,
    }


def commitment(**changes: Any) -> dict[str, Any]:
    return {
        "title": "产品质量承诺书",
        "text": "我公司承诺所售灭火器符合 GB 4351-2023 的全部要求。",
        "standards": ["GB 4351-2023"],
        "made_on": "2026-03-15",
        **changes,
    }
