"""Packing lines (``POST /api/v1/aggregations``, ``traceseal epcis pack --csv``) and the
scanning page's submissions (``POST /api/v1/scan/submissions``), over HTTP and the real CLI
on a real database: the events they capture, who may, and replays that capture nothing."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from sqlalchemy import func, select

from tests.conftest import Platform, Tenant, add_product
from tests.functional.conftest import GTIN, issue
from tests.functional.test_cli import Cli
from traceseal.crypto import damm
from traceseal.db import unit_of_work, utcnow
from traceseal.epcis.gs1keys import check_digit
from traceseal.epcis.models import Event
from traceseal.ledger.models import LedgerLeaf
from traceseal.logistics import scanning
from traceseal.logistics.models import ScanSubmission
from traceseal.logistics.scanning import Action, Submission
from traceseal.orgs.models import Organization, Role


def sscc(serial: int) -> str:
    body = f"19506000{serial:09d}"
    return body + check_digit(body)


def gln(location: int) -> str:
    body = f"9506000{location:05d}"
    return body + check_digit(body)


def typo(code: str) -> str:
    """The code with its last digit misread: the check digit catches every such typo."""
    return code[:-1] + str((int(code[-1]) + 1) % 10)


def counts(platform: Platform) -> tuple[int, int]:
    with unit_of_work(platform.session_factory) as session:
        events = session.scalar(select(func.count()).select_from(Event))
        leaves = session.scalar(select(func.count()).select_from(LedgerLeaf))
    assert events is not None
    assert leaves is not None
    return events, leaves


def events_of(platform: Platform, tenant: Tenant, epc: str) -> list[dict]:
    response = platform.client.get(f"/epcis/epcs/{epc}/events", headers=tenant.auth)
    assert response.status_code == 200, response.text
    return response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def test_a_packing_line_file_packs_items_into_cases_one_event_per_parent(
    platform: Platform, acme: Tenant
) -> None:
    codes = issue(platform, acme, 6)
    base = platform.settings.public_url
    first, second = sscc(1), sscc(2)
    # What a line scanner writes: the case label as printed, the item's QR URL or its digits.
    rows = [
        {"parent": f"(00){first}", "child": f"{base}/01/{GTIN}/21/{codes[0]}"},
        {"parent": f"(00){first}", "child": codes[1]},
        {"parent": second, "child": f"{base}/01/{GTIN}/21/{codes[2]}"},
        {"parent": f"(00){first}", "child": codes[1]},  # read twice: one child
    ]
    before = counts(platform)
    response = platform.client.post(
        "/api/v1/aggregations", json={"rows": rows, "location": None}, headers=acme.auth
    )
    assert response.status_code == 201, response.text
    body = response.json()
    case = f"https://id.gs1.org/00/{first}"
    assert [(e["parent"], e["children"]) for e in body["events"]] == [
        (case, 2),
        (f"https://id.gs1.org/00/{second}", 1),
    ]
    # One event and one log leaf per parent, through the capture service.
    events, leaves = counts(platform)
    assert (events - before[0], leaves - before[1]) == (2, 2)
    stored = events_of(platform, acme, case)
    assert len(stored) == 1
    assert stored[0]["type"] == "AggregationEvent"
    assert stored[0]["action"] == "ADD"
    assert stored[0]["bizStep"] in ("packing", "https://ref.gs1.org/cbv/BizStep-packing")
    assert stored[0]["childEPCs"] == [
        f"https://id.gs1.org/01/{GTIN}/21/{codes[0]}",
        f"https://id.gs1.org/01/{GTIN}/21/{codes[1]}",
    ]
    # The item's trace now runs through its case.
    trace = platform.client.get(f"/api/v1/trace/{codes[0]}", headers=acme.auth).json()
    assert trace["parent"] == case

    # CSV, as the line writes it, with a site: the same events' shape.
    csv_body = f"parent,child\n{sscc(3)},{codes[3]}\n{sscc(3)},{codes[4]}\n"
    response = platform.client.post(
        f"/api/v1/aggregations?location={gln(1)}",
        content=csv_body.encode(),
        headers={**acme.auth, "Content-Type": "text/csv"},
    )
    assert response.status_code == 201, response.text
    stored = events_of(platform, acme, f"https://id.gs1.org/00/{sscc(3)}")
    assert stored[0]["bizLocation"]["id"] == f"https://id.gs1.org/414/{gln(1)}"


def test_bad_rows_and_strangers_capture_nothing(platform: Platform, acme: Tenant) -> None:
    codes = issue(platform, acme, 3)
    before = counts(platform)
    bad_rows = [
        # A mistyped last digit is a typo, named by its row, and nothing is captured.
        [{"parent": sscc(1), "child": codes[0]}, {"parent": sscc(1), "child": typo(codes[1])}],
        # A parent must be a case or pallet.
        [{"parent": codes[0], "child": codes[1]}],
        # A check digit that fails.
        [{"parent": typo(sscc(1)), "child": codes[0]}],
        # One child in two cases.
        [{"parent": sscc(1), "child": codes[0]}, {"parent": sscc(2), "child": codes[0]}],
    ]
    for rows in bad_rows:
        response = platform.client.post(
            "/api/v1/aggregations", json={"rows": rows}, headers=acme.auth
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    for payload, kind in (
        (b"parent,child\nonly-one-column\n", "text/csv"),
        (b"\xff\xfe", "text/csv"),
        (b"{not json", "application/json"),
        (b'{"rows": []}', "application/json"),
    ):
        response = platform.client.post(
            "/api/v1/aggregations", content=payload, headers={**acme.auth, "Content-Type": kind}
        )
        assert response.status_code == 422, response.text
    # Another brand may not pack this brand's goods: by their QR links, the capture
    # service's rule refuses (403); by their typed digits, the codes are not the rival's
    # to look up, and answer as codes never issued (404).
    rival = platform.org("Rival Brand")
    link = f"https://id.gs1.org/01/{GTIN}/21/{codes[0]}"
    for child, status in ((link, 403), (codes[0], 404)):
        response = platform.client.post(
            "/api/v1/aggregations",
            json={"rows": [{"parent": sscc(4), "child": child}]},
            headers=rival.auth,
        )
        assert response.status_code == status, response.text
    assert counts(platform) == before
    unauthenticated = platform.client.post(
        "/api/v1/aggregations", json={"rows": [{"parent": sscc(4), "child": codes[0]}]}
    )
    assert unauthenticated.status_code == 401


def test_traceseal_epcis_pack_captures_a_csv_file(
    platform: Platform, acme: Tenant, tmp_path: Path
) -> None:
    codes = issue(platform, acme, 4)
    rows = "\n".join(f"(00){sscc(7 + i // 2)},{code}" for i, code in enumerate(codes))
    file = tmp_path / "line.csv"
    file.write_text("parent,child\n" + rows + "\n", encoding="utf-8")
    cli = Cli(platform.settings.data_dir, platform.settings.resolved_database_url)
    cli.env["TRACESEAL_MASTER_KEY"] = platform.settings.master_key or ""
    before = counts(platform)
    result = cli.json("epcis", "pack", "--csv", str(file), "--org", acme.name)
    assert [e["children"] for e in result["events"]] == [2, 2]
    assert counts(platform)[0] == before[0] + 2
    for number in (7, 8):
        stored = events_of(platform, acme, f"https://id.gs1.org/00/{sscc(number)}")
        assert stored[0]["type"] == "AggregationEvent"
    # A bad file: exit 1 with the reason, nothing captured.
    file.write_text("parent,child\n" + f"{sscc(9)},12345\n", encoding="utf-8")
    failed = cli.run("epcis", "pack", "--csv", str(file), "--org", acme.name, ok=False)
    assert failed.returncode == 1
    assert "row 1" in failed.stderr
    assert counts(platform)[0] == before[0] + 2
    # Another brand's goods, packed by a rival brand: refused by the capture service.
    rival = platform.org("Rival Brand")
    file.write_text(f"{sscc(9)},https://id.gs1.org/01/{GTIN}/21/{codes[0]}\n", encoding="utf-8")
    failed = cli.run("epcis", "pack", "--csv", str(file), "--org", rival.name, ok=False)
    assert failed.returncode == 1
    assert "may not record" in failed.stderr


def _distributor(platform: Platform, brand: Tenant, name: str, site: str) -> Tenant:
    response = platform.client.post(
        "/api/v1/distributors", json={"name": name, "glns": [site]}, headers=brand.auth
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Tenant(body["organization_id"], name, body["api_key"])


def test_a_submission_sent_twice_answers_the_first_result_and_captures_nothing(
    platform: Platform, acme: Tenant
) -> None:
    codes = issue(platform, acme, 3)
    dealer = _distributor(platform, acme, "华南安盾经销有限公司", gln(10))
    submission = {
        "submission_id": str(uuid.uuid4()),
        "action": "ship",
        "location": gln(10),
        "destination": gln(20),
        "scans": [f"{platform.settings.public_url}/01/{GTIN}/21/{codes[0]}", codes[1]],
        "scanned_at": "2026-12-01T09:30:00+08:00",
    }
    context = platform.client.get("/api/v1/scan/context", headers=dealer.auth).json()
    assert context["locations"] == [{"gln": gln(10), "name": dealer.name}]
    first = platform.client.post("/api/v1/scan/submissions", json=submission, headers=dealer.auth)
    assert first.status_code == 201, first.text
    result = first.json()
    assert result["replayed"] is False
    assert [s["name"] for s in result["scans"]] == ["Extinguisher 4kg"] * 2
    after_first = counts(platform)
    # The phone lost the answer and sends its queue again: same answer, nothing new.
    again = platform.client.post("/api/v1/scan/submissions", json=submission, headers=dealer.auth)
    assert again.status_code == 200, again.text
    assert {**again.json(), "replayed": False} == result
    assert again.json()["replayed"] is True
    assert counts(platform) == after_first
    # Even with different content under the same id (a confused client): the first stands.
    changed = {**submission, "scans": [codes[2]]}
    replay = platform.client.post("/api/v1/scan/submissions", json=changed, headers=dealer.auth)
    assert replay.status_code == 200
    assert replay.json()["event_ids"] == result["event_ids"]
    assert counts(platform) == after_first

    (event,) = events_of(platform, acme, f"https://id.gs1.org/01/{GTIN}/21/{codes[0]}")
    assert event["type"] == "ObjectEvent"
    assert event["action"] == "OBSERVE"
    assert event["bizStep"] in ("shipping", "https://ref.gs1.org/cbv/BizStep-shipping")
    assert event["disposition"] in ("in_transit", "https://ref.gs1.org/cbv/Disp-in_transit")
    assert event["readPoint"]["id"] == f"https://id.gs1.org/414/{gln(10)}"
    assert event["sourceList"][0]["source"] == f"https://id.gs1.org/414/{gln(10)}"
    assert event["destinationList"][0]["destination"] == f"https://id.gs1.org/414/{gln(20)}"
    assert event["eventTime"].startswith("2026-12-01T01:30:00")
    assert event["eventTimeZoneOffset"] == "+08:00"

    # The same id from another organisation is its own submission.
    other = _distributor(platform, acme, "华东安盾经销有限公司", gln(11))
    theirs = {**submission, "location": gln(11)}
    response = platform.client.post("/api/v1/scan/submissions", json=theirs, headers=other.auth)
    assert response.status_code == 201, response.text
    with unit_of_work(platform.session_factory) as session:
        assert session.scalar(select(func.count()).select_from(ScanSubmission)) == 2


def test_submissions_check_the_site_the_labels_and_the_action(
    platform: Platform, acme: Tenant
) -> None:
    codes = issue(platform, acme, 3)
    dealer = _distributor(platform, acme, "华南安盾经销有限公司", gln(10))
    before = counts(platform)

    def send(**changes: object) -> int:
        body = {
            "submission_id": str(uuid.uuid4()),
            "action": "receive",
            "location": gln(10),
            "scans": [codes[0]],
            **changes,
        }
        response = platform.client.post("/api/v1/scan/submissions", json=body, headers=dealer.auth)
        return response.status_code

    assert send(location=gln(99)) == 404  # another party's site answers like an unknown one
    assert send(location="123") == 422
    assert send(scans=["hello"]) == 422
    assert send(scans=[typo(codes[0])]) == 422
    assert send(action="ship") == 422  # no destination
    assert send(action="pack_case") == 422  # no parent
    assert send(action="pack_case", parent=codes[1]) == 422  # an item is no case
    assert send(action="pack_pallet", parent=sscc(5)) == 422  # items are no cases
    assert send(scanned_at="2099-01-01T00:00:00Z") == 422
    assert send(submission_id="short") == 422
    assert counts(platform) == before
    assert send(action="pack_case", parent=f"(00){sscc(5)}", scans=codes[:2]) == 201
    assert send(action="pack_pallet", parent=sscc(6), scans=[f"(00){sscc(5)}"]) == 201
    assert send(action="return", scans=[codes[2]], destination=gln(1)) == 201
    assert counts(platform)[0] == before[0] + 3
    # A product nobody registered the dealer for: refused by the capture rules.
    rival = platform.org("Rival Brand")
    add_product(platform, rival, "09506000134369")
    assert send(scans=["https://id.gs1.org/01/09506000134369/21/ABC1"]) == 403
    # Typed codes are looked up only for their brand and its partners: another brand learns
    # nothing of whether a code exists (the answer of a code never issued), and a lab may
    # not use the scanning API at all.
    never = "999" + "0" * 16
    never += str(damm.check_digit(never))
    for code in (codes[0], never):
        answer = platform.client.post(
            "/api/v1/scan/lookup", json={"code": code}, headers=rival.auth
        )
        assert answer.status_code == 404
        assert answer.json()["detail"] == f"no code {code}"
    lab = platform.org("Fire Lab", Role.LAB)
    assert (
        platform.client.post(
            "/api/v1/scan/lookup", json={"code": codes[0]}, headers=lab.auth
        ).status_code
        == 403
    )
    # Lookup: a scan's confirmation with the product's name.
    found = platform.client.post(
        "/api/v1/scan/lookup", json={"code": codes[0]}, headers=dealer.auth
    ).json()
    assert found["name"] == "Extinguisher 4kg"
    assert found["kind"] == "item"
    unit = platform.client.post(
        "/api/v1/scan/lookup", json={"code": f"]C100{sscc(5)}"}, headers=dealer.auth
    ).json()
    # Every way a scanner or a person gives a case's SSCC names the same unit.
    wide = f"（００）{sscc(5)}".translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    forms = (f"00{sscc(5)}", f"(00) {sscc(5)}", sscc(5), f"https://x.example/00/{sscc(5)}", wide)
    for form in forms:
        same = platform.client.post("/api/v1/scan/lookup", json={"code": form}, headers=dealer.auth)
        assert same.json() == unit, form
    assert unit == {
        "epc": f"https://id.gs1.org/00/{sscc(5)}",
        "kind": "unit",
        "gtin": None,
        "name": None,
        "serial": sscc(5),
    }


def test_two_arrivals_of_one_submission_at_once_capture_it_once(
    platform: Platform, acme: Tenant
) -> None:
    """A phone that sends its queue twice at once (two tabs, a retry racing the first try):
    one arrival captures, the other waits for it and answers its result."""
    codes = issue(platform, acme, 2)
    dealer = _distributor(platform, acme, "华南安盾经销有限公司", gln(10))
    with unit_of_work(platform.session_factory) as session:
        org = session.get(Organization, dealer.id)
        assert org is not None
        session.expunge(org)
    submission = Submission(
        submission_id=str(uuid.uuid4()),
        action=Action.RECEIVE,
        location=gln(10),
        scans=codes,
    )
    keyring = platform.app.state.keyring
    before = counts(platform)
    start = threading.Barrier(2)
    answers: list[tuple[dict, bool]] = []

    def arrive() -> None:
        start.wait()
        with unit_of_work(platform.session_factory) as session:
            answers.append(scanning.submit(session, keyring, org, submission, utcnow()))

    threads = [threading.Thread(target=arrive) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(replayed for _, replayed in answers) == [False, True]
    assert answers[0][0] == answers[1][0]
    assert counts(platform) == (before[0] + 1, before[1] + 1)
