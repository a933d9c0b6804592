"""Every verdict of ``POST /api/v1/verify``, produced through HTTP on a real database."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import Platform, add_product
from tests.functional.conftest import GTIN, LOT, issue
from traceseal.codes.models import KeySlot
from traceseal.codes.sealcode import SealCode
from traceseal.counters import RateWindow
from traceseal.crypto import damm
from traceseal.db import writer_gate
from traceseal.orgs.models import Role
from traceseal.verify.models import Scan, ScannedCode

OTHER_GTIN = "09506000134369"


def verify(platform: Platform, code: str, **extra: object):
    return platform.client.post("/api/v1/verify", json={"code": code, **extra})


def count_rows(platform: Platform, model: type) -> int:
    with platform.session_factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def typo(code: str) -> str:
    """The code with one digit changed: the Damm check digit catches every such error."""
    digit = (int(code[7]) + 1) % 10
    return code[:7] + str(digit) + code[8:]


def test_first_query_is_genuine_with_product_batch_and_owner(platform: Platform, acme) -> None:
    code = issue(platform, acme, 10)[3]
    response = verify(platform, code, region="440305")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verdict"] == "genuine"
    assert body["scan_count"] == 1
    assert body["code"] == code
    assert body["product"] == {"gtin": GTIN, "name": "Extinguisher 4kg", "brand": ""}
    assert body["batch"]["lot"] == LOT
    assert body["organization"] == {"name": "安盾消防科技有限公司"}
    assert body["first_scan"]["region"] == "440305"
    assert body["reasons"] == []
    assert "正品" in body["message"]  # zh-CN unless the client asks for English


def test_repeat_queries_give_count_and_first_query_then_suspicious_over_limit(
    platform: Platform, acme
) -> None:
    code = issue(platform, acme, 3)[0]
    first = verify(platform, code, region="440305").json()
    assert first["verdict"] == "genuine"
    answers = [
        platform.client.post(
            "/api/v1/verify",
            json={"code": code, "region": "440304"},
            headers={"Accept-Language": "en-GB,en;q=0.9"},
        ).json()
        for _ in range(5)
    ]
    assert [a["verdict"] for a in answers] == ["genuine_repeat"] * 4 + ["suspicious"]
    assert [a["scan_count"] for a in answers] == [2, 3, 4, 5, 6]
    # The first query's time and place stay those of the first query.
    assert {a["first_scan"]["at"] for a in answers} == {first["first_scan"]["at"]}
    assert {a["first_scan"]["region"] for a in answers} == {"440305"}
    assert "checked 2 times" in answers[0]["message"]
    assert "Guangdong" in answers[0]["message"]
    assert answers[-1]["reasons"] == ["scan_limit"]


def test_a_typo_is_mistyped_and_touches_no_verification_table(platform: Platform, acme) -> None:
    code = issue(platform, acme, 2)[0]
    before = (count_rows(platform, Scan), count_rows(platform, ScannedCode))
    body = verify(platform, typo(code)).json()
    assert body["verdict"] == "mistyped"
    assert body["code"] is None
    assert body["product"] is None
    assert "typ" in body["message"] or "输入有误" in body["message"]
    assert (count_rows(platform, Scan), count_rows(platform, ScannedCode)) == before


def test_a_well_formed_code_never_issued_is_not_found(platform: Platform, acme) -> None:
    issue(platform, acme, 2)
    # A code in no slot at all, and a code of the enterprise's slot past its issued range.
    nowhere = "999" + "0" * 16
    nowhere += str(damm.check_digit(nowhere))
    assert verify(platform, nowhere).json()["verdict"] == "not_found"
    with platform.session_factory() as session:
        slot = session.scalars(select(KeySlot)).one()
        cipher = platform.app.state.keyring.cipher(slot)
        unissued = cipher.code(slot.issued + 5)
    body = verify(platform, unissued).json()
    assert body["verdict"] == "not_found"
    assert body["scan_count"] == 0
    assert body["product"] is None
    assert count_rows(platform, ScannedCode) == 0
    with platform.session_factory() as session:
        logged = session.scalars(select(Scan).order_by(Scan.id)).all()
    assert [s.verdict for s in logged] == ["not_found", "not_found"]
    assert logged[1].organization_id == acme.id  # made-up codes in a brand's slot are its news


def test_inactive_and_void_codes(platform: Platform, acme) -> None:
    codes = issue(platform, acme, 10, activate="1-5")
    assert verify(platform, codes[0]).json()["verdict"] == "genuine"
    inactive = verify(platform, codes[7]).json()
    assert inactive["verdict"] == "inactive"
    assert inactive["scan_count"] == 0
    run_id = platform.client.get("/api/v1/code-runs", headers=acme.auth).json()[0]["run"]
    voided = platform.client.post(
        f"/api/v1/code-runs/{run_id}/void",
        json={"range": "2-3", "reason": "roll stolen from the print shop"},
        headers=acme.auth,
    )
    assert voided.status_code == 200, voided.text
    assert verify(platform, codes[1]).json()["verdict"] == "void"
    assert verify(platform, codes[3]).json()["verdict"] == "genuine"


def test_recalled_batch_answers_recalled_with_instructions(platform: Platform, acme) -> None:
    codes = issue(platform, acme, 4)
    recall = platform.client.post(
        "/api/v1/recalls",
        json={
            "gtin": GTIN,
            "lots": [LOT],
            "reason": "valve may leak",
            "instructions": "Return it to the shop for a free replacement.",
            "contact": "400-800-1234",
        },
        headers=acme.auth,
    )
    assert recall.status_code == 201, recall.text
    body = verify(platform, codes[0]).json()
    assert body["verdict"] == "recalled"
    assert body["recall"]["instructions"] == "Return it to the shop for a free replacement."
    assert "Return it to the shop" in body["message"]
    # Anyone can read recalls in force; ending one makes the codes genuine again.
    public = platform.client.get(f"/api/v1/recalls?gtin={GTIN}").json()
    assert [r["lot"] for r in public] == [LOT]
    ended = platform.client.post(f"/api/v1/recalls/{public[0]['id']}/end", headers=acme.auth)
    assert ended.status_code == 200
    # The query during the recall was logged but not counted: this is the first query.
    assert verify(platform, codes[0]).json()["verdict"] == "genuine"


def test_gtin_or_lot_from_the_link_that_differ_from_the_code_are_suspicious(
    platform: Platform, acme
) -> None:
    add_product(platform, acme, OTHER_GTIN)
    codes = issue(platform, acme, 3)
    body = verify(platform, codes[0], gtin=OTHER_GTIN).json()
    assert body["verdict"] == "suspicious"
    assert body["reasons"] == ["gtin_mismatch"]
    body = verify(platform, codes[1], gtin=GTIN, lot="L1999").json()
    assert body["verdict"] == "suspicious"
    assert body["reasons"] == ["lot_mismatch"]
    assert verify(platform, codes[2], gtin=GTIN, lot=LOT).json()["verdict"] == "genuine"
    # A copied label on the wrong product does not use up the genuine item's first query.
    assert verify(platform, codes[0], gtin=GTIN).json()["verdict"] == "genuine"
    with platform.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Scan)) == 4


def test_fifty_simultaneous_first_queries_give_exactly_one_genuine(
    platform: Platform, acme
) -> None:
    code = issue(platform, acme, 1)[0]
    barrier = threading.Barrier(50)
    verdicts: list[str] = []
    counts: list[int] = []
    lock = threading.Lock()

    def query() -> None:
        barrier.wait()
        body = verify(platform, code).json()
        with lock:
            verdicts.append(body["verdict"])
            counts.append(body["scan_count"])

    # Each thread goes through the ASGI app with its own connection from the pool.
    workers = [threading.Thread(target=query) for _ in range(50)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    tally = Counter(verdicts)
    assert tally["genuine"] == 1
    assert tally["genuine_repeat"] == 4
    assert tally["suspicious"] == 45
    assert sorted(counts) == list(range(1, 51))
    with platform.session_factory() as session:
        state = session.scalars(select(ScannedCode)).one()
        assert state.scan_count == 50
        assert session.scalar(select(func.count()).select_from(Scan)) == 50


@pytest.mark.parametrize(
    "body",
    [
        {"code": "1234"},  # too short
        {"code": "1" * 21},  # too long
        {"code": "1000abcd000000000000"},  # letters
        {"code": "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩"},  # Arabic-Indic digits
        {"code": "9" * 65},  # over the field limit
        {"code": 12345678901234567890},  # a number, not a string
        {},  # no code
        {"code": "10000000000000000001", "gtin": "09506000134353"},  # bad GTIN check digit
        {"code": "10000000000000000001", "lot": "lot with spaces"},
        {"code": "10000000000000000001", "region": "990000"},
        {"code": "10000000000000000001", "lat": 95, "lon": 0},
        {"code": "10000000000000000001", "lat": 30},
        {"code": "10000000000000000001", "channel": "carrier-pigeon"},
        {"code": "10000000000000000001", "extra": "field"},
    ],
)
def test_malformed_input_is_a_4xx_problem_and_records_nothing(
    platform: Platform, acme, body: dict
) -> None:
    issue(platform, acme, 1)
    before = (count_rows(platform, Scan), count_rows(platform, ScannedCode))
    response = platform.client.post("/api/v1/verify", json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == response.status_code
    assert (count_rows(platform, Scan), count_rows(platform, ScannedCode)) == before
    # ... except one tick of the client's failure counter.
    with platform.session_factory() as session:
        ticks = session.scalars(select(RateWindow.count).where(RateWindow.key.like("ip:%")))
        assert list(ticks) == [1]


def test_bad_json_and_huge_bodies_are_4xx_problems(platform: Platform) -> None:
    bad = platform.client.post(
        "/api/v1/verify", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    huge = platform.client.post(
        "/api/v1/verify",
        content=b'{"code": "' + b"1" * 1_000_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    assert huge.headers["content-type"] == "application/problem+json"
    assert count_rows(platform, Scan) == 0


def test_failed_answers_per_client_are_limited_with_retry_after(platform: Platform, acme) -> None:
    codes = issue(platform, acme, 2)
    limit = platform.settings.verify_failure_limit
    made_up = [SealCode(slot=998, body=n).text for n in range(limit)]
    for code in made_up:
        assert verify(platform, code).json()["verdict"] == "not_found"
    refused = verify(platform, made_up[0])
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["content-type"] == "application/problem+json"
    # Also a genuine code: the client is refused until its window ends.
    assert verify(platform, codes[0]).status_code == 429
    # The counters live in the database, so every worker process sees them.
    with platform.session_factory() as session:
        counts = session.scalars(select(RateWindow.count).where(RateWindow.key.like("ip:%")))
        assert list(counts) == [limit]


def test_malformed_codes_and_typos_tick_the_failure_limit_too(platform: Platform, acme) -> None:
    code = issue(platform, acme, 1)[0]
    limit = platform.settings.verify_failure_limit
    for n in range(limit):
        bad = verify(platform, typo(code)) if n % 2 else verify(platform, "12ab")
        assert bad.status_code in (200, 422)
    assert verify(platform, code).status_code == 429
    assert count_rows(platform, Scan) == 0  # neither typos nor junk reach the scan log


def test_a_burst_of_not_found_across_clients_raises_one_operator_alert(
    platform: Platform, acme
) -> None:
    threshold = platform.settings.enumeration_alert_threshold
    for n in range(threshold + 3):
        # Each guess from another address: no single client is over its limit.
        with TestClient(platform.app, client=(f"192.0.2.{n + 1}", 40000)) as client:
            guess = client.post("/api/v1/verify", json={"code": SealCode(997, n).text})
            assert guess.json()["verdict"] == "not_found"
    alerts = platform.client.get("/api/v1/alerts", headers=platform.operator.auth)
    assert alerts.status_code == 200, alerts.text
    found = alerts.json()
    assert [a["kind"] for a in found] == ["enumeration_burst"]
    assert found[0]["details"]["threshold"] == threshold
    # An enterprise does not see platform-wide alerts; the operator can acknowledge.
    assert platform.client.get("/api/v1/alerts", headers=acme.auth).json() == []
    ack = platform.client.post(
        f"/api/v1/alerts/{found[0]['id']}/acknowledge", headers=platform.operator.auth
    )
    assert ack.status_code == 200
    assert ack.json()["acknowledged_at"] is not None


def test_the_event_loop_never_waits_behind_another_threads_transaction(
    platform: Platform, acme
) -> None:
    code = issue(platform, acme, 1)[0]
    gate = writer_gate(platform.session_factory)
    if gate is None:
        pytest.skip("only SQLite has an in-process writer queue")
    answered = threading.Event()
    holding = threading.Event()
    result: dict[str, object] = {}

    def hold() -> None:  # another thread in a long transaction
        with gate:
            holding.set()
            answered.wait(timeout=10)

    def query() -> None:
        result["body"] = verify(platform, code).json()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait()
    asker = threading.Thread(target=query)
    asker.start()
    time.sleep(0.2)
    # The verification waits for its turn in a worker thread, so the server still answers.
    assert platform.client.get("/healthz").status_code == 200
    assert asker.is_alive()
    answered.set()
    asker.join()
    holder.join()
    assert result["body"]["verdict"] == "genuine"


def test_pages_and_verifications_interleave_on_one_event_loop(platform: Platform, acme) -> None:
    # A request's unit of work may begin and end in different worker threads while
    # verifications take the write turn on the event loop: all must complete and the
    # turn must be free afterwards.
    codes = issue(platform, acme, 10)

    async def call(method: str, path: str, n: int, body: bytes = b"") -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"x"), (b"content-type", b"application/json")],
            "client": (f"192.0.2.{n + 1}", 1000),  # within the flood limit
            "server": ("x", 80),
        }
        sent: list[dict] = []
        delivered = False

        async def receive() -> dict:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        await platform.app(scope, receive, send)
        return next(m["status"] for m in sent if m["type"] == "http.response.start")

    async def burst() -> list[int]:
        jobs = []
        for n in range(30):
            body = f'{{"code": "{codes[n % 10]}"}}'.encode()
            jobs.append(call("GET", f"/01/{GTIN}", n))
            jobs.append(call("GET", f"/v/{codes[n % 10]}", n))
            jobs.append(call("POST", "/api/v1/verify", n, body))
        return await asyncio.wait_for(asyncio.gather(*jobs), timeout=60)

    for _ in range(3):
        # A loop of its own in a thread of its own: the browser tests may hold this one's.
        with ThreadPoolExecutor(max_workers=1) as runner:
            assert runner.submit(asyncio.run, burst()).result() == [200] * 90
    gate = writer_gate(platform.session_factory)
    if gate is not None:
        assert gate.acquire(blocking=False)
        gate.release()


def test_another_process_holding_sqlites_lock_does_not_stall_the_server(
    platform: Platform, acme
) -> None:
    if not platform.settings.resolved_database_url.startswith("sqlite"):
        pytest.skip("SQLite's file lock")
    code = issue(platform, acme, 1)[0]
    other = sqlite3.connect(platform.settings.resolved_database_url.removeprefix("sqlite:///"))
    other.isolation_level = None
    other.execute("BEGIN IMMEDIATE")  # as a CLI job in another process would
    result: dict[str, object] = {}
    asker = threading.Thread(target=lambda: result.update(body=verify(platform, code).json()))
    asker.start()
    time.sleep(0.3)
    assert platform.client.get("/healthz").status_code == 200
    assert asker.is_alive()  # waiting in a worker thread, not on the event loop
    other.execute("COMMIT")
    other.close()
    asker.join()
    assert result["body"]["verdict"] == "genuine"


def test_a_brand_owner_cannot_lift_a_regulators_recall(platform: Platform, acme) -> None:
    codes = issue(platform, acme, 1)
    regulator = platform.org("Market Regulator", Role.REGULATOR)
    announced = platform.client.post(
        "/api/v1/recalls",
        json={"gtin": GTIN, "reason": "unsafe valve", "instructions": "Stop using it."},
        headers=regulator.auth,
    )
    assert announced.status_code == 201, announced.text
    recall_id = announced.json()[0]["id"]
    lifted = platform.client.post(f"/api/v1/recalls/{recall_id}/end", headers=acme.auth)
    assert lifted.status_code == 404
    assert verify(platform, codes[0]).json()["verdict"] == "recalled"
    ended = platform.client.post(f"/api/v1/recalls/{recall_id}/end", headers=regulator.auth)
    assert ended.status_code == 200


def test_a_trade_check_never_uses_up_the_buyers_first_query(platform: Platform, acme) -> None:
    (code,) = issue(platform, acme, 1)
    shop = platform.client.post(
        "/api/v1/distributors", json={"name": "顺达商行", "territory": ["440000"]},
        headers=acme.auth,
    ).json()  # fmt: skip
    checked = platform.client.post(
        "/api/v1/verify",
        json={"code": code},
        headers={"Authorization": f"Bearer {shop['api_key']}"},
    )
    assert checked.json()["verdict"] == "genuine"
    buyer = platform.client.post("/api/v1/verify", json={"code": code}).json()
    assert buyer["verdict"] == "genuine"  # still the first query
    assert buyer["scan_count"] == 1
    with platform.session_factory() as session:
        logged = session.scalars(select(Scan).order_by(Scan.id)).all()
    assert [s.trade_org_id for s in logged] == [shop["organization_id"], None]
