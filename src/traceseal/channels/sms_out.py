"""Sending SMS replies: the providers' SendSms calls, signed as their documentation says, and
the outbox worker that sends queued replies with retries and back-off (traceseal.outbox).

Chinese providers send only approved templates: a reply is the template
``TRACESEAL_SMS_TEMPLATE`` with two parameters, ``result`` (the verdict's sentence) and
``product`` (the product's name, empty when unknown). Provider endpoints come from the
operator's settings and are called as given (``Policy(trusted=True)``), through the one
outbound HTTP module.

* Alibaba Cloud ``SendSms`` (Dysmsapi, RPC API version 2017-05-25): the parameters are
  signed with HMAC-SHA1 (signature version 1.0): sort them, percent-encode names and values
  (RFC 3986), join with ``&``; sign ``POST&%2F&`` + the encoded query with the AccessKey
  secret followed by ``&``; Base64.
* Tencent Cloud ``SendSms`` (API 2021-01-11): TC3-HMAC-SHA256 over the canonical request
  (method, path, query, the ``content-type`` and ``host`` headers, the body's SHA-256),
  with a key derived from the SecretKey, the day and the service.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from sqlalchemy.orm import Session, sessionmaker

from traceseal import outbound
from traceseal.channels.models import SmsReply
from traceseal.channels.service import PHONE_PURPOSE
from traceseal.config import Settings
from traceseal.keys import MasterKey
from traceseal.outbound import Policy
from traceseal.outbox import Outbox, Outcome

__all__ = ["Aliyun", "Request", "SmsSender", "Tencent", "adapter"]

ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com"
TENCENT_ENDPOINT = "https://sms.tencentcloudapi.com"
_TRUSTED = Policy(trusted=True)


@dataclass(frozen=True, slots=True)
class Request:
    """One signed provider request, built before it is sent (and testable without a network)."""

    url: str
    body: bytes
    headers: Mapping[str, str]


class Adapter(Protocol):
    def build(self, phone: str, params: Mapping[str, str], now: datetime) -> Request: ...
    def read(self, status: int, body: bytes) -> Outcome: ...


def _encode(value: str) -> str:
    """RFC 3986 percent-encoding as Alibaba Cloud's signature wants it (space is %20, ~ kept)."""
    return quote(value, safe="~")


class Aliyun:
    """Alibaba Cloud Dysmsapi ``SendSms`` with the RPC signature (HMAC-SHA1, version 1.0)."""

    def __init__(self, settings: Settings) -> None:
        self.endpoint = (settings.sms_endpoint or ALIYUN_ENDPOINT).rstrip("/") + "/"
        self.key_id = settings.sms_access_key_id
        self.secret = settings.sms_access_key_secret
        self.sign_name = settings.sms_sign_name
        self.template = settings.sms_template

    def build(self, phone: str, params: Mapping[str, str], now: datetime) -> Request:
        fields = {
            "AccessKeyId": self.key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone.removeprefix("+86"),
            "RegionId": "cn-hangzhou",
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": secrets.token_hex(16),
            "SignatureVersion": "1.0",
            "TemplateCode": self.template,
            "TemplateParam": json.dumps(dict(params), ensure_ascii=False, sort_keys=True),
            "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        fields["Signature"] = self.signature(fields, "POST")
        body = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in fields.items())
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        return Request(self.endpoint, body.encode(), headers)

    def signature(self, fields: Mapping[str, str], method: str) -> str:
        query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(fields.items()))
        to_sign = f"{method}&{_encode('/')}&{_encode(query)}"
        mac = hmac.new(f"{self.secret}&".encode(), to_sign.encode(), hashlib.sha1)
        return base64.b64encode(mac.digest()).decode()

    def read(self, status: int, body: bytes) -> Outcome:
        answer = _json(body)
        code = str(answer.get("Code", f"HTTP {status}"))
        if status == 200 and code == "OK":
            return Outcome(reference=str(answer.get("BizId", "")) or None)
        message = f"{code}: {answer.get('Message', '')}".strip(": ")
        # Throttling and the provider's own trouble pass; a refused number, template or
        # signature will be refused again.
        final = code.startswith("isv.") and code != "isv.BUSINESS_LIMIT_CONTROL"
        return Outcome(message or f"HTTP {status}", final=final)


class Tencent:
    """Tencent Cloud ``SendSms`` (2021-01-11) signed with TC3-HMAC-SHA256."""

    service = "sms"

    def __init__(self, settings: Settings) -> None:
        self.endpoint = (settings.sms_endpoint or TENCENT_ENDPOINT).rstrip("/") + "/"
        self.host = urlsplit(self.endpoint).netloc
        self.secret_id = settings.sms_access_key_id
        self.secret_key = settings.sms_access_key_secret
        self.app_id = settings.sms_app_id
        self.sign_name = settings.sms_sign_name
        self.template = settings.sms_template

    def build(self, phone: str, params: Mapping[str, str], now: datetime) -> Request:
        phone = phone if phone.startswith("+") else f"+86{phone}"
        payload = {
            "PhoneNumberSet": [phone],
            "SmsSdkAppId": self.app_id,
            "SignName": self.sign_name,
            "TemplateId": self.template,
            # Tencent's templates number their parameters: {1} is result, {2} product.
            "TemplateParamSet": [params.get("result", ""), params.get("product", "")],
        }
        body = json.dumps(payload, ensure_ascii=False).encode()
        stamp = int(now.timestamp())
        content_type = "application/json; charset=utf-8"
        headers = {
            "Content-Type": content_type,
            "Host": self.host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11",
            "X-TC-Timestamp": str(stamp),
            "X-TC-Region": "ap-guangzhou",
            "Authorization": self.authorization(body, stamp, content_type),
        }
        return Request(self.endpoint, body, headers)

    def authorization(self, body: bytes, stamp: int, content_type: str) -> str:
        day = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d")
        signed_headers = "content-type;host"
        canonical = "\n".join(
            [
                "POST",
                "/",
                "",
                f"content-type:{content_type}\nhost:{self.host}\n",
                signed_headers,
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = f"{day}/{self.service}/tc3_request"
        to_sign = "\n".join(
            [
                "TC3-HMAC-SHA256",
                str(stamp),
                scope,
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        key = _hmac(f"TC3{self.secret_key}".encode(), day)
        key = _hmac(_hmac(key, self.service), "tc3_request")
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        return (
            f"TC3-HMAC-SHA256 Credential={self.secret_id}/{scope}, "
            f"SignedHeaders={signed_headers}, Signature={signature}"
        )

    def read(self, status: int, body: bytes) -> Outcome:
        answer = _json(body).get("Response", {})
        if not isinstance(answer, dict):
            return Outcome(f"HTTP {status}: not Tencent's answer")
        error = answer.get("Error")
        if isinstance(error, dict):
            code = str(error.get("Code", ""))
            return Outcome(f"{code}: {error.get('Message', '')}", final=_tencent_final(code))
        statuses = answer.get("SendStatusSet")
        first = statuses[0] if isinstance(statuses, list) and statuses else {}
        first = first if isinstance(first, dict) else {}
        if status == 200 and str(first.get("Code", "")).lower() == "ok":
            return Outcome(reference=str(first.get("SerialNo", "")) or None)
        code = str(first.get("Code", f"HTTP {status}"))
        return Outcome(f"{code}: {first.get('Message', '')}", final=_tencent_final(code))


def _tencent_final(code: str) -> bool:
    """Refusals that trying again will not change (a bad key, number, template or signature);
    limits (LimitExceeded) and the provider's own trouble (InternalError) pass."""
    return code.startswith(
        ("AuthFailure", "InvalidParameter", "UnauthorizedOperation", "FailedOperation")
    )


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def adapter(provider: str, settings: Settings) -> Adapter | None:
    """The adapter of ``provider`` (aliyun, tencent), configured from the settings."""
    if provider == "aliyun":
        return Aliyun(settings)
    if provider == "tencent":
        return Tencent(settings)
    return None


class SmsSender(Outbox[tuple[Adapter, str, dict[str, str]]]):
    """Sends queued SMS replies (``sms_outbox``); :meth:`run` is the background task."""

    model = SmsReply

    def __init__(
        self, session_factory: sessionmaker[Session], keyring: MasterKey, settings: Settings
    ) -> None:
        super().__init__(
            session_factory,
            max_attempts=settings.sms_max_attempts,
            retry_base=settings.sms_retry_base,
            timeout=settings.webhook_timeout,
        )
        self._keyring = keyring
        self._settings = settings

    def prepare(
        self,
        session: Session,  # noqa: ARG002 - the outbox's signature
        row: Any,
    ) -> tuple[Adapter, str, dict[str, str]] | None:
        reply: SmsReply = row
        chosen = adapter(reply.provider, self._settings)
        if chosen is None or reply.wrapped_phone is None:
            reply.last_error = f"no SMS provider {reply.provider!r} configured"
            return None
        phone = self._keyring.unwrap_secret(PHONE_PURPOSE, reply.wrapped_phone).decode()
        return chosen, phone, {str(k): str(v) for k, v in reply.params.items()}

    def send(self, job: tuple[Adapter, str, dict[str, str]], now: datetime) -> Outcome:
        chosen, phone, params = job
        request = chosen.build(phone, params, now)
        try:
            status, body = outbound.request(
                "POST",
                request.url,
                request.body,
                request.headers,
                timeout=self.timeout,
                policy=_TRUSTED,
            )
        except (OSError, http.client.HTTPException, outbound.Refused) as exc:
            return Outcome(f"{type(exc).__name__}: {exc}")
        return chosen.read(status, body)

    def finished(self, row: Any) -> None:
        # The number was kept only to send this reply.
        reply: SmsReply = row
        reply.wrapped_phone = None
