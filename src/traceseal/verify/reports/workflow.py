"""A report's workflow: new → investigating → resolved or rejected, with a reply to the
reporter (shown on the report's public status page, status.py).

The code's brand owner and the operator act on a report; regulators read it. Services take
a session and never commit; the edge records the audit entry.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from traceseal.db import utcnow
from traceseal.errors import Conflict, Forbidden, InvalidInput
from traceseal.orgs.models import Organization
from traceseal.orgs.tenancy import sees_all
from traceseal.verify.reports.models import CounterfeitReport, ReportState
from traceseal.verify.reports.service import get_report

#: The steps a report may take from each state. A report may be turned down without an
#: investigation (nothing in it to go on); it is resolved only after one.
NEXT: dict[ReportState, tuple[ReportState, ...]] = {
    ReportState.NEW: (ReportState.INVESTIGATING, ReportState.REJECTED),
    ReportState.INVESTIGATING: (ReportState.RESOLVED, ReportState.REJECTED),
    ReportState.RESOLVED: (),
    ReportState.REJECTED: (),
}
#: Settling a report tells the reporter why: these steps need a reply.
NEEDS_REPLY = (ReportState.RESOLVED, ReportState.REJECTED)
REPLY_LIMIT = 2000


def may_act(viewer: Organization, report: CounterfeitReport) -> bool:
    return sees_all(viewer) or report.organization_id == viewer.id


def allowed_next(viewer: Organization, report: CounterfeitReport) -> tuple[ReportState, ...]:
    return NEXT[ReportState(report.state)] if may_act(viewer, report) else ()


def _reply(text: str) -> str:
    text = text.strip()
    if len(text) > REPLY_LIMIT:
        raise InvalidInput(f"the reply may have at most {REPLY_LIMIT} characters", field="reply")
    return text


def _actor(session: Session, viewer: Organization, report_id: int) -> CounterfeitReport:
    report = get_report(session, viewer, report_id)
    if not may_act(viewer, report):
        raise Forbidden("only the brand owner and the operator act on a report; you may read it")
    return report


def move(
    session: Session,
    viewer: Organization,
    report_id: int,
    to: ReportState,
    *,
    reply: str = "",
    now: datetime | None = None,
) -> CounterfeitReport:
    """Move the report to ``to``, replacing the reply when one is given. NotFound for a
    report the viewer cannot see, Forbidden for a reader, Conflict for a step the workflow
    does not allow, InvalidInput for settling it without a reply."""
    report = _actor(session, viewer, report_id)
    text = _reply(reply)
    current = ReportState(report.state)
    if to not in NEXT[current]:
        raise Conflict(f"a report that is {current.value} cannot become {to.value}", field="state")
    if to in NEEDS_REPLY and not (text or report.reply):
        raise InvalidInput(
            "write a reply to the reporter before settling the report", field="reply"
        )
    report.state = to.value
    if text:
        report.reply = text
        report.replied_at = now or utcnow()
    session.flush()
    return report


def set_reply(
    session: Session,
    viewer: Organization,
    report_id: int,
    reply: str,
    *,
    now: datetime | None = None,
) -> CounterfeitReport:
    """Write (or rewrite) the reply the reporter sees, in any state."""
    report = _actor(session, viewer, report_id)
    text = _reply(reply)
    if not text:
        raise InvalidInput("the reply is empty", field="reply")
    report.reply = text
    report.replied_at = now or utcnow()
    session.flush()
    return report
