"""Domain errors. Services raise these; the web layer and the CLI turn them into answers.

They carry no HTTP: the mapping to status codes and RFC 9457 problem types lives in
``traceseal.web.problems``.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a caller can act on. ``detail`` is written for a person."""

    kind = "invalid"
    title = "Invalid input"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(DomainError):
    kind = "invalid"
    title = "Invalid input"


class NotFound(DomainError):
    """Also raised for things that exist but belong to another tenant, so existence never leaks."""

    kind = "not_found"
    title = "Not found"


class Conflict(DomainError):
    kind = "conflict"
    title = "Conflict"


class Forbidden(DomainError):
    """The caller's role may not do this at all (roles are not secret; tenants' data is)."""

    kind = "forbidden"
    title = "Forbidden"


class Unauthorized(DomainError):
    kind = "unauthorized"
    title = "Unauthorized"


class TooManyRequests(DomainError):
    """A client went over a rate limit. ``retry_after`` is in whole seconds."""

    kind = "too_many_requests"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)
