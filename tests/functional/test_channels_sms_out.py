"""SMS replies through the outbox to a provider's SendSms: a fake provider on a local port
checks every signature with its own verifier, fails the first attempts, then accepts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import Platform, add_batch, add_product
from tests.functional.channel_helpers import secret, spaced
from tests.functional.conftest import issue
from tests.functional.fake_providers import KEY_ID, KEY_SECRET, FakeProvider
from traceseal.channels.models import SmsReply
from traceseal.config import Settings
from traceseal.db import utcnow


def configured(settings: Settings, provider: FakeProvider, **extra: object) -> Platform:
    values = {
        "sms_provider": provider.kind,
        "sms_endpoint": provider.url,
        "sms_template": "SMS_153055065",
        "sms_sign_name": "防伪查询",
        "sms_access_key_id": KEY_ID,
        "sms_access_key_secret": KEY_SECRET,
        "sms_app_id": "1400006666",
    }
    return Platform(settings.replace(**{**values, **extra}))


@pytest.fixture(params=["aliyun", "tencent"])
def provider(request: pytest.FixtureRequest) -> Iterator[FakeProvider]:
    fake = FakeProvider(request.param, failures=2)
    yield fake
    fake.close()


def outbox(platform: Platform) -> list[SmsReply]:
    with platform.session_factory() as session:
        return list(session.scalars(select(SmsReply).order_by(SmsReply.id)))


def text_uplink(platform: Platform, text: str) -> None:
    body = {"from": "13800000000", "text": text, "id": "1"}
    if platform.settings.sms_provider == "aliyun":
        item = {"phone_number": "13800000000", "content": text, "sequence_id": 7}
        response = platform.client.post(f"/channels/sms/aliyun/{secret(platform)}", json=[item])
    else:
        body = {"mobile": "13800000000", "nationcode": "86", "text": text, "time": 1_796_000_000}
        response = platform.client.post(f"/channels/sms/tencent/{secret(platform)}", json=body)
    assert response.status_code == 200, response.text


def test_a_reply_is_signed_retried_with_back_off_and_delivered_once(
    migrated: Settings, provider: FakeProvider
) -> None:
    platform = configured(migrated, provider)
    try:
        acme = platform.org("安盾消防")
        add_product(platform, acme)
        add_batch(platform, acme, "09506000134352", "L2026-11A")
        code = issue(platform, acme, 1)[0]
        text_uplink(platform, f"查询 {spaced(code)}")
        text_uplink(platform, f"查询 {spaced(code)}")  # the provider's retry: one reply
        [queued] = outbox(platform)
        assert queued.state == "pending"
        assert queued.wrapped_phone is not None
        assert b"13800000000" not in queued.wrapped_phone
        sender = platform.app.state.sms_sender
        t0 = utcnow() + timedelta(seconds=1)

        assert sender.run(t0) == 1  # the provider fails
        [after] = outbox(platform)
        assert (after.state, after.attempts) == ("pending", 1)
        assert after.next_attempt_at == t0 + timedelta(seconds=10)
        assert sender.run(t0 + timedelta(seconds=9)) == 0
        assert sender.run(t0 + timedelta(seconds=10)) == 1  # fails again: wait 20 s
        assert sender.run(t0 + timedelta(seconds=29)) == 0
        assert sender.run(t0 + timedelta(seconds=30)) == 1
        [done] = outbox(platform)
        assert (done.state, done.attempts, done.last_error) == ("delivered", 3, "")
        assert done.wrapped_phone is None  # the number is erased once sent
        assert done.provider_id
        assert sender.run(t0 + timedelta(days=1)) == 0
        assert provider.refused == []  # every attempt's signature checked out

        [accepted] = provider.accepted
        if provider.kind == "aliyun":
            assert accepted["PhoneNumbers"] == "13800000000"
            assert accepted["Action"] == "SendSms"
            assert accepted["Version"] == "2017-05-25"
            assert accepted["TemplateCode"] == "SMS_153055065"
            params = json.loads(accepted["TemplateParam"])
        else:
            assert accepted["PhoneNumberSet"] == ["+8613800000000"]
            assert accepted["SmsSdkAppId"] == "1400006666"
            assert accepted["headers"]["X-TC-Action"] == "SendSms"
            assert accepted["headers"]["X-TC-Version"] == "2021-01-11"
            result, product = accepted["TemplateParamSet"]
            params = {"result": result, "product": product}
        assert params == {"result": "正品，本次为首次查询。", "product": "Extinguisher 4kg"}

        listing = platform.client.get("/api/v1/channels/sms/outbox", headers=platform.operator.auth)
        assert listing.status_code == 200, listing.text
        [row] = listing.json()
        assert (row["state"], row["attempts"], row["verdict"]) == ("delivered", 3, "genuine")
        assert "13800000000" not in listing.text
        refused = platform.client.get("/api/v1/channels/sms/outbox", headers=acme.auth)
        assert refused.status_code == 403
    finally:
        platform.close()


def test_a_wrong_secret_is_refused_by_the_providers_verifier_and_retried(
    migrated: Settings, provider: FakeProvider
) -> None:
    platform = configured(migrated, provider, sms_access_key_secret="not-the-secret")
    sender = platform.app.state.sms_sender
    try:
        text_uplink(platform, "你好")  # the help text is a reply too
        assert sender.run(utcnow() + timedelta(seconds=1)) == 1
        [row] = outbox(platform)
        assert provider.refused
        assert row.state in ("pending", "failed")
        assert "Signature" in row.last_error
        assert provider.accepted == []
    finally:
        platform.close()
