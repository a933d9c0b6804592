"""The brand's workflows through the console and the API: alerts open → investigating →
closed with an outcome, never closed by their subject; reports new → investigating →
resolved or rejected with a reply its reporter reads from the status link on their
receipt; recalls started, reached and ended. Every step is audited; another brand's
objects answer 404 as missing ones do."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import Platform, Tenant
from tests.functional.people_helpers import Browser, add_person
from tests.functional.workflow_helpers import (
    brand_with_codes,
    distributor,
    diversion_alert,
    file_report,
    recall,
)
from traceseal.db import unit_of_work
from traceseal.orgs.models import Role
from traceseal.people.models import AuditEntry


@pytest.fixture
def acme(platform: Platform) -> Tenant:
    tenant = platform.org("安盾消防科技有限公司")
    add_person(platform, tenant.id, "qa@acme.cn")
    return tenant


@pytest.fixture
def qa(platform: Platform, acme: Tenant) -> Browser:
    browser = Browser(platform)
    assert browser.sign_in("qa@acme.cn").status_code == 303
    return browser


def _audit(platform: Platform, prefix: str) -> list[tuple[str, str, str]]:
    with unit_of_work(platform.session_factory) as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id)
        )
        return [(e.actor, e.action, e.target) for e in rows]


# Alerts ---------------------------------------------------------------------------------


def test_an_alert_is_investigated_then_closed_with_its_history_and_audit(
    platform: Platform, acme: Tenant, qa: Browser
) -> None:
    alert_id = diversion_alert(platform, acme, distributor_id=None, key="a1")
    listing = qa.get("/console/alerts?state=open")
    assert f'href="/console/alerts/{alert_id}"' in listing.text
    assert "窜货" in listing.text
    page = qa.get(f"/console/alerts/{alert_id}")
    assert 'id="investigate"' in page.text
    assert 'id="close"' in page.text
    assert "应销售区域" in page.text  # the evidence in words, not JSON
    assert "expected_regions" not in page.text

    moved = qa.post(
        f"/console/alerts/{alert_id}/investigate",
        {"note": "王工跟进"},
        page=f"/console/alerts/{alert_id}",
    )
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/console/alerts/{alert_id}?done=investigating"
    page = qa.get(moved.headers["location"])
    assert 'id="done"' in page.text
    assert "调查中" in page.text
    assert 'id="investigate"' not in page.text  # only the steps allowed now
    assert "王工跟进" in page.text

    # Closing needs an outcome and a note: told beside the field, in zh-CN.
    refused = qa.post(
        f"/console/alerts/{alert_id}/close", {"note": "查明"}, page=f"/console/alerts/{alert_id}"
    )
    assert refused.status_code == 422
    assert "关闭警报需要选择结论" in refused.text
    closed = qa.post(
        f"/console/alerts/{alert_id}/close",
        {"outcome": "diverted", "note": "经销商承认跨区销售"},
        page=f"/console/alerts/{alert_id}",
    )
    assert closed.status_code == 303
    page = qa.get(f"/console/alerts/{alert_id}?lang=en")
    assert "Closed" in page.text
    assert "Diverted goods" in page.text
    assert 'id="actions"' not in page.text
    history = re.findall(r"<li><b>([^<]+)</b>", page.text)
    assert history == ["Investigating", "Closed"]
    assert len(re.findall(r"UTC · qa@acme.cn</small>", page.text)) == 2

    # A closed alert moves no more: a clear refusal, nothing changed.
    again = qa.post(f"/console/alerts/{alert_id}/investigate", page="/console/alerts")
    assert again.status_code == 409
    assert "cannot become investigating" in again.text or "不允许" in again.text
    assert _audit(platform, "alert.") == [
        ("qa@acme.cn", "alert.investigating", f"alert {alert_id} (diversion)"),
        ("qa@acme.cn", "alert.closed", f"alert {alert_id} (diversion)"),
    ]
    closed_list = qa.get("/console/alerts?state=closed&kind=diversion")
    assert f"/console/alerts/{alert_id}" in closed_list.text
    assert f"/console/alerts/{alert_id}" not in qa.get("/console/alerts?state=open").text


def test_the_subject_of_an_alert_reads_it_but_never_closes_it(
    platform: Platform, acme: Tenant
) -> None:
    dist = platform.org("华南经销商", Role.DISTRIBUTOR)
    subject = distributor(platform, acme, "华南经销商")
    alert_id = diversion_alert(platform, acme, distributor_id=subject, key="s1")
    client = platform.client
    read = client.get(f"/api/v1/alerts/{alert_id}", headers=dist.auth)
    assert read.status_code == 200
    assert read.json()["next"] == []
    for path, body in (
        (f"/api/v1/alerts/{alert_id}/close", {"outcome": "false_alarm", "note": "不是我们"}),
        (f"/api/v1/alerts/{alert_id}/investigate", {}),
    ):
        refused = client.post(path, json=body, headers=dist.auth)
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert "subject of an alert never closes it" in refused.json()["detail"]
    # A regulator reads it too, and may not act either; the brand may.
    regulator = platform.org("市场监管局", Role.REGULATOR)
    assert (
        client.post(f"/api/v1/alerts/{alert_id}/investigate", headers=regulator.auth).status_code
        == 403
    )
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=acme.auth).json()["next"] == [
        "investigating",
        "closed",
    ]
    closed = client.post(
        f"/api/v1/alerts/{alert_id}/close",
        json={"outcome": "false_alarm", "note": "扫码人是出差的店员"},
        headers=acme.auth,
    )
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert (body["state"], body["outcome"]) == ("closed", "false_alarm")
    assert body["acknowledged_at"] is not None
    assert [(h["from_state"], h["to_state"], h["actor"]) for h in body["history"]] == [
        ("open", "closed", f"api:{acme.name}")
    ]
    assert _audit(platform, "alert.") == [
        (f"api:{acme.name}", "alert.closed", f"alert {alert_id} (diversion)")
    ]


def test_the_alert_api_workflow_errors_and_filters(platform: Platform, acme: Tenant) -> None:
    client = platform.client
    alert_id = diversion_alert(platform, acme, distributor_id=None, key="w1")
    bad = client.post(
        f"/api/v1/alerts/{alert_id}/close",
        json={"outcome": "maybe", "note": "x"},
        headers=acme.auth,
    )
    assert bad.status_code == 422
    assert (
        client.post(f"/api/v1/alerts/{alert_id}/investigate", headers=acme.auth).status_code == 200
    )
    twice = client.post(f"/api/v1/alerts/{alert_id}/investigate", headers=acme.auth)
    assert twice.status_code == 409
    assert twice.json()["detail"] == "an alert that is investigating cannot become investigating"
    # Acknowledge still works (and changes nothing of the workflow).
    acked = client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=acme.auth)
    assert acked.status_code == 200
    assert acked.json()["state"] == "investigating"
    listed = client.get("/api/v1/alerts?state=investigating", headers=acme.auth).json()
    assert [a["id"] for a in listed] == [alert_id]
    assert client.get("/api/v1/alerts?state=open", headers=acme.auth).json() == []
    rival = platform.org("Rival")
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=rival.auth).status_code == 404
    missing = client.post(
        f"/api/v1/alerts/{alert_id}/close",
        json={"outcome": "other", "note": "x"},
        headers=rival.auth,
    )
    assert missing.status_code == 404
    spec = client.get("/openapi.json").json()["paths"]
    assert "409" in spec["/api/v1/alerts/{alert_id}/close"]["post"]["responses"]


def test_another_brands_alerts_and_reports_answer_404_in_the_console(
    platform: Platform, acme: Tenant, qa: Browser
) -> None:
    codes = brand_with_codes(platform, acme, 1)
    alert_id = diversion_alert(platform, acme, distributor_id=None, key="t1")
    report = file_report(platform, codes[0])
    beta = platform.org("Beta")
    add_person(platform, beta.id, "qa@beta.cn")
    other = Browser(platform)
    other.sign_in("qa@beta.cn")
    for path in (
        f"/console/alerts/{alert_id}",
        f"/console/reports/{report['id']}",
        f"/console/reports/{report['id']}/photo",
        "/console/alerts/999999",
    ):
        assert other.get(path).status_code == 404, path
    assert (
        other.post(
            f"/console/alerts/{alert_id}/close", {"outcome": "other", "note": "x"}, page="/console"
        ).status_code
        == 404
    )
    assert (
        other.post(
            f"/console/reports/{report['id']}", {"reply": "x", "step": "reject"}, page="/console"
        ).status_code
        == 404
    )
    assert f"/console/alerts/{alert_id}" not in other.get("/console/alerts").text
    assert 'id="empty"' in other.get("/console/reports").text
    assert _audit(platform, "alert.") == []
    assert _audit(platform, "report.") == []


# Reports --------------------------------------------------------------------------------


def test_a_report_is_investigated_resolved_and_its_reporter_reads_the_reply(
    platform: Platform, acme: Tenant, qa: Browser
) -> None:
    codes = brand_with_codes(platform, acme, 1)
    receipt = file_report(platform, codes[0])
    status_url = str(receipt["status_url"])
    report_id = receipt["id"]
    # The link is a token, not the number.
    token = status_url.rsplit("/", 1)[1]
    assert len(token) >= 40
    assert str(report_id) != token
    public = platform.client.get(status_url.replace(platform.settings.public_url, ""))
    assert public.status_code == 200
    assert "已收到，等待处理" in public.text
    assert 'id="no-reply"' in public.text
    assert public.headers["referrer-policy"] == "no-referrer"

    listing = qa.get("/console/reports?state=new")
    assert f"/console/reports/{report_id}" in listing.text
    page = qa.get(f"/console/reports/{report_id}")
    assert "包装印刷模糊" in page.text
    assert 'id="photo"' in page.text
    photo = qa.get(f"/console/reports/{report_id}/photo")
    assert photo.headers["content-type"] == "image/png"
    assert 'id="resolve"' not in page.text  # resolved only after an investigation

    path = f"/console/reports/{report_id}"
    assert qa.post(path, {"step": "investigate"}).status_code == 303
    # Settling needs a reply to the reporter.
    refused = qa.post(path, {"step": "resolve"})
    assert refused.status_code == 422
    assert "请先填写给举报人的答复" in refused.text
    reply = "经鉴定为假冒产品，已移交市场监管部门查处。感谢您的举报！"
    done = qa.post(path, {"step": "resolve", "reply": reply})
    assert done.headers["location"] == f"{path}?done=resolved"
    assert "已处理" in qa.get(path).text
    # A settled report takes no more steps.
    assert qa.post(path, {"step": "reject", "reply": "x"}).status_code == 409

    public = platform.client.get(status_url.replace(platform.settings.public_url, "") + "?lang=en")
    assert "Dealt with" in public.text
    assert reply in public.text
    # Nothing private: not the contact, not the photo, not the brand's console.
    for private in ("13800138000", "/photo", "/console", "ip_hash"):
        assert private not in public.text
    assert platform.client.get("/report/status/" + "x" * 43).status_code == 404
    assert platform.client.get(f"/report/status/{report_id}").status_code == 404
    assert [a for _, a, _ in _audit(platform, "report.")] == [
        "report.investigating",
        "report.resolved",
    ]


def test_the_report_api_workflow(platform: Platform, acme: Tenant) -> None:
    client = platform.client
    codes = brand_with_codes(platform, acme, 1)
    report_id = file_report(platform, codes[0], photo=False)["id"]
    regulator = platform.org("监管", Role.REGULATOR)
    assert client.get(f"/api/v1/reports/{report_id}", headers=regulator.auth).status_code == 200
    reader = client.post(f"/api/v1/reports/{report_id}/investigate", headers=regulator.auth)
    assert reader.status_code == 403
    early = client.post(
        f"/api/v1/reports/{report_id}/resolve", json={"reply": "ok"}, headers=acme.auth
    )
    assert early.status_code == 409
    replied = client.put(
        f"/api/v1/reports/{report_id}/reply", json={"reply": "已收到，正在核实"}, headers=acme.auth
    )
    assert replied.status_code == 200
    assert replied.json()["state"] == "new"
    # The reply written before counts: rejecting needs no new one.
    rejected = client.post(f"/api/v1/reports/{report_id}/reject", headers=acme.auth)
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["state"], rejected.json()["reply"]) == ("rejected", "已收到，正在核实")
    listed = client.get("/api/v1/reports?state=rejected", headers=acme.auth).json()
    assert [r["id"] for r in listed] == [report_id]
    rival = platform.org("Rival")
    assert (
        client.post(f"/api/v1/reports/{report_id}/investigate", headers=rival.auth).status_code
        == 404
    )
    assert [a for _, a, _ in _audit(platform, "report.")] == ["report.reply", "report.rejected"]


def test_the_receipt_after_reporting_on_the_verify_page_links_to_the_status_page(
    platform: Platform, acme: Tenant
) -> None:
    codes = brand_with_codes(platform, acme, 1)
    thanks = platform.client.post(
        "/report",
        data={"code": codes[0], "description": "瓶身标签歪斜"},
        headers={"accept": "text/html"},
    )
    assert thanks.status_code == 200
    found = re.search(r'id="status-link" href="(/report/status/[^"?]+)', thanks.text)
    assert found, thanks.text
    assert thanks.headers["cache-control"] == "no-store"
    status = platform.client.get(found.group(1))
    assert status.status_code == 200
    assert "品牌方答复" in status.text


# Recalls --------------------------------------------------------------------------------


def test_a_recall_is_started_reached_and_ended_from_the_console(
    platform: Platform, acme: Tenant, qa: Browser
) -> None:
    brand_with_codes(platform, acme, 2)
    assert 'id="empty"' in qa.get("/console/recalls").text
    form = qa.get("/console/recalls/new")
    assert "09506000990019" in form.text
    missing = qa.post("/console/recalls/new", {"gtin": "09506000990019", "lot": "W2026-12A"})
    assert missing.status_code == 422
    assert "召回需要填写原因和消费者处理办法" in missing.text
    nolot = qa.post(
        "/console/recalls/new",
        {"gtin": "09506000990019", "lot": "NOPE", "reason": "r", "instructions": "i"},
    )
    assert nolot.status_code == 404 or nolot.status_code == 422
    assert "该产品没有批号 NOPE" in nolot.text
    started = qa.post(
        "/console/recalls/new",
        {
            "gtin": "09506000990019",
            "lot": "W2026-12A",
            "reason": "压力表失准",
            "instructions": "停止使用，联系客服更换",
        },
    )
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    recall_id = int(re.search(r"/console/recalls/(\d+)", location).group(1))  # type: ignore[union-attr]
    page = qa.get(location)
    assert 'id="done"' in page.text
    assert "压力表失准" in page.text
    assert f'href="/console/recalls/{recall_id}/reach.csv"' in page.text
    csv = qa.get(f"/console/recalls/{recall_id}/reach.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("\ufeffstatus,gln,place,organization,quantity,since")
    again = qa.post(
        "/console/recalls/new",
        {"gtin": "09506000990019", "lot": "W2026-12A", "reason": "r", "instructions": "i"},
    )
    assert again.status_code == 422
    assert "该批次已在召回中" in again.text
    assert qa.post(f"/console/recalls/{recall_id}/end", page="/console").status_code == 303
    assert "已结束" in qa.get(f"/console/recalls/{recall_id}").text
    assert qa.post(f"/console/recalls/{recall_id}/end", page="/console").status_code == 409
    assert [a for _, a, _ in _audit(platform, "recall.")] == ["recall.start", "recall.end"]
    assert f"/console/recalls/{recall_id}" in qa.get("/console/recalls?ended=yes").text


def test_a_brand_cannot_end_a_recall_a_regulator_ordered(
    platform: Platform, acme: Tenant, qa: Browser
) -> None:
    brand_with_codes(platform, acme, 1)
    regulator = platform.org("市场监管局", Role.REGULATOR)
    recall_id = recall(platform, regulator)
    page = qa.get(f"/console/recalls/{recall_id}")
    assert page.status_code == 200
    assert 'id="end-recall"' not in page.text
    refused = qa.post(f"/console/recalls/{recall_id}/end", page=f"/console/recalls/{recall_id}")
    assert refused.status_code == 403
    assert "召回只能由发起方结束" in refused.text
    assert _audit(platform, "recall.") == []
    beta = platform.org("Beta")
    add_person(platform, beta.id, "qa@beta.cn")
    other = Browser(platform)
    other.sign_in("qa@beta.cn")
    assert other.get(f"/console/recalls/{recall_id}").status_code == 404
    assert other.get(f"/console/recalls/{recall_id}/reach.csv").status_code == 404


def test_the_alert_list_pages_by_25_and_keeps_its_filters(
    platform: Platform, acme: Tenant, qa: Browser
) -> None:
    ids = [diversion_alert(platform, acme, distributor_id=None, key=f"p{i}") for i in range(26)]
    first = qa.get("/console/alerts?state=open&kind=diversion")
    shown = [int(i) for i in re.findall(r'href="/console/alerts/(\d+)"', first.text)]
    assert shown == ids[::-1][:25]
    older = re.search(r'id="older" href="([^"]+)"|href="([^"]+)" id="older"', first.text)
    assert older is not None
    link = (older.group(1) or older.group(2)).replace("&amp;", "&")
    assert "state=open" in link
    assert "kind=diversion" in link
    second = qa.get(link)
    assert [int(i) for i in re.findall(r'href="/console/alerts/(\d+)"', second.text)] == [ids[0]]
    assert 'id="first-page"' in second.text
    # A filter nobody matches says so; a made-up state is ignored, not an error.
    assert "没有符合条件的警报" in qa.get("/console/alerts?kind=clone").text
    assert qa.get("/console/alerts?state=whatever").status_code == 200
