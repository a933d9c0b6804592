"""The WeChat official account (服务号) at ``/channels/wechat``: WeChat's server calls it with
each message a follower sends and each event (follow, scan of a parametric QR code, the menu's
scan button), and shows our passive reply within its 5-second deadline.

``GET`` is the server check WeChat makes when the URL is configured; ``POST`` carries a
message as XML, encrypted in safe mode (``TRACESEAL_WECHAT_AES_KEY``). Every request's
``signature`` is checked (403 otherwise); the XML is parsed with no DTD, entities or network
(a document with a DOCTYPE is refused). A message WeChat retries (same ``MsgId``, or the same
sender and ``CreateTime`` for an event) is answered from its record and counted once.
"""

from __future__ import annotations

import secrets
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from traceseal.channels.jssdk import WeChatError, WeChatTokens
from traceseal.channels.models import Provider
from traceseal.channels.service import Inbound, Messages
from traceseal.channels.wechat_crypto import CryptoError, MessageCipher, jssdk_signature
from traceseal.channels.wechat_crypto import signature as sign
from traceseal.config import Settings
from traceseal.errors import Forbidden, InvalidInput, NotFound
from traceseal.verify.models import Channel
from traceseal.web.bodylimit import body_limit
from traceseal.web.problems import problem

__all__ = ["WECHAT_BODY_LIMIT", "parse_xml", "router", "text_reply"]

router = APIRouter(prefix="/channels/wechat", tags=["channels"])

#: A message is a few hundred bytes; WeChat's own limit for text is 2,048 bytes.
WECHAT_BODY_LIMIT = 64 * 1024
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)
#: Events that carry a code: a parametric QR code (EventKey) or the menu's scan button.
_SCENE_EVENTS = {"subscribe", "scan"}
_SCAN_EVENTS = {"scancode_waitmsg", "scancode_push"}


def parse_xml(data: bytes) -> dict[str, str]:
    """The fields of a WeChat XML message (``ScanCodeInfo``'s as ``ScanResult``).

    Raises InvalidInput for anything that is not a small, plain XML document.
    """
    if b"<!doctype" in data[:1024].lower() or b"<!entity" in data.lower():
        raise InvalidInput("a WeChat message has no DOCTYPE or entities")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"not well-formed XML: {exc.msg}") from None
    if root.tag != "xml":
        raise InvalidInput("a WeChat message's root element is <xml>")
    fields: dict[str, str] = {}
    for child in root:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "ScanCodeInfo":
            for inner in child:
                if isinstance(inner.tag, str):
                    fields[inner.tag] = (inner.text or "").strip()
        else:
            fields[child.tag] = (child.text or "").strip()
    return fields


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(to: str, official: str, content: str, now: int) -> bytes:
    """A passive text reply (被动回复文本消息)."""
    return (
        f"<xml><ToUserName>{_cdata(to)}</ToUserName>"
        f"<FromUserName>{_cdata(official)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType>{_cdata('text')}</MsgType>"
        f"<Content>{_cdata(content)}</Content></xml>"
    ).encode()


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    if not settings.wechat_token:
        raise NotFound("the WeChat channel is not configured")
    return settings


def _check(settings: Settings, sig: str, timestamp: str, nonce: str) -> None:
    if not secrets.compare_digest(sign(settings.wechat_token, timestamp, nonce), sig):
        raise Forbidden("the signature does not match")


_Q = Annotated[str, Query(max_length=128)]


@router.get("", include_in_schema=False)
async def server_check(
    request: Request, signature: _Q, timestamp: _Q, nonce: _Q, echostr: _Q
) -> Response:
    """WeChat's check of the configured URL: echo ``echostr`` if the signature matches."""
    _check(_settings(request), signature, timestamp, nonce)
    return PlainTextResponse(echostr)


def _text_of(fields: dict[str, str]) -> tuple[str, str | None] | None:
    """What the message asks about, and its id; None for events that want no answer."""
    kind = fields.get("MsgType", "").lower()
    if kind == "text":
        return fields.get("Content", ""), fields.get("MsgId") or None
    if kind != "event":
        # Pictures, voice, locations: answered with the help text.
        return "", fields.get("MsgId") or None
    event = fields.get("Event", "").lower()
    stamp = f"event:{fields.get('CreateTime', '')}:{event}"
    if event in _SCENE_EVENTS:
        key = fields.get("EventKey", "")
        return key.removeprefix("qrscene_"), stamp
    if event in _SCAN_EVENTS:
        return fields.get("ScanResult", ""), stamp
    return None


async def _answer(messages: Messages, fields: dict[str, str]) -> str | None:
    found = _text_of(fields)
    sender = fields.get("FromUserName", "")
    if found is None or not sender or len(sender) > 128:
        return None
    text, message_id = found
    inbound = Inbound(Provider.WECHAT, Channel.WECHAT, sender, text, message_id)
    return (await messages.answer(inbound)).reply


@router.post("", include_in_schema=False)
@body_limit(WECHAT_BODY_LIMIT)
async def message(
    request: Request,
    signature: _Q,
    timestamp: _Q,
    nonce: _Q,
    encrypt_type: Annotated[str, Query(max_length=16)] = "raw",
    msg_signature: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    """One message or event; the answer is the passive reply (XML), or ``success``."""
    settings = _settings(request)
    _check(settings, signature, timestamp, nonce)
    body = await request.body()
    cipher = _cipher(settings)
    if (encrypt_type == "aes") != (cipher is not None):
        raise InvalidInput("the message's encryption does not match the configured mode")
    outer = parse_xml(body)
    if cipher is not None:
        encrypted = outer.get("Encrypt", "")
        expected = sign(settings.wechat_token, timestamp, nonce, encrypted)
        if not secrets.compare_digest(expected, msg_signature):
            raise Forbidden("the message signature does not match")
        try:
            fields = parse_xml(cipher.decrypt(encrypted))
        except CryptoError as exc:
            raise InvalidInput(f"the message does not decrypt: {exc}") from None
    else:
        fields = outer
    messages: Messages = request.app.state.messages
    reply = await _answer(messages, fields)
    if reply is None:
        # WeChat's way of saying "no reply": the plain text success.
        return PlainTextResponse("success")
    xml = text_reply(
        fields.get("FromUserName", ""), fields.get("ToUserName", ""), reply, int(time.time())
    )
    if cipher is None:
        return Response(xml, media_type="application/xml")
    return Response(_sealed(settings, cipher, xml, nonce), media_type="application/xml")


def _cipher(settings: Settings) -> MessageCipher | None:
    if not settings.wechat_aes_key:
        return None
    return MessageCipher(settings.wechat_aes_key, settings.wechat_app_id)


def _sealed(settings: Settings, cipher: MessageCipher, xml: bytes, nonce: str) -> bytes:
    """The reply encrypted and signed for safe mode."""
    encrypted = cipher.encrypt(xml)
    stamp = str(int(time.time()))
    sig = sign(settings.wechat_token, stamp, nonce, encrypted)
    return (
        f"<xml><Encrypt>{_cdata(encrypted)}</Encrypt>"
        f"<MsgSignature>{_cdata(sig)}</MsgSignature>"
        f"<TimeStamp>{stamp}</TimeStamp><Nonce>{_cdata(nonce)}</Nonce></xml>"
    ).encode()


class JsSdkConfig(BaseModel):
    """What ``wx.config`` takes (with ``jsApiList: ["scanQRCode"]``)."""

    appId: str  # noqa: N815 - the JS-SDK's names
    timestamp: int
    nonceStr: str  # noqa: N815
    signature: str


@router.get(
    "/jssdk-config",
    response_model=JsSdkConfig,
    responses={
        404: {"description": "The WeChat channel is not configured."},
        422: {"description": "The URL is not a page of this platform."},
        503: {"description": "WeChat's API could not give a jsapi_ticket (problem details)."},
    },
)
async def jssdk_config(
    request: Request, url: Annotated[str, Query(min_length=1, max_length=1000)]
) -> Response:
    """The JS-SDK configuration for a page of this platform opened inside WeChat (the web
    verify page's scan button): signed over the page's URL without its ``#`` fragment."""
    settings = _settings(request)
    page = url.split("#", 1)[0]
    base = settings.public_url
    if not (page == base or page.startswith((base + "/", base + "?"))):
        raise InvalidInput("only pages of this platform are signed", field="url")
    tokens: WeChatTokens = request.app.state.wechat_tokens
    try:
        ticket = await run_in_threadpool(tokens.ticket)
    except WeChatError as exc:
        return problem(503, "WeChat unavailable", str(exc))
    nonce = secrets.token_urlsafe(12)
    stamp = int(time.time())
    config = JsSdkConfig(
        appId=settings.wechat_app_id,
        timestamp=stamp,
        nonceStr=nonce,
        signature=jssdk_signature(ticket, nonce, stamp, page),
    )
    return Response(config.model_dump_json(), media_type="application/json")
