"""``/ledger``: the log's checkpoint, key, leaves, proofs and tiles. Public, no API key.

Proofs are served for any size up to the latest published checkpoint; tiles follow the
C2SP tlog-tiles read API so generic tooling can audit the log (docs/ledger.md).
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel
from sqlalchemy import select

from traceseal.bounds import MAX_ID
from traceseal.errors import InvalidInput, NotFound
from traceseal.ledger import checkpoints, service
from traceseal.ledger.models import LedgerLeaf
from traceseal.merkle import leaf_hash
from traceseal.merkle.tiles import (
    ENTRIES,
    TILE_HEIGHT,
    TILE_WIDTH,
    encode_entry_bundle,
    parse_tile_path,
    tile_content,
)
from traceseal.web.deps import SessionDep

router = APIRouter(prefix="/ledger", tags=["ledger"])
_IMMUTABLE = "public, max-age=31536000, immutable"


class LeafRead(BaseModel):
    index: int
    data: str  # base64
    leaf_hash: str  # hex


class InclusionProof(BaseModel):
    leaf_index: int
    tree_size: int
    leaf_hash: str
    proof: list[str]


class ConsistencyProof(BaseModel):
    old: int
    new: int
    proof: list[str]


def _published_size(session: SessionDep) -> int:
    latest = checkpoints.latest(session)
    if latest is None:
        raise NotFound("the log has no checkpoint yet")
    return latest.size


@router.get("/checkpoint", response_class=PlainTextResponse)
def checkpoint(session: SessionDep) -> PlainTextResponse:
    """The latest signed checkpoint (C2SP tlog-checkpoint), followed by the cosignatures of
    the witnesses that cosigned it (C2SP tlog-cosignature), if any have yet."""
    latest = checkpoints.latest(session)
    if latest is None:
        raise NotFound("the log has no checkpoint yet")
    note = checkpoints.cosigned_note(session, latest)
    return PlainTextResponse(note, headers={"Cache-Control": "no-cache"})


@router.get("/key", response_class=PlainTextResponse)
def key(session: SessionDep, request: Request) -> PlainTextResponse:
    """The log's verifier key: ``<name>+<hex key ID>+<base64(0x01 || public key)>``."""
    verifier = checkpoints.log_verifier(session, request.app.state.keyring)
    if verifier is None:
        raise NotFound("the log has no key yet")
    return PlainTextResponse(verifier.encode() + "\n")


@router.get("/leaves/{index}", response_model=LeafRead)
def leaf(index: int, session: SessionDep) -> LeafRead:
    found = service.get_leaf(session, index)
    return LeafRead(
        index=found.index,
        data=base64.b64encode(found.data).decode(),
        leaf_hash=leaf_hash(found.data).hex(),
    )


@router.get("/proof/inclusion", response_model=InclusionProof)
def inclusion(
    session: SessionDep,
    index: Annotated[int, Query(ge=0, le=MAX_ID)],
    size: Annotated[int, Query(ge=1, le=MAX_ID)],
) -> InclusionProof:
    if size > _published_size(session):
        raise InvalidInput("size is past the latest checkpoint", field="size")
    found = service.get_leaf(session, index)
    proof = service.prove_inclusion(session, index, size)
    return InclusionProof(
        leaf_index=index,
        tree_size=size,
        leaf_hash=leaf_hash(found.data).hex(),
        proof=[p.hex() for p in proof],
    )


@router.get("/proof/consistency", response_model=ConsistencyProof)
def consistency(
    session: SessionDep,
    old: Annotated[int, Query(ge=0, le=MAX_ID)],
    new: Annotated[int, Query(ge=0, le=MAX_ID)],
) -> ConsistencyProof:
    if new > _published_size(session):
        raise InvalidInput("new is past the latest checkpoint", field="new")
    proof = service.prove_consistency(session, old, new)
    return ConsistencyProof(old=old, new=new, proof=[p.hex() for p in proof])


@router.get("/tile/{rest:path}")
def tile(rest: str, session: SessionDep) -> Response:
    """A hash tile or an entry bundle (C2SP tlog-tiles), within the latest checkpoint."""
    try:
        wanted = parse_tile_path("tile/" + rest)
    except ValueError as exc:
        raise NotFound(str(exc)) from None
    size = _published_size(session)
    first = wanted.index * TILE_WIDTH
    if wanted.level == ENTRIES:
        if first + wanted.width > size:
            raise NotFound("that entry bundle is past the latest checkpoint")
        rows = session.scalars(
            select(LedgerLeaf.data)
            .where(LedgerLeaf.index >= first, LedgerLeaf.index < first + wanted.width)
            .order_by(LedgerLeaf.index)
        ).all()
        body = encode_entry_bundle(rows)
    else:
        span = 1 << (wanted.level * TILE_HEIGHT)  # leaves under one hash of this tile
        if (first + wanted.width) * span > size:
            raise NotFound("that tile is past the latest checkpoint")
        body = tile_content(wanted, service.reader(session))
    cache = _IMMUTABLE if wanted.width == TILE_WIDTH else "public, max-age=60"
    return Response(body, media_type="application/octet-stream", headers={"Cache-Control": cache})
