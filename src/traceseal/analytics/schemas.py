"""What the analytics API answers: figures whose small counts may be hidden."""

from __future__ import annotations

from pydantic import BaseModel, Field

from traceseal.analytics.service import Figures

__all__ = ["Count", "DevicesRead", "FiguresRead", "FlowRead", "HotSpotRead", "ScanRead", "shown"]

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


class HotSpotRead(BaseModel):
    """A province and product whose week stood out against the 8 weeks before it."""

    province: str = Field(description="GB/T 2260 province code.")
    product_id: int = Field(description="The product; 0 for made-up codes (not found).")
    measure: str = Field(description="suspicious_rate, repeat_rate or not_found.")
    value: float = Field(description="The figure in the week.")
    baseline: float = Field(description="Its median over the 8 weeks before.")
    spread: float = Field(description="Their robust standard deviation (1.4826 × MAD).")
    z: float = Field(description="How many spreads the week lies above the baseline.")
    start: str = Field(description="First day of the week (CST).")
    end: str = Field(description="Last day of the week (CST).")
    scans: Count = Field(description="Scans in the week.")
    suspicious: Count = Field(description="Suspicious answers in the week.")
    repeats: Count = Field(description="Consumers' repeat queries in the week.")
    not_found: Count = Field(description="Made-up codes queried in the week.")
    evidence: str | None = Field(
        description="The scans behind it (the brand only): a path of this API."
    )


class FlowRead(BaseModel):
    """Scans of one distributor's goods seen in one place outside its territory."""

    distributor_id: int
    distributor: str = Field(description="The distributor's name.")
    territory: list[str] = Field(description="Its territory: GB/T 2260 region codes.")
    province: str = Field(description="Where the goods were scanned: province code.")
    city: str = Field(description="... and city code.")
    scans: Count = Field(description="Scans there, outside the territory.")
    trade: Count = Field(description="Of which trade checks by shops and distributors.")


class ScanRead(BaseModel):
    """One scan of the brand's own codes, as logged (no address, no device)."""

    id: int
    at: str = Field(description="When, ISO 8601 UTC.")
    code: str
    verdict: str
    channel: str
    region: str = Field(description="GB/T 2260 district code, '' if unplaced.")
    count: int = Field(description="The code's query count after this scan.")
    trade: bool = Field(description="A trade check rather than a consumer's query.")


class DevicesRead(BaseModel):
    """Distinct devices that queried the codes in the range (HyperLogLog estimates)."""

    devices: Count = Field(description="Distinct devices over the whole range.")
    provinces: dict[str, Count] = Field(description="Per GB/T 2260 province ('' unplaced).")
    method: str = Field(description="How they are counted, and how exactly.")


class NetworkRead(BaseModel):
    """A client network's answers (or the platform's, with an empty ``network``)."""

    network: str = Field(description="The first 12 hex digits of the network's keyed hash.")
    region: str = Field(description="GB/T 2260 region of the network's addresses, if known.")
    answers: int = Field(description="Verifications answered to the network.")
    not_found: int = Field(description="Of them, well-formed codes never issued (made up).")
    mistyped: int = Field(description="Of them, codes whose check digit fails.")
    failure_rate: float = Field(description="(not_found + mistyped) / answers.")


class NetworksRead(BaseModel):
    overall: NetworkRead = Field(description="The whole platform's answers in the range.")
    networks: list[NetworkRead] = Field(description="The highest share of failures first.")
