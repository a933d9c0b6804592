"""RFC 9457 problem details for every error the HTTP interface returns."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from traceseal.epcis.errors import EPCISException
from traceseal.errors import DomainError, TooManyRequests
from traceseal.verify.api import request_client

PROBLEM_JSON = "application/problem+json"
_STATUS = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "unauthorized": 401,
    "too_many_requests": 429,
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


#: EPCIS exceptions that are not plain "bad document or query" (400).
_EPCIS_STATUS = {
    "epcisException:QueryTooLargeException": 413,
    "epcisException:CaptureLimitExceededException": 413,
    "epcisException:ImplementationException": 415,
}


def _epcis(_: Request, exc: Exception) -> JSONResponse:
    """The REST binding's problem types: ``epcisException:<Name>``, naming the offender."""
    assert isinstance(exc, EPCISException)
    return problem(
        _EPCIS_STATUS.get(exc.epcis_type, 400),
        exc.title,
        exc.detail,
        type_=exc.epcis_type,
        eventIndex=exc.event_index,
        field=exc.field,
    )


def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    from http import HTTPStatus

    title = HTTPStatus(exc.status_code).phrase
    response = problem(exc.status_code, title, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
            "message": err.get("msg", ""),
        }
        for err in exc.errors()
    ]
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    if request.url.path in _VERIFY_PATHS:
        limited = await _count_failed_verification(request)
        if limited is not None:
            return limited
    return problem(
        422,
        "Invalid input",
        f"{first['field'] or 'request'}: {first['message']}",
        type_="/problems/invalid",
        field=first["field"] or None,
        errors=errors,
    )


#: Unauthenticated verification: a request it cannot even parse is a failed query.
_VERIFY_PATHS = {"/api/v1/verify"}


async def _count_failed_verification(request: Request) -> JSONResponse | None:
    """Tick the client's failure counter; a problem response if it is over a limit."""
    verifier = request.app.state.verifier
    try:
        await run_in_threadpool(verifier.tick_failure, request_client(request, verifier))
    except TooManyRequests as exc:
        return _domain(request, exc)
    return None


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "Internal Server Error", "an unexpected error occurred; it was logged")


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(EPCISException, _epcis)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)
