"""The witness's checks, state and key file, on trees built in memory by the Merkle core.

Everything a witness must refuse is here with the status the specification prescribes;
tests/functional/test_witness.py does the same over HTTP against a real log.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from traceseal.merkle import Address, append_leaves, consistency_proof, leaf_hash, root
from traceseal.merkle.note import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    Signer,
    parse_note,
    sign_note,
    verify_cosignature,
)
from traceseal.witness.keys import KeyFileError, create_key, load_key
from traceseal.witness.protocol import AddCheckpoint
from traceseal.witness.state import StateError, WitnessState
from traceseal.witness.witness import Refused, Witness

ORIGIN = "verify.example.org/log"
NOW = 1_790_000_000


class Tree:
    """A log in memory: its leaves, signed checkpoints and consistency proofs."""

    def __init__(self, signer: Signer, leaves: Sequence[bytes]) -> None:
        self.signer = signer
        self.store: dict[Address, bytes] = {}
        self.size = 0
        self.append(leaves)

    def _read(self, addresses: Sequence[Address]) -> list[bytes]:
        return [self.store[a] for a in addresses]

    def append(self, leaves: Sequence[bytes]) -> Tree:
        appended = append_leaves(self.size, [leaf_hash(d) for d in leaves], self._read)
        self.store.update(((n.level, n.index), n.hash) for n in appended.nodes)
        self.size = appended.size
        return self

    def checkpoint(self, size: int | None = None) -> str:
        size = self.size if size is None else size
        text = Checkpoint(self.signer.name, size, root(size, self._read)).text()
        return sign_note(text, [self.signer])

    def request(self, old: int, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        proof = consistency_proof(old, size, self._read)
        return AddCheckpoint(old, tuple(proof), self.checkpoint(size)).encode()


def leaves(tag: str, count: int, start: int = 0) -> list[bytes]:
    return [f"{tag}{i}".encode() for i in range(start, start + count)]


@pytest.fixture
def log_key() -> Signer:
    return Signer.generate(ORIGIN)


@pytest.fixture
def witness(tmp_path: Path, log_key: Signer) -> Witness:
    state = WitnessState(tmp_path / "witness.db")
    state.watch(log_key.verifier)
    signer = Signer.generate("witness.example/w1", ALG_COSIGNATURE_V1)
    return Witness(signer, state, [log_key.verifier], clock=lambda: NOW)


def refused(witness: Witness, body: bytes) -> Refused:
    with pytest.raises(Refused) as caught:
        witness.add_checkpoint(body)
    return caught.value


def test_cosigns_a_growing_log_and_remembers_the_last_checkpoint(
    witness: Witness, log_key: Signer
) -> None:
    tree = Tree(log_key, leaves("a", 3))
    answer = witness.add_checkpoint(tree.request(0))
    text = parse_note(tree.checkpoint()).text
    (cosignature,) = parse_note(text + "\n" + answer).signatures
    assert verify_cosignature(witness.verifier, text, cosignature) == NOW
    tree.append(leaves("a", 5, start=3))
    witness.add_checkpoint(tree.request(3))
    state = witness.state.get(ORIGIN)
    assert state is not None
    assert (state.size, state.root) == (
        8,
        Checkpoint.parse(parse_note(tree.checkpoint()).text).root,
    )
    assert state.note == tree.checkpoint()
    # The same checkpoint again is cosigned again: nothing moves.
    witness.add_checkpoint(tree.request(8))
    assert witness.state.refusals(ORIGIN) == []


def test_refuses_rollbacks_stale_sizes_and_forks(witness: Witness, log_key: Signer) -> None:
    tree = Tree(log_key, leaves("a", 6))
    witness.add_checkpoint(tree.request(0, 4))
    stale = refused(witness, tree.request(0))
    assert (stale.status, stale.size) == (409, 4)
    rollback = refused(witness, AddCheckpoint(4, (), tree.checkpoint(3)).encode())
    assert rollback.status == 400
    assert "past the checkpoint" in rollback.detail
    assert refused(witness, tree.request(3)).status == 409

    # Another history under the same key: the same first two leaves, then others.
    fork = Tree(log_key, leaves("a", 2)).append(leaves("b", 4, start=2))
    same_size = refused(witness, fork.request(4, 4))
    assert (same_size.status, same_size.size) == (409, 4)
    assert "forked" in same_size.detail
    assert refused(witness, fork.request(4)).status == 422
    # A proof that is no proof of the real log either.
    garbled = AddCheckpoint(4, (b"\x00" * 32,), tree.checkpoint()).encode()
    assert refused(witness, garbled).status == 422
    kept = witness.state.refusals(ORIGIN)
    assert [(r.status, r.old_size) for r in kept] == [(409, 4), (422, 4), (422, 4)]
    assert kept[0].checkpoint == fork.checkpoint(4)
    assert witness.state.get(ORIGIN).size == 4  # type: ignore[union-attr]
    witness.add_checkpoint(tree.request(4))  # the real log still gets through


def test_the_first_checkpoint_comes_with_an_empty_proof(witness: Witness, log_key: Signer) -> None:
    tree = Tree(log_key, leaves("a", 3))
    body = AddCheckpoint(0, (b"\x01" * 32,), tree.checkpoint()).encode()
    assert refused(witness, body).status == 422


def test_unknown_logs_and_other_keys(witness: Witness, log_key: Signer) -> None:
    stranger = Tree(Signer.generate("other.example/log"), leaves("a", 2))
    assert refused(witness, stranger.request(0)).status == 404
    impostor = Tree(Signer.generate(ORIGIN), leaves("a", 2))  # the log's name, not its key
    assert refused(witness, impostor.request(0)).status == 403
    # Extra signatures by keys the witness does not know are ignored.
    tree = Tree(log_key, leaves("a", 2))
    text = parse_note(tree.checkpoint()).text
    both = sign_note(text, [Signer.generate("mirror.example"), log_key])
    witness.add_checkpoint(AddCheckpoint(0, (), both).encode())
    # A signature by the log's key that does not verify is refused even beside a good one.
    forged = both.replace(text, text.replace("\n2\n", "\n3\n"))
    assert refused(witness, AddCheckpoint(2, (), forged).encode()).status == 403


@pytest.mark.parametrize(
    "note",
    [
        "not a note",
        f"{ORIGIN}\n2\n",
        "{origin}\n02\n{root}\n",  # signed, but not a checkpoint: leading zero
        "{origin}\n2\n{root}\n\n",  # an empty extension line
    ],
)
def test_malformed_bodies_are_400(witness: Witness, log_key: Signer, note: str) -> None:
    tree = Tree(log_key, leaves("a", 2))
    if "{origin}" in note:
        root_b64 = tree.checkpoint().split("\n")[2]
        note = sign_note(note.format(origin=ORIGIN, root=root_b64), [log_key])
    assert refused(witness, AddCheckpoint(0, (), note).encode()).status == 400
    assert refused(witness, b"old 0\n").status == 400


def test_state_survives_reopening_and_pins_the_logs_key(tmp_path: Path, log_key: Signer) -> None:
    path = tmp_path / "state" / "witness.db"
    signer = Signer.generate("witness.example/w1", ALG_COSIGNATURE_V1)
    first = WitnessState(path)
    first.watch(log_key.verifier)
    tree = Tree(log_key, leaves("a", 5))
    Witness(signer, first, [log_key.verifier]).add_checkpoint(tree.request(0))

    again = WitnessState(path)
    assert again.watch(log_key.verifier).size == 5
    assert refused(Witness(signer, again, [log_key.verifier]), tree.request(0)).size == 5
    other = Signer.generate(ORIGIN).verifier
    with pytest.raises(StateError, match="knows log"):
        again.watch(other)
    # Pinned on purpose: the new key is kept, and so is the history.
    assert again.watch(other, replace_key=True).size == 5


def test_a_witness_signs_with_a_cosignature_key(tmp_path: Path, log_key: Signer) -> None:
    state = WitnessState(tmp_path / "w.db")
    with pytest.raises(ValueError, match="0x04"):
        Witness(Signer.generate("w"), state, [log_key.verifier])
    witness_key = Signer.generate("w", ALG_COSIGNATURE_V1)
    with pytest.raises(ValueError, match="0x01"):
        Witness(witness_key, state, [witness_key.verifier])


def test_key_files_are_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "witness.key"
    signer = create_key("witness.example/w1", path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(path) == (signer, True)
    with pytest.raises(KeyFileError, match="never overwritten"):
        create_key("witness.example/w1", path)
    os.chmod(path, 0o644)  # noqa: PTH101 - the mode is what is under test
    assert load_key(path) == (signer, False)
    note_key = tmp_path / "note.key"
    note_key.write_text(Signer.generate("w").encode())
    with pytest.raises(KeyFileError, match="0x04"):
        load_key(note_key)
    with pytest.raises(KeyFileError, match="cannot read"):
        load_key(tmp_path / "missing.key")
    with pytest.raises(KeyFileError, match="name"):
        create_key("two words", tmp_path / "other.key")
