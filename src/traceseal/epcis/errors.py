"""Why an EPCIS document was refused, in the terms of the EPCIS 2.0 REST binding.

The binding names its exceptions ``epcisException:<Name>`` and returns them as RFC 9457
problem details. Validation stops at the first offence and reports where it is: the index of
the event in the document's event list (0-based) and a JSON-pointer-like path to the field,
so an integrator can find it in a document of ten thousand events.
"""

from __future__ import annotations

from typing import Any

from traceseal.errors import DomainError


class EPCISException(DomainError):
    """Base of the EPCIS exceptions. ``epcis_type`` is the binding's problem type."""

    kind = "invalid"
    title = "Invalid EPCIS document"
    epcis_type = "epcisException:ValidationException"

    def __init__(
        self, detail: str, *, event_index: int | None = None, field: str | None = None
    ) -> None:
        super().__init__(detail, field=field)
        self.event_index = event_index

    def __reduce__(self) -> tuple[Any, ...]:
        # Refusals cross process boundaries (pipeline.py prepares chunks in workers); the
        # default pickling would keep only the detail and lose the event and field.
        return (type(self), (self.detail,), {"event_index": self.event_index, "field": self.field})


class ValidationException(EPCISException):
    """The document breaks the schema or a rule of EPCIS/CBV the schema cannot express."""


class ImplementationException(EPCISException):
    """The document is acceptable but this implementation cannot take it (e.g. too large)."""

    epcis_type = "epcisException:ImplementationException"
    title = "EPCIS document not supported"


class QueryParameterException(EPCISException):
    """A query names a parameter this repository does not know, or gives it a bad value."""

    epcis_type = "epcisException:QueryParameterException"
    title = "Invalid EPCIS query"


class QueryTooLargeException(EPCISException):
    """More events match than ``maxEventCount`` allows."""

    epcis_type = "epcisException:QueryTooLargeException"
    title = "EPCIS query result too large"


class CaptureLimitExceededException(EPCISException):
    """A document carries more events than the capture interface takes at once."""

    epcis_type = "epcisException:CaptureLimitExceededException"
    title = "Too many events in one capture"


class SecurityException(EPCISException):
    """The caller may not capture (or query) this: EPCIS's SecurityException, answered 403."""

    kind = "forbidden"
    title = "Not allowed"
    epcis_type = "epcisException:SecurityException"
