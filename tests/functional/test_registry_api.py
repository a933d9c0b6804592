"""Organisations, products and batches over HTTP, with tenant isolation."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.conftest import Platform, add_batch, add_product
from traceseal.orgs.models import Role
from traceseal.registry.models import Product

GTIN = "09506000134352"


def _count_products(platform: Platform) -> int:
    with platform.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Product)) or 0


def test_operator_onboards_an_enterprise_whose_key_works(platform: Platform) -> None:
    response = platform.client.post(
        "/api/v1/orgs", json={"name": "Acme", "role": "enterprise"}, headers=platform.operator.auth
    )
    assert response.status_code == 201
    body = response.json()
    assert body["role"] == "enterprise"
    assert body["api_key"].startswith("ts_")
    me = platform.client.get(
        "/api/v1/orgs/me", headers={"Authorization": f"Bearer {body['api_key']}"}
    )
    assert me.json()["name"] == "Acme"
    # Only the operator onboards; a duplicate name is a conflict.
    acme = {"Authorization": f"Bearer {body['api_key']}"}
    denied = platform.client.post("/api/v1/orgs", json={"name": "X", "role": "lab"}, headers=acme)
    assert denied.status_code == 403
    again = platform.client.post(
        "/api/v1/orgs", json={"name": "Acme", "role": "lab"}, headers=platform.operator.auth
    )
    assert again.status_code == 409


def test_missing_or_bad_key_is_a_401_problem(platform: Platform) -> None:
    for headers in ({}, {"Authorization": "Bearer ts_nope"}, {"Authorization": "Basic abc"}):
        response = platform.client.get("/api/v1/products", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["status"] == 401


def test_product_and_batch_lifecycle(platform: Platform) -> None:
    acme = platform.org("Acme")
    created = add_product(platform, acme, "9506000134352")  # GTIN-13 in, GTIN-14 stored
    assert created["gtin"] == GTIN
    assert created["scan_limit"] == 5
    patched = platform.client.patch(
        f"/api/v1/products/{GTIN}", json={"brand": "AnDun", "scan_limit": 8}, headers=acme.auth
    )
    assert patched.json()["brand"] == "AnDun"
    assert patched.json()["scan_limit"] == 8
    batch = platform.client.post(
        f"/api/v1/products/{GTIN}/batches",
        json={
            "lot": "L1",
            "production_date": "2026-11-01",
            "expiry_date": "2031-10-31",
            "quantity": 10,
        },
        headers=acme.auth,
    )
    assert batch.status_code == 201
    assert batch.json()["gtin"] == GTIN
    listed = platform.client.get(f"/api/v1/products/{GTIN}/batches", headers=acme.auth).json()
    assert [b["lot"] for b in listed] == ["L1"]
    duplicate = platform.client.post(
        f"/api/v1/products/{GTIN}/batches", json={"lot": "L1"}, headers=acme.auth
    )
    assert duplicate.status_code == 409
    backwards = platform.client.post(
        f"/api/v1/products/{GTIN}/batches",
        json={"lot": "L2", "production_date": "2026-11-01", "expiry_date": "2026-10-01"},
        headers=acme.auth,
    )
    assert backwards.status_code == 422


def test_invalid_gtins_are_rejected_and_store_nothing(platform: Platform) -> None:
    acme = platform.org("Acme")
    for gtin in ("09506000134353", "12345", "abcdefghijklm", "０９５０６０００１３４３５２", ""):
        response = platform.client.post(
            "/api/v1/products", json={"gtin": gtin, "name": "X"}, headers=acme.auth
        )
        assert response.status_code == 422, gtin
        assert response.json()["field"] == "gtin"
    assert _count_products(platform) == 0
    assert (
        "check digit"
        in platform.client.post(
            "/api/v1/products", json={"gtin": "09506000134353", "name": "X"}, headers=acme.auth
        ).json()["detail"]
    )


def test_enterprises_cannot_see_or_touch_each_others_data(platform: Platform) -> None:
    acme, rival = platform.org("Acme"), platform.org("Rival")
    add_product(platform, acme)
    add_batch(platform, acme, GTIN, "L1")
    client = platform.client
    assert client.get("/api/v1/products", headers=rival.auth).json() == []
    for method, url, body in (
        ("GET", f"/api/v1/products/{GTIN}", None),
        ("PATCH", f"/api/v1/products/{GTIN}", {"name": "mine now"}),
        ("GET", f"/api/v1/products/{GTIN}/batches", None),
        ("GET", f"/api/v1/products/{GTIN}/batches/L1", None),
        ("POST", f"/api/v1/products/{GTIN}/batches", {"lot": "L9"}),
    ):
        response = client.request(method, url, json=body, headers=rival.auth)
        assert response.status_code == 404, (method, url)
        # The answer is the same as for a GTIN nobody registered: existence does not leak.
        unknown = client.request(
            method, url.replace(GTIN, "09506000134369"), json=body, headers=rival.auth
        )
        assert unknown.status_code == 404
    assert (
        client.get(f"/api/v1/products/{GTIN}", headers=acme.auth).json()["name"]
        == "Extinguisher 4kg"
    )
    # Writing a product into another enterprise is refused the same way.
    sneaky = client.post(
        "/api/v1/products",
        json={"gtin": "09506000134369", "name": "X", "organization_id": acme.id},
        headers=rival.auth,
    )
    assert sneaky.status_code == 404


def test_other_roles_cannot_register_products(platform: Platform) -> None:
    lab = platform.org("Lab", Role.LAB)
    response = platform.client.post(
        "/api/v1/products", json={"gtin": GTIN, "name": "X"}, headers=lab.auth
    )
    assert response.status_code == 403
    operator_for_lab = platform.client.post(
        "/api/v1/products",
        json={"gtin": GTIN, "name": "X", "organization_id": lab.id},
        headers=platform.operator.auth,
    )
    assert operator_for_lab.status_code == 422


def test_openapi_documents_the_api(platform: Platform) -> None:
    spec = platform.client.get("/openapi.json").json()
    for path in (
        "/api/v1/products",
        "/api/v1/code-runs",
        "/api/v1/code-runs/{run_id}/activate",
        "/api/v1/orgs",
    ):
        assert path in spec["paths"]


def test_malformed_json_is_a_problem_not_a_crash(platform: Platform) -> None:
    acme = platform.org("Acme")
    response = platform.client.post(
        "/api/v1/products",
        content=b"{not json",
        headers={**acme.auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_home_page_renders_in_both_languages(platform: Platform) -> None:
    zh = platform.client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert zh.status_code == 200
    assert "防伪" in zh.text
    en = platform.client.get("/?lang=en")
    assert "codes issued" in en.text
