"""RFC 9457 problem details for every error the HTTP interface returns.

Features add their own exception types with ``app.add_exception_handler`` (see
``traceseal.app``); this module knows only the platform's domain errors and HTTP's own.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from traceseal.errors import DomainError, TooManyRequests

PROBLEM_JSON = "application/problem+json"
_STATUS = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "unauthorized": 401,
    "too_many_requests": 429,
    "too_large": 413,
}
log = logging.getLogger("traceseal.web")


def problem(
    status: int, title: str, detail: str, *, type_: str = "about:blank", **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": 'Bearer realm="traceseal"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _domain(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return domain_problem(exc)


def domain_problem(exc: DomainError) -> JSONResponse:
    """The problem response for a domain error (also for code answering outside a handler)."""
    response = problem(
        _STATUS[exc.kind],
        exc.title,
        exc.detail,
        type_=f"/problems/{exc.kind.replace('_', '-')}",
        field=exc.field,
        # Errors that concern many items (a CSV import's bad rows) list each one.
        errors=getattr(exc, "errors", None),
    )
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


#: Problem types of HTTP's own errors that clients tell apart.
_HTTP_TYPES = {413: "/problems/too-large"}


#: What a feature shows a person whose browser asked for a page that is not there: an HTML
#: page in their language, or None to answer with problem details (see app.py).
HtmlErrorPage = Callable[[Request, int], Awaitable[Response | None]]


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    page: HtmlErrorPage | None = request.app.state.html_error_page
    if page is not None:
        shown = await page(request, exc.status_code)
        if shown is not None:
            return shown
    title = HTTPStatus(exc.status_code).phrase
    type_ = _HTTP_TYPES.get(exc.status_code, "about:blank")
    response = problem(exc.status_code, title, str(exc.detail), type_=type_)
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        response.headers["Allow"] = ", ".join(_allowed(request))
    return response


def _allowed(request: Request) -> list[str]:
    """Every method some route serves at this path. Starlette's own ``Allow`` names only the
    first route that matched the path, though GET and POST are often two routes. Asked of
    each route the router holds, method by method (only a 405 pays for this)."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
            "message": err.get("msg", ""),
        }
        for err in exc.errors()
    ]
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    hook = request.app.state.invalid_request_hooks.get(request.url.path)
    if hook is not None:
        answer: Response | None = await hook(request)
        if answer is not None:
            return answer
    return problem(
        422,
        "Invalid input",
        f"{first['field'] or 'request'}: {first['message']}",
        type_="/problems/invalid",
        field=first["field"] or None,
        errors=errors,
    )


#: What a route does with a request it could not parse before the 422 is sent; it may answer
#: instead (verification counts an unparsable query as a failed one, and may answer 429).
InvalidRequestHook = Callable[[Request], Awaitable[Response | None]]


def on_invalid_request(app: FastAPI, path: str, hook: InvalidRequestHook) -> None:
    app.state.invalid_request_hooks[path] = hook


def html_error_pages(app: FastAPI, page: HtmlErrorPage) -> None:
    app.state.html_error_page = page


def _out_of_range(_: Request, exc: Exception) -> JSONResponse:
    """A value the database cannot hold that no bound caught first: the input's fault, and
    nothing was stored (the unit of work rolled back). Logged, since a bound is missing."""
    log.warning("value out of range reached the database: %s", exc)
    return problem(
        422,
        "Invalid input",
        "a number or text in the request is out of the range this operation accepts "
        "(an integer past 64 bits, text too long, or text that is not valid Unicode)",
        type_="/problems/invalid",
    )


def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    """The database could not be reached or would not take the work now (a restart, a lost
    connection, SQLite busy past its timeout): nothing was stored, and the same request may
    simply be sent again. The pool drops the broken connection; the next request gets a
    fresh one (db.make_engine pings them), so the service recovers by itself."""
    first = str(getattr(exc, "orig", exc)).strip().splitlines()
    log.warning("database unavailable: %s", first[0] if first else type(exc).__name__)
    response = problem(
        503,
        "Service Unavailable",
        "the database is unavailable for a moment; nothing was saved, please try again",
        type_="/problems/unavailable",
    )
    response.headers["Retry-After"] = "1"
    return response


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "Internal Server Error", "an unexpected error occurred; it was logged")


def install(app: FastAPI) -> None:
    app.state.invalid_request_hooks = {}
    app.state.html_error_page = None
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    # SQLite's driver raises OverflowError for an integer past 64 bits; PostgreSQL's, a
    # DataError (numeric value out of range, value too long).
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _out_of_range)
    # JSON may carry lone UTF-16 surrogates ("\\ud800"), which no UTF-8 store can hold.
    app.add_exception_handler(UnicodeEncodeError, _out_of_range)
    # Connection lost, server restarting, too many connections, SQLite busy: 503, not 500.
    app.add_exception_handler(OperationalError, _unavailable)
    app.add_exception_handler(InterfaceError, _unavailable)
    app.add_exception_handler(Exception, _unexpected)
