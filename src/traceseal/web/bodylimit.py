"""Refuse request bodies over a size limit before they are read into memory.

A route declares its own limit with ``@body_limit(...)`` on its endpoint (a number of bytes, or
a function of the settings); every other route gets ``DEFAULT_BODY_LIMIT``. The middleware
learns the route lazily: Starlette's router writes the matched endpoint into the request's
scope before the endpoint reads its body, so the first ``receive`` knows which limit applies,
and no path is special-cased here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from traceseal.config import Settings

#: Anything a client may send to a route that declares nothing (EPCIS capture declares more).
DEFAULT_BODY_LIMIT = 64 * 1024 * 1024

Limit = int | Callable[[Settings], int]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def body_limit(limit: Limit) -> Callable[[Endpoint], Endpoint]:
    """Declare the largest request body ``limit`` (bytes, or from the settings) a route reads.

    Put it under the route decorator::

        @router.post("/api/v1/verify")
        @body_limit(8 * 1024)
        async def verify(...): ...
    """

    def declare(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, "body_limit", limit)  # noqa: B010 - an attribute functions lack
        return endpoint

    return declare


def limit_of(scope: Scope) -> int:
    declared: Limit | None = getattr(scope.get("endpoint"), "body_limit", None)
    if declared is None:
        return DEFAULT_BODY_LIMIT
    if isinstance(declared, int):
        return declared
    settings: Settings = scope["app"].state.settings
    return declared(settings)


class BodyTooLarge(HTTPException):
    """An HTTP exception, so that FastAPI's body parsing passes it on as it is."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"the request body is over the limit of {limit} bytes for this endpoint"
        )


class BodyLimit:
    """ASGI middleware: the route's body limit, else a 413 problem.

    A declared Content-Length over the limit is refused before anything is read; a chunked
    body is counted as it streams and cut off once it passes the limit.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = -1
        seen = 0

        async def counted() -> Message:
            nonlocal limit, seen
            if limit < 0:
                limit = limit_of(scope)
                declared = dict(scope["headers"]).get(b"content-length")
                if declared is not None and (not declared.isdigit() or int(declared) > limit):
                    raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)
