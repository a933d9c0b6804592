"""Request latency by route template, as a pure ASGI middleware feeding a Prometheus histogram.

The label is the route's template (``/01/{gtin}/21/{serial}``), never the raw path: a path
carries codes, and one series per code would both leak them to whoever reads the metrics and
grow without bound. A request no route matched is counted under ``unmatched``, for the same
reason (scanners probe thousands of paths). Cost per request: two clock reads, one dict look-up
of the labelled child and one histogram observation (a few microseconds; no per-request
objects as BaseHTTPMiddleware would make).
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BUCKETS", "RequestMetrics", "request_histogram"]

#: Seconds. Verification answers in about a millisecond, exports take seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"
#: Any other method is counted as OTHER: a client chooses the method, and must not choose
#: how many series there are.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_histogram(registry: CollectorRegistry) -> Histogram:
    return Histogram(
        "traceseal_http_request_duration_seconds",
        "Time from receiving a request to the end of its answer, by route template.",
        ("method", "route", "status"),
        buckets=BUCKETS,
        registry=registry,
    )


class RequestMetrics:
    def __init__(self, app: ASGIApp, *, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram
        # labels() takes a lock and builds a tuple key each call: the children are kept here.
        self._children: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # what the client gets if the application raises before answering

        async def noting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            method = scope["method"]
            key = (method, template, status)
            child = self._children.get(key)
            if child is None:
                method = method if method in _METHODS else "OTHER"
                child = self._children[key] = self.histogram.labels(method, template, str(status))
            child.observe(time.perf_counter() - began)
