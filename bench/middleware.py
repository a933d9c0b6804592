"""What each pure ASGI middleware of the application costs per request, in process.

Every request passes through all of them, so their cost is paid by the verification hot
path too. Each is measured around the same trivial endpoint (a route already matched, an
empty JSON answer), alone, in interleaved rounds so they meet the same machine load; the
figure is the median time per request minus the bare endpoint's. Also the cost of one
access-log line in uvicorn's default text format and in ``traceseal serve``'s JSON.

Usage: python bench/middleware.py [--requests N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.config
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvicorn.config
from prometheus_client import CollectorRegistry

from traceseal.web.bodylimit import BodyLimit
from traceseal.web.headers import SecurityHeaders
from traceseal.web.logs import log_config
from traceseal.web.metrics import RequestMetrics, request_histogram
from traceseal.web.requestid import RequestId
from traceseal.web.timing import ServerTiming

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class _Route:
    path = "/api/v1/verify"


_ROUTE = _Route()


async def endpoint(scope: dict[str, Any], _receive: Any, send: Any) -> None:
    scope["route"] = _ROUTE  # what Starlette's router leaves in the scope
    headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"{}"})


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(_: dict[str, Any]) -> None:
    return None


def _scope() -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/verify",
        "headers": [(b"host", b"verify.example.org"), (b"content-type", b"application/json")],
    }


async def per_request(app: App, requests: int) -> float:
    began = time.perf_counter()
    for _ in range(requests):
        await app(_scope(), _receive, _send)
    return (time.perf_counter() - began) / requests * 1e6


def access_line(config: dict[str, Any], lines: int) -> float:
    logging.config.dictConfig(config)
    log = logging.getLogger("uvicorn.access")
    with Path("/dev/null").open("w") as null:
        for handler in log.handlers:
            handler.setStream(null)  # type: ignore[attr-defined]
        began = time.perf_counter()
        for _ in range(lines):
            log.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST", "/x", "1.1", 200)
        took = (time.perf_counter() - began) / lines * 1e6
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    stacks: dict[str, App] = {
        "bare endpoint": endpoint,
        "BodyLimit": BodyLimit(endpoint),
        "SecurityHeaders": SecurityHeaders(endpoint, https=True),
        "ServerTiming": ServerTiming(endpoint),
        "RequestId": RequestId(endpoint),
        "RequestMetrics": RequestMetrics(
            endpoint, histogram=request_histogram(CollectorRegistry())
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in stacks}

    async def measure() -> None:
        for round_ in range(args.rounds):
            names = list(stacks) if round_ % 2 == 0 else list(reversed(stacks))
            for name in names:
                times[name].append(await per_request(stacks[name], args.requests))

    asyncio.run(measure())
    bare = statistics.median(times["bare endpoint"])
    print(f"per request, median of {args.rounds} interleaved rounds of {args.requests:,}:")
    for name, found in times.items():
        median = statistics.median(found)
        extra = "" if name == "bare endpoint" else f"  (+{median - bare:.2f} us)"
        print(f"  {name:<18} {median:7.2f} us{extra}")
    text = statistics.median(
        access_line(uvicorn.config.LOGGING_CONFIG, args.requests) for _ in range(3)
    )
    ours = statistics.median(access_line(log_config("json"), args.requests) for _ in range(3))
    print(
        f"one access-log line: uvicorn's text {text:.1f} us, traceseal serve's JSON {ours:.1f} us"
    )


if __name__ == "__main__":
    main()
