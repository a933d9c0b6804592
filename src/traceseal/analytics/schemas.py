"""What the analytics API answers: figures whose small counts may be hidden."""

from __future__ import annotations

from pydantic import BaseModel, Field

from traceseal.analytics.service import Figures

__all__ = ["Count", "FiguresRead", "shown"]

#: A count, or "<N" when it is under the small-cell threshold and the viewer is not the
#: brand that owns it.
Count = int | str


class FiguresRead(BaseModel):
    """One row: a day (YYYY-MM-DD), a GB/T 2260 region ('' for unplaced), or a verdict."""

    key: str = Field(description="The day, region code or verdict this row counts.")
    scans: Count = Field(description="Scans answered (every logged query).")
    firsts: Count = Field(description="Consumers' first queries of a code (answered genuine).")
    repeats: Count = Field(description="Consumers' queries of a code queried before.")
    trade: Count = Field(description="Trade checks by shops and distributors.")

    @classmethod
    def of(cls, figures: Figures, *, minimum: int, hide: bool) -> FiguresRead:
        counts = {name: shown(value, minimum, hide=hide) for name, value in figures.counts.items()}
        return cls(key=figures.key, **counts)


def shown(value: int, minimum: int, *, hide: bool) -> Count:
    """The count, or ``"<minimum"`` if it must be hidden. Zero is shown: it singles no one out.

    >>> shown(3, 5, hide=True), shown(3, 5, hide=False), shown(0, 5, hide=True)
    ('<5', 3, 0)
    """
    if hide and 0 < value < minimum:
        return f"<{minimum}"
    return value
