"""Issuing seal codes, and their lifecycle: issued -> active (bound to a batch) or void.

Services take a session and never commit: the caller's unit of work decides. Issuing a run
is one atomic ``UPDATE ... RETURNING`` on the slot's counter, so concurrent issuers never
receive overlapping sequence numbers on either engine.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from traceseal.codes.models import CodeRun, CodeSegment, CodeState, KeySlot
from traceseal.codes.sealcode import CodeFormatError, SealCode, SlotCipher, parse_code
from traceseal.config import Settings
from traceseal.db import utcnow
from traceseal.errors import Conflict, Forbidden, InvalidInput, NotFound
from traceseal.keys import MasterKey
from traceseal.ledger import service as ledger
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.tenancy import is_mine, mine
from traceseal.quality.models import Programme
from traceseal.quality.programmes import check_eligible
from traceseal.registry.models import Batch, Product

#: Slots start at 100 so that no code starts with 0: spreadsheets drop leading zeros.
FIRST_SLOT = 100
LAST_SLOT = 999


def _purpose(slot: int) -> bytes:
    return f"traceseal/slot/{slot:03d}".encode()


class Keyring(MasterKey):
    """The master key plus the slot ciphers it unwraps, once per slot per process."""

    def __init__(self, master_key: bytes) -> None:
        super().__init__(master_key)
        self._ciphers: dict[int, SlotCipher] = {}
        self._owners: dict[int, int] = {}

    def new_wrapped_key(self, slot: int) -> bytes:
        return self.wrap(os.urandom(32), _purpose(slot))

    def slot_key(self, slot: KeySlot) -> bytes:
        return self.unwrap(slot.wrapped_key, _purpose(slot.slot))

    def cipher(self, slot: KeySlot) -> SlotCipher:
        cipher = self._ciphers.get(slot.slot)
        if cipher is None:
            cipher = SlotCipher(slot.slot, self.slot_key(slot))
            self._ciphers[slot.slot] = cipher
            self._owners[slot.slot] = slot.organization_id
        return cipher

    def cipher_for(self, session: Session | Connection, slot: int) -> SlotCipher | None:
        """The cipher of slot number ``slot``, or None if no such slot exists (yet).

        A slot's key never changes once created, so a hit needs no database read; a miss
        is not remembered, because the slot may be created later.
        """
        cipher = self._ciphers.get(slot)
        if cipher is not None:
            return cipher
        row = session.execute(
            select(KeySlot.wrapped_key, KeySlot.organization_id).where(KeySlot.slot == slot)
        ).first()
        if row is None:
            return None
        cipher = SlotCipher(slot, self.unwrap(row[0], _purpose(slot)))
        self._ciphers[slot] = cipher
        self._owners[slot] = row[1]
        return cipher

    def slot_owner(self, slot: int) -> int | None:
        """The organisation owning a slot already looked up by :meth:`cipher_for`."""
        return self._owners.get(slot)


def check_label_url(settings: Settings, *, allow_local: bool = False) -> None:
    """Refuse to write labels or code files whose URLs would point at this machine.

    A label printed with ``http://127.0.0.1:8000/...`` opens nothing on a consumer's phone,
    and printed labels cannot be recalled: better no file than a worthless print run.
    ``allow_local`` (the CLI's ``--allow-local-url``) or TRACESEAL_ALLOW_LOCAL_PUBLIC_URL=1
    allows it for tests and demos.
    """
    if settings.public_url_is_local and not (allow_local or settings.allow_local_public_url):
        raise Conflict(
            f"labels would carry PUBLIC_URL {settings.public_url}, which only this machine "
            "can open: printed, they are worthless and cannot be recalled. Set "
            "TRACESEAL_PUBLIC_URL to the address consumers will open (e.g. "
            "https://verify.example.org); for a test or demo, pass --allow-local-url or set "
            "TRACESEAL_ALLOW_LOCAL_PUBLIC_URL=1",
            field="public_url",
        )


def _allocate(session: Session, slot: int, count: int) -> int | None:
    """Take ``count`` sequence numbers from ``slot`` atomically; None if it lacks room."""
    taken = session.execute(
        update(KeySlot)
        .where(KeySlot.slot == slot, KeySlot.issued + count <= KeySlot.capacity)
        .values(issued=KeySlot.issued + count)
        .returning(KeySlot.issued)
    ).scalar_one_or_none()
    return None if taken is None else int(taken) - count


def _allocate_in_existing(
    session: Session, org: Organization, count: int
) -> tuple[int | None, int | None]:
    candidates = session.scalars(
        select(KeySlot.slot)
        .where(KeySlot.organization_id == org.id, KeySlot.capacity - KeySlot.issued >= count)
        .order_by(KeySlot.slot)
    ).all()
    for candidate in candidates:
        first = _allocate(session, candidate, count)
        if first is not None:
            return first, candidate
    return None, None


def _new_slot(session: Session, keyring: Keyring, org: Organization, capacity: int) -> KeySlot:
    for _ in range(LAST_SLOT - FIRST_SLOT + 1):
        used = set(session.scalars(select(KeySlot.slot)))
        free = next((s for s in range(FIRST_SLOT, LAST_SLOT + 1) if s not in used), None)
        if free is None:
            raise Conflict("every key slot 100-999 is in use; the platform needs a new code space")
        row = KeySlot(
            slot=free,
            organization_id=org.id,
            wrapped_key=keyring.new_wrapped_key(free),
            capacity=capacity,
            issued=0,
        )
        try:
            # A savepoint, so that losing a race for this slot number to another
            # issuer does not abort the caller's whole transaction.
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue
        return row
    raise Conflict("could not reserve a key slot; retry")


def issue_run(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    org: Organization,
    count: int,
    *,
    product: Product | None = None,
    pin: bool = False,
    programme: Programme | None = None,
) -> CodeRun:
    """Reserve ``count`` consecutive sequence numbers in one of ``org``'s slots.

    A slot with room is reused; otherwise a new slot is created (the old one keeps its
    unissued tail, which costs nothing: capacity bounds guessing, it is not a stock).
    """
    _check_request(session, settings, org, count, product, programme)
    slot_number, first = _reserve(session, keyring, settings, org, count)
    run = CodeRun(
        organization_id=org.id,
        slot=slot_number,
        first=first,
        count=count,
        product_id=product.id if product else None,
        pin=pin,
        programme_id=None if programme is None else programme.id,
    )
    session.add(run)
    session.flush()
    session.add(CodeSegment(run_id=run.id, slot=slot_number, start=first, stop=first + count))
    content: dict[str, Any] = {
        "organization": org.id,
        "slot": slot_number,
        "first": first,
        "count": count,
        "product": product.gtin if product else None,
        "pin": pin,
    }
    if programme is not None:
        # Only when there is one, so leaves of runs without a programme keep their bytes.
        content["programme"] = programme.id
    (run.leaf_index,) = ledger.append(session, [_leaf("code_run.issued", run, content)])
    session.flush()
    return run


def _check_request(
    session: Session,
    settings: Settings,
    org: Organization,
    count: int,
    product: Product | None,
    programme: Programme | None,
) -> None:
    """Refuse a run before any number is taken, so that a refused run stores nothing."""
    if org.role != Role.ENTERPRISE.value:
        raise InvalidInput(f"codes are issued to enterprises; {org.name!r} is a {org.role}")
    limit = min(settings.slot_capacity, settings.max_run_size)
    if not 1 <= count <= limit:
        raise InvalidInput(f"count must be between 1 and {limit:,} (one key slot)", field="count")
    if product is not None and product.organization_id != org.id:
        raise NotFound(f"no product with GTIN {product.gtin}", field="product")
    if programme is not None:
        if product is None:
            raise InvalidInput("a run under a programme is bound to a product", field="product")
        check_eligible(session, programme, product, utcnow().date())


def _reserve(
    session: Session, keyring: Keyring, settings: Settings, org: Organization, count: int
) -> tuple[int, int]:
    """``count`` consecutive sequence numbers of one of ``org``'s slots: (slot, first)."""
    first, slot_number = _allocate_in_existing(session, org, count)
    if first is None:
        # No slot has room. Lock the organisation row so that concurrent issuers of the
        # same enterprise create one new slot between them, not one each (there are only
        # 900), then look again: another issuer may have created one while we waited.
        if session.get_bind().dialect.name == "postgresql":
            # FOR NO KEY UPDATE: it excludes other slot creators but not the FOR KEY SHARE
            # locks that foreign-key checks of concurrent run inserts take on this row.
            session.execute(
                select(Organization.id)
                .where(Organization.id == org.id)
                .with_for_update(key_share=True)
            )
        first, slot_number = _allocate_in_existing(session, org, count)
    if first is not None and slot_number is not None:
        return slot_number, first
    new = _new_slot(session, keyring, org, settings.slot_capacity)
    first = _allocate(session, new.slot, count)
    if first is None:  # pragma: no cover - count <= capacity was checked above
        raise Conflict("new key slot has no room")
    return new.slot, first


def _leaf(kind: str, run: CodeRun, content: dict[str, Any]) -> tuple[str, bytes]:
    """The log leaf for a change to ``run``: its content is hashed into the leaf."""
    return kind, ledger.leaf_record(kind, f"code_run:{run.id}", {"run": run.id, **content})


def get_run(session: Session, viewer: Organization, run_id: int) -> CodeRun:
    run = session.get(CodeRun, run_id)
    if run is None or not is_mine(run.organization_id, viewer):
        raise NotFound(f"no code run {run_id}", field="run")
    return run


def list_runs(
    session: Session, viewer: Organization, *, limit: int = 100, after_id: int = 0
) -> list[CodeRun]:
    query = select(CodeRun).where(CodeRun.id > after_id).order_by(CodeRun.id).limit(limit)
    return list(session.scalars(mine(query, CodeRun.organization_id, viewer)))


def list_recent_runs(session: Session, viewer: Organization, *, limit: int = 100) -> list[CodeRun]:
    """The viewer's newest runs first (the label designer's chooser)."""
    query = select(CodeRun).order_by(CodeRun.id.desc()).limit(limit)
    return list(session.scalars(mine(query, CodeRun.organization_id, viewer)))


def find_runs(
    session: Session,
    viewer: Organization,
    *,
    before: int | None = None,
    product_id: int | None = None,
    limit: int = 25,
) -> tuple[list[CodeRun], int | None]:
    """The viewer's runs newest first (of one product, if given), and the ``before`` of the
    next page (None on the last one)."""
    # A page shows each run's product and its segments' states and lots: loaded with it.
    query = (
        select(CodeRun)
        .options(
            joinedload(CodeRun.product),
            selectinload(CodeRun.segments).joinedload(CodeSegment.batch),
        )
        .order_by(CodeRun.id.desc())
        .limit(limit + 1)
    )
    if before:
        query = query.where(CodeRun.id < before)
    if product_id is not None:
        query = query.where(CodeRun.product_id == product_id)
    rows = list(session.scalars(mine(query, CodeRun.organization_id, viewer)))
    older = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], older


def run_cipher(session: Session, keyring: Keyring, run: CodeRun) -> SlotCipher:
    slot = session.get(KeySlot, run.slot)
    assert slot is not None
    return keyring.cipher(slot)


@dataclass(frozen=True, slots=True)
class ResolvedCode:
    """What the database says about a well-formed code."""

    code: SealCode
    slot: KeySlot | None
    sequence: int | None
    segment: CodeSegment | None

    @property
    def issued(self) -> bool:
        return self.segment is not None


def resolve_code(session: Session, keyring: Keyring, code: SealCode) -> ResolvedCode:
    """Slot lookup, FF1 decryption and segment lookup: the storage half of verification."""
    slot = session.get(KeySlot, code.slot)
    if slot is None:
        return ResolvedCode(code, None, None, None)
    sequence = keyring.cipher(slot).sequence(code)
    if sequence >= slot.issued:
        return ResolvedCode(code, slot, sequence, None)
    segment = session.scalar(
        select(CodeSegment)
        .where(CodeSegment.slot == code.slot, CodeSegment.start <= sequence)
        .order_by(CodeSegment.start.desc())
        .limit(1)
    )
    if segment is None or segment.stop <= sequence:
        # Issued past a run's end can only mean an unissued tail left in a slot.
        return ResolvedCode(code, slot, sequence, None)
    return ResolvedCode(code, slot, sequence, segment)


_POSITIONS = re.compile(r"^\s*(\d{1,12})\s*-\s*(\d{1,12})\s*$")


def parse_range(
    session: Session, keyring: Keyring, run: CodeRun, spec: str | None
) -> tuple[int, int]:
    """Turn a range into absolute sequence numbers ``[start, stop)`` within the run.

    ``spec`` is either ``A-B``, 1-based positions in the run (the line numbers of its CSV,
    header not counted), or ``CODE-CODE``, the first and last labels of a roll as scanned.
    None means the whole run.
    """
    if spec is None or not spec.strip():
        return run.first, run.first + run.count
    compact = spec.replace(" ", "")
    parts = compact.split("-")
    if len(parts) == 2 and all(len(p) == 20 for p in parts):
        cipher = run_cipher(session, keyring, run)
        sequences = []
        for part in parts:
            try:
                code = parse_code(part)
            except CodeFormatError as exc:
                raise InvalidInput(f"range end {part}: {exc.detail}", field="range") from exc
            if code.slot != run.slot:
                raise InvalidInput(f"code {part} is not in run {run.id}", field="range")
            sequences.append(cipher.sequence(code))
        low, high = sorted(sequences)
        if low < run.first or high >= run.first + run.count:
            raise InvalidInput(f"the codes of {spec!r} are not in run {run.id}", field="range")
        return low, high + 1
    match = _POSITIONS.match(compact)
    if not match:
        raise InvalidInput(
            "range must be A-B (1-based positions in the run) or CODE-CODE", field="range"
        )
    low, high = int(match.group(1)), int(match.group(2))
    if not 1 <= low <= high <= run.count:
        raise InvalidInput(
            f"range {low}-{high} is outside run {run.id}, which has positions 1-{run.count}",
            field="range",
        )
    return run.first + low - 1, run.first + high


def _segments_in(session: Session, run: CodeRun, start: int, stop: int) -> list[CodeSegment]:
    query = (
        select(CodeSegment)
        .where(CodeSegment.run_id == run.id, CodeSegment.stop > start, CodeSegment.start < stop)
        .order_by(CodeSegment.start)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Row locks: two lifecycle changes of one run are applied one after the other.
        query = query.with_for_update()
    return list(session.scalars(query))


def _apply(
    session: Session,
    run: CodeRun,
    start: int,
    stop: int,
    state: CodeState,
    batch: Batch | None,
    reason: str,
) -> None:
    now = utcnow()
    for segment in _segments_in(session, run, start, stop):
        left = (segment.start, max(segment.start, start))
        right = (min(segment.stop, stop), segment.stop)
        kept = {
            "state": segment.state,
            "batch_id": segment.batch_id,
            "reason": segment.reason,
            "changed_at": segment.changed_at,
        }
        segment.start, segment.stop = left[1], right[0]
        segment.state = state.value
        segment.batch_id = batch.id if batch else None
        segment.reason = reason
        segment.changed_at = now
        # Flush the shrunken segment before inserting its remainders: they reuse its old
        # start, and the (slot, start) index is unique.
        session.flush()
        for low, high in (left, right):
            if high > low:
                session.add(CodeSegment(run_id=run.id, slot=run.slot, start=low, stop=high, **kept))
        session.flush()
    _merge(session, run)


def _merge(session: Session, run: CodeRun) -> None:
    """Join neighbouring segments in the same state, so row count tracks real changes."""
    segments = list(
        session.scalars(
            select(CodeSegment).where(CodeSegment.run_id == run.id).order_by(CodeSegment.start)
        )
    )
    previous: CodeSegment | None = None
    for segment in segments:
        if (
            previous is not None
            and previous.stop == segment.start
            and (previous.state, previous.batch_id, previous.reason)
            == (segment.state, segment.batch_id, segment.reason)
        ):
            previous.stop = segment.stop
            session.delete(segment)
            session.flush()
        else:
            previous = segment
    session.expire(run, ["segments"])


def activate(session: Session, run: CodeRun, start: int, stop: int, batch: Batch) -> int:
    """Bind ``[start, stop)`` of the run to ``batch``: from now on these codes verify.

    Returns the index of the log leaf recording the change."""
    if run.product_id is not None and batch.product_id != run.product_id:
        raise InvalidInput(
            f"lot {batch.lot!r} is of another product than run {run.id}", field="batch"
        )
    if batch.product.organization_id != run.organization_id:
        raise NotFound(f"no lot {batch.lot!r}", field="batch")
    for segment in _segments_in(session, run, start, stop):
        if segment.state == CodeState.VOID.value:
            raise Conflict(
                f"codes at positions {_pos(run, segment, start, stop)} are void and cannot "
                "be activated",
                field="range",
            )
        if segment.state == CodeState.ACTIVE.value and segment.batch_id != batch.id:
            raise Conflict(
                f"codes at positions {_pos(run, segment, start, stop)} are already active "
                "for another lot",
                field="range",
            )
    _apply(session, run, start, stop, CodeState.ACTIVE, batch, "")
    content = {
        "first": start - run.first + 1,
        "last": stop - run.first,
        "gtin": batch.product.gtin,
        "lot": batch.lot,
    }
    return ledger.append(session, [_leaf("code_run.activated", run, content)])[0]


def void(session: Session, run: CodeRun, start: int, stop: int, reason: str) -> int:
    """Void ``[start, stop)`` for good (lost or stolen labels). Voiding is idempotent."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(
            "say why the codes are voided (lost, stolen, misprinted...)", field="reason"
        )
    if len(reason) > 500:
        raise InvalidInput("reason is longer than 500 characters", field="reason")
    _apply(session, run, start, stop, CodeState.VOID, None, reason)
    content = {"first": start - run.first + 1, "last": stop - run.first, "reason": reason}
    return ledger.append(session, [_leaf("code_run.voided", run, content)])[0]


def _pos(run: CodeRun, segment: CodeSegment, start: int, stop: int) -> str:
    low = max(segment.start, start) - run.first + 1
    high = min(segment.stop, stop) - run.first
    return f"{low}-{high}"


def export_slot_key(
    session: Session, keyring: Keyring, viewer: Organization, slot_number: int
) -> dict[str, str]:
    """The slot key in clear, for key escrow. Operator only."""
    if viewer.role != Role.OPERATOR.value:
        raise Forbidden("only the operator may export slot keys")
    slot = session.get(KeySlot, slot_number)
    if slot is None:
        raise NotFound(f"no key slot {slot_number:03d}", field="slot")
    return {"slot": f"{slot.slot:03d}", "key": keyring.slot_key(slot).hex()}
