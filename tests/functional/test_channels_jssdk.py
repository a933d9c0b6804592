"""The JS-SDK configuration for the verify page inside WeChat: a fake WeChat API on a local
port hands out an access_token and a jsapi_ticket; two application instances over one
database (two workers) fetch each once between them, and the signature checks out."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Platform
from traceseal.app import create_app
from traceseal.config import Settings

TICKET = "kgt8ON7yVITDhtdwci0qeZX2gxWRvR9hbYVdOUOQ_test"


class FakeWeChat:
    def __init__(self, fail: bool = False) -> None:
        self.calls: Counter[str] = Counter()
        self.fail = fail
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = parse_qs(parts.query)
                fake.calls[parts.path] += 1
                if fake.fail:
                    answer = {"errcode": 40013, "errmsg": "invalid appid"}
                elif parts.path == "/cgi-bin/token":
                    assert params["appid"] == ["wx1234567890abcdef"]
                    assert params["secret"] == ["app-secret"]
                    answer = {"access_token": "ACCESS_TOKEN_1", "expires_in": 7200}
                else:
                    assert params == {"access_token": ["ACCESS_TOKEN_1"], "type": ["jsapi"]}
                    answer = {"errcode": 0, "errmsg": "ok", "ticket": TICKET, "expires_in": 7200}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def wechat() -> Iterator[FakeWeChat]:
    fake = FakeWeChat()
    yield fake
    fake.close()


def configured(settings: Settings, fake: FakeWeChat) -> Settings:
    return settings.replace(
        wechat_token="t",
        wechat_app_id="wx1234567890abcdef",
        wechat_app_secret="app-secret",
        wechat_api_base=fake.url,
    )


def test_two_workers_fetch_the_ticket_once_and_sign_the_page(
    migrated: Settings, wechat: FakeWeChat
) -> None:
    settings = configured(migrated, wechat)
    apps = [create_app(settings) for _ in range(2)]
    workers = [TestClient(app) for app in apps]
    page = "https://verify.example.org/verify?lang=zh-CN"
    try:
        # The route object is shared by both apps, and FastAPI builds its parameters' pydantic
        # validators on first use: first uses in parallel threads race inside pydantic (not
        # ours to test). A refused request (another site: no ticket fetched) builds them.
        for worker in workers:
            refused = worker.get("/channels/wechat/jssdk-config", params={"url": "https://x.test/"})
            assert refused.status_code == 422, refused.text
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(
                    lambda i: workers[i % 2].get(
                        "/channels/wechat/jssdk-config", params={"url": page + "#top"}
                    ),
                    range(16),
                )
            )
    finally:
        for worker, app in zip(workers, apps, strict=True):
            worker.close()
            app.state.engine.dispose()
    assert wechat.calls == {"/cgi-bin/token": 1, "/cgi-bin/ticket/getticket": 1}
    for response in answers:
        assert response.status_code == 200, response.text
        config = response.json()
        assert config["appId"] == "wx1234567890abcdef"
        text = (
            f"jsapi_ticket={TICKET}&noncestr={config['nonceStr']}"
            f"&timestamp={config['timestamp']}&url={page}"
        )
        assert config["signature"] == hashlib.sha1(text.encode()).hexdigest()  # noqa: S324


def test_other_sites_are_not_signed_and_a_refusing_wechat_is_503(migrated: Settings) -> None:
    fake = FakeWeChat(fail=True)
    platform = Platform(configured(migrated, fake))
    try:
        other = platform.client.get(
            "/channels/wechat/jssdk-config", params={"url": "https://evil.example/verify"}
        )
        assert other.status_code == 422
        lookalike = platform.client.get(
            "/channels/wechat/jssdk-config",
            params={"url": "https://verify.example.org.evil.example/"},
        )
        assert lookalike.status_code == 422
        down = platform.client.get(
            "/channels/wechat/jssdk-config", params={"url": "https://verify.example.org/verify"}
        )
        assert down.status_code == 503
        assert "40013" in down.json()["detail"]
    finally:
        platform.close()
        fake.close()


def test_the_verify_page_offers_the_scan_button_only_inside_wechat(
    migrated: Settings, wechat: FakeWeChat
) -> None:
    platform = Platform(configured(migrated, wechat))
    inside = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 MicroMessenger/8.0.50 NetType/WIFI"
    try:
        page = platform.client.get("/verify", headers={"User-Agent": inside})
        assert page.status_code == 200
        assert 'id="wechat-scan"' in page.text
        assert "https://res.wx.qq.com/open/js/jweixin-1.6.0.js" in page.text
        assert "https://res.wx.qq.com" in page.headers["content-security-policy"]
        script = platform.client.get("/static/wechat-scan.js")
        assert script.status_code == 200
        assert "wx.scanQRCode" in script.text
        outside = platform.client.get("/verify", headers={"User-Agent": "Mozilla/5.0 Chrome"})
        assert 'id="wechat-scan"' not in outside.text
        assert "res.wx.qq.com" not in outside.headers["content-security-policy"]
    finally:
        platform.close()
