"""The GS1 Digital Link resolver and the consumer pages, over HTTP."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from tests.conftest import PUBLIC_URL, Platform, Tenant
from tests.functional.conftest import GTIN, LOT
from tests.functional.test_verify_api import count_rows, issue, typo
from traceseal.counters import RateWindow
from traceseal.verify.models import Scan
from traceseal.verify.reports.models import CounterfeitReport, ReportPhoto

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def scans_of(platform: Platform, code: str) -> int:
    with platform.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Scan).where(Scan.code == code)) or 0


def test_the_qr_link_answers_json_html_and_linkset(platform: Platform, acme: Tenant) -> None:
    code = issue(platform, acme, 3)[0]
    link = f"/01/{GTIN}/21/{code}"
    as_json = platform.client.get(link, headers=JSON)
    assert as_json.status_code == 200
    assert as_json.json()["verdict"] == "genuine"
    assert as_json.json()["product"]["gtin"] == GTIN
    assert 'rel="linkset"' in as_json.headers["link"]

    page = platform.client.get(link, headers={**HTML, "Accept-Language": "zh-CN,zh;q=0.9"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'data-verdict="genuine_repeat"' in page.text
    assert "正品（已被查询过）" in page.text
    assert "ts_device=" in page.headers["set-cookie"]

    # Switching the page to English is the same browser asking again: not a new query.
    english = platform.client.get(link + "?lang=en", headers=HTML)
    assert "Genuine, checked before" in english.text
    assert "checked 2 times" in english.text

    for response in (
        platform.client.get(link, headers={"Accept": "application/linkset+json"}),
        platform.client.get(link + "?linkType=linkset"),
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/linkset+json"
        (links,) = response.json()["linkset"]
        assert links["anchor"] == f"{PUBLIC_URL}/01/{GTIN}/21/{code}"
        service = links["https://gs1.org/voc/verificationService"][0]
        assert service["href"] == f"{PUBLIC_URL}/v/{code}"
        assert links["https://gs1.org/voc/pip"][0]["href"] == f"{PUBLIC_URL}/01/{GTIN}"
    assert scans_of(platform, code) == 3  # asking for links is not a query


def test_lot_in_the_path_and_the_short_link(platform: Platform, acme: Tenant) -> None:
    codes = issue(platform, acme, 3)
    with_lot = platform.client.get(f"/01/{GTIN}/10/{LOT}/21/{codes[0]}", headers=JSON)
    assert with_lot.json()["verdict"] == "genuine"
    wrong_lot = platform.client.get(f"/01/{GTIN}/10/OTHER/21/{codes[1]}", headers=JSON)
    assert wrong_lot.json()["verdict"] == "suspicious"
    assert wrong_lot.json()["reasons"] == ["lot_mismatch"]
    # GTIN-13 in the path is the same trade item as its GTIN-14.
    short_gtin = platform.client.get(f"/01/{GTIN[1:]}/21/{codes[2]}", headers=JSON)
    assert short_gtin.json()["verdict"] == "genuine"
    assert platform.client.get(f"/v/{codes[0]}", headers=JSON).json()["scan_count"] == 2


def test_recalled_link_offers_recall_status(platform: Platform, acme: Tenant) -> None:
    code = issue(platform, acme, 1)[0]
    platform.client.post(
        "/api/v1/recalls",
        json={"gtin": GTIN, "reason": "valve", "instructions": "Stop using it."},
        headers=acme.auth,
    )
    page = platform.client.get(f"/v/{code}?lang=en", headers=HTML)
    assert 'data-verdict="recalled"' in page.text
    assert "Stop using it." in page.text
    linkset = platform.client.get(f"/v/{code}?linkType=linkset").json()["linkset"][0]
    assert "https://gs1.org/voc/recallStatus" in linkset


@pytest.mark.parametrize(
    "path",
    [
        f"/01/{GTIN[:-1]}3/21/10000000000000000001",  # GTIN check digit
        "/01/ABCDEFGHIJKLMN/21/10000000000000000001",  # not digits
        f"/01/{GTIN}/21/12345",  # serial that is no seal code
        f"/01/{GTIN}/21/1000abcd000000000000",
        f"/01/{GTIN}/21/10000000000000000001/10/{LOT}",  # qualifiers out of order
        f"/01/{GTIN}/10/{LOT}",  # no serial: nothing to verify
        f"/01/{GTIN}/22/ABC/21/10000000000000000001",
        f"/01/{GTIN}/10/lot%20with%20spaces/21/10000000000000000001",
        "/v/12ab",
    ],
)
def test_invalid_digital_links_are_400_problems(
    platform: Platform, acme: Tenant, path: str
) -> None:
    response = platform.client.get(path, headers=JSON)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"]
    page = platform.client.get(path, headers=HTML)
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert count_rows(platform, Scan) == 0
    with platform.session_factory() as session:  # each refusal ticked the client's counter
        ticks = session.scalars(select(RateWindow.count).where(RateWindow.key.like("ip:%")))
        assert list(ticks) == [2]


def test_head_requests_and_link_preview_bots_never_count(platform: Platform, acme: Tenant) -> None:
    code = issue(platform, acme, 1)[0]
    link = f"/01/{GTIN}/21/{code}"
    assert platform.client.head(link).status_code == 200
    for agent in (
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "WhatsApp/2.23.20.0",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "TelegramBot (like TwitterBot)",
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    ):
        preview = platform.client.get(link, headers={**HTML, "User-Agent": agent})
        assert preview.status_code == 200
        assert "正品" in preview.text  # they get the page ...
    # Nor do they learn a code's history: whether it was ever scanned stays hidden.
    platform.client.post("/api/v1/verify", json={"code": code})
    slack = platform.client.get(link, headers={**JSON, "User-Agent": "Slackbot 1.0"}).json()
    assert slack["verdict"] == "genuine"
    assert slack["scan_count"] == 0
    assert slack["first_scan"] is None
    prefetch = platform.client.get(link, headers={**HTML, "Sec-Purpose": "prefetch"})
    assert prefetch.status_code == 200
    assert scans_of(platform, code) == 1  # ... but only the API query was counted
    # A consumer in WeChat's browser is a person: the second query.
    wechat = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 MicroMessenger/8.0.47 NetType/WIFI"
    platform.client.cookies.clear()  # another phone than the one that asked first
    person = platform.client.get(link, headers={**JSON, "User-Agent": wechat})
    assert person.json()["verdict"] == "genuine_repeat"
    assert person.json()["scan_count"] == 2


def test_manual_entry_page_tolerates_spaces_and_dashes(platform: Platform, acme: Tenant) -> None:
    code = issue(platform, acme, 2)[1]
    form = platform.client.get("/verify", headers=HTML)
    assert form.status_code == 200
    assert platform.client.head("/verify").status_code == 200
    assert 'name="code"' in form.text
    spaced = " ".join(code[i : i + 4] for i in range(0, 20, 4))
    page = platform.client.get("/verify", params={"code": spaced, "lang": "en"}, headers=HTML)
    assert 'data-verdict="genuine"' in page.text
    dashed = "-".join(code[i : i + 4] for i in range(0, 20, 4))
    again = platform.client.get("/verify", params={"code": dashed}, headers=JSON)
    assert again.json()["scan_count"] == 1  # the same browser asking again: same query
    with platform.session_factory() as session:
        channels = session.scalars(select(Scan.channel).where(Scan.code == code)).all()
    assert channels == ["web", "web"]
    mistyped = platform.client.get("/verify", params={"code": typo(code)}, headers=HTML)
    assert 'data-verdict="mistyped"' in mistyped.text
    assert "查无此码" not in mistyped.text
    junk = platform.client.get("/verify", params={"code": "12345"}, headers=HTML)
    assert junk.status_code == 400
    assert 'id="entry-error"' in junk.text


def test_resolver_description_and_product_page(platform: Platform, acme: Tenant) -> None:
    described = platform.client.get("/.well-known/gs1resolver").json()
    assert described["resolverRoot"] == PUBLIC_URL
    assert described["supportedPrimaryKeys"] == ["01"]
    product = platform.client.get(f"/01/{GTIN}", headers=JSON)
    assert product.json()["organization"] == "安盾消防科技有限公司"
    assert platform.client.get("/01/09506000134369", headers=JSON).status_code == 404


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_counterfeit_reports_reach_the_brand_owner_and_operator_only(
    platform: Platform, acme: Tenant
) -> None:
    code = issue(platform, acme, 1)[0]
    filed = platform.client.post(
        "/api/v1/reports",
        data={"code": code, "where_bought": "深圳 华强北", "description": "印刷模糊"},
        files={"photo": ("fake.png", _png(), "image/png")},
    )
    assert filed.status_code == 201, filed.text
    report_id = filed.json()["id"]
    mine = platform.client.get("/api/v1/reports", headers=acme.auth).json()
    assert [(r["id"], r["code"], r["code_status"]) for r in mine] == [(report_id, code, "active")]
    photo = platform.client.get(mine[0]["photo_url"], headers=acme.auth)
    assert photo.headers["content-type"] == "image/png"
    assert photo.content == _png()
    everything = platform.client.get("/api/v1/reports", headers=platform.operator.auth).json()
    assert [r["id"] for r in everything] == [report_id]
    rival = platform.org("Rival Co")
    assert platform.client.get("/api/v1/reports", headers=rival.auth).json() == []
    assert platform.client.get(mine[0]["photo_url"], headers=rival.auth).status_code == 404


@pytest.mark.parametrize(
    ("data", "files", "status"),
    [
        ({"code": "12345", "description": "x"}, None, 422),
        ({"code": "X"}, None, 422),
        ({"description": "no code"}, None, 422),
        ("valid-code", {"photo": ("a.png", b"not an image", "image/png")}, 422),
        ("valid-code", {"photo": ("a.bmp", b"BM" + b"\0" * 100, "image/bmp")}, 422),
        ("valid-code", {"photo": ("big.png", b"\x89PNG" + b"\0" * 6_000_000, "image/png")}, 413),
    ],
)
def test_bad_reports_are_refused_and_store_nothing(
    platform: Platform, acme: Tenant, data, files, status: int
) -> None:
    if data == "valid-code":
        data = {"code": issue(platform, acme, 1)[0], "description": "looks odd"}
    response = platform.client.post("/api/v1/reports", data=data, files=files)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert count_rows(platform, CounterfeitReport) == 0


def test_a_reload_or_language_switch_by_the_same_device_is_not_another_query(
    platform: Platform, acme: Tenant
) -> None:
    code = issue(platform, acme, 1)[0]
    link = f"/01/{GTIN}/21/{code}"
    first = platform.client.get(link, headers=HTML)
    assert 'data-verdict="genuine"' in first.text
    device = first.cookies["ts_device"]
    for _ in range(2):  # a reload, then the switch to English
        same = platform.client.get(link + "?lang=en", headers=HTML)
        assert 'data-verdict="genuine"' in same.text
        assert ">1</dd>" in same.text
    # Another phone scanning the same label is a second query.
    with TestClient(platform.app) as other:
        second = other.get(link, headers=JSON).json()
    assert second["verdict"] == "genuine_repeat"
    assert second["scan_count"] == 2
    assert device != ""
    assert scans_of(platform, code) == 4  # every answer is still in the scan log


def test_report_form_keeps_what_was_typed_and_language_links_keep_the_page(
    platform: Platform, acme: Tenant
) -> None:
    code = issue(platform, acme, 1)[0]
    empty = platform.client.post(
        "/report?lang=zh-CN", data={"code": code, "contact": "138 0000 0000"}, headers=HTML
    )
    assert empty.status_code == 422
    assert 'id="report-error"' in empty.text
    assert "请填写购买地点或情况说明" in empty.text
    assert 'value="138 0000 0000"' in empty.text  # nothing typed is lost
    filed = platform.client.post(
        "/report?lang=zh-CN", data={"code": code, "description": "包装粗糙"}, headers=HTML
    )
    assert filed.status_code == 200
    assert 'href="/verify?lang=en"' in filed.text  # not back to the POST-only /report
    page = platform.client.get("/verify", params={"code": code, "lang": "en"}, headers=HTML)
    assert f'href="/verify?code={code}&amp;lang=zh-CN"' in page.text
    wrong = platform.client.get("/verify", params={"code": "12345"}, headers=HTML)
    assert "防伪码为20位数字" in wrong.text


def test_a_decompression_bomb_photo_is_refused(platform: Platform, acme: Tenant) -> None:
    out = io.BytesIO()
    Image.new("1", (14_000, 14_000)).save(out, format="PNG")  # 196 megapixels, ~30 KB
    response = platform.client.post(
        "/api/v1/reports",
        data={"code": issue(platform, acme, 1)[0], "description": "odd"},
        files={"photo": ("bomb.png", out.getvalue(), "image/png")},
    )
    assert response.status_code == 422
    assert count_rows(platform, CounterfeitReport) == 0


def test_a_photo_over_the_pixel_limit_is_refused_in_production_code(
    platform: Platform, acme: Tenant
) -> None:
    # 144 megapixels: under Pillow's own error threshold, so only our limit refuses it.
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, format="PNG")
    response = platform.client.post(
        "/api/v1/reports",
        data={"code": issue(platform, acme, 1)[0], "description": "odd"},
        files={"photo": ("big.png", out.getvalue(), "image/png")},
    )
    assert response.status_code == 422
    assert "pixels" in response.json()["detail"]
    assert count_rows(platform, CounterfeitReport) == 0


def test_a_photo_is_stored_without_its_metadata(platform: Platform, acme: Tenant) -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {2: (39.0, 54.0, 0.0)}  # GPS latitude of the reporter's home
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(out, format="JPEG", exif=exif)
    assert b"PhoneMaker" in out.getvalue()
    response = platform.client.post(
        "/api/v1/reports",
        data={"code": issue(platform, acme, 1)[0], "description": "odd"},
        files={"photo": ("p.jpg", out.getvalue(), "image/jpeg")},
    )
    assert response.status_code == 201, response.text
    with platform.session_factory() as session:
        stored = session.scalars(select(ReportPhoto.data)).one()
    assert b"PhoneMaker" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (64, 48)
        assert not image.getexif()
