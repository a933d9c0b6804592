"""The bounds every number a caller sends must respect, so storage never meets one it cannot
hold: a database id is a signed 64-bit integer on both engines (PostgreSQL BIGINT, SQLite
INTEGER), and a number past it would fail inside the driver instead of as a clear 422."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field

#: The largest id either engine stores (2^63 - 1).
MAX_ID: Final = 2**63 - 1

#: An id in a request body.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
