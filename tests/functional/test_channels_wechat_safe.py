"""The WeChat official account in safe mode (安全模式), through HTTP on a real database.

Messages are encrypted and the replies read by an implementation written here from WeChat's
technical solution with the ``cryptography`` primitives, not by traceseal's cipher:
https://developers.weixin.qq.com/doc/oplatform/en/Third-party_Platforms/Message_Encryption/Technical_Plan.html
(AES-256-CBC, key = Base64(EncodingAESKey + "="), IV = its first 16 bytes, PKCS#7 to 32-byte
blocks; plaintext = 16 random bytes, 4-byte big-endian length, XML, AppID).
"""

from __future__ import annotations

import base64
import os
import struct
import xml.etree.ElementTree as ET

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.conftest import Platform
from tests.functional.channel_helpers import count, scans
from tests.functional.conftest import issue
from tests.functional.test_channels_wechat import (
    APP_ID,
    OFFICIAL,
    OPENID,
    TOKEN,
    post,
    query,
    reply_of,
    text_xml,
    wechat_signature,
)
from traceseal.channels.models import ChannelMessage
from traceseal.config import Settings

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(wechat_token=TOKEN, wechat_app_id=APP_ID, wechat_aes_key=AES_KEY)


def _aes_key() -> bytes:
    return base64.b64decode(AES_KEY + "=")


def seal(xml: bytes, app_id: str = APP_ID) -> str:
    key = _aes_key()
    plain = os.urandom(16) + struct.pack(">I", len(xml)) + xml + app_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad] * pad)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def unseal(encrypted: str) -> tuple[bytes, bytes]:
    key = _aes_key()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    plain = plain[: -plain[-1]]
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[20 : 20 + length], plain[20 + length :]


def post_sealed(platform: Platform, xml: bytes, *, app_id: str = APP_ID, tamper: bool = False):
    encrypted = seal(xml, app_id)
    timestamp, nonce = "1796000100", "safe-nonce"
    body = (
        f"<xml><ToUserName><![CDATA[{OFFICIAL}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
    msg_signature = wechat_signature(TOKEN, timestamp, nonce, encrypted)
    return post(
        platform,
        body.encode(),
        **query(timestamp, nonce),
        encrypt_type="aes",
        msg_signature="0" * 40 if tamper else msg_signature,
    )


def test_safe_mode_decrypts_the_message_and_encrypts_and_signs_the_reply(
    platform: Platform, acme
) -> None:
    safe = platform
    code = issue(safe, acme, 1)[0]
    outer = reply_of(post_sealed(safe, text_xml(code)))
    assert set(outer) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert outer["MsgSignature"] == wechat_signature(
        TOKEN, outer["TimeStamp"], outer["Nonce"], outer["Encrypt"]
    )
    inner, app_id = unseal(outer["Encrypt"])
    assert app_id == APP_ID.encode()
    fields = {child.tag: child.text for child in ET.fromstring(inner)}  # noqa: S314 - ours
    assert fields["ToUserName"] == OPENID
    assert "正品" in fields["Content"]
    assert [s.channel for s in scans(safe)] == ["wechat"]


def test_safe_mode_refuses_a_bad_msg_signature_another_app_and_plaintext(
    platform: Platform,
) -> None:
    safe = platform
    assert post_sealed(safe, text_xml("1"), tamper=True).status_code == 403
    assert post_sealed(safe, text_xml("1"), app_id="wxsomeoneelse00000").status_code == 422
    assert post(safe, text_xml("1")).status_code == 422  # plaintext in safe mode
    assert count(safe, ChannelMessage) == 0
