"""Alerts and the answers they change, against a served instance: the subject of a diversion
alert reads it but may not close it; a code under an open critical alert is never simply
genuine until the brand closes it; a shop's check is logged but never uses up the buyer's
first query, and only the brand's own distributors give trade evidence."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from tests.served.conftest import Brand, Partner, Served, fresh_gln, sgln, sgtin
from traceseal.epcis.vocab import CONTEXT_URL
from traceseal.orgs.models import Role
from traceseal.verify.models import Scan

SHENZHEN, BEIJING = "440305", "110105"
INVESTIGATING = {
    "zh-CN": "品牌方正在调查这个防伪码",
    "en": "The brand is investigating this code",
}


@dataclass
class Diverted:
    """Codes of a brand shipped to its southern distributor (territory: Guangdong)."""

    brand: Brand
    south: Partner
    codes: list[str]


@pytest.fixture
def shipped(served: Served) -> Diverted:
    brand = served.brand()
    depot = fresh_gln()
    south = served.distributor(brand, glns=[depot], territory=["440000"])
    codes = served.issue(brand, 3)
    items = [sgtin(brand.gtin, code) for code in codes]
    shipping = {
        "type": "ObjectEvent",
        "eventTime": "2026-11-02T08:00:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": items,
        "action": "OBSERVE",
        "bizStep": "shipping",
        "destinationList": [{"type": "location", "destination": sgln(depot)}],
    }
    document = {
        "@context": [CONTEXT_URL],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-02T00:00:00Z",
        "epcisBody": {"eventList": [shipping]},
    }
    response = served.capture(brand, document)
    assert response.status_code == 202, response.text
    return Diverted(brand, south, codes)


def divert(served: Served, shipped: Diverted, code: str) -> dict:
    """The southern distributor's own scanner checks ``code`` in Beijing: a critical
    diversion alert about that distributor."""
    served.verify(code, key=shipped.south.key, region=BEIJING)
    [alert] = served.alerts(shipped.brand, kind="diversion", code=code)
    assert (alert["severity"], alert["distributor_id"]) == (
        "critical",
        shipped.south.distributor_id,
    )
    assert alert["acknowledged_at"] is None
    return alert


def acknowledge(served: Served, key: str, alert: dict) -> int:
    return served.call("POST", f"/api/v1/alerts/{alert['id']}/acknowledge", key).status_code


def is_open(served: Served, brand: Brand, alert: dict) -> bool:
    [now] = [a for a in served.alerts(brand) if a["id"] == alert["id"]]
    return now["acknowledged_at"] is None


def test_the_subject_of_an_alert_reads_it_but_never_closes_it(
    served: Served, shipped: Diverted
) -> None:
    alert = divert(served, shipped, shipped.codes[0])
    south = shipped.south
    # The distributor it names sees it, and is refused when it tries to close it.
    assert [a["id"] for a in served.alerts(south)] == [alert["id"]]
    assert acknowledge(served, south.key, alert) == 403
    assert is_open(served, shipped.brand, alert)
    # The brand's other distributor and a rival brand do not see it: as if it did not exist.
    other = served.distributor(shipped.brand, territory=["110000"])
    rival = served.brand("Rival")
    for stranger in (other, rival):
        assert served.alerts(stranger) == []
        assert acknowledge(served, stranger.key, alert) == 404
    # A regulator reads everything, and acts on nothing.
    regulator = served.org("市场监督管理局", Role.REGULATOR)
    assert alert["id"] in [a["id"] for a in served.alerts(regulator)]
    assert acknowledge(served, regulator.key, alert) == 403
    assert is_open(served, shipped.brand, alert)

    # The brand closes it; the operator may close any brand's.
    assert acknowledge(served, shipped.brand.key, alert) == 200
    assert not is_open(served, shipped.brand, alert)
    second = divert(served, shipped, shipped.codes[1])
    assert acknowledge(served, south.key, second) == 403
    assert acknowledge(served, served.operator.key, second) == 200
    assert not is_open(served, shipped.brand, second)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_code_under_an_open_critical_alert_answers_suspicious_until_the_brand_closes_it(
    served: Served, shipped: Diverted, lang: str
) -> None:
    code = shipped.codes[0]
    # Before: the southern distributor checks it at receipt; a genuine code.
    assert served.verify(code, key=shipped.south.key)["verdict"] == "genuine"
    alert = divert(served, shipped, code)

    # The next buyer, anywhere, by the API and on the page the label's QR code opens.
    answer = served.verify(code, device="b" * 20, lang=lang)
    assert (answer["verdict"], answer["reasons"]) == ("suspicious", ["under_investigation"])
    assert INVESTIGATING[lang] in answer["message"]
    page = served.page(code, device="c" * 20, lang=lang)
    assert 'data-verdict="suspicious"' in page
    assert INVESTIGATING[lang] in page
    # Another code of the same shipment has no alert: genuine.
    assert served.verify(shipped.codes[2], device="d" * 20)["verdict"] == "genuine"
    # Its subject cannot lift it.
    assert acknowledge(served, shipped.south.key, alert) == 403
    assert served.verify(code, device="b" * 20, lang=lang)["verdict"] == "suspicious"

    assert acknowledge(served, shipped.brand.key, alert) == 200
    after = served.verify(code, device="b" * 20, lang=lang)
    assert (after["verdict"], after["reasons"]) == ("genuine_repeat", [])
    assert INVESTIGATING[lang] not in after["message"]
    page = served.page(code, device="c" * 20, lang=lang)
    assert 'data-verdict="genuine_repeat"' in page
    assert INVESTIGATING[lang] not in page


def test_a_code_under_an_open_clone_alert_answers_suspicious_until_it_is_closed(
    served: Served,
) -> None:
    brand = served.brand()
    (code,) = served.issue(brand, 1)
    served.verify(code, device="a" * 20, region=SHENZHEN)
    served.verify(code, device="b" * 20, region=BEIJING)  # minutes later, 2,000 km away
    [alert] = served.alerts(brand, kind="clone")
    # The same phone in the same place again: nothing new fires, but the alert is open.
    again = served.verify(code, device="b" * 20, region=BEIJING)
    assert (again["verdict"], again["reasons"]) == ("suspicious", ["under_investigation"])
    assert acknowledge(served, brand.key, alert) == 200
    assert served.verify(code, device="b" * 20, region=BEIJING)["verdict"] == "genuine_repeat"


def test_a_shops_check_is_logged_but_the_buyer_still_has_the_first_query(
    served: Served, shipped: Diverted
) -> None:
    code = shipped.codes[0]
    checked = served.verify(code, key=shipped.south.key, region=SHENZHEN)
    assert (checked["verdict"], checked["scan_count"]) == ("genuine", 0)
    served.verify(code, key=shipped.brand.key, region=SHENZHEN)  # the brand's own check
    buyer = served.verify(code, device="b" * 20, region=SHENZHEN)
    assert (buyer["verdict"], buyer["scan_count"]) == ("genuine", 1)
    assert "首次查询" in buyer["message"]
    # Logged with the organisation that checked (no route shows the brand its scans yet:
    # read from the database).
    with served.db.connect() as connection:
        logged = connection.execute(
            select(Scan.trade_org_id, Scan.scan_count).where(Scan.code == code).order_by(Scan.id)
        ).all()
    assert [tuple(row) for row in logged] == [
        (shipped.south.id, 0),
        (shipped.brand.id, 0),
        (None, 1),
    ]


def test_only_the_brand_and_its_distributors_give_trade_evidence(
    served: Served, shipped: Diverted
) -> None:
    code = shipped.codes[0]
    # A rival brand, and a distributor the rival registered, check the code in Beijing,
    # outside the territory it was shipped to: one such check by a trusted shop is enough
    # for a critical diversion alert, which would turn the brand's genuine code suspicious.
    rival = served.brand("Rival")
    rivals_shop = served.distributor(rival, territory=["110000"])
    for key in (rival.key, rivals_shop.key):
        answer = served.verify(code, key=key, region=BEIJING)
        assert (answer["verdict"], answer["scan_count"]) == ("genuine", 0)
    assert served.alerts(shipped.brand) == []
    buyer = served.verify(code, device="b" * 20)
    assert (buyer["verdict"], buyer["scan_count"]) == ("genuine", 1)  # nor used the query
    # The same check by the brand's own distributor is evidence.
    served.verify(code, key=shipped.south.key, region=BEIJING)
    [alert] = served.alerts(shipped.brand)
    assert (alert["kind"], alert["details"]["trade_scan"]) == ("diversion", True)
