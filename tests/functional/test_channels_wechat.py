"""The WeChat official account through HTTP on a real database: the server check, messages
and events in plaintext and in safe mode, retries counted once, and hostile XML refused.

Safe-mode messages are made and the replies read by an implementation written here from
WeChat's technical solution with the ``cryptography`` primitives, not by traceseal's cipher:
https://developers.weixin.qq.com/doc/oplatform/en/Third-party_Platforms/Message_Encryption/Technical_Plan.html
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import Platform
from tests.functional.channel_helpers import count, scans, spaced, typo
from tests.functional.conftest import issue
from traceseal.channels.models import ChannelMessage
from traceseal.config import Settings
from traceseal.verify.models import Scan

TOKEN = "wechat-token-for-tests"
APP_ID = "wx1234567890abcdef"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
OFFICIAL = "gh_3ad31b7b8e5c"


def wechat_signature(*parts: str) -> str:
    """WeChat's request signature, written from its access guide: SHA-1 of the sorted parts."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - the protocol


def query(timestamp: str = "1796000000", nonce: str = "nonce42") -> dict[str, str]:
    return {
        "signature": wechat_signature(TOKEN, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
    }


def text_xml(content: str, msg_id: str = "6054768590064713728") -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{OFFICIAL}]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>1796000000</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def event_xml(event: str, key: str = "", scan: str | None = None, at: int = 1796000001) -> bytes:
    info = (
        ""
        if scan is None
        else f"<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>"
        f"<ScanResult><![CDATA[{scan}]]></ScanResult></ScanCodeInfo>"
    )
    return (
        f"<xml><ToUserName><![CDATA[{OFFICIAL}]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>{at}</CreateTime>"
        f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>"
        f"<EventKey><![CDATA[{key}]]></EventKey>{info}</xml>"
    ).encode()


def reply_of(response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)  # noqa: S314 - our own server's answer
    return {child.tag: (child.text or "") for child in root}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(wechat_token=TOKEN, wechat_app_id=APP_ID)


def post(platform: Platform, body: bytes, **params: str):
    return platform.client.post(
        "/channels/wechat",
        params={**query(), **params},
        content=body,
        headers={"Content-Type": "text/xml"},
    )


def test_the_server_check_echoes_only_with_the_right_signature(platform: Platform) -> None:
    ok = platform.client.get("/channels/wechat", params={**query(), "echostr": "e123"})
    assert (ok.status_code, ok.text) == (200, "e123")
    bad = platform.client.get(
        "/channels/wechat", params={**query(), "signature": "0" * 40, "echostr": "e123"}
    )
    assert bad.status_code == 403
    assert "e123" not in bad.text


def test_a_text_message_gets_a_passive_reply_and_a_retry_counts_once(
    platform: Platform, acme
) -> None:
    code = issue(platform, acme, 1)[0]
    first = reply_of(post(platform, text_xml(f"查询{spaced(code)}")))
    assert first["ToUserName"] == OPENID
    assert first["FromUserName"] == OFFICIAL
    assert first["MsgType"] == "text"
    assert "正品" in first["Content"]
    again = reply_of(post(platform, text_xml(f"查询{spaced(code)}")))  # WeChat's retry
    assert again["Content"] == first["Content"]
    [scan] = scans(platform)
    assert (scan.channel, scan.verdict) == ("wechat", "genuine")
    web = platform.client.post("/api/v1/verify", json={"code": code}).json()
    assert (web["scan_count"], web["first_scan"]["channel"]) == (2, "wechat")


def test_events_carry_codes_and_a_retried_event_counts_once(platform: Platform, acme) -> None:
    one, two, three = issue(platform, acme, 3)
    follow = reply_of(post(platform, event_xml("subscribe", f"qrscene_{one}")))
    assert "正品" in follow["Content"]
    scan = reply_of(post(platform, event_xml("SCAN", two, at=1796000002)))
    assert "正品" in scan["Content"]
    link = f"https://verify.example.org/01/09506000134352/21/{three}"
    button = event_xml("scancode_waitmsg", "rselfmenu_0_0", scan=link, at=1796000003)
    first = reply_of(post(platform, button))
    assert reply_of(post(platform, button))["Content"] == first["Content"]
    assert sorted(s.code for s in scans(platform)) == sorted([one, two, three])
    # A follow without a code gets the help text; leaving gets no reply and no record.
    welcome = reply_of(post(platform, event_xml("subscribe", at=1796000004)))
    assert "20位防伪码" in welcome["Content"]
    leave = post(platform, event_xml("unsubscribe", at=1796000005))
    assert (leave.status_code, leave.text) == (200, "success")
    assert count(platform, ChannelMessage) == 4


def test_a_typo_is_mistyped_and_an_english_message_is_answered_in_english(
    platform: Platform, acme
) -> None:
    code = issue(platform, acme, 1)[0]
    assert "有误" in reply_of(post(platform, text_xml(typo(code))))["Content"]
    english = reply_of(post(platform, text_xml(f"check {code}", msg_id="2")))["Content"]
    assert english.startswith("Extinguisher 4kg: Genuine")
    assert len(english) <= 70


@pytest.mark.parametrize(
    "body",
    [
        b"not xml",
        b"<xml><MsgType>text</MsgType>",
        b"<other/>",
        # XXE and entity expansion: refused before anything is read.
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<xml><Content>&x;</Content></xml>",
        b'<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        b"<xml><Content>&b;</Content></xml>",
    ],
)
def test_hostile_or_broken_xml_is_4xx_and_records_nothing(platform: Platform, body: bytes) -> None:
    response = post(platform, body)
    assert 400 <= response.status_code < 500
    assert "passwd" not in response.text
    assert count(platform, ChannelMessage) == 0


def test_a_wrong_signature_is_403_and_records_nothing(platform: Platform, acme) -> None:
    code = issue(platform, acme, 1)[0]
    response = post(platform, text_xml(code), signature="0" * 40)
    assert response.status_code == 403
    assert count(platform, Scan) == 0
    assert count(platform, ChannelMessage) == 0


def test_an_unconfigured_channel_is_404(migrated: Settings) -> None:
    platform = Platform(migrated.replace(wechat_token=""))
    try:
        response = platform.client.get("/channels/wechat", params={**query(), "echostr": "e"})
        assert response.status_code == 404
    finally:
        platform.close()
