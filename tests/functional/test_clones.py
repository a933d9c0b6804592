"""Clone detection: impossible travel, many devices, sequential bursts; the answer turns
suspicious with reasons, one clone alert per code; alerts are scoped to their tenant."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import REDIS, REDIS_URL, Platform, Tenant, add_batch, add_product
from tests.functional.conftest import GTIN, LOT, issue
from tests.functional.test_diversion import alerts, register, scan
from traceseal.config import Settings
from traceseal.counters import RateWindow
from traceseal.db import unit_of_work
from traceseal.orgs.models import Role


def test_impossible_travel_makes_the_answer_suspicious_and_raises_one_clone_alert(
    platform: Platform, acme: Tenant
) -> None:
    code = issue(platform, acme, 1)[0]
    assert scan(platform, code, "440305", device="a" * 20)["verdict"] == "genuine"
    # Seconds later, 1,900 km away: two labels with one code.
    answer = scan(platform, code, "110105", device="b" * 20)
    assert answer["verdict"] == "suspicious"
    assert answer["reasons"] == ["impossible_travel"]
    assert "不足以往返" in answer["message"]
    english = platform.client.post(
        "/api/v1/verify",
        json={"code": code, "region": "440305"},
        headers={"Accept-Language": "en"},
    ).json()
    assert english["verdict"] == "suspicious"
    assert "too far apart" in english["message"]
    [alert] = alerts(platform, acme, kind="clone")
    assert alert["code"] == code
    assert alert["details"]["signals"] == ["impossible_travel"]
    assert alert["details"]["score"] == 60
    # Later scans stay suspicious only while a signal fires; the alert is not repeated.
    scan(platform, code, "440305", device="c" * 20)
    assert len(alerts(platform, acme, kind="clone")) == 1


def test_nearby_scans_are_not_travel(platform: Platform, acme: Tenant) -> None:
    code = issue(platform, acme, 1)[0]
    scan(platform, code, "440305", device="a" * 20)
    # Nanshan to Futian, Shenzhen: a short ride.
    assert scan(platform, code, "440304", device="b" * 20)["verdict"] == "genuine_repeat"
    assert alerts(platform, acme) == []


def test_many_devices_make_a_code_suspicious(platform: Platform, acme: Tenant) -> None:
    code = issue(platform, acme, 1)[0]
    verdicts = [scan(platform, code, "440305", device=f"{i}" * 20)["verdict"] for i in range(1, 6)]
    # The default limit is five devices: the fifth distinct one tips it.
    assert verdicts == ["genuine"] + ["genuine_repeat"] * 3 + ["suspicious"]
    [alert] = alerts(platform, acme, kind="clone")
    assert alert["details"]["signals"] == ["many_devices"]
    assert alert["details"]["devices"] == 5


def test_a_client_querying_runs_of_consecutive_codes_for_the_first_time_is_a_burst(
    platform: Platform, acme: Tenant
) -> None:
    # The test settings keep the default burst threshold (20 first queries in a block).
    codes = issue(platform, acme, 25)
    answers = [scan(platform, code, "440305", device="z" * 20) for code in codes[:21]]
    assert [a["verdict"] for a in answers[:19]] == ["genuine"] * 19
    [burst] = alerts(platform, acme, kind="sequential_burst")
    assert burst["details"]["count"] == 20
    # The signal alone (30 points) stays under the threshold (50): still genuine.
    assert answers[20]["verdict"] == "genuine"


def test_alerts_are_scoped_to_their_tenant_and_acknowledged_by_it(
    platform: Platform, acme: Tenant
) -> None:
    code = issue(platform, acme, 1)[0]
    scan(platform, code, "440305", device="a" * 20)
    scan(platform, code, "110105", device="b" * 20)
    [alert] = alerts(platform, acme, kind="clone")

    other = platform.org("Another brand")
    regulator = platform.org("市场监管局", Role.REGULATOR)
    distributor = register(platform, acme, "华南经销有限公司", [], ["440000"])
    as_distributor = Tenant(distributor["organization_id"], "d", distributor["api_key"])
    assert alerts(platform, other) == []
    assert [a["id"] for a in alerts(platform, regulator)] == [alert["id"]]
    assert [a["id"] for a in alerts(platform, platform.operator)] == [alert["id"]]
    # A distributor sees the alerts naming it; this one names none.
    assert alerts(platform, as_distributor) == []
    assert (
        platform.client.post(
            f"/api/v1/alerts/{alert['id']}/acknowledge", headers=other.auth
        ).status_code
        == 404
    )
    # A regulator reads the alert but does not act on it.
    by_regulator = platform.client.post(
        f"/api/v1/alerts/{alert['id']}/acknowledge", headers=regulator.auth
    )
    assert by_regulator.status_code == 403
    response = platform.client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers=acme.auth)
    assert response.status_code == 200
    assert response.json()["acknowledged_at"] is not None
    assert alerts(platform, acme, unacknowledged="true") == []
    # Acknowledged closes it: the copy seen again opens a new alert.
    scan(platform, code, "440305", device="c" * 20)
    reopened = alerts(platform, acme, unacknowledged="true")
    assert [(a["kind"], a["code"]) for a in reopened] == [("clone", code)]
    assert reopened[0]["id"] != alert["id"]
    summary = platform.client.get("/api/v1/alerts/summary", headers=other.auth).json()
    assert summary == {"by_region": [], "by_province": [], "by_distributor": []}


def test_a_code_under_an_open_clone_alert_is_never_simply_genuine(
    platform: Platform, acme: Tenant
) -> None:
    code = issue(platform, acme, 1)[0]
    scan(platform, code, "440305", device="a" * 20)
    scan(platform, code, "110105", device="b" * 20)
    [alert] = alerts(platform, acme, kind="clone")
    # The same phone in the same place again: nothing new fires, but the alert is open.
    again = scan(platform, code, "110105", device="b" * 20)
    assert again["verdict"] == "suspicious"
    assert again["reasons"] == ["under_investigation"]
    assert "品牌方正在调查" in again["message"]
    page = platform.client.get(
        f"/v/{code}", headers={"Accept": "text/html", "Accept-Language": "zh-CN"}
    )
    assert 'data-verdict="suspicious"' in page.text
    assert "品牌方正在调查" in page.text
    # Once the brand closes it, the code answers as its history says.
    platform.client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers=acme.auth)
    closed = scan(platform, code, "110105", device="b" * 20)
    assert closed["verdict"] == "genuine_repeat"


@REDIS
def test_with_redis_the_burst_is_counted_there_not_in_the_database(migrated: Settings) -> None:
    platform = Platform(migrated.replace(redis_url=REDIS_URL))
    try:
        acme = platform.org("安盾消防科技有限公司")
        add_product(platform, acme, GTIN)
        add_batch(platform, acme, GTIN, LOT)
        codes = issue(platform, acme, 21)
        answers = [scan(platform, code, "440305", device="y" * 20) for code in codes]
        assert {a["verdict"] for a in answers} == {"genuine"}
        [burst] = alerts(platform, acme, kind="sequential_burst")
        assert burst["details"]["count"] == 20
        with unit_of_work(platform.session_factory) as session:
            kept = session.scalars(select(RateWindow.key)).all()
        assert not [key for key in kept if key.startswith("seq:")]
    finally:
        platform.close()
