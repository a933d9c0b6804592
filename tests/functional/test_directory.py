"""The public quality directory: only published facts (signed, under a checkpoint, in
force), found by product or brand name or GTIN, in both languages, cacheable, no
sign-in."""

from __future__ import annotations

import re

from tests.conftest import Platform
from tests.functional import quality_helpers
from tests.functional.conftest import GTIN, LOT
from tests.functional.quality_helpers import Cast, sampling
from traceseal.db import unit_of_work
from traceseal.ledger import checkpoints

#: The fixture of the quality tests: a brand with a product, a lab, a regulator.
cast = quality_helpers.cast
#: A second product of the brand, with a brand name to search by.
POWDER = "06901234567892"


def _publish(platform: Platform) -> None:
    with unit_of_work(platform.session_factory) as session:
        checkpoints.publish(
            session, platform.app.state.keyring, platform.settings.resolved_ledger_origin
        )


def _entries(platform: Platform, **params: str) -> str:
    page = platform.client.get("/directory", params=params, headers={"accept": "text/html"})
    assert page.status_code == 200
    return page.text


def _add_powder(cast: Cast) -> None:
    made = cast.platform.client.post(
        "/api/v1/products",
        json={"gtin": POWDER, "name": "干粉灭火器 MFZ/ABC4", "brand": "蓝盾"},
        headers=cast.acme.auth,
    )
    assert made.status_code == 201, made.text


def test_only_published_certificates_in_force_are_listed(cast: Cast) -> None:
    platform = cast.platform
    _add_powder(cast)
    first = cast.certificate(gtins=[POWDER], number="CCC-0001")
    assert 'id="empty"' in _entries(platform)  # signed, not yet under a checkpoint
    assert platform.client.get(f"/directory/records/{first['id']}").status_code == 404
    _publish(platform)
    listed = _entries(platform)
    assert f'id="certificate-{first["id"]}"' in listed
    assert "干粉灭火器 MFZ/ABC4" in listed
    second = cast.certificate(gtins=[GTIN], number="CCC-0002")
    assert f'id="certificate-{second["id"]}"' not in _entries(platform)
    _publish(platform)
    assert f'id="certificate-{second["id"]}"' in _entries(platform)

    withdrawn = cast.post(
        f"/api/v1/certificates/{first['id']}/status",
        cast.lab,
        {"status": "withdrawn", "reason": "the factory closed", "effective": "2026-11-01"},
    )
    assert withdrawn
    _publish(platform)
    listed = _entries(platform)
    assert f'id="certificate-{first["id"]}"' not in listed
    assert f'id="certificate-{second["id"]}"' in listed
    # Its own page still says what became of it, for whoever kept the link.
    record = platform.client.get(f"/directory/records/{first['id']}?lang=en")
    assert record.status_code == 200
    assert re.search(r'id="status">withdrawn<', record.text)


def test_search_by_product_name_brand_and_gtin(cast: Cast) -> None:
    platform = cast.platform
    _add_powder(cast)
    powder = cast.certificate(gtins=[POWDER], number="CCC-0001")
    other = cast.certificate(gtins=[GTIN], number="CCC-0002")
    _publish(platform)
    mark = f'id="certificate-{powder["id"]}"'
    for query in ("干粉", "蓝盾", POWDER, POWDER[1:], "CCC-0001"):
        found = _entries(platform, q=query)
        assert mark in found, query
        assert f'id="certificate-{other["id"]}"' not in found, query
    nothing = _entries(platform, q="不存在的产品")
    assert mark not in nothing
    assert "没有找到" in nothing
    assert "Nothing found" in _entries(platform, q="nothing like it", lang="en")


def test_sampling_results_both_ways_recalls_while_they_last(cast: Cast) -> None:
    platform = cast.platform
    passed = cast.post("/api/v1/sampling-results", cast.regulator, sampling())
    failed = cast.post("/api/v1/sampling-results", cast.regulator, sampling(result="fail", lot=LOT))
    recall = platform.client.post(
        "/api/v1/recalls",
        json={"gtin": GTIN, "lots": [LOT], "reason": "阀门漏气", "instructions": "停止使用"},
        headers=cast.acme.auth,
    )
    assert recall.status_code == 201, recall.text
    recall_id = recall.json()[0]["id"]
    _publish(platform)
    results = _entries(platform, show="sampling")
    assert f'id="sampling-{passed["id"]}"' in results
    assert f'id="sampling-{failed["id"]}"' in results
    assert "不合格" in results
    assert "Failed" in _entries(platform, show="sampling", lang="en")
    recalls = _entries(platform, show="recalls")
    assert f'id="recall-{recall_id}"' in recalls
    assert "阀门漏气" in recalls
    ended = platform.client.post(f"/api/v1/recalls/{recall_id}/end", headers=cast.acme.auth)
    assert ended.status_code == 200, ended.text
    _publish(platform)
    assert f'id="recall-{recall_id}"' not in _entries(platform, show="recalls")


def test_a_record_page_links_its_signed_record_and_proof(cast: Cast) -> None:
    platform = cast.platform
    created = cast.certificate()
    _publish(platform)
    page = platform.client.get(f"/directory/records/{created['id']}")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert "认证证书" in page.text
    assert f'href="/api/v1/quality/records/{created["id"]}"' in page.text
    proof = f"/api/v1/quality/records/{created['id']}/proof"
    assert f'href="{proof}"' in page.text
    assert platform.client.get(proof).status_code == 200
    english = platform.client.get(
        f"/directory/records/{created['id']}", headers={"accept-language": "en-US,en;q=0.8"}
    )
    assert '<html lang="en">' in english.text
    assert "Check this record" in english.text
    assert platform.client.get("/directory/records/999999").status_code == 404


def test_the_directory_is_public_and_cacheable(platform: Platform) -> None:
    page = platform.client.get("/directory", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["cache-control"].startswith("public")
    assert "accept-language" in page.headers["vary"].lower()
    assert "set-cookie" not in page.headers
    assert "这里暂时没有公开的信息" in page.text
    for bad in ("?before=0", "?before=x", "?show=<script>", "?q=" + "x" * 101):
        assert platform.client.get("/directory" + bad).status_code in (200, 422), bad


def test_label_programme_holders_are_the_products_with_codes_under_it(cast: Cast) -> None:
    platform = cast.platform
    programme = cast.post(
        "/api/v1/programmes",
        cast.operator,
        {"name": "3·15 标识", "name_en": "3.15 label", "rules": {"certificate": {"scheme": "CCC"}}},
    )
    cast.certificate()
    _publish(platform)
    assert "Extinguisher 4kg" not in _entries(platform, show="programmes")
    run = platform.client.post(
        "/api/v1/code-runs",
        json={"product": GTIN, "count": 5, "programme": programme["id"]},
        headers=cast.acme.auth,
    )
    assert run.status_code == 201, run.text
    listed = _entries(platform, show="programmes")
    assert "Extinguisher 4kg" in listed
    assert f'href="/directory/records/{programme["record"]["id"]}"' in listed
    assert "3.15 label" in _entries(platform, show="programmes", lang="en")
    assert "Extinguisher 4kg" not in _entries(platform, show="programmes", q="不相干")
