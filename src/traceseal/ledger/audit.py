"""The auditor: rebuild the log from its leaves and check it against signed checkpoints.

Used by ``traceseal ledger verify`` against a server (tlog tiles over HTTP) or a database.
It trusts nothing it downloads: the checkpoint must be signed by the given key, the root
recomputed from every leaf must equal the checkpoint's, and every checkpoint verified
before (remembered in a state file) must still be a prefix of the log, checked both by
recomputing its root and by the log's consistency proof. Given witnesses' keys, it also
requires their cosignatures (C2SP tlog-cosignature) on the checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from traceseal.merkle import Address, append_leaves, leaf_hash, root, verify_consistency
from traceseal.merkle.note import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    Note,
    NoteError,
    Verifier,
    open_note,
    verify_cosignature,
)
from traceseal.merkle.tiles import ENTRIES, TILE_WIDTH, Tile, decode_entry_bundle

#: Fetches the bytes at a tlog-tiles path such as ``tile/entries/000``.
TileFetcher = Callable[[Tile], bytes]
#: Leaves hashed per append call while rebuilding.
_BATCH = 4096
#: Fetches a consistency proof between two sizes.
ProofFetcher = Callable[[int, int], list[bytes]]


class AuditFailure(Exception):
    """The log does not check out; ``first_bad_size`` names where history diverged."""

    def __init__(self, message: str, first_bad_size: int | None = None) -> None:
        super().__init__(message)
        self.first_bad_size = first_bad_size


@dataclass
class AuditState:
    """Checkpoints verified before, by size: ``{size: root hex}``, for one log."""

    origin: str = ""
    verified: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> AuditState:
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        return cls(data["origin"], {int(k): v for k, v in data["verified"].items()})

    def save(self, path: Path) -> None:
        temporary = path.with_suffix(path.suffix + ".partial")
        payload = {"origin": self.origin, "verified": {str(k): v for k, v in self.verified.items()}}
        temporary.write_text(json.dumps(payload, indent=1, sort_keys=True))
        temporary.replace(path)

    @property
    def last(self) -> tuple[int, bytes] | None:
        if not self.verified:
            return None
        size = max(self.verified)
        return size, bytes.fromhex(self.verified[size])


@dataclass(frozen=True)
class AuditReport:
    origin: str
    size: int
    root: bytes
    previous_size: int | None
    #: Names of the witnesses given whose cosignatures on the checkpoint verified.
    cosigned_by: tuple[str, ...] = ()


def entries_from_tiles(size: int, fetch: TileFetcher) -> Iterator[bytes]:
    """Every leaf's data of a tree of ``size``, from its entry bundles."""
    for index in range((size + TILE_WIDTH - 1) // TILE_WIDTH):
        width = min(TILE_WIDTH, size - index * TILE_WIDTH)
        entries = decode_entry_bundle(fetch(Tile(ENTRIES, index, width)))
        if len(entries) != width:
            raise AuditFailure(f"entry bundle {index} holds {len(entries)} leaves, not {width}")
        yield from entries


def audit(
    checkpoint_note: str,
    verifier: Verifier,
    leaves: Iterable[bytes],
    state: AuditState,
    consistency: ProofFetcher | None = None,
    *,
    witnesses: Sequence[Verifier] = (),
    min_witnesses: int = 0,
) -> AuditReport:
    """Check one checkpoint against the leaves and against ``state``; update ``state``.

    With ``witnesses``, at least ``min_witnesses`` of them must have cosigned the
    checkpoint. Raises AuditFailure and leaves ``state`` unchanged if anything is wrong.
    """
    try:
        note, _ = open_note(checkpoint_note, [verifier])
    except NoteError as exc:
        raise AuditFailure(f"the checkpoint does not verify: {exc}") from exc
    checkpoint = Checkpoint.parse(note.text)
    if checkpoint.origin != verifier.name:
        raise AuditFailure(
            f"the checkpoint names log {checkpoint.origin!r}, the key {verifier.name!r}"
        )
    if state.origin and state.origin != checkpoint.origin:
        raise AuditFailure(f"the state file is for log {state.origin!r}")
    cosigned_by = check_cosignatures(note, witnesses, min_witnesses)

    size, store = rebuild(leaves)

    def read(addresses: Sequence[Address]) -> list[bytes]:
        return [store[address] for address in addresses]

    if size != checkpoint.size:
        raise AuditFailure(f"the log holds {size} leaves, its checkpoint says {checkpoint.size}")
    if root(size, read) != checkpoint.root:
        raise AuditFailure("the root recomputed from the leaves differs from the checkpoint's")

    previous = state.last
    for old_size in sorted(state.verified):
        if old_size > size:
            raise AuditFailure(
                f"the log shrank: a checkpoint of size {old_size} was verified before",
                first_bad_size=size,
            )
        if root(old_size, read) != bytes.fromhex(state.verified[old_size]):
            raise AuditFailure(
                f"history was rewritten: the tree of size {old_size} no longer has the root "
                "verified before",
                first_bad_size=old_size,
            )
    if previous is not None and consistency is not None and previous[0] < size:
        proof = consistency(previous[0], size)
        if not verify_consistency(previous[0], size, previous[1], checkpoint.root, proof):
            raise AuditFailure(
                f"the log's consistency proof from size {previous[0]} does not verify",
                first_bad_size=previous[0],
            )
    state.origin = checkpoint.origin
    state.verified[size] = checkpoint.root.hex()
    return AuditReport(
        checkpoint.origin, size, checkpoint.root, previous and previous[0], cosigned_by
    )


def check_cosignatures(
    note: Note, witnesses: Sequence[Verifier], min_witnesses: int
) -> tuple[str, ...]:
    """The names of the ``witnesses`` whose cosignatures on ``note`` verify; at least
    ``min_witnesses`` must. Signature lines by other keys are ignored (signed-note); a line
    by one of ``witnesses`` that does not verify is a failure, not an absence.
    """
    cosigned: list[str] = []
    for witness in dict.fromkeys(witnesses):  # each key counts once
        if witness.algorithm != ALG_COSIGNATURE_V1:
            raise AuditFailure(f"{witness.name} is not a witness's cosignature key")
        lines = [s for s in note.signatures if (s.name, s.key_id) == (witness.name, witness.key_id)]
        if any(verify_cosignature(witness, note.text, line) is None for line in lines):
            raise AuditFailure(f"the cosignature by witness {witness.name} does not verify")
        if lines:
            cosigned.append(witness.name)
    if len(cosigned) < min_witnesses:
        raise AuditFailure(
            f"{len(cosigned)} of the witnesses given cosigned the checkpoint; "
            f"{min_witnesses} required"
        )
    return tuple(cosigned)


def rebuild(leaves: Iterable[bytes]) -> tuple[int, dict[Address, bytes]]:
    """The tree over ``leaves``, in memory: its size and every complete subtree's hash."""
    store: dict[Address, bytes] = {}

    def read(addresses: Sequence[Address]) -> list[bytes]:
        return [store[address] for address in addresses]

    size = 0
    batch: list[bytes] = []
    for data in leaves:
        batch.append(leaf_hash(data))
        if len(batch) == _BATCH:
            size = _append(size, batch, store, read)
            batch = []
    return _append(size, batch, store, read), store


def _append(
    size: int,
    batch: list[bytes],
    store: dict[Address, bytes],
    read: Callable[[Sequence[Address]], list[bytes]],
) -> int:
    if not batch:
        return size
    appended = append_leaves(size, batch, read)
    for node in appended.nodes:
        store[(node.level, node.index)] = node.hash
    return appended.size
