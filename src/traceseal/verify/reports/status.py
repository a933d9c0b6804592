"""The reporter's receipt and the public status page it links to.

A report's status link carries a 256-bit random token, not the report's number: numbers
are sequential, and anyone could walk them to read others' replies. Only the token's
SHA-256 is stored, so the database alone cannot rebuild a link. The page shows the
report's state, the brand's reply and what the reporter themselves wrote about where they
bought it; never the contact they left, the photo, or anything the brand noted inside.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceseal.errors import NotFound
from traceseal.verify.reports.models import CounterfeitReport

#: Where the status page lives; the token follows.
PATH = "/report/status/"


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the reporter is given: the report's number and its status link's token."""

    id: int
    token: str

    @property
    def status_path(self) -> str:
        return PATH + self.token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_status_token(report: CounterfeitReport) -> str:
    """Give the report a fresh status token; the caller hands it to the reporter once."""
    token = secrets.token_urlsafe(32)
    report.status_token_hash = token_hash(token)
    return token


def by_token(session: Session, token: str) -> CounterfeitReport:
    """The report whose status link holds ``token``, or NotFound (also for a malformed one)."""
    if not 20 <= len(token) <= 100:
        raise NotFound("no such report")
    report = session.scalar(
        select(CounterfeitReport).where(CounterfeitReport.status_token_hash == token_hash(token))
    )
    if report is None:
        raise NotFound("no such report")
    return report
