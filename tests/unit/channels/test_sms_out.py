"""How the providers' answers to SendSms are read: success, retry later, or give up."""

from __future__ import annotations

import json

import pytest

from traceseal.channels.sms_out import Aliyun, Tencent
from traceseal.config import load_settings

SETTINGS = load_settings({}, sms_access_key_id="id", sms_access_key_secret="secret")


def body(value: object) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    ("status", "answer", "error", "final"),
    [
        (200, {"Code": "OK", "BizId": "900^0"}, None, False),
        (200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "bad number"}, "isv.", True),
        (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "throttled"}, "isv.", False),
        (503, {}, "HTTP 503", False),
        (200, [1, 2], "HTTP 200", False),
    ],
)
def test_alibabas_answers(status: int, answer: object, error: str | None, final: bool) -> None:
    outcome = Aliyun(SETTINGS).read(status, body(answer))
    assert (outcome.error is None) == (error is None)
    if error is not None:
        assert outcome.error is not None
        assert error in outcome.error
    assert outcome.final is final
    assert Aliyun(SETTINGS).read(200, b"not json").error is not None


def test_tencents_answers() -> None:
    tencent = Tencent(SETTINGS)
    ok = {"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo": "5000:1"}]}}
    assert tencent.read(200, body(ok)).reference == "5000:1"
    refused = {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "x"}}}
    assert tencent.read(200, body(refused)).final is True
    limited = {"Response": {"Error": {"Code": "LimitExceeded.PhoneNumberDailyLimit"}}}
    assert tencent.read(200, body(limited)).final is False
    per_number = {
        "Response": {"SendStatusSet": [{"Code": "InvalidParameterValue.IncorrectPhoneNumber"}]}
    }
    assert tencent.read(200, body(per_number)).final is True
    busy = {"Response": {"SendStatusSet": [{"Code": "LimitExceeded.PhoneNumberThirtySecondLimit"}]}}
    assert tencent.read(200, body(busy)).final is False
    for garbage in (b"", b"[]", body({"Response": []}), body({"Response": {"SendStatusSet": 5}})):
        outcome = tencent.read(200, garbage)
        assert outcome.error is not None
