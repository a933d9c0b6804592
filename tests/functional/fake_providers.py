"""Fake SMS providers for the tests: real HTTP servers on local ports that check each
request's signature with verifiers written here from the providers' public documentation
(not with traceseal's signing code), fail the first ``failures`` requests, then accept."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

KEY_ID = "LTAI-test-key-id"
KEY_SECRET = "test-access-key-secret-0123456789"
_UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def aliyun_percent(text: str) -> str:
    """Alibaba Cloud's percent-encoding: every byte of the UTF-8 form but A-Z a-z 0-9 - _ . ~
    as %XY with upper-case hex (so space is %20, * is %2A, ~ stays)."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode())


def aliyun_expected(fields: dict[str, str], method: str, secret: str) -> str:
    """The RPC signature (version 1.0, HMAC-SHA1) of a request's parameters.

    https://help.aliyun.com/en/cmn/developer-reference/signature-mechanism
    (also https://www.alibabacloud.com/help/doc-detail/127287.htm): sort the parameters but
    Signature by name, percent-encode names and values, join as name=value with "&"; the
    string to sign is METHOD & percent("/") & percent(that query); the key is the AccessKey
    secret followed by "&"; the signature is the Base64 of the HMAC-SHA1.
    """
    pairs = sorted((k, v) for k, v in fields.items() if k != "Signature")
    query = "&".join(f"{aliyun_percent(k)}={aliyun_percent(v)}" for k, v in pairs)
    to_sign = f"{method}&{aliyun_percent('/')}&{aliyun_percent(query)}"
    mac = hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def tencent_expected(
    headers: Any, body: bytes, secret_id: str, secret_key: str, service: str = "sms"
) -> str:
    """The Authorization header TC3-HMAC-SHA256 gives for a POST to "/".

    https://www.tencentcloud.com/document/product/382/40664 (API 3.0 "Signature v3", the
    same page for every product, e.g. https://tencentcloud.com/document/api/570/36330):
    CanonicalRequest = method \\n URI \\n query \\n canonical headers \\n signed headers \\n
    hex(SHA256(payload)); StringToSign = "TC3-HMAC-SHA256" \\n timestamp \\n
    date/service/tc3_request \\n hex(SHA256(CanonicalRequest)); the key is
    HMAC(HMAC(HMAC("TC3" + SecretKey, date), service), "tc3_request").
    """
    stamp = headers["X-TC-Timestamp"]
    date = datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%d")
    canonical_headers = (
        f"content-type:{headers['Content-Type'].lower()}\nhost:{headers['Host'].lower()}\n"
    )
    canonical = (
        f"POST\n/\n\n{canonical_headers}\ncontent-type;host\n{hashlib.sha256(body).hexdigest()}"
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"

    def mac(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    signing = mac(mac(mac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )


class FakeProvider:
    """A provider's SendSms endpoint. ``kind`` is aliyun or tencent."""

    def __init__(self, kind: str, failures: int = 0) -> None:
        self.kind = kind
        self.failures = failures
        self.accepted: list[dict[str, Any]] = []
        self.refused: list[str] = []
        self.seen = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, answer = fake.handle(self.headers, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        self.seen += 1
        if self.kind == "aliyun":
            return self._aliyun(body)
        return self._tencent(headers, body)

    def _aliyun(self, body: bytes) -> tuple[int, dict[str, Any]]:
        fields = dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True))
        if fields.get("Signature") != aliyun_expected(fields, "POST", KEY_SECRET):
            self.refused.append("SignatureDoesNotMatch")
            return 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature..."}
        if self.seen <= self.failures:
            return 500, {"Code": "InternalError", "Message": "try again"}
        self.accepted.append(fields)
        return 200, {"Code": "OK", "Message": "OK", "BizId": f"9006197469364984{self.seen}^0"}

    def _tencent(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        if headers["Authorization"] != tencent_expected(headers, body, KEY_ID, KEY_SECRET):
            self.refused.append("AuthFailure.SignatureFailure")
            error = {"Code": "AuthFailure.SignatureFailure", "Message": "signature mismatch"}
            return 200, {"Response": {"Error": error, "RequestId": "r"}}
        if self.seen <= self.failures:
            return 502, {}
        payload = json.loads(body)
        self.accepted.append({"headers": dict(headers), **payload})
        status = {"SerialNo": f"5000:{self.seen}", "Code": "Ok", "Message": "send success"}
        return 200, {"Response": {"SendStatusSet": [status], "RequestId": "r"}}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
