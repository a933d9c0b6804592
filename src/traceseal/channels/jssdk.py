"""The WeChat JS-SDK's ``wx.config``: its signature over the ``jsapi_ticket``, and the
official account's ``access_token`` and ``jsapi_ticket``, each valid for about two hours.

WeChat limits how often they may be fetched and a new one replaces the old, so each is
fetched once per expiry for every worker process: the value is shared through the
``channel_tokens`` table, and a worker that finds it expired takes a short lease on
refreshing it while the others wait for the new value (the fetch itself runs outside any
transaction, so SQLite's write lock is never held over the network). Each process also keeps
the value in memory until shortly before it expires.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session, sessionmaker

from traceseal import outbound
from traceseal.channels.models import ChannelToken
from traceseal.config import Settings
from traceseal.db import dialect_insert, unit_of_work, utcnow
from traceseal.keys import MasterKey
from traceseal.outbound import Policy

__all__ = ["WeChatError", "WeChatTokens"]

#: A value is replaced this long before WeChat says it expires.
MARGIN = timedelta(minutes=5)
_PURPOSE = "wechat-token"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TRUSTED = Policy(trusted=True)


class WeChatError(Exception):
    """WeChat's API could not be reached or refused (its errcode and errmsg)."""


class WeChatTokens:
    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        keyring: MasterKey,
        timeout: float = 5.0,
    ) -> None:
        self._settings = settings
        self._factory = session_factory
        self._keyring = keyring
        self.timeout = timeout
        self._memory: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def ticket(self) -> str:
        """The current ``jsapi_ticket``; raises WeChatError."""
        found = self._fresh("jsapi_ticket")
        if found is not None:
            return found
        token = self.access_token()
        return self._value("jsapi_ticket", lambda: self._fetch_ticket(token))

    def access_token(self) -> str:
        found = self._fresh("access_token")
        return found if found is not None else self._value("access_token", self._fetch_token)

    def _fresh(self, name: str) -> str | None:
        cached = self._memory.get(name)
        if cached is not None and cached[1] > utcnow() + MARGIN:
            return cached[0]
        return None

    def _value(self, name: str, fetch: Any) -> str:
        with self._lock:  # one thread of this process asks; the others find it in memory
            found = self._fresh(name)
            if found is None:
                value, expires = self._shared(name, fetch)
                self._memory[name] = (value, expires)
                found = value
            return found

    def _shared(self, name: str, fetch: Any) -> tuple[str, datetime]:
        """The value from the table, or fetched by this process under a lease."""
        give_up = time.monotonic() + 2 * self.timeout
        while True:
            now = utcnow()
            with unit_of_work(self._factory) as session:
                session.execute(
                    dialect_insert(session, ChannelToken)
                    .values(name=name, wrapped_value=b"", expires_at=_EPOCH)
                    .on_conflict_do_nothing(index_elements=[ChannelToken.name])
                )
                row = session.get(ChannelToken, name, with_for_update=True, populate_existing=True)
                assert row is not None
                if row.wrapped_value and row.expires_at > now + MARGIN:
                    value = self._keyring.unwrap_secret(_PURPOSE, row.wrapped_value).decode()
                    return value, row.expires_at
                leased = row.refreshing_until is not None and row.refreshing_until > now
                if not leased or time.monotonic() > give_up:
                    row.refreshing_until = now + timedelta(seconds=self.timeout + 5)
                    break
            time.sleep(0.05)  # another worker is fetching it: read its value shortly
        try:
            value, lifetime = fetch()
        except WeChatError:
            self._release(name)
            raise
        expires = utcnow() + timedelta(seconds=lifetime)
        with unit_of_work(self._factory) as session:
            row = session.get(ChannelToken, name, with_for_update=True)
            assert row is not None
            row.wrapped_value = self._keyring.wrap_secret(_PURPOSE, value.encode())
            row.expires_at = expires
            row.refreshing_until = None
        return value, expires

    def _release(self, name: str) -> None:
        with unit_of_work(self._factory) as session:
            row = session.get(ChannelToken, name)
            if row is not None:
                row.refreshing_until = None

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        url = f"{self._settings.wechat_api_base.rstrip('/')}{path}?{urlencode(params)}"
        try:
            status, body = outbound.request(
                "GET", url, None, {"Accept": "application/json"}, timeout=self.timeout,
                policy=_TRUSTED,
            )  # fmt: skip
        except (OSError, http.client.HTTPException, outbound.Refused) as exc:
            raise WeChatError(f"WeChat's API is not reachable: {type(exc).__name__}") from None
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if status != 200 or not isinstance(answer, dict):
            raise WeChatError(f"WeChat's API answered HTTP {status}")
        if answer.get("errcode"):
            raise WeChatError(f"WeChat refused: {answer.get('errcode')} {answer.get('errmsg')}")
        return answer

    def _fetch_token(self) -> tuple[str, int]:
        answer = self._get(
            "/cgi-bin/token",
            {
                "grant_type": "client_credential",
                "appid": self._settings.wechat_app_id,
                "secret": self._settings.wechat_app_secret,
            },
        )
        return _value_of(answer, "access_token")

    def _fetch_ticket(self, token: str) -> tuple[str, int]:
        answer = self._get("/cgi-bin/ticket/getticket", {"access_token": token, "type": "jsapi"})
        return _value_of(answer, "ticket")


def _value_of(answer: dict[str, Any], key: str) -> tuple[str, int]:
    value, lifetime = answer.get(key), answer.get("expires_in", 7200)
    if not isinstance(value, str) or not value or not isinstance(lifetime, int):
        raise WeChatError(f"WeChat's answer has no {key}")
    return value, lifetime
