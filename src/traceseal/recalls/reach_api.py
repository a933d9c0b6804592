"""``/api/v1/recalls/{id}/reach`` and ``/api/v1/reach``: where recalled goods are now.

For the brand owner of the product, the recall's announcer, regulators and the operator;
anyone else is answered as if the recall did not exist. JSON, or CSV (``.csv``) to hand to
the people who will call the holders.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from traceseal.codes.deps import KeyringDep
from traceseal.codes.service import Keyring, get_run, parse_range
from traceseal.errors import InvalidInput
from traceseal.orgs.deps import ReadCaller
from traceseal.orgs.models import Organization
from traceseal.orgs.tenancy import OVERSIGHT
from traceseal.recalls import reach as reaching
from traceseal.recalls.service import get_recall
from traceseal.registry.models import Product
from traceseal.registry.service import get_batch, get_product
from traceseal.web.deps import PathId, QueryId, ReadSessionDep

router = APIRouter(prefix="/api/v1", tags=["recalls"])


class HolderRead(BaseModel):
    status: str = Field(description="held, in_transit, assigned, sold or untracked.")
    gln: str | None = Field(description="The place (held) or the destination (in transit).")
    place: str | None = Field(description="The registered name of the GLN, if any.")
    organization: str | None = Field(description="Who to call about these items.")
    quantity: int
    since: datetime | None


class ReachRead(BaseModel):
    gtin: str
    product: str
    selection: str
    items: int = Field(description="Items of the selection that appear in events.")
    totals: dict[str, int]
    holders: list[HolderRead]


def _recall_selection(session: Session, caller: Organization, recall_id: int) -> reaching.Selection:
    return reaching.of_recall(get_recall(session, caller, recall_id))


def _selection(
    session: Session,
    keyring: Keyring,
    caller: Organization,
    gtin: str | None,
    lot: str | None,
    run: int | None,
    range_: str | None,
    produced_from: date | None,
    produced_to: date | None,
) -> reaching.Selection:
    if run is not None:
        code_run = get_run(session, caller, run)
        start, stop = parse_range(session, keyring, code_run, range_)
        products = reaching.segment_products(session, code_run)
        if len(products) != 1:
            raise InvalidInput(f"run {run} is not bound to one product yet", field="run")
        product = session.get(Product, products.pop())
        assert product is not None
        return reaching.of_run(code_run, product, start, stop)
    if gtin is None:
        raise InvalidInput("give a gtin (with a lot or a production window) or a run", field="gtin")
    product = get_product(session, caller, gtin, OVERSIGHT)
    if lot is not None:
        return reaching.of_batches(product, [get_batch(session, product, lot)], f"lot {lot}")
    if produced_from is not None or produced_to is not None:
        return reaching.produced_between(session, product, produced_from, produced_to)
    return reaching.Selection(product, description="every lot")


def read_of(found: reaching.Reach) -> ReachRead:
    return ReachRead(
        gtin=found.gtin,
        product=found.product,
        selection=found.selection,
        items=found.items,
        totals=found.totals(),
        holders=[
            HolderRead(
                status=h.status,
                gln=h.gln,
                place=h.place,
                organization=h.organization,
                quantity=h.quantity,
                since=h.since,
            )
            for h in found.holders
        ],
    )


def csv_of(found: ReachRead, name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["status", "gln", "place", "organization", "quantity", "since"])
    for h in found.holders:
        since = "" if h.since is None else h.since.isoformat()
        writer.writerow(
            [h.status, h.gln or "", h.place or "", h.organization or "", h.quantity, since]
        )
    return Response(
        # A byte-order mark: spreadsheet programs then read the Chinese names as UTF-8.
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "One row per holder."}
}


@router.get("/recalls/{recall_id}/reach", response_model=ReachRead)
def recall_reach(
    recall_id: PathId, session: ReadSessionDep, caller: ReadCaller, keyring: KeyringDep
) -> ReachRead:
    """Every place that holds items of the recall (received and not shipped on), items on
    their way, and items assigned to a distributor without events, with quantities."""
    selection = _recall_selection(session, caller, recall_id)
    return read_of(reaching.reach(session, keyring, selection))


@router.get("/recalls/{recall_id}/reach.csv", response_class=Response, responses=_CSV)
def recall_reach_csv(
    recall_id: PathId, session: ReadSessionDep, caller: ReadCaller, keyring: KeyringDep
) -> Response:
    """The recall's reach as CSV (UTF-8 with a byte-order mark): one row per holder."""
    selection = _recall_selection(session, caller, recall_id)
    found = read_of(reaching.reach(session, keyring, selection))
    return csv_of(found, f"recall-{recall_id}-reach.csv")


Gtin = Annotated[str | None, Query(max_length=32)]
Lot = Annotated[str | None, Query(max_length=32)]
Range = Annotated[str | None, Query(alias="range", max_length=64)]


@router.get("/reach", response_model=ReachRead)
def reach(
    session: ReadSessionDep,
    caller: ReadCaller,
    keyring: KeyringDep,
    gtin: Gtin = None,
    lot: Lot = None,
    run: QueryId = None,
    range_: Range = None,
    produced_from: date | None = None,
    produced_to: date | None = None,
) -> ReachRead:
    """Reach before (or without) a recall: a lot, a code run (``range`` A-B or CODE-CODE),
    or the lots of a GTIN produced in a window."""
    selection = _selection(
        session, keyring, caller, gtin, lot, run, range_, produced_from, produced_to
    )
    return read_of(reaching.reach(session, keyring, selection))


@router.get("/reach.csv", response_class=Response, responses=_CSV)
def reach_csv(
    session: ReadSessionDep,
    caller: ReadCaller,
    keyring: KeyringDep,
    gtin: Gtin = None,
    lot: Lot = None,
    run: QueryId = None,
    range_: Range = None,
    produced_from: date | None = None,
    produced_to: date | None = None,
) -> Response:
    """``/api/v1/reach`` as CSV: one row per holder."""
    selection = _selection(
        session, keyring, caller, gtin, lot, run, range_, produced_from, produced_to
    )
    return csv_of(read_of(reaching.reach(session, keyring, selection)), "reach.csv")
