"""Reading what a request asks for: language, representation, and who is asking."""

from __future__ import annotations

import re
import secrets

from starlette.requests import Request
from starlette.responses import Response

LANGS = ("zh-CN", "en")
DEVICE_COOKIE = "ts_device"
_TWO_YEARS = 2 * 365 * 24 * 3600

# Link-preview fetchers and crawlers: they may see the page, but their fetch is not a
# consumer's query. Named precisely: phones and browsers must never match (the CUBOT phone
# brand, Sogou's and Yandex's mobile browsers, WeChat's MicroMessenger are people). Most
# crawlers also put a "+http://..." info link in their user agent.
_BOTS = re.compile(
    r"\+https?://|googlebot|bingbot|bingpreview|baiduspider|yandexbot|duckduckbot|slurp|"
    r"applebot|petalbot|bytespider|360spider|yisouspider|sogou web spider|sogou inst spider|"
    r"facebookexternalhit|facebookcatalog|meta-externalagent|twitterbot|linkedinbot|"
    r"slackbot|slack-imgproxy|telegrambot|discordbot|whatsapp|skypeuripreview|pinterestbot|"
    r"redditbot|embedly|vkshare|iframely|headlesschrome|chrome-lighthouse|"
    r"\b(?:crawler|spider)\b|[a-z]bot/",
    re.IGNORECASE,
)


def language(request: Request) -> str:
    """``?lang=`` if given, else the first of zh/en in Accept-Language; zh-CN by default."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    for part in _by_quality(request.headers.get("accept-language", "")):
        tag = part.lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return "zh-CN"


def _by_quality(header: str) -> list[str]:
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")):
        value, _, params = item.strip().partition(";")
        quality = 1.0
        match = re.search(r"q=([0-9.]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                quality = 0.0
        if value and quality > 0:
            ranked.append((-quality, index, value.strip()))
    return [value for _, _, value in sorted(ranked)]


def representation(request: Request, *, linkset_param: bool = True) -> str:
    """``html``, ``json`` or ``linkset``: what the client prefers among what we offer.

    HTML unless JSON or a linkset is asked for by name (``*/*`` gets the page: phones
    opening a QR code, and link previews, must see HTML).
    """
    if linkset_param and request.query_params.get("linkType") in ("linkset", "all"):
        return "linkset"
    for media in _by_quality(request.headers.get("accept", "")):
        media = media.lower()
        if media == "application/linkset+json":
            return "linkset"
        if media in ("application/json", "application/problem+json"):
            return "json"
        if media in ("text/html", "application/xhtml+xml", "*/*", "text/*"):
            return "html"
    return "html"


def is_bot(request: Request) -> bool:
    """HEAD requests, prefetches and link-preview or crawler user agents."""
    if request.method == "HEAD":
        return True
    purpose = request.headers.get("sec-purpose", "") + request.headers.get("purpose", "")
    if "prefetch" in purpose.lower() or "prerender" in purpose.lower():
        return True
    return bool(_BOTS.search(request.headers.get("user-agent", "")))


def client_ip(request: Request) -> str | None:
    # Behind a reverse proxy, run uvicorn with --proxy-headers and --forwarded-allow-ips so
    # that request.client is the real client (docs/operations.md).
    return request.client.host if request.client else None


def device_id(request: Request) -> str | None:
    value = request.cookies.get(DEVICE_COOKIE, "")
    return value if re.fullmatch(r"[A-Za-z0-9_-]{16,64}", value) else None


def page_device_id(request: Request) -> str:
    """The browser's device id, or a new one for a browser on its first page.

    A new id is used for the request that creates it, so the first scan and a reload of
    its page are known to come from one device; :func:`ensure_device_cookie` stores it.
    """
    found = device_id(request)
    if found is None:
        found = request.state.new_device = secrets.token_urlsafe(16)
    return found


def ensure_device_cookie(request: Request, response: Response) -> None:
    """Give a browser a random device id on its first page, so repeat visits are told apart."""
    if device_id(request) is None:
        response.set_cookie(
            DEVICE_COOKIE,
            getattr(request.state, "new_device", None) or secrets.token_urlsafe(16),
            max_age=_TWO_YEARS,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
