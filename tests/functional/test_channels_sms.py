"""SMS uplink callbacks through HTTP on a real database: each provider's form, retries that
make one scan, the same verdict as the web, the sender's limits, and bad input that leaves
nothing behind."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import Platform
from tests.functional.channel_helpers import (
    count,
    messages,
    never_issued,
    scans,
    secret,
    spaced,
    typo,
)
from tests.functional.conftest import issue
from traceseal.channels.models import ChannelMessage, SmsReply
from traceseal.verify.models import Scan

PHONE = "13800000000"


def aliyun(platform: Platform, text: str, sequence_id: int = 1001, phone: str = PHONE):
    body = [
        {
            "phone_number": phone,
            "send_time": "2026-12-04 10:00:00",
            "content": text,
            "sign_name": "防伪查询",
            "dest_code": "1234",
            "sequence_id": sequence_id,
        }
    ]
    return platform.client.post(f"/channels/sms/aliyun/{secret(platform)}", json=body)


def tencent(platform: Platform, text: str, time: int = 1_796_000_000, mobile: str = PHONE):
    body = {
        "extend": "",
        "mobile": mobile,
        "nationcode": "86",
        "sign": "防伪查询",
        "text": text,
        "time": time,
    }
    return platform.client.post(f"/channels/sms/tencent/{secret(platform)}", json=body)


def generic(platform: Platform, text: str, id_: str = "m-1", sender: str = PHONE):
    body = {"from": sender, "text": text, "id": id_}
    return platform.client.post(f"/channels/sms/generic/{secret(platform)}", json=body)


def test_an_aliyun_uplink_retried_is_one_scan_and_the_web_sees_it_second(
    platform: Platform, acme
) -> None:
    code = issue(platform, acme, 3)[1]
    for _ in range(3):  # the provider pushes the same message again
        response = aliyun(platform, f"查询 {spaced(code)}")
        assert response.status_code == 200, response.text
        assert response.json() == {"code": 0, "msg": "接收成功"}
    [scan] = scans(platform)
    assert (scan.channel, scan.verdict, scan.code) == ("sms", "genuine", code)
    [message] = messages(platform)
    assert message.verdict == "genuine"
    assert "正品" in message.reply
    assert len(message.reply) <= 70

    web = platform.client.post("/api/v1/verify", json={"code": code}).json()
    assert web["verdict"] == "genuine_repeat"
    assert web["scan_count"] == 2
    assert web["first_scan"]["channel"] == "sms"


def test_a_tencent_reply_callback_retried_is_one_scan(platform: Platform, acme) -> None:
    code = issue(platform, acme, 2)[0]
    for _ in range(2):
        response = tencent(platform, spaced(code, "-"))
        assert response.status_code == 200, response.text
        assert response.json() == {"result": 0, "errmsg": "OK"}
    assert [s.verdict for s in scans(platform)] == ["genuine"]
    # Another message of the sender's (another text) is another answer, but like a page
    # reload within 10 minutes it is not another query of the code: the count stays.
    tencent(platform, f"查询{code}", time=1_796_000_500)
    assert [(s.verdict, s.scan_count) for s in scans(platform)] == [("genuine", 1)] * 2


def test_the_generic_form_answers_with_the_reply_once_per_message(platform: Platform, acme) -> None:
    code = issue(platform, acme, 2)[0]
    # Full-width digits from a Chinese keyboard.
    wide = "".join(chr(ord(c) + 0xFEE0) for c in code)
    first = generic(platform, f"帮我查一下 {wide} 谢谢")
    assert first.status_code == 200, first.text
    assert first.json()["verdict"] == "genuine"
    assert first.json()["repeated"] is False
    again = generic(platform, f"帮我查一下 {wide} 谢谢")
    assert again.json() == {**first.json(), "repeated": True}
    # The same text from another sender is another message.
    other = generic(platform, f"帮我查一下 {wide} 谢谢", id_="m-2", sender="13900000000")
    assert other.json()["verdict"] == "genuine_repeat"
    assert len(scans(platform)) == 2


def test_retries_arriving_together_are_one_scan_and_get_the_same_reply(
    platform: Platform, acme
) -> None:
    code = issue(platform, acme, 1)[0]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: generic(platform, code, id_="same").json(), range(8)))
    assert len({a["reply"] for a in answers}) == 1
    assert sorted(a["repeated"] for a in answers) == [False] + [True] * 7
    assert [s.verdict for s in scans(platform)] == ["genuine"]


def test_the_same_sender_and_text_within_a_minute_is_one_message_whatever_its_id(
    platform: Platform, acme
) -> None:
    code = issue(platform, acme, 1)[0]
    generic(platform, code, id_="a")
    generic(platform, code, id_="b")  # a gateway that gives every delivery a new id
    assert len(scans(platform)) == 1


def test_an_english_message_and_a_pasted_digital_link(platform: Platform, acme) -> None:
    code = issue(platform, acme, 1)[0]
    link = f"https://verify.example.org/01/09506000134352/21/{code}"
    answer = generic(platform, f"check {link} please").json()
    assert answer["verdict"] == "genuine"
    assert answer["reply"].startswith("Extinguisher 4kg: Genuine")
    # A label whose GTIN is another product's: the core's gtin_mismatch, worded for SMS.
    wrong = f"https://verify.example.org/01/09506000134369/21/{code}"
    assert generic(platform, wrong, id_="x").json()["verdict"] == "suspicious"


def test_a_typo_gets_the_mistyped_reply_and_no_scan(platform: Platform, acme) -> None:
    code = issue(platform, acme, 1)[0]
    answer = generic(platform, typo(code)).json()
    assert answer["verdict"] == "mistyped"
    assert "有误" in answer["reply"]
    assert count(platform, Scan) == 0


def test_text_without_a_code_gets_help_and_a_near_miss_the_length(platform: Platform) -> None:
    assert "20位防伪码" in generic(platform, "你好").json()["reply"]
    assert "20位数字" in generic(platform, "1234 5678 9012 3456 789", id_="2").json()["reply"]
    assert count(platform, Scan) == 0


def test_a_sender_guessing_codes_is_refused_after_the_failure_limit(
    platform: Platform, acme
) -> None:
    code = issue(platform, acme, 1)[0]
    limit = platform.settings.verify_failure_limit
    verdicts = [
        generic(platform, never_issued(code, n), id_=f"g{n}").json()["verdict"]
        for n in range(limit + 2)
    ]
    assert verdicts[:limit] == ["not_found"] * limit
    refused = generic(platform, code, id_="real").json()
    assert refused["verdict"] is None
    assert "频繁" in refused["reply"]
    # Another sender is not affected.
    assert generic(platform, code, id_="o", sender="13700000000").json()["verdict"] == "genuine"


def test_senders_are_stored_only_as_keyed_hashes(platform: Platform, acme) -> None:
    code = issue(platform, acme, 1)[0]
    aliyun(platform, code)
    [message] = messages(platform)
    [scan] = scans(platform)
    assert PHONE not in repr(message.__dict__)
    assert PHONE not in repr(scan.__dict__)
    assert scan.device_hash == message.sender_hash
    assert len(message.sender_hash) == 32


@pytest.mark.parametrize(
    ("provider", "body"),
    [
        ("aliyun", b"not json"),
        ("aliyun", b'{"phone_number": "1"}'),
        ("aliyun", b'[{"phone_number": "x; drop", "content": "1", "sequence_id": 1}]'),
        ("tencent", b'{"mobile": "13800000000"}'),
        ("tencent", b"[]"),
        ("generic", b'{"from": "13800000000", "text": "1", "id": "1", "extra": 1}'),
        ("generic", b"\xff\xfe"),
    ],
)
def test_malformed_callbacks_are_4xx_and_record_nothing(
    platform: Platform, provider: str, body: bytes
) -> None:
    response = platform.client.post(
        f"/channels/sms/{provider}/{secret(platform)}",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert count(platform, ChannelMessage) == 0
    assert count(platform, Scan) == 0


def test_a_wrong_secret_or_provider_is_404_and_an_oversize_body_413(
    platform: Platform, acme
) -> None:
    code = issue(platform, acme, 1)[0]
    body = {"from": PHONE, "text": code, "id": "1"}
    assert platform.client.post("/channels/sms/generic/wrong", json=body).status_code == 404
    unknown = platform.client.post(f"/channels/sms/twilio/{secret(platform)}", json=body)
    assert unknown.status_code == 404
    huge = {"from": PHONE, "text": "1" * 100_000, "id": "1"}
    too_big = platform.client.post(f"/channels/sms/generic/{secret(platform)}", json=huge)
    assert too_big.status_code == 413
    assert count(platform, ChannelMessage) == 0
    assert count(platform, SmsReply) == 0


def test_first_scan_names_the_channel_that_asked_first(platform: Platform, acme) -> None:
    web_first, sms_first = issue(platform, acme, 2)
    platform.client.post("/api/v1/verify", json={"code": web_first})
    generic(platform, web_first, id_="w")
    generic(platform, sms_first, id_="s")
    platform.client.post("/api/v1/verify", json={"code": sms_first})
    for code, channel in ((web_first, "api"), (sms_first, "sms")):
        answer = platform.client.post("/api/v1/verify", json={"code": code}).json()
        assert answer["first_scan"]["channel"] == channel
        assert answer["scan_count"] == 3
