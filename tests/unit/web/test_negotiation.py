"""Who is a bot, which language, which representation: real user agents and headers."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from traceseal.web.negotiation import is_bot, language, representation

PEOPLE = [
    "Mozilla/5.0 (Linux; Android 11; CUBOT P40) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/96.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; SM-G9750) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/69.0 Mobile Safari/537.36 SogouMobileBrowser/5.26.1",
    "Mozilla/5.0 (Linux; Android 12) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/104.0 "
    "YaBrowser/22.9.1 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 MicroMessenger/8.0.47 NetType/WIFI Language/zh_CN",
    "Mozilla/5.0 (Linux; U; Android 12; zh-cn; 2201123C Build/SKQ1) AppleWebKit/537.36 "
    "Chrome/100 Mobile Safari/537.36 XiaoMi/MiuiBrowser/17.1",
    "Mozilla/5.0 (Linux; Android 10; HarmonyOS; ALN-AL00) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/99 HuaweiBrowser/14.0 Mobile Safari/537.36",
]
BOTS = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "WhatsApp/2.23.20.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0 Safari/537.36",
]


def request(method: str = "GET", query: str = "", **headers: str) -> Request:
    raw = [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()]
    return Request(
        {
            "type": "http",
            "method": method,
            "path": "/",
            "query_string": query.encode(),
            "headers": raw,
        }
    )


@pytest.mark.parametrize("agent", PEOPLE)
def test_phones_and_their_browsers_are_people(agent: str) -> None:
    assert not is_bot(request(user_agent=agent))


@pytest.mark.parametrize("agent", BOTS)
def test_previews_and_crawlers_are_bots(agent: str) -> None:
    assert is_bot(request(user_agent=agent))


def test_head_and_prefetch_never_count() -> None:
    assert is_bot(request("HEAD", user_agent=PEOPLE[0]))
    assert is_bot(request(user_agent=PEOPLE[0], sec_purpose="prefetch;prerender"))


def test_language_follows_the_parameter_then_the_header_by_quality() -> None:
    assert language(request()) == "zh-CN"
    assert language(request(accept_language="en-GB,en;q=0.9")) == "en"
    assert language(request(accept_language="fr-FR, en;q=0.5, zh;q=0.8")) == "zh-CN"
    assert language(request(query="lang=en", accept_language="zh-CN")) == "en"
    assert language(request(query="lang=de", accept_language="en")) == "en"


def test_pages_unless_json_or_a_linkset_is_asked_for_by_name() -> None:
    assert representation(request(accept="*/*")) == "html"
    assert representation(request()) == "html"
    assert representation(request(accept="application/json")) == "json"
    assert representation(request(accept="text/html;q=0.5, application/json")) == "json"
    assert representation(request(accept="application/linkset+json")) == "linkset"
    assert representation(request(query="linkType=linkset")) == "linkset"
