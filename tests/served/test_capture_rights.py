"""Who may capture what, against a served instance: a rival brand's key cannot write another
brand's journey (JSON-LD, EPCIS 1.2 XML, or a large document prepared by the capture worker
processes), and a brand's distributor moves its goods but never makes or destroys them.

The forged event in these tests is the one that would hurt: the rival "receives" the brand's
item at the warehouse of the brand's northern distributor. Stored, it would move the item's
custody north, and the southern distributor's ordinary check in Shenzhen would become a
diversion alert and the item's answer *suspicious*."""

from __future__ import annotations

from typing import Any

import pytest

from tests.served.conftest import (
    Brand,
    Partner,
    Served,
    digital_link,
    fresh_gln,
    sgln,
    sgtin,
)
from traceseal.epcis.vocab import CONTEXT_URL
from traceseal.orgs.models import Role

FACTORY = sgln(fresh_gln())
#: An SSCC of a company no brand here is: anyone may record it (pallets are not products).
PALLET = "urn:epc:id:sscc:0614141.{:010d}"


def event(step: str, items: list[str], day: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": f"2026-11-{day:02d}T08:00:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": items,
        "action": "ADD" if step == "commissioning" else "OBSERVE",
        "bizStep": step,
        **extra,
    }


def document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": [CONTEXT_URL],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-01T00:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def xml12(item: str, step: str, location: str) -> bytes:
    """One ObjectEvent in the EPCIS 1.2 XML binding, as older systems send it."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" schemaVersion="1.2"
    creationDate="2026-11-03T00:00:00Z">
  <EPCISBody><EventList><ObjectEvent>
    <eventTime>2026-11-03T08:00:00Z</eventTime>
    <eventTimeZoneOffset>+08:00</eventTimeZoneOffset>
    <epcList><epc>{item}</epc></epcList>
    <action>OBSERVE</action>
    <bizStep>urn:epcglobal:cbv:bizstep:{step}</bizStep>
    <bizLocation><id>{location}</id></bizLocation>
  </ObjectEvent></EventList></EPCISBody>
</epcis:EPCISDocument>""".encode()


def refused(response: Any, named: str, index: int = 0) -> None:
    """A 403 SecurityException at event ``index`` that names ``named`` and nobody else."""
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["type"] == "epcisException:SecurityException"
    assert problem["eventIndex"] == index
    assert named in problem["detail"]
    assert "nothing was captured" in problem["detail"]


class Shipped:
    """A brand's item made and shipped to its southern distributor (Guangdong), and a
    northern distributor (Beijing) of the same brand the forgers will point at."""

    def __init__(self, served: Served) -> None:
        self.brand: Brand = served.brand()
        self.south_gln, self.north_gln = fresh_gln(), fresh_gln()
        self.south: Partner = served.distributor(
            self.brand, glns=[self.south_gln], territory=["440000"]
        )
        self.north: Partner = served.distributor(
            self.brand, glns=[self.north_gln], territory=["110000"]
        )
        self.code = served.issue(self.brand, 1)[0]
        self.item = sgtin(self.brand.gtin, self.code)
        made = document(
            event("commissioning", [self.item], bizLocation={"id": FACTORY}),
            event(
                "shipping",
                [self.item],
                day=2,
                destinationList=[{"type": "location", "destination": sgln(self.south_gln)}],
            ),
        )
        response = served.capture(self.brand, made)
        assert response.status_code == 202, response.text

    def forged(self) -> dict[str, Any]:
        """The item "received" at the northern warehouse, the day after it shipped south."""
        return event("receiving", [self.item], day=3, bizLocation={"id": sgln(self.north_gln)})


@pytest.fixture
def shipped(served: Served) -> Shipped:
    return Shipped(served)


def test_a_rival_brand_cannot_write_another_brands_journey(
    served: Served, shipped: Shipped
) -> None:
    trace = served.call("GET", f"/api/v1/trace/{shipped.code}", shipped.brand.key)
    assert trace.status_code == 200, trace.text
    assert [e["bizStep"] for e in trace.json()["events"]] == ["commissioning", "shipping"]
    rival = served.brand("Rival")
    named = digital_link(shipped.brand.gtin, shipped.code)

    refused(served.capture(rival, document(shipped.forged())), named)
    xml = xml12(shipped.item, "receiving", sgln(shipped.north_gln))
    refused(served.capture(rival, xml, "application/xml"), named)
    # One foreign event refuses the whole document, at its own index.
    pallet = event("receiving", [PALLET.format(1)], bizLocation={"id": sgln(shipped.north_gln)})
    refused(served.capture(rival, document(pallet, shipped.forged())), named, index=1)
    # A refusal names the identifier, never the brand that owns it.
    problem = served.capture(rival, document(shipped.forged())).json()
    assert shipped.brand.name not in problem["detail"]

    # Nothing changed: the brand's trace, the rival's own repository, the consumer's journey.
    assert served.call("GET", f"/api/v1/trace/{shipped.code}", shipped.brand.key).json() == (
        trace.json()
    )
    mine = served.call("GET", "/epcis/events", rival.key)
    assert mine.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []
    # The southern distributor checks the item in Shenzhen: in its territory, so genuine and
    # no alert (custody is still the south's).
    checked = served.verify(shipped.code, key=shipped.south.key, region="440305")
    assert checked["verdict"] == "genuine"
    assert [step["step"] for step in checked["journey"]] == ["commissioning", "shipping"]
    assert served.alerts(shipped.brand) == []
    buyer = served.verify(shipped.code, device="b" * 20, region="440305")
    assert (buyer["verdict"], buyer["scan_count"]) == ("genuine", 1)
    page = served.page(shipped.code, device="c" * 20)
    assert 'data-verdict="genuine_repeat"' in page
    assert shipped.south.name in page  # shipped to the south, by its registered name
    assert shipped.north.name not in page  # never "received in the north"


def test_a_large_document_prepared_by_the_capture_workers_is_refused_whole(
    served: Served, shipped: Shipped
) -> None:
    # 600 events (past PARALLEL_FROM): chunks are prepared in the server's worker processes
    # and stored as they come, so the refusal of the last one must roll back the others.
    rival = served.brand("Rival")
    events = [
        event("receiving", [PALLET.format(n)], bizLocation={"id": FACTORY}) for n in range(599)
    ]
    response = served.capture(rival, document(*events, shipped.forged()))
    refused(response, digital_link(shipped.brand.gtin, shipped.code), index=599)
    mine = served.call("GET", "/epcis/events", rival.key)
    assert mine.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []
    trace = served.call("GET", f"/api/v1/trace/{shipped.code}", shipped.brand.key).json()
    assert [e["bizStep"] for e in trace["events"]] == ["commissioning", "shipping"]
    # Without the forged event, the same document is the rival's to record.
    assert served.capture(rival, document(*events)).status_code == 202


@pytest.mark.parametrize("step", ["commissioning", "destroying"])
def test_a_distributor_moves_the_brands_goods_but_never_makes_or_destroys_them(
    served: Served, shipped: Shipped, step: str
) -> None:
    south = shipped.south
    named = digital_link(shipped.brand.gtin, shipped.code)
    # Its own steps: receiving at its warehouse, then shipping on to a shop.
    received = event(
        "receiving", [shipped.item], day=4, bizLocation={"id": sgln(shipped.south_gln)}
    )
    assert served.capture(south, document(received)).status_code == 202
    shop = {"type": "location", "destination": sgln(fresh_gln())}
    onward = event("shipping", [shipped.item], day=5, destinationList=[shop])
    xml = xml12(shipped.item, "shipping", sgln(shipped.south_gln))
    assert served.capture(south, document(onward)).status_code == 202
    assert served.capture(south, xml, "application/xml").status_code == 202
    trace = served.call("GET", f"/api/v1/trace/{shipped.code}", shipped.brand.key).json()
    assert len(trace["events"]) == 5
    # Not its steps: the brand's own.
    response = served.capture(south, document(event(step, [shipped.item], day=6)))
    refused(response, named)
    assert "a partner records only" in response.json()["detail"]
    refused(served.capture(south, xml12(shipped.item, step, FACTORY), "application/xml"), named)
    after = served.call("GET", f"/api/v1/trace/{shipped.code}", shipped.brand.key).json()
    assert after == trace
    # A distributor no brand registered may not even move the brand's goods.
    stranger = served.org("散户物流", Role.DISTRIBUTOR)
    refused(served.capture(stranger, document(received)), named)
