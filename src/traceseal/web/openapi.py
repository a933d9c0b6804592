"""The OpenAPI document as a contract: what FastAPI generates, completed in one place.

FastAPI documents each route's parameters, JSON bodies and success answers. What it cannot
know is added here, once for every operation, so that generated clients and the fuzzer in
CI (tests/fuzz) hold the server to what it says:

- every error answer: RFC 9457 problem details (``application/problem+json``) for the
  statuses an operation can give, and a ``default`` for the rest;
- who may call it: operations that do not name the ``apiKey`` scheme are marked public
  (``security: []``) explicitly.

Request bodies that a route reads itself (EPCIS documents, PDFs) are declared on the route
with ``openapi_extra``, beside the code that reads them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_JSON = "application/problem+json"
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}

#: RFC 9457's members, and those TraceSeal adds (``field``, ``errors``, EPCIS's
#: ``eventIndex``). Other members may follow, as the RFC allows.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "A URI naming the kind of problem."},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What went wrong, for a person."},
        "field": {"type": "string", "description": "The input at fault, when there is one."},
        "errors": {
            "type": "array",
            "description": "Every fault, when there are several (validation, CSV rows).",
            "items": {"type": "object"},
        },
        "eventIndex": {
            "type": "integer",
            "description": "EPCIS: the position of the event at fault in the document.",
        },
    },
}

_WHY = {
    "400": "Malformed request (problem details).",
    "401": "No API key, or an unknown, revoked or expired one.",
    "403": "The key's organisation may not do this.",
    "404": "No such object, or not one the caller may see (they answer alike).",
    "405": "The path exists, but not with this method.",
    "409": "Conflicts with what is stored.",
    "413": "The body is over this operation's size limit.",
    "415": "The body's media type is not one this operation reads.",
    "422": "Invalid input; `errors` lists every field at fault.",
    "429": "Too many requests; see Retry-After.",
}


def _problem(status: str) -> dict[str, Any]:
    return {
        "description": _WHY.get(status, "An error (problem details)."),
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _statuses(operation: dict[str, Any], method: str) -> list[str]:
    """The error statuses an operation can give, from what it takes."""
    statuses = ["400", "422"]
    if operation.get("security"):
        statuses += ["401", "403"]
    parameters = operation.get("parameters", [])
    if any(p.get("in") == "path" for p in parameters) or operation.get("security"):
        statuses.append("404")
    if "requestBody" in operation or method in {"post", "put", "patch"}:
        statuses += ["409", "413", "415"]
    statuses.append("429")
    return statuses


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with problem answers, public operations and the Problem schema added."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    # FastAPI's own validation error shape is never sent: 422s are problems too.
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            operation.setdefault("security", [])
            responses = operation.setdefault("responses", {})
            # Error answers a route declares itself are problems too.
            declared = [s for s in responses if s[:1] in ("4", "5")]
            for status in dict.fromkeys(_statuses(operation, method) + declared):
                existing = responses.get(status)
                description = existing.get("description") if existing else None
                responses[status] = _problem(status)
                if description and not description.startswith("Validation Error"):
                    responses[status]["description"] = description
            responses["default"] = _problem("default")
    return document


def install(app: FastAPI) -> None:
    """Serve the completed document at ``app.openapi_url`` (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
