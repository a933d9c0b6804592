"""SMS uplink (上行) callbacks: what people text to the platform's number, pushed by the
provider. Each URL carries a secret path segment (``traceseal channels urls``); a wrong one
answers 404, as for a path that does not exist.

The providers' forms (docs/channels.md):

* Alibaba Cloud SMS uplink push (``SmsUp``): a JSON array of
  ``{phone_number, send_time, content, sign_name, dest_code, sequence_id}``; answer
  ``{"code": 0, "msg": "接收成功"}``.
* Tencent Cloud SMS reply callback: ``{extend, mobile, nationcode, sign, text, time}``;
  answer ``{"result": 0, "errmsg": "OK"}``.
* Any other gateway: ``{from, text, id}``; the answer carries the reply for the gateway
  to send itself.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from traceseal.channels.models import Provider
from traceseal.channels.service import Answer, Inbound, Messages
from traceseal.errors import NotFound
from traceseal.keys import MasterKey
from traceseal.verify.models import Channel
from traceseal.web.bodylimit import body_limit

__all__ = ["callback_secret", "router"]

router = APIRouter(prefix="/channels/sms", tags=["channels"])

#: An uplink push holds at most a few messages of at most a few hundred characters.
SMS_BODY_LIMIT = 64 * 1024
_PHONE = r"^\+?[0-9]{3,20}$"
_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "Not a callback URL of this platform (wrong secret)."},
    413: {"description": "The body is larger than an uplink push can be."},
    422: {"description": "Not the provider's form (problem details); nothing is recorded."},
}


def callback_secret(keyring: MasterKey) -> str:
    """The secret path segment of the SMS callback URLs, derived from the master key."""
    return keyring.derive("sms-callback").hex()[:32]


def _messages(request: Request, secret: str) -> Messages:
    expected = callback_secret(request.app.state.keyring)
    if not hmac.compare_digest(secret.encode(), expected.encode()):
        raise NotFound("no such callback")
    messages: Messages = request.app.state.messages
    return messages


class AliyunUplink(BaseModel):
    """One message of Alibaba Cloud's uplink push (fields it may add are ignored)."""

    model_config = ConfigDict(extra="ignore")

    phone_number: str = Field(pattern=_PHONE, max_length=21)
    content: str = Field(max_length=1000)
    send_time: str = Field(default="", max_length=40)
    sign_name: str = Field(default="", max_length=100)
    dest_code: str = Field(default="", max_length=40)
    sequence_id: int | str = Field(description="The provider's id of the message.")


class TencentReply(BaseModel):
    """Tencent Cloud's SMS reply callback."""

    model_config = ConfigDict(extra="ignore")

    mobile: str = Field(pattern=_PHONE, max_length=21)
    nationcode: str = Field(default="86", pattern=r"^[0-9]{1,4}$")
    text: str = Field(max_length=1000)
    time: int = Field(ge=0, le=2**40, description="Unix seconds the user sent it.")
    sign: str = Field(default="", max_length=100)
    extend: str = Field(default="", max_length=40)


class GenericSms(BaseModel):
    """The documented form for any other SMS gateway."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    sender: str = Field(alias="from", pattern=_PHONE, max_length=21)
    text: str = Field(max_length=1000)
    id: str = Field(min_length=1, max_length=100, description="The gateway's message id.")


class GenericAnswer(BaseModel):
    reply: str = Field(description="The text to send back to the sender (≤ 70 characters).")
    verdict: str | None
    repeated: bool = Field(description="The message was received before: answered again.")


def _uplink(provider: Provider, sender: str, text: str, message_id: str | None) -> Inbound:
    return Inbound(provider, Channel.SMS, sender, text, message_id, reply_by_sms=True)


@router.post("/aliyun/{secret}", responses=_RESPONSES)
@body_limit(SMS_BODY_LIMIT)
async def aliyun_uplink(
    secret: str,
    request: Request,
    body: Annotated[list[AliyunUplink], Body(max_length=100)],
) -> dict[str, Any]:
    """Alibaba Cloud SMS uplink push (上行消息推送)."""
    messages = _messages(request, secret)
    for message in body:
        inbound = _uplink(
            Provider.ALIYUN, message.phone_number, message.content, str(message.sequence_id)
        )
        await messages.answer(inbound)
    return {"code": 0, "msg": "接收成功"}


@router.post("/tencent/{secret}", responses=_RESPONSES)
@body_limit(SMS_BODY_LIMIT)
async def tencent_reply(secret: str, request: Request, body: TencentReply) -> dict[str, Any]:
    """Tencent Cloud SMS reply callback (短信回复回调)."""
    messages = _messages(request, secret)
    sender = f"+{body.nationcode}{body.mobile.lstrip('+')}"
    # The callback has no message id: its send time and text make one, so a retry (the
    # same push again) is the same message however late it comes.
    text_digest = hashlib.sha256(body.text.encode()).hexdigest()[:16]
    await messages.answer(
        _uplink(Provider.TENCENT, sender, body.text, f"{body.time}:{text_digest}")
    )
    return {"result": 0, "errmsg": "OK"}


@router.post("/generic/{secret}", responses=_RESPONSES, response_model=GenericAnswer)
@body_limit(SMS_BODY_LIMIT)
async def generic_sms(secret: str, request: Request, body: GenericSms) -> GenericAnswer:
    """Any other SMS gateway: the answer carries the reply, which the gateway sends."""
    messages = _messages(request, secret)
    inbound = Inbound(Provider.GENERIC, Channel.SMS, body.sender, body.text, body.id)
    answer: Answer = await messages.answer(inbound)
    return GenericAnswer(
        reply=answer.reply,
        verdict=None if answer.verdict is None else answer.verdict.value,
        repeated=answer.repeated,
    )
