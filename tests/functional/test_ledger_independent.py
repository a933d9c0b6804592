"""The log as an outsider sees it: a verifier written from RFC 9162 and the C2SP specs alone
(tests/spec/independent_verifier.py, no code of ours) checks the server's HTTP answers.

A log of code-run issuances, activations and voids and of captured EPCIS events is published
at sizes 1, powers of two, the sizes right after them and others. Every checkpoint opens with
the served key, inclusion proofs of random leaves verify against every checkpoint, and
consistency proofs verify between every pair of published sizes. Then, on copies of the
SQLite database, one stored node hash, one leaf or one checkpoint is altered at a time, and
the same verifier refuses what the altered copy serves while the untouched copy's answers
still verify.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import random
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PUBLIC_URL, Platform, Tenant, add_batch, add_product
from tests.functional.conftest import GTIN, LOT
from tests.functional.test_epcis_capture import capture, document, object_event
from tests.spec import independent_verifier as iv
from traceseal.app import create_app
from traceseal.config import Settings, load_settings
from traceseal.db import make_engine, migrate, unit_of_work
from traceseal.ledger import checkpoints

#: The sizes at which checkpoints are published: 1, powers of two, the size right after
#: each (the tree gains a new top), and sizes that are neither.
SIZES = (1, 2, 3, 7, 8, 9, 16, 17, 31, 32, 33, 64, 65, 100, 128, 129, 150)
FINAL = SIZES[-1]
KINDS = {"code_run.issued", "code_run.activated", "code_run.voided", "epcis.event"}
#: Random leaves proven against each checkpoint (besides its first and last leaf).
RANDOM_LEAVES = 10
#: Events per EPCIS capture document, in turn: one leaf each.
BATCHES = (1, 3, 6, 11)


# ---------------------------------------------------------------------------------------------
# Building a log through the API


@dataclass
class Log:
    """What the server answered while the log grew: its key and each checkpoint's note as
    served by /ledger/checkpoint when it was the latest."""

    key: str
    notes: dict[int, str]


class Grower:
    """Appends leaves through the HTTP API in a fixed rotation: a run is issued, part of it
    activated, a code of it voided, then a document of EPCIS events is captured."""

    def __init__(self, platform: Platform, tenant: Tenant) -> None:
        self.platform = platform
        self.client = platform.client
        self.tenant = tenant
        self.size = 0
        self.step = 0
        self.serial = 0
        self.run = 0

    def grow_to(self, target: int) -> None:
        while self.size < target:
            turn = self.step % 4
            if turn == 0:
                self._issue()
            elif turn == 1:
                self._post(f"/api/v1/code-runs/{self.run}/activate", {"lot": LOT, "range": "1-2"})
            elif turn == 2:
                self._post(
                    f"/api/v1/code-runs/{self.run}/void", {"reason": "roll lost", "range": "3-3"}
                )
            else:
                self._capture(min(target - self.size, BATCHES[self.step // 4 % len(BATCHES)]))
            self.step += 1

    def _issue(self) -> None:
        response = self.client.post(
            "/api/v1/code-runs", json={"product": GTIN, "count": 4}, headers=self.tenant.auth
        )
        assert response.status_code == 201, response.text
        assert response.json()["leaf_index"] == self.size
        self.run = response.json()["run"]
        self.size += 1

    def _post(self, path: str, body: dict) -> None:
        response = self.client.post(path, json=body, headers=self.tenant.auth)
        assert response.status_code == 200, response.text
        self.size += 1

    def _capture(self, count: int) -> None:
        events = []
        for _ in range(count):
            self.serial += 1
            minute = self.serial % 60
            events.append(object_event([str(self.serial)], f"2026-11-02T09:{minute:02d}:00+08:00"))
        response = capture(self.platform, self.tenant, document(*events))
        assert response.status_code == 202, response.text
        assert response.json()["duplicateCount"] == 0
        self.size += count


def build_log(platform: Platform, tenant: Tenant) -> Log:
    grower = Grower(platform, tenant)
    notes = {}
    for size in SIZES:
        grower.grow_to(size)
        with unit_of_work(platform.session_factory) as session:
            checkpoints.publish(
                session, platform.app.state.keyring, platform.settings.resolved_ledger_origin
            )
        response = platform.client.get("/ledger/checkpoint")
        assert response.status_code == 200
        notes[size] = response.text
    key = platform.client.get("/ledger/key")
    assert key.status_code == 200
    return Log(key.text, notes)


# ---------------------------------------------------------------------------------------------
# Reading answers


def leaf_data(client: TestClient, index: int) -> bytes:
    response = client.get(f"/ledger/leaves/{index}")
    assert response.status_code == 200, response.text
    assert response.json()["index"] == index
    return base64.b64decode(response.json()["data"], validate=True)


def inclusion(client: TestClient, index: int, size: int) -> list[bytes]:
    response = client.get(f"/ledger/proof/inclusion?index={index}&size={size}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["leaf_index"], body["tree_size"]) == (index, size)
    return [bytes.fromhex(h) for h in body["proof"]]


def consistency(client: TestClient, old: int, new: int) -> list[bytes]:
    response = client.get(f"/ledger/proof/consistency?old={old}&new={new}")
    assert response.status_code == 200, response.text
    assert (response.json()["old"], response.json()["new"]) == (old, new)
    return [bytes.fromhex(h) for h in response.json()["proof"]]


def open_checkpoints(log: Log) -> dict[int, bytes]:
    """Each published size's root, from its checkpoint opened with the served key."""
    key = iv.parse_verifier_key(log.key)
    assert key.name == PUBLIC_URL.removeprefix("https://") + "/log"
    roots = {}
    for size, note in log.notes.items():
        checkpoint = iv.open_checkpoint(note, key)
        assert (checkpoint.origin, checkpoint.size, checkpoint.extensions) == (key.name, size, ())
        roots[size] = checkpoint.root
    return roots


# ---------------------------------------------------------------------------------------------
# The intact log, on SQLite and PostgreSQL


def test_every_checkpoint_and_proof_verifies_independently(
    platform: Platform, acme: Tenant
) -> None:
    log = build_log(platform, acme)
    client = platform.client
    roots = open_checkpoints(log)
    assert sorted(roots) == list(SIZES)

    data = [leaf_data(client, i) for i in range(FINAL)]
    assert client.get(f"/ledger/leaves/{FINAL}").status_code == 404
    assert {json.loads(d)["kind"] for d in data} == KINDS
    hashes = [iv.leaf_hash(d) for d in data]
    # Each checkpoint's root is the RFC 9162 tree hash of that many leaves, as served.
    for size, root in roots.items():
        assert iv.merkle_tree_hash(hashes[:size]) == root

    rng = random.Random(9162)
    proven = 0
    for size in SIZES:
        indexes = {0, size - 1, *rng.sample(range(size), min(size, RANDOM_LEAVES))}
        for index in sorted(indexes):
            path = inclusion(client, index, size)
            iv.verify_inclusion(index, size, iv.leaf_hash(data[index]), path, roots[size])
            # Each hash is the one RFC 9162's PATH names, rebuilt from the leaves.
            expected = [
                iv.merkle_tree_hash(hashes[a:b]) for a, b in iv.inclusion_ranges(index, size)
            ]
            assert path == expected
            proven += 1

    pairs = 0
    for old, new in itertools.combinations(SIZES, 2):
        path = consistency(client, old, new)
        iv.verify_consistency(old, new, roots[old], roots[new], path)
        expected = [iv.merkle_tree_hash(hashes[a:b]) for a, b in iv.consistency_ranges(old, new)]
        assert path == expected
        pairs += 1
    # With these sizes and this seed: 158 inclusion proofs, 136 pairs.
    assert proven >= sum(min(size, RANDOM_LEAVES) for size in SIZES)
    assert pairs == len(SIZES) * (len(SIZES) - 1) // 2


# ---------------------------------------------------------------------------------------------
# The verifier itself, against published data (RFC 6962's Certificate Transparency test
# leaves and roots, and the golang.org/x/mod/sumdb/note example), so that a pass above
# cannot come from a verifier that accepts anything.

CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_NOTE = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FF"
    "YC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def _flip(digest: bytes, position: int = 0) -> bytes:
    altered = bytearray(digest)
    altered[position] ^= 0x01
    return bytes(altered)


def _each_flipped(path: list[bytes]) -> Iterator[list[bytes]]:
    """The path with one of its hashes altered, for each of them in turn."""
    for i in range(len(path)):
        yield [*path[:i], _flip(path[i]), *path[i + 1 :]]


def test_the_verifier_accepts_published_vectors_and_refuses_any_change() -> None:
    hashes = [iv.leaf_hash(d) for d in CT_LEAVES]
    assert [iv.merkle_tree_hash(hashes[:n]) for n in range(1, 9)] == CT_ROOTS
    root = dict(enumerate(CT_ROOTS, start=1))
    for n in range(1, 9):
        for m in range(n):
            path = [iv.merkle_tree_hash(hashes[a:b]) for a, b in iv.inclusion_ranges(m, n)]
            iv.verify_inclusion(m, n, hashes[m], path, root[n])
            neighbour = m ^ 1 if m ^ 1 < n else n  # hashed in the other order, or past the end
            for bad in (
                (m, n, _flip(hashes[m]), path, root[n]),
                (m, n, hashes[m], path, _flip(root[n])),
                (m, n, hashes[m], [*path, hashes[0]], root[n]),
                (neighbour, n, hashes[m], path, root[n]),
                *((m, n, hashes[m], other, root[n]) for other in _each_flipped(path)),
            ):
                with pytest.raises(iv.ProofError):
                    iv.verify_inclusion(*bad)
        for m in range(1, n):
            path = [iv.merkle_tree_hash(hashes[a:b]) for a, b in iv.consistency_ranges(m, n)]
            iv.verify_consistency(m, n, root[m], root[n], path)
            for bad in (
                (m, n, _flip(root[m]), root[n], path),
                (m, n, root[m], _flip(root[n]), path),
                (m, n, root[m], root[n], path[:-1]),
                (m, n, root[m], root[n], [*path, hashes[0]]),
                *((m, n, root[m], root[n], other) for other in _each_flipped(path)),
            ):
                with pytest.raises(iv.ProofError):
                    iv.verify_consistency(*bad)

    key = iv.parse_verifier_key(GO_VKEY)
    assert iv.open_note(GO_NOTE, key).startswith("If you think")
    for tampered in (
        GO_NOTE.replace("problem,", "problem;"),
        GO_NOTE.replace("x08go", "x08gp"),
        GO_NOTE.replace("PeterNeumann", "PeterNeumanm"),  # another key's signature only
        GO_NOTE[:-1],
    ):
        with pytest.raises(iv.NoteError):
            iv.open_note(tampered, key)
    with pytest.raises(iv.NoteError, match="key ID"):
        iv.parse_verifier_key(GO_VKEY.replace("c74f20a3", "c74f20a4"))
    with pytest.raises(iv.CheckpointError):
        iv.parse_checkpoint(
            "example.org/log\n012\n" + base64.b64encode(CT_ROOTS[0]).decode() + "\n"
        )


# ---------------------------------------------------------------------------------------------
# Tampering, on copies of a SQLite database (PostgreSQL has no file to copy)


@dataclass
class Published:
    settings: Settings
    log: Log
    roots: dict[int, bytes]

    @property
    def database(self) -> Path:
        return self.settings.data_dir / "traceseal.db"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    """A SQLite log published at every size of SIZES; copy it before altering it."""
    directory = tmp_path_factory.mktemp("published")
    settings = load_settings(
        {},
        data_dir=directory,
        database_url=f"sqlite:///{directory / 'traceseal.db'}",
        master_key=secrets.token_hex(32),
        public_url=PUBLIC_URL,
    )
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    engine.dispose()
    platform = Platform(settings)
    try:
        tenant = platform.org("Acme")
        add_product(platform, tenant, GTIN)
        add_batch(platform, tenant, GTIN, LOT)
        log = build_log(platform, tenant)
    finally:
        platform.close()
    return Published(settings, log, open_checkpoints(log))


Tamper = Callable[[sqlite3.Connection], None]


@contextmanager
def serve_copy(
    published: Published, directory: Path, tamper: Tamper | None
) -> Iterator[TestClient]:
    """The app over a copy of the published database, altered by ``tamper`` first. The copy
    runs with the same settings, so the same master key unwraps the log's key."""
    directory.mkdir()
    database = directory / "traceseal.db"
    source, copy = sqlite3.connect(published.database), sqlite3.connect(database)
    with closing(source), closing(copy):
        source.backup(copy)  # a consistent snapshot, whatever the WAL holds
        if tamper is not None:
            with copy:  # one transaction, committed
                tamper(copy)
    settings = dataclasses.replace(
        published.settings, data_dir=directory, database_url=f"sqlite:///{database}"
    )
    app = create_app(settings)
    client = TestClient(app, raise_server_exceptions=False)
    try:
        yield client
    finally:
        client.close()
        app.state.engine.dispose()


@pytest.fixture(scope="module")
def pristine(
    published: Published, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """The app over an untouched copy: the reference each altered copy is compared with."""
    with serve_copy(published, tmp_path_factory.mktemp("pristine") / "copy", None) as client:
        yield client


@pytest.fixture(scope="module")
def leaves(pristine: TestClient) -> list[bytes]:
    """Every leaf's data, as the untouched copy serves it."""
    return [leaf_data(pristine, i) for i in range(FINAL)]


def _update(db: sqlite3.Connection, statement: str, parameters: tuple) -> None:
    assert db.execute(statement, parameters).rowcount == 1


def test_the_untouched_copy_serves_the_published_log(
    published: Published, pristine: TestClient
) -> None:
    assert pristine.get("/ledger/key").text == published.log.key
    assert pristine.get("/ledger/checkpoint").text == published.log.notes[FINAL]
    for old, new in itertools.pairwise(SIZES):
        iv.verify_consistency(
            old, new, published.roots[old], published.roots[new], consistency(pristine, old, new)
        )


def _node_sample(size: int) -> list[tuple[int, int]]:
    """The first, middle and last stored node of every level of a log of ``size`` leaves:
    level L holds the complete subtrees of 2^L leaves, ``size >> L`` of them."""
    sample = []
    level = 0
    while size >> level:
        count = size >> level
        sample += [(level, index) for index in sorted({0, count // 2, count - 1})]
        level += 1
    return sample


NODES = _node_sample(FINAL)


def test_the_node_sample_covers_every_stored_level(published: Published) -> None:
    with closing(sqlite3.connect(published.database)) as db:
        levels = dict(db.execute("SELECT level, count(*) FROM ledger_nodes GROUP BY level"))
    assert levels == {level: FINAL >> level for level in range(FINAL.bit_length())}
    assert {level for level, _ in NODES} == set(levels)


@pytest.mark.parametrize(
    ("level", "index"), NODES, ids=[f"node-L{level}-i{index}" for level, index in NODES]
)
def test_a_flipped_byte_in_a_stored_node_hash_is_refused(
    published: Published, pristine: TestClient, tmp_path: Path, level: int, index: int
) -> None:
    span = (index << level, (index + 1) << level)  # the leaves under the node
    rng = random.Random(f"{level}/{index}")
    # The proofs that hold this subtree's hash as one of their elements (RFC 9162 PATH and
    # PROOF): a complete subtree below the final size is on the path of the leaves beside it.
    inclusions = [(m, n) for n in SIZES for m in range(n) if span in iv.inclusion_ranges(m, n)]
    pairs = [
        (m, n) for m, n in itertools.combinations(SIZES, 2) if span in iv.consistency_ranges(m, n)
    ]
    assert inclusions
    inclusions = rng.sample(inclusions, min(3, len(inclusions)))
    pairs = rng.sample(pairs, min(3, len(pairs)))
    position = rng.randrange(32)

    def flip(db: sqlite3.Connection) -> None:
        query = 'SELECT hash FROM ledger_nodes WHERE level = ? AND "index" = ?'
        (stored,) = db.execute(query, (level, index)).fetchone()
        update = 'UPDATE ledger_nodes SET hash = ? WHERE level = ? AND "index" = ?'
        _update(db, update, (_flip(stored, position), level, index))

    roots = published.roots
    with serve_copy(published, tmp_path / "copy", flip) as tampered:
        for m, n in inclusions:
            leaf = iv.leaf_hash(leaf_data(pristine, m))
            good, bad = inclusion(pristine, m, n), inclusion(tampered, m, n)
            iv.verify_inclusion(m, n, leaf, good, roots[n])
            at = iv.inclusion_ranges(m, n).index(span)
            assert bad[at] != good[at]
            with pytest.raises(iv.ProofError, match="does not match"):
                iv.verify_inclusion(m, n, leaf, bad, roots[n])
        for m, n in pairs:
            good, bad = consistency(pristine, m, n), consistency(tampered, m, n)
            iv.verify_consistency(m, n, roots[m], roots[n], good)
            at = iv.consistency_ranges(m, n).index(span)
            assert bad[at] != good[at]
            with pytest.raises(iv.ProofError, match="does not match"):
                iv.verify_consistency(m, n, roots[m], roots[n], bad)


@pytest.mark.parametrize("kind", sorted(KINDS), ids=[f"leaf-{kind}" for kind in sorted(KINDS)])
def test_an_altered_leaf_no_longer_proves_its_inclusion(
    published: Published, pristine: TestClient, leaves: list[bytes], tmp_path: Path, kind: str
) -> None:
    records = [json.loads(data) for data in leaves]
    index = random.Random(kind).choice([i for i, r in enumerate(records) if r["kind"] == kind])
    forged = dict(records[index])
    # Another content hash: the leaf now claims a record the log never held.
    forged["sha256"] = forged["sha256"][:-1] + ("0" if forged["sha256"][-1] != "0" else "1")
    forged_data = json.dumps(forged, sort_keys=True, separators=(",", ":")).encode()

    def alter(db: sqlite3.Connection) -> None:
        _update(db, 'UPDATE ledger_leaves SET data = ? WHERE "index" = ?', (forged_data, index))

    sizes = [n for n in SIZES if n > index]
    with serve_copy(published, tmp_path / "copy", alter) as tampered:
        served = leaf_data(tampered, index)
        assert served == forged_data
        original = iv.leaf_hash(leaves[index])
        for n in sizes:
            good, bad = inclusion(pristine, index, n), inclusion(tampered, index, n)
            iv.verify_inclusion(index, n, original, good, published.roots[n])
            assert bad == good  # the stored nodes are intact: only the leaf's data changed
            with pytest.raises(iv.ProofError, match="does not match"):
                iv.verify_inclusion(index, n, iv.leaf_hash(served), bad, published.roots[n])
    assert sizes


def _other_size(note: str) -> str:
    origin, size, rest = note.split("\n", 2)
    return "\n".join((origin, str(int(size) + 1), rest))


def _other_root(note: str) -> str:
    origin, size, root, rest = note.split("\n", 3)
    other = base64.b64encode(_flip(base64.b64decode(root), 31)).decode()
    return "\n".join((origin, size, other, rest))


@pytest.mark.parametrize(
    "alter", [_other_size, _other_root], ids=["checkpoint-size", "checkpoint-root"]
)
def test_an_altered_checkpoint_does_not_open(
    published: Published, pristine: TestClient, tmp_path: Path, alter: Callable[[str], str]
) -> None:
    key = iv.parse_verifier_key(published.log.key)
    stored = published.log.notes[FINAL]

    def rewrite(db: sqlite3.Connection) -> None:
        _update(db, "UPDATE ledger_checkpoints SET note = ? WHERE size = ?", (alter(stored), FINAL))

    with serve_copy(published, tmp_path / "copy", rewrite) as tampered:
        served = tampered.get("/ledger/checkpoint").text
    assert iv.open_checkpoint(pristine.get("/ledger/checkpoint").text, key).size == FINAL
    assert served != stored
    # Still a well-formed checkpoint: what fails is the signature over the altered text.
    text, _ = iv.parse_note(served)
    assert iv.parse_checkpoint(text) != iv.parse_checkpoint(iv.parse_note(stored)[0])
    with pytest.raises(iv.NoteError, match="does not verify"):
        iv.open_checkpoint(served, key)
