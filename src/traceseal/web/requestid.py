"""``X-Request-ID`` on every answer, and in every log line written while the request runs.

A pure ASGI middleware (no per-request objects beyond one context variable): a caller's id is
kept if it is sane (1-128 characters of letters, digits and ``._:-``, what proxies and load
balancers send: UUIDs, trace ids), otherwise a new one is made (32 hex digits). The id lives in
a context variable, which Starlette copies into the thread pool for sync handlers, so every
log record of the request carries it through :class:`RequestIdFilter`; uvicorn's access line
is written while the response starts, inside the same context, so it carries it too.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HEADER", "RequestId", "RequestIdFilter", "current_request_id"]

HEADER = b"x-request-id"
#: What an id from outside may look like: nothing a log reader or a terminal would misread
#: (no spaces, quotes, control characters), and short.
_SANE = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_request_id: ContextVar[str | None] = ContextVar("traceseal_request_id", default=None)


class _Ids:
    """New ids: this process's random 64-bit prefix and a count, in 32 hex digits. Unique
    across processes and restarts without a system call per request (a UUID4 reads
    os.urandom each time, which cost more than the rest of this middleware together, as
    bench/middleware.py shows). Ids label log lines, they are no secrets: that they count
    up does no harm."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.prefix = secrets.token_hex(8)
        self.count = itertools.count(1)

    def new(self) -> bytes:
        return f"{self.prefix}{next(self.count):016x}".encode()


_IDS = _Ids()
# A forked child (a pre-forking server) draws its own prefix, never its parent's.
os.register_at_fork(after_in_child=_IDS.reset)


def current_request_id() -> str | None:
    """The id of the request being answered, or None outside a request (a background job)."""
    return _request_id.get()


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == HEADER), None)
        raw = given if given is not None and _SANE.fullmatch(given) else _IDS.new()
        # Not reset afterwards: each request runs in a task of its own (uvicorn), whose
        # context ends with it, and the error line of a request that raised is written after
        # this returns, by Starlette's outermost ServerErrorMiddleware: it keeps the id.
        _request_id.set(raw.decode("ascii"))

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(n, v) for n, v in message.get("headers", ()) if n.lower() != HEADER]
                headers.append((HEADER, raw))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_id)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (None outside a request) to every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True
