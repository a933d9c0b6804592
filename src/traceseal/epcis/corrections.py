"""Error declarations (EPCIS 2.0 §7.4.1.2): a wrong event is never deleted, it is declared.

A later event with the same ``eventID`` and an ``errorDeclaration`` (declarationTime, reason,
correctiveEventIDs) says the event did not happen as recorded. Here:

- The declaration is honoured when it names an event its declarer may declare: one the
  declaring organisation captured, or any for the operator. The original stays stored and in
  the log; an ``epcis_error_declarations`` row marks it erroneous, and the declaration is a
  log leaf of its own (kind ``epcis.errorDeclaration``). Its correctiveEventIDs are indexed.
- Anything else (an eventID unknown here, or another organisation's event) declares nothing
  here and gets exactly the answer an unknown eventID gets: the event is stored like any
  other, carrying its errorDeclaration, and marks only itself. GS1's own examples carry
  declarations of events no repository holds, so that answer is acceptance; what the declarer
  cannot do is mark someone else's event, or learn whether it exists.
- Journeys, custody, aggregation state and diversion evidence (``trace.trace``) skip every
  event that has a row here, and so follow the corrective events instead.

A declaration repeated with the same errorDeclaration is a duplicate (idempotent capture); a
different declaration of an event already declared is refused.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from traceseal.epcis.capture import Chunk, Declared
from traceseal.epcis.errors import ValidationException
from traceseal.epcis.models import CorrectiveEvent, ErrorDeclaration, Event
from traceseal.ledger import service as ledger

#: The log leaf of an honoured declaration (docs/ledger.md).
DECLARATION_KIND = "epcis.errorDeclaration"

_ORIGINALS = (
    select(Event.id, Event.body, ErrorDeclaration.event, ErrorDeclaration.body)
    .outerjoin(ErrorDeclaration, ErrorDeclaration.event == Event.id)
    .order_by(Event.id)
)


class Declarations:
    """Honours the declarations of one document, chunk by chunk, in the caller's transaction."""

    def __init__(
        self,
        session: Session,
        *,
        organization_id: int,
        operator: bool,
        job_id: int,
        capture_id: str,
        now: Any,
    ) -> None:
        self.session = session
        self.organization_id = organization_id
        self.operator = operator
        self.job_id = job_id
        self.capture_id = capture_id
        self.now = now

    def claimed(self, chunk: Chunk, seen: dict[str, int]) -> set[int]:
        """Positions (in the chunk) of the declarations that name an event their declarer
        may declare: the writer does not store them as events, and calls :meth:`honour`
        with them once the chunk's events are stored.

        The event declared may be stored already, or come earlier in the same document
        (``seen``: eventID -> position of the events of earlier chunks; 1.2 exports put an
        event and its declaration in one document). The event hash leaves errorDeclaration
        out, so without this a declaration would count as a repeat of its own event.
        """
        first: dict[str, int] = {}
        for j, event_id in enumerate(chunk.ids):
            first.setdefault(event_id, chunk.start + j)
        claimed = set()
        for i in sorted(chunk.declarations):
            event_id = chunk.ids[i]
            if seen.get(event_id, first[event_id]) < chunk.start + i or self._originals(event_id):
                claimed.add(i)
        return claimed

    def honour(self, chunk: Chunk, claimed: set[int]) -> int:
        """Record the claimed declarations; returns how many repeated one already stored."""
        repeats = 0
        for i in sorted(claimed):
            declared = chunk.declarations[i]
            targets = self._targets(chunk.ids[i], declared, chunk.start + i)
            if not targets:
                repeats += 1
                continue
            self._record(chunk, i, declared, targets)
        return repeats

    def standalone(self, rows: list[tuple[int, Declared]]) -> None:
        """Mark stored events that carry a declaration of nothing here (row id, declaration)."""
        for row, declared in rows:
            self._insert(row, row, declared, None)

    def _originals(self, event_id: str) -> list[Any]:
        """The stored events with ``event_id`` this declarer may declare."""
        statement = _ORIGINALS.where(Event.event_id == event_id)
        if not self.operator:
            statement = statement.where(Event.organization_id == self.organization_id)
        return list(self.session.execute(statement).all())

    def _targets(self, event_id: str, declared: Declared, position: int) -> list[int]:
        """The rows ``declared`` marks ([] when they already carry this very declaration)."""
        rows = self._originals(event_id)
        wanted = json.loads(declared.member)
        targets = []
        for row, body, marked, declaration_body in rows:
            if marked is None:
                targets.append(row)
                continue
            before = json.loads(declaration_body if declaration_body is not None else body)
            if before.get("errorDeclaration") != wanted:
                raise ValidationException(
                    f"event {position}: the event {event_id!r} is already declared erroneous "
                    "with another errorDeclaration",
                    event_index=position,
                    field=f"/epcisBody/eventList/{position}/errorDeclaration",
                )
        return targets

    def _record(self, chunk: Chunk, i: int, declared: Declared, targets: list[int]) -> None:
        digest = chunk.hashes[i]
        leaf = ledger.leaf_record(
            DECLARATION_KIND,
            digest,
            {
                "captureID": self.capture_id,
                "eventHash": digest,
                "eventID": chunk.ids[i],
                "errorDeclaration": json.loads(declared.member),
            },
        )
        [leaf_index] = ledger.append(self.session, [(DECLARATION_KIND, leaf)], now=self.now)
        body = chunk.rows[i][-1]  # the declaration event's JSON, with eventID and recordTime
        for target in targets:
            self._insert(target, leaf_index, declared, body)

    def _insert(self, event: int, leaf_index: int, declared: Declared, body: str | None) -> None:
        connection: Connection = self.session.connection()
        connection.execute(
            insert(ErrorDeclaration).values(
                event=event,
                leaf_index=leaf_index,
                organization_id=self.organization_id,
                capture_job_id=self.job_id,
                declaration_time=declared.time,
                reason=declared.reason,
                body=body,
            )
        )
        if declared.corrective_ids:
            connection.execute(
                insert(CorrectiveEvent),
                [{"corrective_event_id": cid, "event": event} for cid in declared.corrective_ids],
            )


def declaration_of(
    body: dict[str, Any], declaration: str | None, leaf_index: int | None
) -> dict[str, Any]:
    """An event as the queries show it: an event declared erroneous carries the
    errorDeclaration that marks it, and the declaration's own leaf in the log as the
    ``traceseal:errorDeclarationLeafIndex`` extension member."""
    if declaration is None:
        return body
    return {
        **body,
        "errorDeclaration": json.loads(declaration)["errorDeclaration"],
        "traceseal:errorDeclarationLeafIndex": leaf_index,
    }
